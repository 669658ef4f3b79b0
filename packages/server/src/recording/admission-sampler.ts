import os from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { MediaLoad } from '../media/media-engine.js';
import type { HeadroomSample } from './admission.js';

/**
 * What the host tells about the main thread and the process: event-loop delay and memory. The
 * media path's signals come from the media engine (MediaEngine.load); the database queue from the
 * session writer. Tests replace the probe to set exact values.
 */
export interface HostProbe {
  /**
   * The event-loop delay since the previous call (ms): the median, so that a lone garbage
   * collection does not count, while a thread behind more often than not does. Starts a new window.
   */
  eventLoopDelayMs(): number;
  rssBytes(): number;
  /** The memory the node may use (see `memoryLimitBytes`). */
  readonly memoryLimitBytes: number;
  close(): void;
}

/** Share of the host's memory the node counts as its own when no cgroup limit is set. */
const HOST_MEMORY_SHARE = 0.5;
/** The delay histogram's sampling step: fine enough for a 50 ms warning level. */
const EVENT_LOOP_RESOLUTION_MS = 10;
const NS_PER_MS = 1e6;

/**
 * The node's memory limit: the cgroup's (memory.max, as Node reads it) when one is set and below
 * the host's memory, else half the host's memory, since other programs share it.
 */
export function memoryLimitBytes(constrained: number | undefined, totalBytes: number): number {
  return constrained !== undefined && constrained > 0 && constrained < totalBytes
    ? constrained
    : Math.floor(totalBytes * HOST_MEMORY_SHARE);
}

/** The probe of this process: perf_hooks' event-loop delay histogram and process memory. */
export function createHostProbe(): HostProbe {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  histogram.enable();
  const limit = memoryLimitBytes(process.constrainedMemory(), os.totalmem());
  return {
    eventLoopDelayMs: () => {
      // The histogram counts the resolution itself in each delay; a window with no sample is 0.
      const delayMs =
        histogram.count === 0
          ? 0
          : Math.max(0, histogram.percentile(50) / NS_PER_MS - EVENT_LOOP_RESOLUTION_MS);
      histogram.reset();
      return delayMs;
    },
    rssBytes: () => process.memoryUsage.rss(),
    memoryLimitBytes: limit,
    close: () => {
      histogram.disable();
    },
  };
}

/** One sample of every signal, from the media engine's load, the database queue and the host. */
export function takeHeadroomSample(
  atMs: number,
  media: MediaLoad | undefined,
  pendingDatabaseWrites: number,
  host: HostProbe,
): HeadroomSample {
  return {
    atMs,
    ...(media === undefined
      ? {}
      : {
          workerLagMs: media.workerLagMs,
          kernelReceiveDrops: media.kernelReceiveDrops,
          mediaPendingWriteBytes: media.pendingWriteBytes,
        }),
    eventLoopDelayMs: host.eventLoopDelayMs(),
    pendingDatabaseWrites,
    rssBytes: host.rssBytes(),
    memoryLimitBytes: host.memoryLimitBytes,
  };
}
