import { Type } from 'typebox';

import type { StorageStatus } from '../storage/storage-agent.js';
import { STORAGE_LEVELS, THRESHOLD_NAMES } from '../storage/storage-thresholds.js';
import { MESSAGE_SUCCESS_LONG, success } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';

/**
 * The storage service, a Verbatim extension (MediaSense showed its storage state only in its
 * administration pages and in STORAGE_THRESHOLD_EVENTs): getStorageStatus tells the storage
 * agent's level, the last sample of the media partition and the thresholds.
 */

export const STORAGE_SERVICE = '/ora/storageService/storage';

export interface StorageRouteContext {
  readonly storage: () => StorageStatus;
  readonly nodeId: string;
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
});

/** The status as the API shows it (also used by tests and the CLI). */
export function storageStatusJson(status: StorageStatus, nodeId: string): object {
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
  };
}

export function storageRoutes(ctx: StorageRouteContext): OraRoute[] {
  return [
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
      handler: () =>
        Promise.resolve(success(storageStatusJson(ctx.storage(), ctx.nodeId), MESSAGE_SUCCESS_LONG)),
    }),
  ];
}
