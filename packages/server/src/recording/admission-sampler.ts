import os from 'node:os';
import type { MediaLoad } from '../media/media-engine.js';
import type { HeadroomSample } from './admission.js';

/**
 * What the host tells about the main thread and the process: event-loop delay and memory. The
 * media path's signals come from the media engine (MediaEngine.load); the database queue from the
 * session writer. Tests replace the probe to set exact values.
 */
export interface HostProbe {
  /**
   * How far behind the main thread ran since the previous call, as a mean wait (ms): its lateness
   * averaged over the window's wall time, as the media workers report theirs (media/lag-probe.ts),
   * so that a lone garbage collection weighs little while a thread always behind shows. Starts a
   * new window.
   */
  eventLoopDelayMs(): number;
  rssBytes(): number;
  /** The memory the node may use (see `memoryLimitBytes`). */
  readonly memoryLimitBytes: number;
  close(): void;
}

/** Share of the host's memory the node counts as its own when no cgroup limit is set. */
const HOST_MEMORY_SHARE = 0.5;
/**
 * The node's memory limit: the cgroup's (memory.max, as Node reads it) when one is set and below
 * the host's memory, else half the host's memory, since other programs share it.
 */
export function memoryLimitBytes(constrained: number | undefined, totalBytes: number): number {
  return constrained !== undefined && constrained > 0 && constrained < totalBytes
    ? constrained
    : Math.floor(totalBytes * HOST_MEMORY_SHARE);
}

/**
 * How far behind a thread runs, as a mean wait over the time since the previous take
 * (media/lag-probe.ts, which app.ts gives for the main thread).
 */
export interface MeanWaitProbe {
  start(): void;
  takeMeanWaitMs(): number;
  stop(): void;
}

/**
 * The probe of this process: how far its main thread runs behind (from `mainThread`, started
 * here; 0 without one, for tests that set the other signals) and its memory.
 */
export function createHostProbe(mainThread: MeanWaitProbe | undefined): HostProbe {
  mainThread?.start();
  const limit = memoryLimitBytes(process.constrainedMemory(), os.totalmem());
  return {
    eventLoopDelayMs: () => mainThread?.takeMeanWaitMs() ?? 0,
    rssBytes: () => process.memoryUsage.rss(),
    memoryLimitBytes: limit,
    close: () => {
      mainThread?.stop();
    },
  };
}

/** One sample of every signal, from the media engine's load, the database queue and the host. */
export function takeHeadroomSample(
  atMs: number,
  media: MediaLoad | undefined,
  pendingDatabaseWrites: number,
  activeSessions: number,
  host: HostProbe,
): HeadroomSample {
  return {
    atMs,
    ...(media === undefined
      ? {}
      : {
          workerLagMs: media.workerLagMs,
          workerMaxWaitMs: media.workerMaxWaitMs,
          kernelReceiveDrops: media.kernelReceiveDrops,
          mediaPendingWriteBytes: media.pendingWriteBytes,
        }),
    eventLoopDelayMs: host.eventLoopDelayMs(),
    pendingDatabaseWrites,
    rssBytes: host.rssBytes(),
    activeSessions,
    memoryLimitBytes: host.memoryLimitBytes,
  };
}
