import { close as closeFd } from 'node:fs';
import type { Worker } from 'node:worker_threads';

import type { Logger } from 'pino';

import { EMPTY_TRACK_STATS, type TrackStats } from '../model/session.js';
import { PortAllocator } from '../transport/port-allocator.js';
import type { ExpectedSource, MediaEngine, MediaEvent, StreamSpec } from './media-engine.js';
import {
  MEDIA_ERR_ENGINE_CLOSED,
  MEDIA_ERR_OPEN_FAILED,
  MEDIA_ERR_SRTP_PARAMS,
  MEDIA_ERR_STREAM_EXISTS,
  MEDIA_ERR_UNKNOWN_STREAM,
  MEDIA_ERR_WORKER_EXITED,
  MediaError,
} from './media-errors.js';
import { checkSrtpParams, type SrtpParams } from './srtp.js';
import { startRtpWorker } from './worker-launcher.js';
import type { FromWorker, RtpWorkerSettings, ToWorker } from './worker-messages.js';

export interface MediaEngineOptions {
  /** Address the RTP/RTCP sockets bind to. */
  readonly bind: string;
  /** Our address as recorded in the pcap records (destination); defaults to `bind`. */
  readonly advertise?: string;
  readonly rtpPortMin: number;
  readonly rtpPortMax: number;
  /** A stream with no RTP for this long gets a 'media-timeout' event. */
  readonly mediaTimeoutMs: number;
  /** Worker threads receiving RTP; streams are spread over them. Default 1. */
  readonly workerCount?: number;
  readonly logger: Logger;
  /** Clock rate for the jitter of streams opened without one. Default 8000 (G.711, G.729). */
  readonly defaultClockRateHz?: number;
  /** How often statistics reach the main thread. Default 1000. */
  readonly statsIntervalMs?: number;
  /** Longest time a stored packet waits in memory before it is written. Default 200. */
  readonly flushIntervalMs?: number;
}

/** The engine returned by createMediaEngine: the MediaEngine contract plus test hooks. */
export interface RtpMediaEngine extends MediaEngine {
  setClockRate(streamId: string, clockRateHz: number): void;
  setSrtp(streamId: string, srtp: SrtpParams | 'pending' | undefined): void;
  setTelephoneEvent(streamId: string, payloadType: number | undefined, clockRateHz?: number): void;
  /** Ports allocated now (streams opening or open), for leak checks. */
  readonly portsInUse: number;
  /** Kills a worker thread as a crash would (tests of the crash path only). */
  terminateWorkerForTesting(workerIndex: number): Promise<void>;
}

const DEFAULT_CLOCK_RATE_HZ = 8000;
const TIMEOUT_CHECK_INTERVAL_MS = 250;
/** Final statistics kept for closeStream/getStats after a stream ended (bounded memory). */
const CLOSED_STATS_KEPT = 4096;

interface Pending {
  readonly resolve: (reply: FromWorker) => void;
  readonly reject: (error: Error) => void;
}

interface WorkerSlot {
  readonly index: number;
  worker: Worker;
  readonly streams: Set<string>;
  readonly pending: Map<number, Pending>;
  /** Set when the engine itself stops the worker, so the exit is not a crash. */
  stopping: boolean;
  /** The current worker loaded; one that dies before is not restarted (it would only die again). */
  ready: boolean;
}

interface StreamEntry {
  readonly streamId: string;
  readonly slot: WorkerSlot;
  port: number | undefined;
  fd: number | undefined;
  stats: TrackStats;
  opened: Promise<void>;
  closing: Promise<TrackStats> | undefined;
  /** Set once the stream ended (closed, failed or lost with its worker). */
  final: TrackStats | undefined;
}

/**
 * Starts the media workers and resolves once every one of them has loaded (so a worker that
 * cannot start fails here, at startup, rather than at the first call).
 */
export async function createMediaEngine(options: MediaEngineOptions): Promise<RtpMediaEngine> {
  const engine = new WorkerMediaEngine(options);
  await engine.start();
  return engine;
}

class WorkerMediaEngine implements RtpMediaEngine {
  readonly #log: Logger;
  readonly #settings: RtpWorkerSettings;
  readonly #allocator: PortAllocator;
  readonly #defaultClockRateHz: number;
  readonly #slots: WorkerSlot[] = [];
  readonly #streams = new Map<string, StreamEntry>();
  readonly #ended = new Map<string, TrackStats>();
  readonly #listeners: ((event: MediaEvent) => void)[] = [];
  #nextRequestId = 1;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: MediaEngineOptions) {
    this.#log = options.logger.child({ component: 'media' });
    this.#allocator = new PortAllocator(options.rtpPortMin, options.rtpPortMax);
    this.#defaultClockRateHz = options.defaultClockRateHz ?? DEFAULT_CLOCK_RATE_HZ;
    this.#settings = {
      bindAddress: options.bind,
      localAddress: options.advertise ?? options.bind,
      mediaTimeoutMs: options.mediaTimeoutMs,
      defaultClockRateHz: this.#defaultClockRateHz,
      flushIntervalMs: options.flushIntervalMs ?? 200,
      statsIntervalMs: options.statsIntervalMs ?? 1000,
      timeoutCheckIntervalMs: Math.min(TIMEOUT_CHECK_INTERVAL_MS, options.mediaTimeoutMs),
      bufferBytes: 4096,
      flushRecords: 10,
    };
    const workerCount = Math.max(1, Math.floor(options.workerCount ?? 1));
    for (let index = 0; index < workerCount; index++) {
      this.#slots.push({
        index,
        worker: this.#spawn(index),
        streams: new Set(),
        pending: new Map(),
        stopping: false,
        ready: false,
      });
    }
  }

  get portsInUse(): number {
    return this.#allocator.inUse;
  }

  async start(): Promise<void> {
    try {
      await Promise.all(this.#slots.map((slot) => waitReady(slot.worker)));
    } catch (error: unknown) {
      this.#closed = true;
      await Promise.all(
        this.#slots.map((slot) => {
          slot.stopping = true;
          return slot.worker.terminate();
        }),
      );
      throw new MediaError(MEDIA_ERR_WORKER_EXITED, 'a media worker failed to start', { cause: error });
    }
    this.#log.info({ workers: this.#slots.length, ports: this.#allocator.capacity }, 'media engine started');
  }

  async openStream(spec: StreamSpec): Promise<{ readonly port: number }> {
    if (this.#closed) {
      throw new MediaError(MEDIA_ERR_ENGINE_CLOSED, 'the media engine is closed');
    }
    if (this.#streams.has(spec.streamId)) {
      throw new MediaError(MEDIA_ERR_STREAM_EXISTS, `stream ${spec.streamId} is already open`);
    }
    const srtp = spec.srtp === undefined ? undefined : copySrtp(spec.srtp);
    const slot = this.#leastLoadedSlot();
    const entry: StreamEntry = {
      streamId: spec.streamId,
      slot,
      port: undefined,
      fd: undefined,
      stats: EMPTY_TRACK_STATS,
      opened: Promise.resolve(),
      closing: undefined,
      final: undefined,
    };
    this.#streams.set(spec.streamId, entry);
    slot.streams.add(spec.streamId);
    entry.opened = this.#open(entry, spec, srtp);
    try {
      await entry.opened;
    } catch (error: unknown) {
      this.#streams.delete(spec.streamId);
      slot.streams.delete(spec.streamId);
      throw error;
    }
    return { port: entry.port ?? 0 };
  }

  setExpectedSource(streamId: string, source: ExpectedSource | undefined): void {
    this.#sendWhenOpen(streamId, { type: 'expect-source', streamId, source });
  }

  setClockRate(streamId: string, clockRateHz: number): void {
    if (!Number.isFinite(clockRateHz) || clockRateHz <= 0) {
      return;
    }
    this.#sendWhenOpen(streamId, { type: 'clock-rate', streamId, clockRateHz });
  }

  rearmTimeout(streamId: string): void {
    this.#sendWhenOpen(streamId, { type: 'rearm-timeout', streamId });
  }

  setSrtp(streamId: string, srtp: SrtpParams | 'pending' | undefined): void {
    const copy = srtp === undefined ? undefined : copySrtp(srtp);
    this.#sendWhenOpen(streamId, { type: 'srtp', streamId, srtp: copy });
  }

  setTelephoneEvent(streamId: string, payloadType: number | undefined, clockRateHz = 8000): void {
    const valid =
      payloadType === undefined || (Number.isInteger(payloadType) && payloadType >= 0 && payloadType <= 127);
    if (!valid || !Number.isFinite(clockRateHz) || clockRateHz <= 0) {
      return;
    }
    this.#sendWhenOpen(streamId, { type: 'telephone-event', streamId, payloadType, clockRateHz });
  }

  closeStream(streamId: string): Promise<TrackStats> {
    const entry = this.#streams.get(streamId);
    if (entry === undefined) {
      const ended = this.#ended.get(streamId);
      return ended === undefined
        ? Promise.reject(new MediaError(MEDIA_ERR_UNKNOWN_STREAM, `no stream ${streamId}`))
        : Promise.resolve(ended);
    }
    entry.closing ??= this.#close(entry);
    return entry.closing;
  }

  getStats(streamId: string): TrackStats | undefined {
    return this.#streams.get(streamId)?.stats ?? this.#ended.get(streamId);
  }

  async flush(): Promise<void> {
    await Promise.all(
      this.#slots
        .filter((slot) => !slot.stopping)
        .map((slot) => this.#request(slot, { type: 'flush', requestId: this.#nextRequestId++ })),
    );
  }

  onEvent(listener: (event: MediaEvent) => void): void {
    this.#listeners.push(listener);
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async terminateWorkerForTesting(workerIndex: number): Promise<void> {
    const slot = this.#slots[workerIndex];
    if (slot === undefined) {
      throw new RangeError(`no worker ${workerIndex}`);
    }
    const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    await slot.worker.terminate();
    await exited;
  }

  async #closeAll(): Promise<void> {
    this.#closed = true;
    const results = await Promise.allSettled([...this.#streams.keys()].map((id) => this.closeStream(id)));
    for (const result of results) {
      if (result.status === 'rejected') {
        this.#log.warn({ err: result.reason as unknown }, 'a stream failed to close cleanly');
      }
    }
    await Promise.all(
      this.#slots.map((slot) => {
        slot.stopping = true;
        return slot.worker.terminate();
      }),
    );
    this.#log.info('media engine closed');
  }

  async #open(entry: StreamEntry, spec: StreamSpec, srtp: SrtpParams | 'pending' | undefined): Promise<void> {
    const { port, value: fd } = await this.#allocator.acquire(async (port) => {
      const reply = await this.#request(entry.slot, {
        type: 'open',
        requestId: this.#nextRequestId++,
        streamId: spec.streamId,
        filePath: spec.filePath,
        port,
        clockRateHz: spec.clockRateHz ?? this.#defaultClockRateHz,
        ...(srtp === undefined ? {} : { srtp }),
      });
      if (reply.type === 'opened') {
        return reply.fd;
      }
      if (reply.type === 'open-failed' && reply.code === 'EADDRINUSE') {
        this.#log.debug({ streamId: spec.streamId, port }, 'RTP port busy, trying the next one');
        throw Object.assign(new Error(reply.message), { code: 'EADDRINUSE' });
      }
      const detail = reply.type === 'open-failed' ? `${reply.code}: ${reply.message}` : reply.type;
      throw new MediaError(MEDIA_ERR_OPEN_FAILED, `cannot open stream ${spec.streamId}: ${detail}`);
    });
    entry.port = port;
    entry.fd = fd;
    this.#log.debug({ streamId: spec.streamId, port, worker: entry.slot.index }, 'media stream opened');
  }

  async #close(entry: StreamEntry): Promise<TrackStats> {
    await entry.opened;
    if (entry.final !== undefined) {
      return entry.final;
    }
    let stats: TrackStats;
    try {
      const reply = await this.#request(entry.slot, {
        type: 'close',
        requestId: this.#nextRequestId++,
        streamId: entry.streamId,
      });
      if (reply.type !== 'closed') {
        throw new Error(`unexpected reply ${reply.type} to close`);
      }
      stats = reply.stats ?? entry.final ?? entry.stats;
      if (reply.error !== undefined) {
        this.#log.error({ streamId: entry.streamId, error: reply.error }, 'track tail not made durable');
        this.#emit({ type: 'stream-error', streamId: entry.streamId, message: reply.error });
      }
    } catch (error: unknown) {
      // The worker died while closing: its exit handler has already retired the stream.
      const final = finalStatsOf(entry);
      if (final !== undefined) {
        return final;
      }
      throw error;
    }
    this.#retire(entry, stats);
    this.#log.debug({ streamId: entry.streamId, ...stats }, 'media stream closed');
    return stats;
  }

  /** Bookkeeping when a stream ends for any reason; runs once per stream. */
  #retire(entry: StreamEntry, stats: TrackStats): void {
    if (entry.final !== undefined) {
      return;
    }
    entry.final = stats;
    entry.stats = stats;
    if (entry.port !== undefined) {
      this.#allocator.release(entry.port);
    }
    entry.slot.streams.delete(entry.streamId);
    if (this.#streams.get(entry.streamId) === entry) {
      this.#streams.delete(entry.streamId);
    }
    this.#ended.set(entry.streamId, stats);
    if (this.#ended.size > CLOSED_STATS_KEPT) {
      const oldest = this.#ended.keys().next();
      if (oldest.done !== true) {
        this.#ended.delete(oldest.value);
      }
    }
  }

  #sendWhenOpen(streamId: string, message: ToWorker): void {
    const entry = this.#streams.get(streamId);
    if (entry === undefined) {
      return;
    }
    // The worker knows the stream only once its open completed; later messages keep their order.
    entry.opened.then(
      () => {
        if (entry.final === undefined) {
          entry.slot.worker.postMessage(message);
        }
      },
      () => undefined, // The open failed and openStream reported it; nothing to update.
    );
  }

  #leastLoadedSlot(): WorkerSlot {
    let best: WorkerSlot | undefined;
    for (const slot of this.#slots) {
      if (!slot.stopping && (best === undefined || slot.streams.size < best.streams.size)) {
        best = slot;
      }
    }
    if (best === undefined) {
      throw new MediaError(MEDIA_ERR_ENGINE_CLOSED, 'no media worker is running');
    }
    return best;
  }

  #request(slot: WorkerSlot, message: ToWorker & { readonly requestId: number }): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      slot.pending.set(message.requestId, { resolve, reject });
      slot.worker.postMessage(message);
    });
  }

  #spawn(index: number): Worker {
    const worker = startRtpWorker(this.#settings);
    worker.on('message', (message: FromWorker) => {
      const slot = this.#slots[index];
      if (slot?.worker === worker) {
        this.#onMessage(slot, message);
      }
    });
    worker.on('error', (error) => {
      this.#log.error({ worker: index, err: error }, 'media worker failed');
    });
    worker.on('exit', (exitCode) => {
      const slot = this.#slots[index];
      if (slot?.worker === worker) {
        this.#onExit(slot, exitCode);
      }
    });
    return worker;
  }

  #onMessage(slot: WorkerSlot, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true;
        return;
      case 'opened':
      case 'open-failed':
      case 'closed':
      case 'flushed': {
        const pending = slot.pending.get(message.requestId);
        slot.pending.delete(message.requestId);
        pending?.resolve(message);
        return;
      }
      case 'stats':
        for (const [streamId, stats] of message.streams) {
          const entry = this.#streams.get(streamId);
          if (entry !== undefined && entry.final === undefined) {
            entry.stats = stats;
          }
        }
        return;
      case 'event':
        this.#emit(message.event);
        return;
      case 'failed': {
        const entry = this.#streams.get(message.streamId);
        this.#log.error({ streamId: message.streamId, error: message.message }, 'media stream failed');
        if (entry !== undefined) {
          this.#retire(entry, message.stats);
        }
        this.#emit({ type: 'stream-error', streamId: message.streamId, message: message.message });
        return;
      }
      case 'log':
        this.#log[message.level]({ worker: slot.index, ...message.fields }, message.message);
        return;
    }
  }

  /**
   * A worker that exits while the engine did not stop it crashed. Its sockets died with it;
   * its track files are still open in the process, so they are closed here (what it had not
   * written yet, at most one batch per stream, is lost). Every stream it had is reported with a
   * 'stream-error' event, and a new worker takes its place for the streams to come.
   */
  #onExit(slot: WorkerSlot, exitCode: number): void {
    if (slot.stopping) {
      return;
    }
    this.#log.error({ worker: slot.index, exitCode, streams: slot.streams.size }, 'media worker exited');
    const failure = new MediaError(
      MEDIA_ERR_WORKER_EXITED,
      `media worker ${slot.index} exited with ${exitCode}`,
    );
    for (const pending of slot.pending.values()) {
      pending.reject(failure);
    }
    slot.pending.clear();
    for (const streamId of [...slot.streams]) {
      const entry = this.#streams.get(streamId);
      if (entry?.port === undefined) {
        // Still opening: openStream rejects with the failure above.
        continue;
      }
      // A stream that was closing may have had its file closed by the worker already; closing
      // the number again could hit a file opened since, so such a descriptor is left alone.
      if (entry.fd !== undefined && entry.closing === undefined) {
        const fd = entry.fd;
        closeFd(fd, (error) => {
          if (error !== null) {
            this.#log.warn({ streamId, fd, err: error }, 'closing the track of a dead worker failed');
          }
        });
      }
      this.#retire(entry, entry.stats);
      this.#emit({ type: 'stream-error', streamId, message: failure.message });
    }
    if (this.#closed) {
      return;
    }
    if (!slot.ready) {
      // Restarting a worker that cannot even load would loop; its slot takes no more streams.
      slot.stopping = true;
      this.#log.error({ worker: slot.index }, 'media worker died before it was ready; not restarting it');
      return;
    }
    slot.ready = false;
    slot.worker = this.#spawn(slot.index);
  }

  #emit(event: MediaEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error: unknown) {
        this.#log.error({ err: error, event: event.type }, 'media event listener threw');
      }
    }
  }
}

/** Read through a function: TypeScript would keep the narrowing from before an await. */
function finalStatsOf(entry: StreamEntry): TrackStats | undefined {
  return entry.final;
}

function waitReady(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker): void => {
      if (message.type === 'ready') {
        cleanup();
        resolve();
      }
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (exitCode: number): void => {
      cleanup();
      reject(new Error(`media worker exited with ${exitCode} before it was ready`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/**
 * Validates SRTP parameters on the caller's thread (a bad key is a caller bug, reported where it
 * was made) and copies them, so a key that is a view into a larger buffer does not drag the whole
 * buffer through postMessage.
 */
function copySrtp(srtp: SrtpParams | 'pending'): SrtpParams | 'pending' {
  if (srtp === 'pending') {
    return srtp;
  }
  const problem = checkSrtpParams(srtp);
  if (problem !== undefined) {
    throw new MediaError(MEDIA_ERR_SRTP_PARAMS, problem);
  }
  return {
    suite: srtp.suite,
    masterKey: srtp.masterKey.slice(),
    masterSalt: srtp.masterSalt.slice(),
    ...(srtp.mki === undefined ? {} : { mki: srtp.mki.slice() }),
  };
}
