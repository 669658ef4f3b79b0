import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { EventSink } from '../model/events.js';

/**
 * Watches the free space of the disk holding the media (the first duty of the storage agent,
 * DESIGN.md §2 `storage/`). Below `criticalPercent` free the node is critical: the recording
 * service refuses new calls with 503 so that controllers move to another recorder, and a
 * STORAGE_THRESHOLD_EVENT says so, as MediaSense's ENTER_CRITICAL_STORAGE_SPACE did. Leaving the
 * state needs 5 points more free space (MediaSense entered at 90 % use and left below 85 %), so a
 * disk hovering at the threshold does not flap.
 */
export interface DiskSpaceMonitorOptions {
  /** A path on the watched file system (the media directory). */
  readonly path: string;
  /** Critical below this much free space, in percent; 0 never is. */
  readonly criticalPercent: number;
  readonly nodeId: string;
  readonly logger: Logger;
  readonly events?: EventSink;
  /** How often the disk is looked at (default 5 s). */
  readonly intervalMs?: number;
  /** The file system query; tests replace it. */
  readonly statfs?: (path: string) => Promise<{ bavail: number; blocks: number; bsize: number }>;
  readonly now?: () => number;
}

export interface DiskSpace {
  readonly freeBytes: number;
  readonly totalBytes: number;
  readonly freePercent: number;
}

/** Points of free space above the threshold needed to leave the critical state. */
const EXIT_MARGIN_PERCENT = 5;

export class DiskSpaceMonitor {
  readonly #options: DiskSpaceMonitorOptions;
  readonly #log: Logger;
  readonly #statfs: (path: string) => Promise<{ bavail: number; blocks: number; bsize: number }>;
  #critical = false;
  #last: DiskSpace | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DiskSpaceMonitorOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'storage' });
    this.#statfs = options.statfs ?? ((path) => statfs(path));
  }

  /** True while the media disk is critically full. */
  get critical(): boolean {
    return this.#critical;
  }

  get last(): DiskSpace | undefined {
    return this.#last;
  }

  /** Looks at the disk now, then every interval until close(). */
  async start(): Promise<void> {
    await this.check();
    this.#timer = setInterval(() => {
      void this.check();
    }, this.#options.intervalMs ?? 5000);
    this.#timer.unref();
  }

  /** One look at the disk; a failing query is logged and leaves the state as it was. */
  async check(): Promise<DiskSpace | undefined> {
    let stats: { bavail: number; blocks: number; bsize: number };
    try {
      stats = await this.#statfs(this.#options.path);
    } catch (error) {
      this.#log.error(
        { err: error, path: this.#options.path },
        'cannot read the free space of the media disk',
      );
      return undefined;
    }
    const totalBytes = stats.blocks * stats.bsize;
    const freeBytes = stats.bavail * stats.bsize;
    const space: DiskSpace = {
      freeBytes,
      totalBytes,
      freePercent: totalBytes > 0 ? (100 * freeBytes) / totalBytes : 0,
    };
    this.#last = space;
    const threshold = this.#options.criticalPercent;
    const critical = this.#critical
      ? space.freePercent < threshold + EXIT_MARGIN_PERCENT
      : space.freePercent < threshold;
    if (critical !== this.#critical) {
      this.#critical = critical;
      const utilization = Math.round(100 - space.freePercent);
      if (critical) {
        this.#log.error(
          { ...space, threshold },
          'media disk critically full: new calls are refused with 503',
        );
      } else {
        this.#log.warn({ ...space, threshold }, 'media disk no longer critical: new calls are accepted');
      }
      this.#options.events?.publish({
        eventType: 'STORAGE_THRESHOLD_EVENT',
        eventAction: critical ? 'ENTER_CRITICAL_STORAGE_SPACE' : 'EXIT_CRITICAL_STORAGE_SPACE',
        nodeId: this.#options.nodeId,
        partition: this.#options.path,
        percentageUtilization: utilization,
        at: (this.#options.now ?? Date.now)(),
      });
    }
    return space;
  }

  close(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
