import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { MediaCounters } from '../media/media-engine.js';
import type { AdmissionLevel } from '../recording/admission.js';
import { REFUSAL_REASONS, type AdmissionSnapshot } from '../recording/admission-controller.js';
import type { RecordingCounters } from '../recording/live-session.js';
import type { WriteHealthStatus } from '../recording/write-health.js';
import type { AuditTrail } from './audit-trail.js';
import type { Authenticator } from './authenticator.js';
import type { DocumentedPath } from './openapi.js';
import { allows, rolesWith } from './permissions.js';
import { failure, RESPONSE_CODES } from './envelope.js';
import type { ApiRefusalReason } from './refusal-log.js';
import type { StorageStatus } from '../storage/storage-agent.js';
import type { RetentionCounters } from '../storage/retention.js';
import { STORAGE_LEVELS } from '../storage/storage-thresholds.js';
import { HEALTH_PROBLEM_KINDS, type HealthSummary } from '../model/session-health.js';

/**
 * `GET /metrics` on the API port: the node's counters in the Prometheus text format (prom-client),
 * read from the services when Prometheus scrapes, so nothing is counted twice. It asks for the
 * API credentials (the session cookie or HTTP Basic, which Prometheus sends with `basic_auth`):
 * call volumes and refusals are business data, and the API port is open to the API clients.
 */

/** What the node's services tell /metrics (app.ts builds it from the recording service and media engine). */
export interface MetricsSource {
  readonly recordingCounters: () => Readonly<RecordingCounters>;
  readonly activeSessions: () => number;
  readonly admission: () => AdmissionSnapshot;
  /** Absent when the media engine keeps no node counters. */
  readonly mediaCounters: () => MediaCounters | undefined;
  /**
   * The SIP server's counters (SipServer.counters, sip/uas-counters.ts): the gauges `dialogs`,
   * `serverTransactions` and `clientTransactions`, and running totals (received, malformed,
   * refused, …), each transport's prefixed with its protocol. Absent: no SIP metrics.
   */
  readonly sipCounters?: () => Readonly<Record<string, number>>;
  /**
   * Event delivery (events/delivery.ts): attempts by outcome, and the subscriptions this node sees
   * FAILING now (their receiver has failed for `--events-failing-after`). Absent: none.
   */
  readonly eventDelivery?: () => Readonly<{
    delivered: number;
    failed: number;
    failingSubscriptions: number;
  }>;
  readonly eventBacklog?: () => Promise<{ readonly pending: number; readonly oldestCreatedAt?: number }>;
  /** The MP4 cache (playback/mp4-cache.ts): conversions and cache hits. Absent: none. */
  readonly mp4?: () => Readonly<{
    conversions: number;
    failures: number;
    aborted: number;
    hits: number;
    running: number;
    queued: number;
  }>;
  /**
   * The RTSP server's counters (playback/rtsp/rtsp-server.ts RtspCounters): the gauges of
   * RTSP_GAUGES and running totals. Absent: no RTSP server on this node.
   */
  readonly rtspCounters?: () => Readonly<Record<string, number>>;
  /** The storage agent (storage/storage-agent.ts): level, usage, crossings. Absent: none. */
  readonly storage?: () => StorageStatus;
  /** The retention policy at work (storage/retention.ts). Absent: none. */
  readonly retention?: () => Readonly<RetentionCounters>;
  /** Whether the node can write its tracks and database (recording/write-health.ts). Absent: none. */
  readonly writeHealth?: () => WriteHealthStatus;
  /**
   * Recording health of the sessions that ended in the last hour and day, read from the
   * database (Repository.healthSummary), so it counts every node sharing it. Absent: none.
   */
  readonly healthSummary?: () => Promise<HealthSummary>;
}

/** The RTSP counters that are gauges; every other one is a running total. */
const RTSP_GAUGES = {
  connections: 'verbatim_rtsp_connections',
  sessions: 'verbatim_rtsp_sessions',
  playing: 'verbatim_rtsp_sessions_playing',
} as const;

/** The SIP counters that are gauges (what the server holds now); every other one is a running total. */
const SIP_GAUGES = {
  dialogs: 'verbatim_sip_dialogs',
  serverTransactions: 'verbatim_sip_server_transactions',
  clientTransactions: 'verbatim_sip_client_transactions',
} as const;

const LEVELS: readonly AdmissionLevel[] = ['open', 'ramping', 'refusing'];

/**
 * Requests the SIP layer refused before the recording domain saw them (docs/sip.md), by the
 * `reason` label they are shown under and the SIP counter that counts them.
 */
const SIP_REFUSALS = {
  source_rate_limited: 'sourceRateLimited',
  untrusted: 'untrustedRejected',
  overload: 'overloadRejected',
  malformed: 'malformed',
  header_fields: 'overLimitHeaderFields',
  vias: 'overLimitVias',
  header_field_length: 'overLimitHeaderFieldLength',
} as const;

/** Each field of MediaCounters that counts packets, by the `outcome` label it is shown under. */
const PACKET_OUTCOMES = {
  stored: 'packetsStored',
  lost: 'packetsLost',
  kernel_dropped: 'kernelDropped',
  unread_at_close: 'unreadAtClose',
  unstored: 'unstored',
  dropped: 'dropped',
  srtp_auth_failed: 'srtpAuthFailures',
  paused: 'packetsPaused',
} as const satisfies Record<string, keyof MediaCounters>;

/** A counter whose total is read from a service at each scrape. */
function readCounter(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      const value = read();
      if (value !== undefined) {
        this.inc(value);
      }
    },
  });
}

function readGauge(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      const value = read();
      if (value !== undefined) {
        this.set(value);
      }
    },
  });
}

/** The metrics of one node: its own and prom-client's process and Node.js ones. */
export interface NodeMetrics {
  readonly contentType: string;
  /** The text exposition, every admission metric from one sample. */
  scrape(): Promise<string>;
}

/** Refused API requests by reason (the API's refusal log counts them). */
type ApiRefusalTotals = () => Readonly<Record<ApiRefusalReason, number>>;

export function buildNodeMetrics(source: MetricsSource, apiRefusals?: ApiRefusalTotals): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // One snapshot per scrape, so every admission metric of a scrape comes from the same sample.
  let admission: AdmissionSnapshot | undefined;
  const snapshot = (): AdmissionSnapshot => (admission ??= source.admission());

  readCounter(
    registry,
    'verbatim_invites_total',
    'INVITEs that would start or join a recording',
    () => source.recordingCounters().invites,
  );
  new Counter({
    name: 'verbatim_invites_refused_total',
    help: 'INVITEs refused, by reason (503 for the node state, 4xx for invalid-request)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const refusals = snapshot().refusals;
      for (const reason of REFUSAL_REASONS) {
        this.inc({ reason }, refusals[reason] ?? 0);
      }
    },
  });
  readGauge(registry, 'verbatim_sessions_active', 'Sessions being recorded now', source.activeSessions);
  readCounter(
    registry,
    'verbatim_sessions_started_total',
    'Sessions started',
    () => source.recordingCounters().sessionsStarted,
  );
  new Gauge({
    name: 'verbatim_admission_state',
    help: 'Admission of new calls: 1 for the current state (open; ramping: new calls at a bounded pace; refusing: 503)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const level = snapshot().level;
      for (const state of LEVELS) {
        this.set({ state }, state === level ? 1 : 0);
      }
    },
  });
  new Counter({
    name: 'verbatim_admission_entered_total',
    help: 'Times the node went into ramping or refusing, by the signal that put it there',
    labelNames: ['state', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { level, reason, count } of snapshot().entered) {
        this.inc({ state: level, reason }, count);
      }
    },
  });
  readGauge(
    registry,
    'verbatim_event_loop_delay_seconds',
    'How far behind the main thread runs: its mean wait since the previous admission sample',
    () => msToSeconds(snapshot().sample?.eventLoopDelayMs),
  );
  readGauge(
    registry,
    'verbatim_media_worker_lag_seconds',
    'How far behind real time the media workers run: mean wait over their last statistics interval',
    () => msToSeconds(snapshot().sample?.workerLagMs),
  );
  readGauge(
    registry,
    'verbatim_media_worker_max_wait_seconds',
    'The longest any received datagram waited to be read over the last statistics interval (worst media worker)',
    () => msToSeconds(snapshot().sample?.workerMaxWaitMs),
  );
  readGauge(
    registry,
    'verbatim_media_pending_write_bytes',
    'Stored packets waiting in memory for the disk',
    () => snapshot().sample?.mediaPendingWriteBytes,
  );
  readGauge(
    registry,
    'verbatim_database_pending_writes',
    'Database writes queued and not yet done',
    () => snapshot().sample?.pendingDatabaseWrites,
  );
  readCounter(
    registry,
    'verbatim_host_udp_receive_buffer_errors_total',
    'Datagrams the kernel dropped for a full UDP receive buffer, host-wide, since the media engine started',
    () => snapshot().sample?.kernelReceiveDrops,
  );
  new Counter({
    name: 'verbatim_media_packets_total',
    help: 'RTP packets sent to tracks, by what became of them (stored, or where the loss was counted)',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      this.reset();
      const counters = source.mediaCounters();
      if (counters === undefined) {
        return;
      }
      for (const [outcome, field] of Object.entries(PACKET_OUTCOMES)) {
        this.inc({ outcome }, counters[field]);
      }
    },
  });
  readCounter(
    registry,
    'verbatim_media_streams_opened_total',
    'Media streams opened',
    () => source.mediaCounters()?.streamsOpened,
  );
  readCounter(
    registry,
    'verbatim_media_streams_closed_total',
    'Media streams closed',
    () => source.mediaCounters()?.streamsClosed,
  );
  registerEventMetrics(registry, source);
  registerHealthMetrics(registry, source);
  registerMp4Metrics(registry, source);
  registerStorageMetrics(registry, source);
  registerWriteHealthMetrics(registry, source);
  const sipCounters = source.sipCounters;
  if (sipCounters !== undefined) {
    for (const [field, name] of Object.entries(SIP_GAUGES)) {
      readGauge(registry, name, `SIP ${field} held now`, () => sipCounters()[field]);
    }
    new Counter({
      name: 'verbatim_sip_events_total',
      help: 'What the SIP layer saw and did, by event (its counters: received, malformed, refused, retransmitted, …)',
      labelNames: ['event'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [event, value] of Object.entries(sipCounters())) {
          if (!(event in SIP_GAUGES)) {
            this.inc({ event }, value);
          }
        }
      },
    });
    new Counter({
      name: 'verbatim_sip_refused_total',
      help: 'SIP requests refused or dropped before reaching the recording domain, by reason (docs/sip.md)',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        const counters = sipCounters();
        for (const [reason, field] of Object.entries(SIP_REFUSALS)) {
          this.inc({ reason }, counters[field] ?? 0);
        }
      },
    });
  }
  const rtspCounters = source.rtspCounters;
  if (rtspCounters !== undefined) {
    for (const [field, name] of Object.entries(RTSP_GAUGES)) {
      readGauge(registry, name, `RTSP ${field} now`, () => rtspCounters()[field]);
    }
    new Counter({
      name: 'verbatim_rtsp_events_total',
      help: 'What the RTSP server saw and did, by event (connectionsAccepted, malformed, unauthorized, floodClosed, plays, packetsSent, packetsDropped, …)',
      labelNames: ['event'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [event, value] of Object.entries(rtspCounters())) {
          if (!(event in RTSP_GAUGES)) {
            this.inc({ event }, value);
          }
        }
      },
    });
  }
  if (apiRefusals !== undefined) {
    new Counter({
      name: 'verbatim_api_requests_refused_total',
      help: 'API requests refused, by reason (input limits, 5042, malformed, unauthenticated)',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(apiRefusals())) {
          this.inc({ reason }, count);
        }
      },
    });
  }
  return {
    contentType: registry.contentType,
    scrape: () => {
      admission = undefined;
      return registry.metrics();
    },
  };
}

function registerWriteHealthMetrics(registry: Registry, source: MetricsSource): void {
  const health = source.writeHealth;
  if (health === undefined) {
    return;
  }
  readGauge(
    registry,
    'verbatim_storage_writable',
    '1 while the node can write its tracks and database; 0 after a write failed for the disk (new calls get 503)',
    () => (health().writable ? 1 : 0),
  );
  new Counter({
    name: 'verbatim_storage_write_failures_total',
    help: 'Times the media partition or the database went from writable to failing (full disk, I/O error)',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [target, count] of Object.entries(health().failures)) {
        this.inc({ target }, count);
      }
    },
  });
  readCounter(
    registry,
    'verbatim_database_write_retries_total',
    'Database writes of the recorder retried after failing for the disk',
    () => health().databaseRetries,
  );
}

function registerStorageMetrics(registry: Registry, source: MetricsSource): void {
  const storage = source.storage;
  if (storage === undefined) {
    return;
  }
  new Gauge({
    name: 'verbatim_storage_level',
    help: 'Storage threshold level of the media partition: 1 for the current one (NORMAL, LOW, CRITICAL, EMERGENCY)',
    labelNames: ['level'],
    registers: [registry],
    collect() {
      this.reset();
      const current = storage().level;
      for (const level of STORAGE_LEVELS) {
        this.set({ level }, level === current ? 1 : 0);
      }
    },
  });
  readGauge(
    registry,
    'verbatim_storage_used_ratio',
    'Share of the media partition in use at the last sample (0-1)',
    () => {
      const sample = storage().sample;
      return sample === undefined ? undefined : sample.percentUsed / 100;
    },
  );
  readGauge(
    registry,
    'verbatim_storage_free_bytes',
    'Bytes of the media partition available to the node at the last sample',
    () => storage().sample?.freeBytes,
  );
  readGauge(
    registry,
    'verbatim_storage_size_bytes',
    'Size of the media partition',
    () => storage().sample?.totalBytes,
  );
  new Counter({
    name: 'verbatim_storage_threshold_crossings_total',
    help: 'Storage threshold crossings, by STORAGE_THRESHOLD_EVENT action',
    labelNames: ['action'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [action, count] of Object.entries(storage().crossings)) {
        this.inc({ action }, count);
      }
    },
  });
  readCounter(
    registry,
    'verbatim_storage_sample_failures_total',
    'Samples of the media partition that failed',
    () => storage().sampleFailures,
  );
  const retention = source.retention;
  if (retention === undefined) {
    return;
  }
  readCounter(
    registry,
    'verbatim_sessions_pruned_total',
    'Sessions whose media the retention policy pruned',
    () => retention().pruned,
  );
  readCounter(
    registry,
    'verbatim_prune_failures_total',
    'Sessions pruning could not remove the media of (kept)',
    () => retention().failures,
  );
  readCounter(
    registry,
    'verbatim_storage_recordings_ended_total',
    'Recordings ended at the storage emergency (retention priority)',
    () => retention().recordingsEnded,
  );
}

function registerMp4Metrics(registry: Registry, source: MetricsSource): void {
  const mp4 = source.mp4;
  if (mp4 === undefined) {
    return;
  }
  readCounter(
    registry,
    'verbatim_mp4_conversions_total',
    'MP4 conversions started (ffmpeg runs)',
    () => mp4().conversions,
  );
  readCounter(
    registry,
    'verbatim_mp4_conversion_failures_total',
    'MP4 conversions that failed (nothing was cached)',
    () => mp4().failures,
  );
  readCounter(
    registry,
    'verbatim_mp4_conversions_aborted_total',
    'MP4 conversions stopped because every request waiting for them went away',
    () => mp4().aborted,
  );
  readCounter(
    registry,
    'verbatim_mp4_cache_hits_total',
    'MP4 requests answered from the cache',
    () => mp4().hits,
  );
  readGauge(registry, 'verbatim_mp4_conversions_running', 'MP4 conversions running now', () => mp4().running);
  readGauge(
    registry,
    'verbatim_mp4_conversions_queued',
    'MP4 conversions waiting for a free conversion slot',
    () => mp4().queued,
  );
}

function registerEventMetrics(registry: Registry, source: MetricsSource): void {
  const delivery = source.eventDelivery;
  if (delivery !== undefined) {
    new Counter({
      name: 'verbatim_event_deliveries_total',
      help: 'Event delivery attempts to subscribers, by outcome (delivered: a 2xx; failed: retried later)',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        this.reset();
        const counters = delivery();
        this.inc({ outcome: 'delivered' }, counters.delivered);
        this.inc({ outcome: 'failed' }, counters.failed);
      },
    });
    readGauge(
      registry,
      'verbatim_event_subscriptions_failing',
      'Event subscriptions whose receiver has failed for --events-failing-after and not taken an event since',
      () => delivery().failingSubscriptions,
    );
  }
  const backlog = source.eventBacklog;
  if (backlog !== undefined) {
    // One database read per scrape serves both gauges.
    let sample: Promise<{ readonly pending: number; readonly oldestCreatedAt?: number }> | undefined;
    const read = (): Promise<{ readonly pending: number; readonly oldestCreatedAt?: number }> => {
      sample ??= backlog().finally(() => {
        sample = undefined;
      });
      return sample;
    };
    new Gauge({
      name: 'verbatim_event_outbox_pending',
      help: 'Events written to the outbox by this node and not yet taken by their subscriber',
      registers: [registry],
      async collect() {
        this.set((await read()).pending);
      },
    });
    new Gauge({
      name: 'verbatim_event_outbox_oldest_age_seconds',
      help: "Age of the oldest event waiting in this node's outbox (0 when none waits)",
      registers: [registry],
      async collect() {
        const oldest = (await read()).oldestCreatedAt;
        this.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
      },
    });
  }
}

/** The summary windows as the `window` label names them. */
const HEALTH_WINDOWS = [
  ['1h', 'lastHour'],
  ['24h', 'lastDay'],
] as const;

function registerHealthMetrics(registry: Registry, source: MetricsSource): void {
  const summary = source.healthSummary;
  if (summary === undefined) {
    return;
  }
  // One database read per scrape serves the three gauges.
  let sample: Promise<HealthSummary> | undefined;
  const read = (): Promise<HealthSummary> => {
    sample ??= summary().finally(() => {
      sample = undefined;
    });
    return sample;
  };
  new Gauge({
    name: 'verbatim_sessions_ended_recent',
    help: 'Sessions that ended in the window (1h, 24h), on every node sharing the database',
    labelNames: ['window'],
    registers: [registry],
    async collect() {
      const current = await read();
      for (const [label, key] of HEALTH_WINDOWS) {
        this.set({ window: label }, current[key].sessionsEnded);
      }
    },
  });
  new Gauge({
    name: 'verbatim_sessions_degraded_recent',
    help: 'Sessions that ended in the window (1h, 24h) with at least one recording health problem',
    labelNames: ['window'],
    registers: [registry],
    async collect() {
      const current = await read();
      for (const [label, key] of HEALTH_WINDOWS) {
        this.set({ window: label }, current[key].sessionsDegraded);
      }
    },
  });
  new Gauge({
    name: 'verbatim_session_health_problems_recent',
    help: 'Sessions that ended in the window (1h, 24h) with a recording health problem of this kind',
    labelNames: ['window', 'kind'],
    registers: [registry],
    async collect() {
      const current = await read();
      for (const [label, key] of HEALTH_WINDOWS) {
        for (const kind of HEALTH_PROBLEM_KINDS) {
          this.set({ window: label, kind }, current[key].byKind[kind]);
        }
      }
    },
  });
}

function msToSeconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}

export const METRICS_DOCUMENTED_PATH: DocumentedPath = {
  path: '/metrics',
  method: 'get',
  operation: {
    operationId: 'metrics',
    summary: "The node's counters in the Prometheus text format",
    description: `Roles: ${rolesWith('metrics').join(', ')}. The API session or HTTP Basic.`,
    tags: ['metrics'],
    security: [{ basic: [] }, { jsessionCookie: [] }],
    responses: {
      200: {
        description: 'Prometheus text format',
        content: { 'text/plain': { schema: { type: 'string' } } },
      },
      401: { description: 'No valid credentials' },
      403: {
        description: 'The role may not read metrics: 4022, recorded on the audit trail (action metrics)',
      },
    },
  },
};

export function registerMetricsRoute(
  app: FastifyInstance,
  context: {
    readonly source: MetricsSource;
    readonly authenticator: Authenticator;
    readonly apiRefusals: ApiRefusalTotals;
    /** A role refused /metrics is on the audit trail, as every role refusal (docs/api.md "Roles"). */
    readonly audit: AuditTrail;
  },
): void {
  const metrics = buildNodeMetrics(context.source, context.apiRefusals);
  app.get('/metrics', async (request, reply) => {
    const principal = await context.authenticator.downloadPrincipal(request.headers);
    if (principal === undefined) {
      return reply
        .code(401)
        .header('www-authenticate', 'Basic realm="Verbatim"')
        .type('application/json; charset=utf-8')
        .send(failure(RESPONSE_CODES.invalidSession));
    }
    if (!allows(principal.role, 'metrics')) {
      // Allowed scrapes are not recorded: Prometheus scrapes every few seconds.
      await context.audit.record({
        username: principal.username,
        role: principal.role,
        action: 'metrics',
        outcome: RESPONSE_CODES.forbidden,
        source: request.ip,
        ...(principal.via === 'basic' ? { detail: { via: 'basic' } } : {}),
      });
      return reply
        .code(403)
        .type('application/json; charset=utf-8')
        .send(
          failure(
            RESPONSE_CODES.forbidden,
            `/metrics needs one of the roles ${rolesWith('metrics').join(', ')}`,
          ),
        );
    }
    const text = await metrics.scrape();
    return reply.type(metrics.contentType).send(text);
  });
}
