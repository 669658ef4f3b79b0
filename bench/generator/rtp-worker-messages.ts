/** Messages between the generator's main thread and its RTP worker threads (rtp-worker.ts). */
import type { RtpStreamResult, RtpStreamSpec } from './rtp-scheduler.js';

export type RtpWorkerCommand =
  /** Streams started in the same turn of the main thread's event loop travel together. */
  | { readonly type: 'start'; readonly specs: readonly RtpStreamSpec[] }
  | { readonly type: 'stop'; readonly id: number }
  | { readonly type: 'close' };

export type RtpWorkerEvent =
  /** Streams that ended in the same turn of the worker's event loop travel together. */
  | { readonly type: 'done'; readonly results: readonly RtpStreamResult[] }
  | { readonly type: 'closed' }
  /** The worker has loaded and listens for commands. */
  | { readonly type: 'ready' };
