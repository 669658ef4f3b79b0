import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { errorCodeOf } from '../model/storage-failure.js';

/**
 * Whether the node can write what it records (issue 13, "Full disks and I/O errors"). A track
 * write or a database write that fails for lack of space or an I/O error marks its target
 * failing; the node then refuses new calls (503, `storage-unwritable`) until it can write again:
 * for the database, when the write that failed (retried by the session writer) succeeds; for the
 * media partition, when a probe write succeeds. Which database errors are the disk's:
 * model/storage-failure.ts. The probe runs every second while the media
 * partition is failing, and writes a file of PROBE_BYTES (then removes it), so that a partition
 * with a few blocks freed is not taken for one with room for calls.
 */

export type WriteTarget = 'media' | 'database';

/** Bytes the probe writes: about 4 s of one G.711 track, room for a call's first moments. */
export const PROBE_BYTES = 64 * 1024;
const DEFAULT_PROBE_INTERVAL_MS = 1000;
const PROBE_FILE = '.verbatim-write-probe';

export interface WriteFailure {
  readonly target: WriteTarget;
  /** `disk-full`, `write-failed: EIO`, `partition full`, … */
  readonly reason: string;
  /** When the target started failing (epoch ms). */
  readonly since: number;
}

export interface WriteHealthStatus {
  readonly writable: boolean;
  /** The targets failing now. */
  readonly failing: readonly WriteFailure[];
  /** Times a target went from writable to failing, by target. */
  readonly failures: Readonly<Record<WriteTarget, number>>;
  /** Database writes that failed for lack of space or an I/O error and were retried. */
  readonly databaseRetries: number;
}

export interface WriteHealthOptions {
  /** The media directory: the probe writes there. */
  readonly mediaDir: string;
  readonly log: Logger;
  readonly now?: () => number;
  readonly probeIntervalMs?: number;
  /** The probe write; tests replace it. Resolves when PROBE_BYTES were written and synced. */
  readonly probe?: () => Promise<void>;
}

export class WriteHealth {
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #probeIntervalMs: number;
  readonly #probe: () => Promise<void>;
  readonly #failing = new Map<WriteTarget, WriteFailure>();
  readonly #failures: Record<WriteTarget, number> = { media: 0, database: 0 };
  #databaseRetries = 0;
  #timer: NodeJS.Timeout | undefined;
  #probing = false;
  #closed = false;

  constructor(options: WriteHealthOptions) {
    this.#log = options.log.child({ component: 'write-health' });
    this.#now = options.now ?? Date.now;
    this.#probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.#probe = options.probe ?? (() => probeWrite(options.mediaDir));
  }

  /** False while a target is failing: new calls are refused. */
  get writable(): boolean {
    return this.#failing.size === 0;
  }

  status(): WriteHealthStatus {
    return {
      writable: this.writable,
      failing: [...this.#failing.values()],
      failures: { ...this.#failures },
      databaseRetries: this.#databaseRetries,
    };
  }

  /** A write to `target` failed for lack of space or an I/O error. */
  noteFailure(target: WriteTarget, reason: string): void {
    if (this.#closed) {
      return;
    }
    if (!this.#failing.has(target)) {
      this.#failing.set(target, { target, reason, since: this.#now() });
      this.#failures[target]++;
      this.#log.error(
        { target, reason },
        `cannot write the ${target === 'media' ? 'media partition' : 'database'}: new calls are refused with 503`,
      );
    }
    if (target === 'media') {
      this.#startProbing();
    }
  }

  /** A database write that failed for lack of space or an I/O error is retried. */
  noteDatabaseRetry(): void {
    this.#databaseRetries++;
  }

  /** A write to `target` succeeded. */
  noteSuccess(target: WriteTarget): void {
    const failure = this.#failing.get(target);
    if (failure === undefined) {
      return;
    }
    this.#failing.delete(target);
    this.#log.info(
      { target, reason: failure.reason, failingMs: this.#now() - failure.since },
      `the ${target === 'media' ? 'media partition' : 'database'} can be written again` +
        (this.writable ? ': new calls are taken' : ''),
    );
    if (target === 'media') {
      this.#stopProbing();
    }
  }

  close(): void {
    this.#closed = true;
    this.#stopProbing();
  }

  #startProbing(): void {
    if (this.#timer !== undefined || this.#closed) {
      return;
    }
    this.#timer = setInterval(() => {
      void this.#runProbe();
    }, this.#probeIntervalMs);
    this.#timer.unref();
  }

  #stopProbing(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  async #runProbe(): Promise<void> {
    if (this.#probing) {
      return;
    }
    this.#probing = true;
    try {
      await this.#probe();
      this.noteSuccess('media');
    } catch (error: unknown) {
      this.#log.debug({ err: error }, 'the media partition still cannot be written');
    } finally {
      this.#probing = false;
    }
  }
}

/** Writes PROBE_BYTES to a new file in `dir`, syncs it and removes it. */
async function probeWrite(dir: string): Promise<void> {
  const path = join(dir, PROBE_FILE);
  const file = await open(path, 'w');
  try {
    await file.write(randomBytes(PROBE_BYTES));
    await file.datasync();
  } finally {
    await file.close();
    await unlink(path).catch(() => undefined);
  }
}

/**
 * Why a session ends when its track file could not be written, from the errno code: a full disk
 * or quota is `disk-full`, anything else `write-failed: CODE` (EIO, EROFS, …).
 */
export function trackWriteFailureReason(code: string): string {
  return code === 'ENOSPC' || code === 'EDQUOT' ? 'disk-full' : `write-failed: ${code}`;
}

/** The reason a failing database write marks the database with. */
export function databaseFailureReason(error: unknown): string {
  const code = errorCodeOf(error) ?? 'unknown';
  return code === 'SQLITE_FULL' || code === 'ENOSPC' ? 'disk-full' : `write-failed: ${code}`;
}
