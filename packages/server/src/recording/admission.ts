/**
 * Admission control by the node's headroom (issue 8, "Load never costs the calls in progress"):
 * the pure decision. The node samples its signals (admission-sampler.ts); from each sample and the
 * previous state this module computes whether new calls are taken freely (`open`), at a bounded
 * pace (`ramping`), or refused with 503 (`refusing`). It never reads a clock or the host, so every
 * threshold is unit-tested with exact inputs (test/unit/recording/admission.test.ts).
 *
 * Why three levels: every signal shows load only after it arrived (the media workers report
 * every 250 ms, over a one-second window), so a burst of INVITEs could all be taken before any
 * signal moves. Once a signal is above its warning level the node therefore grows by at most
 * `RAMP_GROWTH` of the sessions it holds (or, if more, of what it held calmly in the last minute)
 * per `RAMP_INTERVAL_MS`, at least one, so it grows only by what it can be seen to carry, and a
 * node near its limit overshoots by a few percent, not by a burst; past the refuse level it takes
 * none. Leaving `refusing` needs the signal well below
 * its refuse level, and leaving `ramping` needs `CALM_MS_TO_OPEN` of calm samples, so the node
 * does not flap at a threshold.
 */

/** What the node measured about itself, once per sampling interval. */
export interface HeadroomSample {
  /** When it was taken (the service's clock). */
  readonly atMs: number;
  /** How far the media workers run behind real time, a mean wait (MediaLoad.workerLagMs); absent without workers. */
  readonly workerLagMs?: number;
  /**
   * The longest a datagram waited to be read (MediaLoad.workerMaxWaitMs): shown in the metrics,
   * not judged, since a lone garbage collection sets it for a whole window.
   */
  readonly workerMaxWaitMs?: number;
  /** Datagrams the kernel dropped for full receive buffers, a running total (MediaLoad). */
  readonly kernelReceiveDrops?: number;
  /** Stored packets waiting in memory for the disk (MediaLoad.pendingWriteBytes). */
  readonly mediaPendingWriteBytes?: number;
  /** How far the main thread (SIP, database, API) runs behind, a mean wait over the interval. */
  readonly eventLoopDelayMs: number;
  /** Database writes queued and not yet done (SessionWriter). */
  readonly pendingDatabaseWrites: number;
  readonly rssBytes: number;
  /** Sessions being recorded: the ramp's budget is a share of them. */
  readonly activeSessions: number;
  /** The memory the node may use: the cgroup limit when set, else a share of the host's. */
  readonly memoryLimitBytes: number;
}

export interface AdmissionLimits {
  /** On: headroom refusals and the ramp; off: only --max-sessions and storage refuse. */
  readonly enabled: boolean;
  /** Media worker lag at which new calls are refused (--admission-max-lag). */
  readonly maxLagMs: number;
}

export type AdmissionLevel = 'open' | 'ramping' | 'refusing';

/** Why the node refuses new calls for lack of headroom (the metric label and the log's reason). */
export type HeadroomReason =
  'media-lag' | 'event-loop-delay' | 'kernel-drops' | 'database-writes' | 'media-writes' | 'memory';

export interface AdmissionState {
  readonly level: AdmissionLevel;
  /** The signal that put the node in `ramping` or `refusing` (the worst one). */
  readonly reason?: HeadroomReason;
  /** New sessions still allowed in this ramp interval while `ramping` (unlimited while `open`). */
  readonly budget: number;
  /** When the ramp budget was last given. */
  readonly budgetAtMs?: number;
  /** Since when every signal has been below its warning level, while not `open`. */
  readonly calmSinceMs?: number;
  /**
   * The most sessions held in a calm sample (every signal under its warning level) within the last
   * `CARRIED_MEMORY_MS`, and when: what the node has shown it carries (the ramp's floor).
   */
  readonly carried?: { readonly sessions: number; readonly atMs: number };
  /** The kernel drop total of the previous sample, to see new drops. */
  readonly kernelReceiveDrops?: number;
  /** The sample the state was computed from (for metrics and log lines). */
  readonly sample?: HeadroomSample;
}

export const INITIAL_ADMISSION_STATE: AdmissionState = { level: 'open', budget: 0 };

/** While ramping, the budget of new sessions is given once per this interval: the workers' statistics window. */
export const RAMP_INTERVAL_MS = 1000;
/**
 * While ramping, the node grows by this share of the sessions it holds per interval (at least
 * one). The signals see new load a second or two late, so growth must stay small within that
 * delay: at a tenth a second a node on a host whose other program took a core grew past what it
 * could carry before its lag refused, and lost 6 % of the packets of the calls it held (the
 * benchmark's shared saturation run); one a second, the first design, capped a node holding 370
 * calls far below the 500 it could carry.
 */
export const RAMP_GROWTH = 0.02;
/**
 * How long what the node carried calmly counts for its ramp: long enough to bridge a moment of
 * load (a burst of setups, a garbage collection, another program's minute), short enough that a
 * host whose capacity fell for good is judged by what it holds now.
 */
export const CARRIED_MEMORY_MS = 60_000;
/** How long every signal must stay calm before a ramping node is open again. */
export const CALM_MS_TO_OPEN = 2000;

/**
 * Queued database writes: warning, refuse and resume levels. Each new call queues a handful
 * (session, tracks, participants, then its close), so a burst of 100 INVITEs a second queues a few
 * hundred on a healthy node: ramping from 250 refused 204 of the 500 calls of the benchmark's
 * setup-rate step while the calls in progress lost nothing. The queue holds no packet (a write is a
 * row of a few hundred bytes), so it only has to stay bounded: refusing at 4,000 does that.
 */
export const DATABASE_WRITE_LEVELS = { warn: 1000, refuse: 4000, resume: 2000 } as const;
/** Media bytes waiting for the disk: warning, refuse and resume levels. */
export const MEDIA_WRITE_LEVELS = {
  warn: 64 * 2 ** 20,
  refuse: 256 * 2 ** 20,
  resume: 128 * 2 ** 20,
} as const;
/**
 * The main thread's lag (mean wait, ms): warning, refuse and resume levels. It carries no packet
 * (the media workers do), so its lag costs the calls in progress nothing until SIP answers and
 * BYEs come late: a burst of 100 INVITEs a second sets it to tens of milliseconds on a healthy
 * node, and ramping there refused most of the burst (the benchmark's setup-rate step). SIP
 * retransmits after 500 ms (RFC 3261 T1), so the node slows down at half that and refuses at
 * twice it.
 */
export const MAIN_THREAD_LAG_LEVELS = { warn: 250, refuse: 1000, resume: 500 } as const;
/** RSS as a share of the memory limit: warning, refuse and resume levels. */
export const MEMORY_SHARE_LEVELS = { warn: 0.8, refuse: 0.9, resume: 0.85 } as const;

interface Levels {
  readonly warn: number;
  readonly refuse: number;
  /** Below it a node that was refusing for this signal may take calls again. */
  readonly resume: number;
}

/** The media workers' lag levels from --admission-max-lag: warn at a quarter, resume below half. */
export function lagLevels(maxLagMs: number): Levels {
  return { warn: maxLagMs / 4, refuse: maxLagMs, resume: maxLagMs / 2 };
}

interface Signal {
  readonly reason: HeadroomReason;
  readonly value: number;
  readonly levels: Levels;
}

/** The signals of a sample in the order a reason is chosen when several are over. */
function signalsOf(sample: HeadroomSample, limits: AdmissionLimits): Signal[] {
  const lag = lagLevels(limits.maxLagMs);
  const signals: Signal[] = [];
  if (sample.workerLagMs !== undefined) {
    signals.push({ reason: 'media-lag', value: sample.workerLagMs, levels: lag });
  }
  signals.push({
    reason: 'event-loop-delay',
    value: sample.eventLoopDelayMs,
    levels: MAIN_THREAD_LAG_LEVELS,
  });
  if (sample.mediaPendingWriteBytes !== undefined) {
    signals.push({
      reason: 'media-writes',
      value: sample.mediaPendingWriteBytes,
      levels: MEDIA_WRITE_LEVELS,
    });
  }
  signals.push({
    reason: 'database-writes',
    value: sample.pendingDatabaseWrites,
    levels: DATABASE_WRITE_LEVELS,
  });
  if (sample.memoryLimitBytes > 0) {
    signals.push({
      reason: 'memory',
      value: sample.rssBytes / sample.memoryLimitBytes,
      levels: MEMORY_SHARE_LEVELS,
    });
  }
  return signals;
}

/**
 * The state after a new sample. Kernel drops are loss already happening: new drops while the
 * workers lag past their warning level refuse; new drops without lag (the counter is host-wide, so
 * another program's socket may have overflowed) only slow admissions down.
 */
export function nextAdmissionState(
  previous: AdmissionState,
  sample: HeadroomSample,
  limits: AdmissionLimits,
): AdmissionState {
  const drops = sample.kernelReceiveDrops;
  const newDrops =
    drops !== undefined && previous.kernelReceiveDrops !== undefined && drops > previous.kernelReceiveDrops;
  const carried = carriedAfter(previous, sample, limits, newDrops);
  const base = {
    sample,
    ...(drops === undefined ? {} : { kernelReceiveDrops: drops }),
    ...(carried === undefined ? {} : { carried }),
  };
  if (!limits.enabled) {
    return { ...base, level: 'open', budget: 0 };
  }
  const signals = signalsOf(sample, limits);
  const lagWarn = lagLevels(limits.maxLagMs).warn;
  const workersLagging = (sample.workerLagMs ?? 0) >= lagWarn;
  const refusing = (reason: HeadroomReason): AdmissionState => ({
    ...base,
    level: 'refusing',
    reason,
    budget: 0,
  });
  /** Ramping: a budget of RAMP_GROWTH of the sessions held, given again once per ramp interval (never saved up). */
  const ramping = (reason: HeadroomReason | undefined, calmSinceMs?: number): AdmissionState => {
    const refill =
      previous.level !== 'ramping' ||
      previous.budgetAtMs === undefined ||
      sample.atMs - previous.budgetAtMs >= RAMP_INTERVAL_MS;
    return {
      ...base,
      level: 'ramping',
      ...(reason === undefined ? {} : { reason }),
      budget: refill ? rampBudget(sample.activeSessions, carried?.sessions) : previous.budget,
      budgetAtMs: refill ? sample.atMs : (previous.budgetAtMs ?? sample.atMs),
      ...(calmSinceMs === undefined ? {} : { calmSinceMs }),
    };
  };

  const over = signals.find((s) => s.value >= s.levels.refuse);
  if (over !== undefined) {
    return refusing(over.reason);
  }
  if (newDrops && workersLagging) {
    return refusing('kernel-drops');
  }
  if (previous.level === 'refusing') {
    const stillHigh =
      previous.reason === 'kernel-drops'
        ? undefined
        : signals.find((s) => s.reason === previous.reason && s.value >= s.levels.resume);
    if (stillHigh !== undefined) {
      return refusing(stillHigh.reason);
    }
  }
  const warned = signals.find((s) => s.value >= s.levels.warn);
  const warning: HeadroomReason | undefined = warned?.reason ?? (newDrops ? 'kernel-drops' : undefined);
  if (warning !== undefined) {
    return ramping(warning);
  }
  // Every signal is calm; a node coming back from overload keeps ramping for a while.
  if (previous.level === 'open') {
    return { ...base, level: 'open', budget: 0 };
  }
  const calmSinceMs = previous.calmSinceMs ?? sample.atMs;
  if (sample.atMs - calmSinceMs >= CALM_MS_TO_OPEN) {
    return { ...base, level: 'open', budget: 0 };
  }
  return ramping(previous.reason, calmSinceMs);
}

/**
 * The new sessions a ramping node takes per interval while it holds `activeSessions`, having
 * carried `carriedSessions` calmly in the last minute: a share of the larger, so a node that
 * warned while it held few calls (right after a burst of setups, or as calls ended after a heavy
 * moment) grows back at the pace of what it has shown it carries, not one call a second (one
 * benchmark run refused 126 of 250 calls that way, on a node that carries 500).
 */
export function rampBudget(activeSessions: number, carriedSessions = 0): number {
  return Math.max(1, Math.floor(Math.max(activeSessions, carriedSessions) * RAMP_GROWTH));
}

/** What the node carried calmly in the last CARRIED_MEMORY_MS, after this sample. */
function carriedAfter(
  previous: AdmissionState,
  sample: HeadroomSample,
  limits: AdmissionLimits,
  newDrops: boolean,
): AdmissionState['carried'] {
  const recent =
    previous.carried !== undefined && sample.atMs - previous.carried.atMs <= CARRIED_MEMORY_MS
      ? previous.carried
      : undefined;
  const calm = !newDrops && signalsOf(sample, limits).every((s) => s.value < s.levels.warn);
  if (calm && (recent === undefined || sample.activeSessions >= recent.sessions)) {
    return { sessions: sample.activeSessions, atMs: sample.atMs };
  }
  return recent;
}

export type AdmissionVerdict =
  | { readonly admit: true; readonly state: AdmissionState }
  | {
      readonly admit: false;
      /** `ramp-limit`: this interval's few new sessions are taken; a headroom reason: refusing. */
      readonly reason: HeadroomReason | 'ramp-limit';
      readonly retryAfterSeconds: number;
      readonly state: AdmissionState;
    };

/** Retry-After of a headroom refusal: load goes down only as calls end. */
export const HEADROOM_RETRY_AFTER_S = 10;
/** Retry-After of a ramp refusal: the next interval may take it. */
export const RAMP_RETRY_AFTER_S = 1;

/** Whether one new session is taken now, and the state with its budget spent. */
export function admitSession(state: AdmissionState): AdmissionVerdict {
  switch (state.level) {
    case 'open':
      return { admit: true, state };
    case 'refusing':
      return {
        admit: false,
        reason: state.reason ?? 'media-lag',
        retryAfterSeconds: HEADROOM_RETRY_AFTER_S,
        state,
      };
    case 'ramping':
      return state.budget > 0
        ? { admit: true, state: { ...state, budget: state.budget - 1 } }
        : { admit: false, reason: 'ramp-limit', retryAfterSeconds: RAMP_RETRY_AFTER_S, state };
  }
}
