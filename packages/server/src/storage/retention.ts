import type { Logger } from 'pino';
import type { EventSink } from '../model/events.js';
import type { Session } from '../model/session.js';
import {
  checkPolicyChange,
  DEFAULT_STORAGE_POLICY,
  isOnLegalHold,
  type StoragePolicy,
  type StoragePolicyChange,
  type StoragePolicyStore,
} from '../model/storage-policy.js';
import { removeSessionMedia } from './session-media.js';
import type { StorageSample } from './storage-agent.js';
import { levelAtLeast, type StorageLevel } from './storage-thresholds.js';

/**
 * The retention policy at work (issue 13, MediaSense's two modes; the policy itself is
 * model/storage-policy.ts, stored in the database).
 *
 * Recording priority: sessions older than `maxAgeDays` are pruned (at start, every hour and when the
 * policy changes), and while the storage agent is at CRITICAL or above the oldest closed sessions
 * are pruned, one at a time with a new sample in between, until the level falls below CRITICAL
 * (85 % used by default: the threshold's exit). New calls are refused only at EMERGENCY: recording
 * comes first, pruning makes room.
 *
 * Retention priority: nothing is pruned; from CRITICAL new calls get 503; on entering EMERGENCY
 * the recordings in progress are ended (recording-service endAllRecordings: tracks flushed,
 * sessions CLOSED_ERROR with the reason, ENDED events).
 *
 * Pruning removes a session's media (its cached MP4 first, then its track files and folder,
 * session-media.ts) and flags it pruned (getAllPrunedSessions), or turns it into a DELETED tombstone
 * when the policy deletes metadata too. Sessions carrying the legal hold tag are never selected, and
 * each one is checked again right before its files go. It runs in the background, one session at a
 * time with a turn of the event loop in between, so SIP and RTP never wait for it; each batch's ids
 * are published as one `SESSION_EVENT` `PRUNED`.
 */

/** What pruning needs of the database. */
export interface RetentionStore extends StoragePolicyStore {
  getSession(sessionId: string): Promise<Session | undefined>;
  markSessionPruned(sessionId: string, prunedAtMs: number): Promise<boolean>;
}

/** What retention reads of the storage agent. */
export interface StorageLevelSource {
  readonly level: StorageLevel;
  check(): Promise<StorageSample | undefined>;
  onSample(listener: (sample: StorageSample, level: StorageLevel, previous: StorageLevel) => void): void;
}

export interface RetentionOptions {
  readonly store: RetentionStore;
  readonly mediaDir: string;
  readonly storage: StorageLevelSource;
  /** Ends every recording in progress (RecordingService.endAllRecordings); answers how many. */
  readonly endAllRecordings?: (reason: string) => Promise<number>;
  /**
   * Removes what was made from a session's media and kept (its MP4s, its waveforms), which the
   * caches may keep outside the session's folder.
   */
  readonly discardDerived?: (session: Session) => Promise<void>;
  readonly events: EventSink;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How often age pruning runs (default 1 h). */
  readonly ageIntervalMs?: number;
  /** How often the stored policy is read again, for changes made by the command line (default 30 s). */
  readonly policyRefreshMs?: number;
  /** Sessions per batch: default 100 for age (one PRUNED event each), 1 under pressure (a sample after each). */
  readonly ageBatch?: number;
  readonly pressureBatch?: number;
}

export interface RetentionCounters {
  /** Sessions whose media was pruned. */
  pruned: number;
  /** Sessions whose metadata went too (DELETED tombstones). */
  metadataDeleted: number;
  /** Sessions whose media could not be removed (kept as they were). */
  failures: number;
  /** Recordings ended at EMERGENCY in retention priority. */
  recordingsEnded: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Most session ids in one PRUNED event, and the longest a pruned id waits for its event (as DELETED). */
const PRUNED_EVENT_MAX_IDS = 100;
const PRUNED_EVENT_MAX_WAIT_MS = 1000;

export class RetentionService {
  readonly #options: RetentionOptions;
  readonly #store: RetentionStore;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #counters: RetentionCounters = { pruned: 0, metadataDeleted: 0, failures: 0, recordingsEnded: 0 };
  /** Sessions whose media could not be removed: left out until restart, so pressure never loops on them. */
  readonly #failed = new Set<string>();
  #policy: StoragePolicy = DEFAULT_STORAGE_POLICY;
  #timers: NodeJS.Timeout[] = [];
  #running: Promise<void> | undefined;
  #again: 'age' | 'pressure' | undefined;
  #closing = false;
  #ending: Promise<void> | undefined;
  /** Whether "nothing left to prune" was logged in this critical episode (once, not every sample). */
  #stuckLogged = false;

  constructor(options: RetentionOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'retention' });
    this.#now = options.now ?? Date.now;
    options.storage.onSample((_sample, level, previous) => {
      this.#onSample(level, previous);
    });
  }

  get policy(): StoragePolicy {
    return this.#policy;
  }

  get counters(): Readonly<RetentionCounters> {
    return { ...this.#counters };
  }

  /**
   * Whether new calls are refused for storage now: from CRITICAL in retention priority, only at
   * EMERGENCY in recording priority (pruning makes room below that).
   */
  refusesNewCalls(): boolean {
    const level = this.#options.storage.level;
    return this.#policy.mode === 'RETENTION_PRIORITY'
      ? levelAtLeast(level, 'CRITICAL')
      : levelAtLeast(level, 'EMERGENCY');
  }

  /** Reads the stored policy, then prunes by age now and every interval. */
  async start(): Promise<void> {
    await this.refreshPolicy();
    this.#log.info({ policy: this.#policy }, 'retention policy');
    const age = setInterval(
      () => {
        this.#kick('age');
      },
      this.#options.ageIntervalMs ?? 60 * 60 * 1000,
    );
    const refresh = setInterval(() => {
      void this.refreshPolicy().catch((error: unknown) => {
        this.#log.error({ err: error }, 'cannot read the retention policy');
      });
    }, this.#options.policyRefreshMs ?? 30_000);
    age.unref();
    refresh.unref();
    this.#timers = [age, refresh];
    this.#kick('age');
    // The level may already call for action (a node started on a full disk).
    this.#onSample(this.#options.storage.level, 'NORMAL');
  }

  async refreshPolicy(): Promise<StoragePolicy> {
    const stored = await this.#store.getStoragePolicy();
    const policy = stored ?? DEFAULT_STORAGE_POLICY;
    if (policy.mode !== this.#policy.mode && stored !== undefined) {
      this.#log.info({ mode: policy.mode }, 'retention mode changed');
    }
    this.#policy = policy;
    return policy;
  }

  /** Changes the stored policy (the API and the command line audit the change themselves). */
  async setPolicy(
    change: StoragePolicyChange,
    by: string,
  ): Promise<{ ok: true; policy: StoragePolicy; before: StoragePolicy } | { ok: false; detail: string }> {
    const result = await changeStoragePolicy(this.#store, change, by, this.#now());
    if (!result.ok) {
      return result;
    }
    this.#policy = result.policy;
    this.#log.info({ policy: result.policy, by }, 'retention policy changed');
    this.#kick('age');
    this.#onSample(this.#options.storage.level, this.#options.storage.level);
    return result;
  }

  /** Whether a session is on legal hold under the current policy. */
  isOnLegalHold(session: Pick<Session, 'tags' | 'tracks'>): boolean {
    return isOnLegalHold(session, this.#policy.legalHoldTag);
  }

  /** Runs age pruning now and waits for it (tests, and after a policy change). */
  async pruneByAgeNow(): Promise<void> {
    this.#kick('age');
    await this.settled();
  }

  /** Resolves when no pruning and no ending is running. */
  async settled(): Promise<void> {
    while (this.#running !== undefined || this.#ending !== undefined) {
      await this.#running;
      await this.#ending;
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const timer of this.#timers) {
      clearInterval(timer);
    }
    await this.settled();
  }

  #onSample(level: StorageLevel, previous: StorageLevel): void {
    if (this.#closing) {
      return;
    }
    if (this.#policy.mode === 'RECORDING_PRIORITY') {
      if (levelAtLeast(level, 'CRITICAL')) {
        this.#kick('pressure');
      } else {
        this.#stuckLogged = false;
      }
      return;
    }
    if (level === 'EMERGENCY' && previous !== 'EMERGENCY' && this.#ending === undefined) {
      this.#ending = this.#endRecordings().finally(() => {
        this.#ending = undefined;
      });
    }
  }

  async #endRecordings(): Promise<void> {
    const end = this.#options.endAllRecordings;
    if (end === undefined) {
      return;
    }
    try {
      const ended = await end(STORAGE_EMERGENCY_REASON);
      this.#counters.recordingsEnded += ended;
      this.#log.error(
        { ended },
        'storage emergency in retention priority: recordings in progress were ended, new calls are refused',
      );
    } catch (error) {
      this.#log.error({ err: error }, 'ending the recordings at the storage emergency failed');
    }
  }

  /** Starts a run of `kind`, or asks the running one to run again afterwards. */
  #kick(kind: 'age' | 'pressure'): void {
    if (this.#closing) {
      return;
    }
    if (this.#running !== undefined) {
      // Pressure outranks age: a run asked for while one runs is done once it ends.
      if (this.#again !== 'pressure') {
        this.#again = kind;
      }
      return;
    }
    this.#running = this.#run(kind)
      .catch((error: unknown) => {
        this.#log.error({ err: error, kind }, 'pruning failed');
      })
      .finally(() => {
        this.#running = undefined;
        const again = this.#again;
        this.#again = undefined;
        if (again !== undefined) {
          this.#kick(again);
        }
      });
  }

  async #run(kind: 'age' | 'pressure'): Promise<void> {
    const policy = await this.refreshPolicy();
    if (policy.mode !== 'RECORDING_PRIORITY') {
      return;
    }
    if (kind === 'age') {
      const startedBefore = this.#now() - policy.maxAgeDays * DAY_MS;
      const batch = this.#options.ageBatch ?? 100;
      let total = 0;
      for (;;) {
        const ids = await this.#pruneOldest(policy, startedBefore, batch);
        if (ids.length > 0) {
          this.#publishPruned(ids);
        }
        total += ids.length;
        if (ids.length === 0 || this.#closing) {
          break;
        }
      }
      if (total > 0) {
        this.#log.info(
          { pruned: total, maxAgeDays: policy.maxAgeDays },
          'sessions past the retention age pruned',
        );
      }
      return;
    }
    // One session at a time, each followed by a fresh sample, so that no more is pruned than the
    // level needs; the ids still go out in batches (at 100, after a second, at the end).
    let total = 0;
    let waiting: string[] = [];
    let firstWaitingAt = 0;
    const publish = (): void => {
      if (waiting.length > 0) {
        this.#publishPruned(waiting);
        waiting = [];
      }
    };
    while (!this.#closing && levelAtLeast(this.#options.storage.level, 'CRITICAL')) {
      const ids = await this.#pruneOldest(policy, undefined, this.#options.pressureBatch ?? 1);
      if (ids.length === 0) {
        if (this.#stuckLogged) {
          break;
        }
        this.#stuckLogged = true;
        this.#log.error(
          { level: this.#options.storage.level },
          'media partition critically full and no session left to prune (legal hold, or media that cannot be removed)',
        );
        break;
      }
      total += ids.length;
      if (waiting.length === 0) {
        firstWaitingAt = this.#now();
      }
      waiting.push(...ids);
      if (
        waiting.length >= PRUNED_EVENT_MAX_IDS ||
        this.#now() - firstWaitingAt >= PRUNED_EVENT_MAX_WAIT_MS
      ) {
        publish();
      }
      await this.#options.storage.check();
    }
    publish();
    if (total > 0) {
      this.#log.warn(
        { pruned: total, level: this.#options.storage.level },
        'oldest sessions pruned to make room on the media partition',
      );
    }
  }

  #publishPruned(sessionIds: readonly string[]): void {
    this.#options.events.publish({
      eventType: 'SESSION_EVENT',
      eventAction: 'PRUNED',
      sessionIds,
      at: this.#now(),
    });
  }

  /** Prunes up to `limit` of the oldest candidates; the ids of those it pruned. */
  async #pruneOldest(
    policy: StoragePolicy,
    startedBefore: number | undefined,
    limit: number,
  ): Promise<string[]> {
    const candidates = (
      await this.#store.listPruneCandidates({
        ...(startedBefore === undefined ? {} : { startedBefore }),
        legalHoldTag: policy.legalHoldTag,
        limit: limit + this.#failed.size,
      })
    )
      .filter((candidate) => !this.#failed.has(candidate.sessionId))
      .slice(0, limit);
    const pruned: string[] = [];
    for (const candidate of candidates) {
      if (this.#closing) {
        break;
      }
      if (await this.#pruneOne(candidate.sessionId, policy)) {
        pruned.push(candidate.sessionId);
      }
      // A turn of the event loop between sessions: SIP, RTP control and the API go first.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return pruned;
  }

  async #pruneOne(sessionId: string, policy: StoragePolicy): Promise<boolean> {
    const session = await this.#store.getSession(sessionId);
    // Read again: the session may have been tagged for legal hold, deleted or pruned since it was picked.
    if (
      session === undefined ||
      (session.sessionState !== 'CLOSED_NORMAL' && session.sessionState !== 'CLOSED_ERROR') ||
      session.prunedAt !== undefined ||
      isOnLegalHold(session, policy.legalHoldTag)
    ) {
      return false;
    }
    try {
      await this.#options.discardDerived?.(session);
    } catch (error) {
      this.#log.warn({ err: error, sessionId }, 'cached MP4 or waveform of a pruned session not removed');
    }
    const removal = await removeSessionMedia(this.#options.mediaDir, session);
    if (removal.failures.length > 0) {
      this.#failed.add(sessionId);
      this.#counters.failures++;
      this.#log.warn(
        { sessionId, failures: removal.failures.slice(0, 4) },
        'session media not removed: the session is kept and left out of pruning until restart',
      );
      return false;
    }
    const at = this.#now();
    if (policy.deleteMetadata) {
      if (!(await this.#store.deletePrunedSessionMetadata(sessionId, at, policy.legalHoldTag))) {
        // Tagged for legal hold between the check and here: its media is gone, so flag it pruned.
        await this.#store.markSessionPruned(sessionId, at);
      } else {
        this.#counters.metadataDeleted++;
      }
    } else {
      await this.#store.markSessionPruned(sessionId, at);
    }
    this.#counters.pruned++;
    return true;
  }
}

/** The reason sessions ended at a storage emergency carry (their state is CLOSED_ERROR). */
export const STORAGE_EMERGENCY_REASON = 'storage emergency: the media partition is full (retention priority)';

/** Validates a change, merges it with the stored policy and stores it (the API and the CLI share it). */
export async function changeStoragePolicy(
  store: StoragePolicyStore,
  change: StoragePolicyChange,
  by: string,
  now: number,
): Promise<{ ok: true; policy: StoragePolicy; before: StoragePolicy } | { ok: false; detail: string }> {
  const problem = checkPolicyChange(change);
  if (problem !== undefined) {
    return { ok: false, detail: problem };
  }
  const before = (await store.getStoragePolicy()) ?? DEFAULT_STORAGE_POLICY;
  const policy: StoragePolicy = {
    mode: change.mode ?? before.mode,
    maxAgeDays: change.maxAgeDays ?? before.maxAgeDays,
    deleteMetadata: change.deleteMetadata ?? before.deleteMetadata,
    legalHoldTag: change.legalHoldTag ?? before.legalHoldTag,
    updatedAt: now,
    updatedBy: by,
  };
  await store.setStoragePolicy(policy);
  return { ok: true, policy, before };
}
