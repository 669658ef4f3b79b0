import type { Logger } from 'pino';
import type { MediaLoad } from '../media/media-engine.js';
import {
  admitSession,
  INITIAL_ADMISSION_STATE,
  nextAdmissionState,
  type AdmissionLevel,
  type AdmissionLimits,
  type AdmissionState,
  type HeadroomReason,
  type HeadroomSample,
} from './admission.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { RefusedCallKeys } from './admission-pairing.js';
import {
  createHostProbe,
  takeHeadroomSample,
  type HostProbe,
  type MeanWaitProbe,
} from './admission-sampler.js';

/**
 * Why an INVITE was refused: the label of the refusal counter and the `reason` of its log line.
 * `invalid-request` is the planner's 400 / 415 / 488 (logged by the planner's own line). Every
 * reason is listed, so that /metrics shows each series from the start.
 */
export const REFUSAL_REASONS = [
  'media-lag',
  'event-loop-delay',
  'kernel-drops',
  'database-writes',
  'media-writes',
  'memory',
  'ramp-limit',
  'max-sessions',
  'storage-critical',
  'storage-unwritable',
  'open-files',
  'no-media-port',
  'partner-refused',
  'shutdown',
  'invalid-request',
] as const satisfies readonly RefusalReason[];
export type RefusalReason =
  | HeadroomReason
  | 'ramp-limit'
  | 'max-sessions'
  | 'storage-critical'
  | 'storage-unwritable'
  | 'open-files'
  | 'no-media-port'
  | 'partner-refused'
  | 'shutdown'
  | 'invalid-request';

export interface AdmissionOptions {
  /** Headroom refusals and the ramp on (default); off leaves --max-sessions and storage only. */
  readonly enabled: boolean;
  /** Worker lag or event-loop delay at which new calls are refused (--admission-max-lag). */
  readonly maxLagMs: number;
  /** How often the signals are sampled at most (default 250 ms); sampling is lazy. */
  readonly sampleIntervalMs?: number;
  /** How far the main thread runs behind (app.ts gives a media/lag-probe.ts); started at the first sample. */
  readonly mainThread?: MeanWaitProbe;
  /** The host's signals; tests give fixed ones. */
  readonly host?: HostProbe;
}

const DEFAULT_SAMPLE_INTERVAL_MS = 250;
/** How long the refusal of one CUCM leg refuses its partner: CUCM sends both within milliseconds. */
const CUCM_PARTNER_TTL_MS = 30_000;
const MAX_REMEMBERED_CUCM_CALLS = 10_000;

interface AdmissionDeps {
  readonly options: AdmissionOptions;
  readonly mediaLoad: () => MediaLoad | undefined;
  readonly pendingDatabaseWrites: () => number;
  /** Sessions being recorded (the ramp's budget is a share of them). */
  readonly activeSessions: () => number;
  readonly log: Logger;
  readonly now: () => number;
}

/** A CUCM leg: its call's pairing key and which leg it is (`near` or `far`). */
export interface CucmLegKey {
  readonly key: string;
  readonly leg: string;
}

/** What /metrics shows of admission. */
export interface AdmissionSnapshot {
  readonly level: AdmissionLevel;
  readonly reason?: HeadroomReason;
  readonly sample?: HeadroomSample;
  readonly refusals: Readonly<Partial<Record<RefusalReason, number>>>;
  /**
   * How often the node went into `ramping` or `refusing`, by the signal that put it there: which
   * signal limits this node (the operator's first question when calls get 503).
   */
  readonly entered: readonly AdmissionEntry[];
}

/** A count of entries into a level for one reason. */
export interface AdmissionEntry {
  readonly level: Exclude<AdmissionLevel, 'open'>;
  readonly reason: HeadroomReason;
  readonly count: number;
}

const LEVEL_MESSAGES: Record<AdmissionLevel, string> = {
  open: 'headroom back: new calls are taken again',
  ramping: 'headroom low: new calls are taken at a bounded pace',
  refusing: 'no headroom: new calls are refused with 503',
};

/**
 * The node's admission control: samples the headroom signals at most every sampling interval
 * (lazily, when an INVITE or a metrics scrape asks), keeps the decision's state (admission.ts),
 * counts and logs every refusal by reason, and remembers refused CUCM calls so that their second
 * leg is refused too.
 */
export class AdmissionController {
  readonly #deps: AdmissionDeps;
  readonly #limits: AdmissionLimits;
  /** Made at the first sample, so a service that never samples starts no histogram. */
  #host: HostProbe | undefined;
  readonly #intervalMs: number;
  readonly #refusalLog: RateLimitedLog;
  readonly #refusedCalls = new RefusedCallKeys({
    ttlMs: CUCM_PARTNER_TTL_MS,
    maxKeys: MAX_REMEMBERED_CUCM_CALLS,
  });
  readonly #refusals: Partial<Record<RefusalReason, number>> = {};
  /** Entries into ramping / refusing, keyed `level reason` (see AdmissionSnapshot.entered). */
  readonly #entered = new Map<string, AdmissionEntry>();
  #state: AdmissionState = INITIAL_ADMISSION_STATE;
  #sampledAtMs: number | undefined;
  #closed = false;

  constructor(deps: AdmissionDeps) {
    this.#deps = deps;
    this.#limits = { enabled: deps.options.enabled, maxLagMs: deps.options.maxLagMs };
    this.#host = deps.options.host;
    this.#intervalMs = deps.options.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    this.#refusalLog = new RateLimitedLog(deps.log, { countField: 'refused' });
  }

  /** Whether a new session may start now, by headroom (--max-sessions and storage are checked before). */
  admit(): ReturnType<typeof admitSession> {
    if (!this.#limits.enabled) {
      return { admit: true, state: this.#state };
    }
    this.#refresh();
    const verdict = admitSession(this.#state);
    this.#state = verdict.state;
    return verdict;
  }

  /** The refused partner of this CUCM leg, if the call's other leg was refused lately. */
  refusedPartner(cucm: CucmLegKey): { readonly retryAfterSeconds: number } | undefined {
    return this.#refusedCalls.refusedPartner(cucm.key, cucm.leg, this.#deps.now());
  }

  /**
   * Counts a refusal and logs it (rate-limited per reason); a refused CUCM leg's call is
   * remembered so that its partner is refused too.
   */
  noteRefusal(
    reason: RefusalReason,
    details: {
      readonly message: string;
      readonly retryAfterSeconds?: number;
      readonly cucm?: CucmLegKey;
      readonly fields?: Readonly<Record<string, unknown>>;
    },
  ): void {
    const now = this.#deps.now();
    this.#refusals[reason] = (this.#refusals[reason] ?? 0) + 1;
    if (details.cucm !== undefined && details.retryAfterSeconds !== undefined) {
      this.#refusedCalls.remember(details.cucm.key, details.cucm.leg, now, details.retryAfterSeconds);
    }
    if (reason === 'invalid-request') {
      return;
    }
    this.#refusalLog.note(
      reason,
      details.message,
      {
        ...(details.retryAfterSeconds === undefined ? {} : { retryAfter: details.retryAfterSeconds }),
        ...details.fields,
        ...(isHeadroomRefusal(reason) ? { signals: this.#state.sample } : {}),
      },
      now,
    );
  }

  snapshot(): AdmissionSnapshot {
    this.#refresh();
    const { level, reason, sample } = this.#state;
    return {
      level,
      ...(reason === undefined ? {} : { reason }),
      ...(sample === undefined ? {} : { sample }),
      refusals: { ...this.#refusals },
      entered: [...this.#entered.values()],
    };
  }

  close(): void {
    this.#closed = true;
    this.#refusalLog.flush(this.#deps.now(), true);
    this.#host?.close();
  }

  #refresh(): void {
    const now = this.#deps.now();
    if (this.#closed || (this.#sampledAtMs !== undefined && now - this.#sampledAtMs < this.#intervalMs)) {
      return;
    }
    this.#sampledAtMs = now;
    this.#host ??= createHostProbe(this.#deps.options.mainThread);
    const sample = takeHeadroomSample(
      now,
      this.#deps.mediaLoad(),
      this.#deps.pendingDatabaseWrites(),
      this.#deps.activeSessions(),
      this.#host,
    );
    const previous = this.#state;
    this.#state = nextAdmissionState(previous, sample, this.#limits);
    const { level, reason } = this.#state;
    if (
      level !== 'open' &&
      reason !== undefined &&
      (level !== previous.level || reason !== previous.reason)
    ) {
      const key = `${level} ${reason}`;
      this.#entered.set(key, { level, reason, count: (this.#entered.get(key)?.count ?? 0) + 1 });
    }
    if (this.#state.level !== previous.level) {
      const fields = { admission: this.#state.level, reason: this.#state.reason, signals: sample };
      if (this.#state.level === 'refusing') {
        this.#deps.log.warn(fields, LEVEL_MESSAGES.refusing);
      } else {
        this.#deps.log.info(fields, LEVEL_MESSAGES[this.#state.level]);
      }
    }
    this.#refusalLog.flush(now);
  }
}

function isHeadroomRefusal(reason: RefusalReason): boolean {
  return ![
    'max-sessions',
    'storage-critical',
    'storage-unwritable',
    'open-files',
    'no-media-port',
    'partner-refused',
    'shutdown',
  ].includes(reason);
}
