import { Type } from 'typebox';

import {
  MAX_LEGAL_HOLD_TAG_LENGTH,
  MAX_MAX_AGE_DAYS,
  MIN_MAX_AGE_DAYS,
  policyChangeDetail,
  RETENTION_MODES,
  type StoragePolicy,
  type StoragePolicyChange,
} from '../model/storage-policy.js';
import type { StorageHistoryQuery, StorageHistorySample } from '../model/storage-history.js';
import type { WriteHealthStatus } from '../recording/recording-service.js';
import type { RetentionCounters } from '../storage/retention.js';
import type { StorageStatus } from '../storage/storage-agent.js';
import { STORAGE_LEVELS, THRESHOLD_NAMES } from '../storage/storage-thresholds.js';
import {
  failure,
  MESSAGE_SUCCESS_LONG,
  MESSAGE_SUCCESSFUL,
  noResults,
  RESPONSE_CODES,
  success,
} from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';

/**
 * The storage service, a Verbatim extension (MediaSense showed its storage state only in its
 * administration pages and in STORAGE_THRESHOLD_EVENTs): getStorageStatus tells the storage
 * agent's level, the last sample of the media partition and the thresholds; getStoragePolicy and
 * setStoragePolicy read and change the retention policy (storage/retention.ts), each change audited;
 * getStorageHistory answers the samples kept for the storage use chart (storage/storage-history.ts).
 */

export const STORAGE_SERVICE = '/ora/storageService/storage';

/** What the routes use of the retention service. */
export interface RetentionApi {
  readonly policy: StoragePolicy;
  readonly counters: Readonly<RetentionCounters>;
  refreshPolicy(): Promise<StoragePolicy>;
  setPolicy(
    change: StoragePolicyChange,
    by: string,
  ): Promise<{ ok: true; policy: StoragePolicy; before: StoragePolicy } | { ok: false; detail: string }>;
}

export interface StorageRouteContext {
  readonly storage: () => StorageStatus;
  readonly retention: RetentionApi;
  /** Whether new calls are refused for storage now (the retention service decides). */
  readonly refusingCalls: () => boolean;
  readonly nodeId: string;
  /** Whether the node can write its tracks and database (recording/write-health.ts). */
  readonly writeHealth?: () => WriteHealthStatus;
  /** The kept samples of the media partition (migration 0018); absent: no getStorageHistory. */
  readonly history?: {
    /** How often a sample is kept (`--storage-history-interval`). */
    readonly intervalMs: number;
    read(query: StorageHistoryQuery): Promise<StorageHistorySample[]>;
  };
  readonly now?: () => number;
}

/** The window getStorageHistory covers when `from` is not given: the last 7 days. */
export const DEFAULT_HISTORY_WINDOW_MS = 7 * 86_400_000;
/** Most points per node getStorageHistory answers (and its default). */
export const MAX_HISTORY_POINTS = 1000;
export const DEFAULT_HISTORY_POINTS = 500;

const HistorySampleSchema = Type.Object({
  at: Type.Integer({ description: "epoch ms of the bucket's last sample" }),
  nodeId: Type.String(),
  totalBytes: Type.Integer(),
  usedBytes: Type.Integer(),
  freeBytes: Type.Integer({ description: 'available to the node' }),
  sessions: Type.Integer({ description: 'sessions whose media was kept then (all nodes on the database)' }),
});

const ModeSchema = Type.Union([Type.Literal('RECORDING_PRIORITY'), Type.Literal('RETENTION_PRIORITY')], {
  description: `${RETENTION_MODES.join(' or ')}: RECORDING_PRIORITY (default) prunes, RETENTION_PRIORITY never prunes and refuses calls`,
});

const PolicySchema = Type.Object({
  mode: ModeSchema,
  maxAgeDays: Type.Integer({ minimum: MIN_MAX_AGE_DAYS, maximum: MAX_MAX_AGE_DAYS }),
  deleteMetadata: Type.Boolean({ description: 'pruning also deletes the metadata (DELETED tombstone)' }),
  legalHoldTag: Type.String({ minLength: 1, maxLength: MAX_LEGAL_HOLD_TAG_LENGTH }),
  updatedAt: Type.Optional(Type.Integer({ description: 'epoch ms; absent for the defaults' })),
  updatedBy: Type.Optional(Type.String()),
});

function policyJson(policy: StoragePolicy): object {
  return {
    mode: policy.mode,
    maxAgeDays: policy.maxAgeDays,
    deleteMetadata: policy.deleteMetadata,
    legalHoldTag: policy.legalHoldTag,
    ...(policy.updatedAt === undefined ? {} : { updatedAt: policy.updatedAt }),
    ...(policy.updatedBy === undefined ? {} : { updatedBy: policy.updatedBy }),
  };
}

const ThresholdSchema = Type.Object({
  enter: Type.Union([Type.Number(), Type.Null()], {
    description: '% used from which it is entered; null: off',
  }),
  exit: Type.Union([Type.Number(), Type.Null()], { description: '% used below which it is left; null: off' }),
});

const StorageStatusSchema = Type.Object({
  nodeId: Type.String(),
  partition: Type.String({ description: 'the media directory whose file system is sampled' }),
  level: Type.Union(
    STORAGE_LEVELS.map((level) => Type.Literal(level)),
    { description: 'the highest threshold entered' },
  ),
  levelSince: Type.Integer({ description: 'when the level was entered (epoch ms)' }),
  percentageUtilization: Type.Optional(Type.Number({ description: 'of the partition, two decimals' })),
  totalBytes: Type.Optional(Type.Integer()),
  usedBytes: Type.Optional(Type.Integer()),
  freeBytes: Type.Optional(Type.Integer({ description: 'available to the node' })),
  sampledAt: Type.Optional(Type.Integer({ description: 'epoch ms of the last sample' })),
  thresholds: Type.Object(Object.fromEntries(THRESHOLD_NAMES.map((name) => [name, ThresholdSchema]))),
  crossings: Type.Record(Type.String(), Type.Integer(), {
    description: 'threshold crossings since the node started, by event action',
  }),
  sampleFailures: Type.Integer({ description: 'samples that could not read the partition' }),
  retentionMode: Type.String({ description: "the retention policy's mode" }),
  refusingCalls: Type.Boolean({ description: 'whether new calls get 503 for storage now' }),
  pruned: Type.Integer({ description: 'sessions pruned since the node started' }),
  recordingsEnded: Type.Integer({ description: 'recordings ended at EMERGENCY since the node started' }),
  writable: Type.Optional(
    Type.Boolean({
      description:
        'false while a track or database write failed for the disk (full, I/O error, read-only) and ' +
        'nothing was written since: new calls then get 503',
    }),
  ),
  writeFailures: Type.Optional(
    Type.Array(
      Type.Object({
        target: Type.Union([Type.Literal('media'), Type.Literal('database')]),
        reason: Type.String({ description: '`disk-full`, `write-failed: EIO`, `partition full`, …' }),
        since: Type.Integer({ description: 'epoch ms' }),
      }),
      { description: 'what cannot be written now, and why (empty when writable)' },
    ),
  ),
});

/** The status as the API shows it (also used by tests and the CLI). */
export function storageStatusJson(
  status: StorageStatus,
  nodeId: string,
  retention?: {
    readonly mode: string;
    readonly refusing: boolean;
    readonly counters: Readonly<RetentionCounters>;
  },
): object {
  const sample = status.sample;
  return {
    nodeId,
    partition: status.partition,
    level: status.level,
    levelSince: status.levelSince,
    ...(sample === undefined
      ? {}
      : {
          percentageUtilization: Math.round(sample.percentUsed * 100) / 100,
          totalBytes: sample.totalBytes,
          usedBytes: sample.usedBytes,
          freeBytes: sample.freeBytes,
          sampledAt: sample.sampledAt,
        }),
    thresholds: Object.fromEntries(
      THRESHOLD_NAMES.map((name) => {
        const { enter, exit } = status.thresholds[name];
        // JSON has no Infinity: a threshold turned off is null.
        return [
          name,
          { enter: Number.isFinite(enter) ? enter : null, exit: Number.isFinite(exit) ? exit : null },
        ];
      }),
    ),
    crossings: status.crossings,
    sampleFailures: status.sampleFailures,
    ...(retention === undefined
      ? {}
      : {
          retentionMode: retention.mode,
          refusingCalls: retention.refusing,
          pruned: retention.counters.pruned,
          recordingsEnded: retention.counters.recordingsEnded,
        }),
  };
}

function historyRoutes(ctx: StorageRouteContext): OraRoute[] {
  const history = ctx.history;
  if (history === undefined) {
    return [];
  }
  const now = ctx.now ?? Date.now;
  return [
    oraRoute({
      method: 'GET',
      path: `${STORAGE_SERVICE}/getStorageHistory`,
      summary: 'Storage use over time: the samples of the media partition kept every few minutes',
      description:
        '`from` and `to` (epoch ms; default the last 7 days up to now), `nodeId` (default every ' +
        'node), `maxPoints` (1-1000, default 500). Samples are kept every ' +
        '`--storage-history-interval` seconds (300) for 90 days; a window holding more than ' +
        '`maxPoints` of a node is cut into `maxPoints` equal buckets, each answered as the average ' +
        'of its samples, dated by its last one. Oldest first; 2001 when the window holds none.',
      permission: 'read-storage',
      audit: false,
      input: 'query',
      params: Type.Object({
        from: Type.Optional(Type.Integer({ minimum: 0 })),
        to: Type.Optional(Type.Integer({ minimum: 0 })),
        nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
        maxPoints: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_HISTORY_POINTS })),
      }),
      responseBody: Type.Object({
        from: Type.Integer(),
        to: Type.Integer(),
        intervalMs: Type.Integer({ description: "how often the nodes keep a sample (this node's setting)" }),
        samples: Type.Array(HistorySampleSchema),
      }),
      handler: async (params) => {
        const to = params.to ?? now();
        const from = params.from ?? Math.max(to - DEFAULT_HISTORY_WINDOW_MS, 0);
        if (from > to) {
          return failure(RESPONSE_CODES.invalidParameter, 'from must not be after to');
        }
        const samples = await history.read({
          from,
          to,
          maxPoints: params.maxPoints ?? DEFAULT_HISTORY_POINTS,
          ...(params.nodeId === undefined ? {} : { nodeId: params.nodeId }),
        });
        return samples.length === 0
          ? noResults()
          : success({ from, to, intervalMs: history.intervalMs, samples }, MESSAGE_SUCCESS_LONG);
      },
    }),
  ];
}

export function storageRoutes(ctx: StorageRouteContext): OraRoute[] {
  return [
    ...historyRoutes(ctx),
    oraRoute({
      method: 'GET',
      path: `${STORAGE_SERVICE}/getStorageStatus`,
      summary: "The storage agent's state: threshold level and usage of the media partition",
      description:
        'Levels NORMAL, LOW (from 75 % used, left below 70 %), CRITICAL (90/85 %, or as ' +
        '`--storage-critical-percent` sets it) and EMERGENCY (99/97 %). Each crossing is also a ' +
        '`STORAGE_THRESHOLD_EVENT`.',
      permission: 'read-storage',
      audit: false,
      input: 'query',
      params: Type.Object({}),
      responseBody: StorageStatusSchema,
      handler: () => {
        const health = ctx.writeHealth?.();
        return Promise.resolve(
          success(
            {
              ...storageStatusJson(ctx.storage(), ctx.nodeId, {
                mode: ctx.retention.policy.mode,
                refusing: ctx.refusingCalls(),
                counters: ctx.retention.counters,
              }),
              ...(health === undefined ? {} : { writable: health.writable, writeFailures: health.failing }),
            },
            MESSAGE_SUCCESS_LONG,
          ),
        );
      },
    }),
    oraRoute({
      method: 'GET',
      path: `${STORAGE_SERVICE}/getStoragePolicy`,
      summary: 'The retention policy: mode, maximum age, metadata deletion, legal hold tag',
      permission: 'read-storage',
      audit: false,
      input: 'query',
      params: Type.Object({}),
      responseBody: PolicySchema,
      handler: async () => success(policyJson(await ctx.retention.refreshPolicy()), MESSAGE_SUCCESS_LONG),
    }),
    oraRoute({
      method: 'POST',
      path: `${STORAGE_SERVICE}/setStoragePolicy`,
      summary: 'Change the retention policy (fields not given stay as they are); audited',
      description:
        '`mode` RECORDING_PRIORITY or RETENTION_PRIORITY, `maxAgeDays` 1-3650, `deleteMetadata`, ' +
        '`legalHoldTag` (compared without case, as tags are). Answers the whole policy. The audit ' +
        'record names each changed field, `before -> after`. 4001 for a value out of range, 4002 when ' +
        'no field is given.',
      permission: 'manage-storage',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({
        mode: Type.Optional(ModeSchema),
        maxAgeDays: Type.Optional(Type.Integer({ minimum: MIN_MAX_AGE_DAYS, maximum: MAX_MAX_AGE_DAYS })),
        deleteMetadata: Type.Optional(Type.Boolean()),
        legalHoldTag: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_LEGAL_HOLD_TAG_LENGTH })),
      }),
      responseBody: PolicySchema,
      handler: async (params, call) => {
        call.audit.target = 'storage policy';
        const change: StoragePolicyChange = {
          ...(params.mode === undefined ? {} : { mode: params.mode }),
          ...(params.maxAgeDays === undefined ? {} : { maxAgeDays: params.maxAgeDays }),
          ...(params.deleteMetadata === undefined ? {} : { deleteMetadata: params.deleteMetadata }),
          ...(params.legalHoldTag === undefined ? {} : { legalHoldTag: params.legalHoldTag }),
        };
        if (Object.keys(change).length === 0) {
          return failure(
            RESPONSE_CODES.missingParameter,
            'give at least one of mode, maxAgeDays, deleteMetadata, legalHoldTag',
          );
        }
        const result = await ctx.retention.setPolicy(change, call.user?.username ?? '?');
        if (!result.ok) {
          return failure(RESPONSE_CODES.invalidParameter, result.detail);
        }
        call.audit.detail = policyChangeDetail(result.before, result.policy);
        return success(policyJson(result.policy), MESSAGE_SUCCESSFUL);
      },
    }),
  ];
}
