import type { TrackStats } from '../model/session.js';
import type { ExpectedSource, MediaEvent } from './media-engine.js';
import type { SrtpParams } from './srtp.js';

/**
 * The messages between the media engine (main thread) and an RTP worker. Only control traffic
 * and once-a-second statistics cross this boundary, never packets (DESIGN.md §2 "Hot path"),
 * except the copies of tapped streams (MediaEngine.tap), in one message per tap tick.
 * Requests that expect an answer carry a `requestId` that the reply repeats.
 */

/** Given to the worker at start (workerData). */
export interface RtpWorkerSettings {
  /** Address the RTP and RTCP sockets bind to. */
  readonly bindAddress: string;
  /** Our address as written into the destination field of every pcap record. */
  readonly localAddress: string;
  readonly mediaTimeoutMs: number;
  readonly defaultClockRateHz: number;
  /** How often buffered records are written at the latest. */
  readonly flushIntervalMs: number;
  readonly statsIntervalMs: number;
  /** How often the worker reports its lag and pending writes ('load'), for admission control. */
  readonly loadIntervalMs: number;
  /** Shortest time between two reads of /proc/net/udp by the worker (kernel drops, queues). */
  readonly socketTableIntervalMs: number;
  readonly timeoutCheckIntervalMs: number;
  readonly bufferBytes: number;
  readonly flushRecords: number;
  /**
   * How often the copies of tapped streams are sent to the main thread (one 'tapped' message
   * for all of them): the delay a live listener gets from the batching, at most.
   */
  readonly tapIntervalMs: number;
  /**
   * The most bytes of stored packets the worker's track writers may hold for the disk together
   * (its share of the node's cap, see create-media-engine.ts): past it, packets are not stored
   * and are counted in their track's `unstored`.
   */
  readonly writeBacklogBytes: number;
}

export type ToWorker =
  | {
      readonly type: 'open';
      readonly requestId: number;
      readonly streamId: string;
      readonly filePath: string;
      readonly port: number;
      readonly clockRateHz: number;
      /** Absent for plain RTP. */
      readonly srtp?: SrtpParams | 'pending';
      /** The stream starts paused: nothing it receives is stored until it is resumed. */
      readonly paused?: boolean;
    }
  | { readonly type: 'close'; readonly requestId: number; readonly streamId: string }
  /** pauseRecording / resumeRecording; the reply says when it took effect. */
  | {
      readonly type: 'pause';
      readonly requestId: number;
      readonly streamId: string;
      readonly paused: boolean;
    }
  | { readonly type: 'flush'; readonly requestId: number }
  | {
      readonly type: 'expect-source';
      readonly streamId: string;
      readonly source: ExpectedSource | undefined;
    }
  | { readonly type: 'clock-rate'; readonly streamId: string; readonly clockRateHz: number }
  | { readonly type: 'rearm-timeout'; readonly streamId: string }
  /** The line went on hold (true) or resumed: its silence is no gap (RtpStream.setHeld). */
  | { readonly type: 'hold'; readonly streamId: string; readonly held: boolean }
  /** Starts (true) or stops copying the stream's stored packets to the main thread. */
  | { readonly type: 'tap'; readonly streamId: string; readonly on: boolean }
  | {
      readonly type: 'srtp';
      readonly streamId: string;
      readonly srtp: SrtpParams | 'pending' | undefined;
    }
  | {
      readonly type: 'telephone-event';
      readonly streamId: string;
      readonly payloadType: number | undefined;
      readonly clockRateHz: number;
    };

export type FromWorker =
  | { readonly type: 'ready' }
  /** `fd` is the track file's descriptor, so the main thread can close it if the worker dies. */
  | { readonly type: 'opened'; readonly requestId: number; readonly fd: number }
  /** `code` is the errno code (EADDRINUSE makes the engine try the next port) or a Verbatim code. */
  | {
      readonly type: 'open-failed';
      readonly requestId: number;
      readonly code: string;
      readonly message: string;
    }
  /**
   * `error` is set when the final write or fdatasync failed: the file may miss its tail. `code`
   * is then its errno code.
   */
  | {
      readonly type: 'closed';
      readonly requestId: number;
      readonly stats: TrackStats | undefined;
      readonly error?: string;
      readonly code?: string;
    }
  | { readonly type: 'flushed'; readonly requestId: number }
  /**
   * A pause or resume took effect at `atUs` (the worker's arrival clock, epoch µs): every packet
   * read after it is dropped (paused) or stored (resumed). Undefined when the worker has no such
   * stream (it closed or failed meanwhile).
   */
  | { readonly type: 'paused'; readonly requestId: number; readonly atUs: number | undefined }
  /** Every stream of the worker, once per statsIntervalMs. */
  | { readonly type: 'stats'; readonly streams: readonly (readonly [string, TrackStats])[] }
  /**
   * Once per loadIntervalMs, even without streams: how far behind the worker ran since its last
   * 'load' (a mean wait and the longest wait over `windowMs`, see LagProbe), and the bytes its
   * streams have stored but not yet written.
   */
  | {
      readonly type: 'load';
      readonly meanWaitMs: number;
      readonly maxWaitMs: number;
      readonly windowMs: number;
      readonly pendingWriteBytes: number;
    }
  | { readonly type: 'event'; readonly event: MediaEvent }
  /** The packets tapped streams received since the last 'tapped', one batch per stream. */
  | { readonly type: 'tapped'; readonly batches: readonly TapBatch[] }
  /** A stream the worker closed by itself after an I/O error; the engine emits 'stream-error'. */
  | {
      readonly type: 'failed';
      readonly streamId: string;
      readonly stats: TrackStats;
      readonly message: string;
      /** The errno code when writing the track file failed (ENOSPC, EIO, EROFS); absent for a socket. */
      readonly code?: string;
    }
  | {
      readonly type: 'log';
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly message: string;
      readonly fields: Readonly<Record<string, unknown>>;
    };

/**
 * One tapped stream's packets of one tap tick, packed for transfer (the three buffers move to the
 * main thread without a copy): packet i is `bytes[offsets[i] .. offsets[i + 1])`, it arrived at
 * `arrivalMs[i]` (epoch ms, the worker's arrival clock).
 */
export interface TapBatch {
  readonly streamId: string;
  readonly count: number;
  readonly arrivalMs: Float64Array;
  /** count + 1 entries. */
  readonly offsets: Uint32Array;
  readonly bytes: Uint8Array;
}
