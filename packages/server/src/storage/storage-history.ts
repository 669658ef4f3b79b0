import type { Logger } from 'pino';

import type { StorageHistoryStore } from '../model/storage-history.js';
import type { StorageSample } from './storage-agent.js';

/**
 * Storage use over time (issue 14): keeps one of the storage agent's samples every `intervalMs`
 * (5 minutes by default, `--storage-history-interval`) in the database, the first one at start,
 * so Administration can chart it. The agent samples every few seconds for its thresholds; the
 * history needs far fewer points. Samples older than `keepMs` (90 days) are removed as new ones
 * are written, so the table stays bounded (about 26,000 rows a node).
 */

export const DEFAULT_HISTORY_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_HISTORY_KEEP_MS = 90 * 86_400_000;
/** Pruning runs at most this often (it is one indexed DELETE, but there is no need to run it per write). */
const PRUNE_EVERY_MS = 3_600_000;

export interface StorageHistoryOptions {
  readonly store: StorageHistoryStore;
  readonly nodeId: string;
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly keepMs?: number;
}

export class StorageHistoryRecorder {
  readonly #options: StorageHistoryOptions;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #keepMs: number;
  #lastWrittenAt: number | undefined;
  #lastPrunedAt: number | undefined;
  #writing: Promise<void> | undefined;
  #failures = 0;
  #failing = false;
  #closed = false;

  constructor(options: StorageHistoryOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'storage-history' });
    this.#intervalMs = options.intervalMs ?? DEFAULT_HISTORY_INTERVAL_MS;
    this.#keepMs = options.keepMs ?? DEFAULT_HISTORY_KEEP_MS;
  }

  /** Samples that could not be written (logged, then the next one is tried). */
  get failures(): number {
    return this.#failures;
  }

  /**
   * The storage agent's sample listener: writes the sample when the interval has passed since the
   * last one written (the first at once). A write still running when the next is due is not
   * doubled: that sample is skipped.
   */
  readonly onSample = (sample: StorageSample): void => {
    if (this.#closed || this.#writing !== undefined) {
      return;
    }
    const last = this.#lastWrittenAt;
    // A clock stepped back (last in the future) writes again rather than waiting out the step.
    if (last !== undefined && sample.sampledAt - last < this.#intervalMs && sample.sampledAt >= last) {
      return;
    }
    this.#lastWrittenAt = sample.sampledAt;
    this.#writing = this.#write(sample).finally(() => {
      this.#writing = undefined;
    });
  };

  async #write(sample: StorageSample): Promise<void> {
    const { store, nodeId } = this.#options;
    try {
      await store.appendStorageSample({
        at: sample.sampledAt,
        nodeId,
        totalBytes: sample.totalBytes,
        usedBytes: sample.usedBytes,
        freeBytes: sample.freeBytes,
        sessions: await store.countStoredSessions(),
      });
      if (this.#lastPrunedAt === undefined || sample.sampledAt - this.#lastPrunedAt >= PRUNE_EVERY_MS) {
        this.#lastPrunedAt = sample.sampledAt;
        const removed = await store.pruneStorageSamples(sample.sampledAt - this.#keepMs);
        if (removed > 0) {
          this.#log.debug({ removed }, 'old storage samples removed');
        }
      }
      if (this.#failing) {
        this.#failing = false;
        this.#log.info('storage history samples are written again');
      }
    } catch (error) {
      this.#failures++;
      // Not written: the next sample is tried at once rather than an interval later.
      this.#lastWrittenAt = undefined;
      // One warning per run of failures: the agent samples every few seconds.
      if (this.#failing) {
        this.#log.debug({ err: error }, 'cannot write a storage history sample');
      } else {
        this.#failing = true;
        this.#log.warn({ err: error }, 'cannot write a storage history sample');
      }
    }
  }

  /** Waits for a write in progress; later samples are ignored. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#writing;
  }
}
