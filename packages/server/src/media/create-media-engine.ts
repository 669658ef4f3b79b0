import { close as closeFd } from 'node:fs';
import { totalmem } from 'node:os';

import type { Logger } from 'pino';

import { EMPTY_TRACK_STATS, type TrackStats } from '../model/session.js';
import { PortAllocator } from '../transport/port-allocator.js';
import { readUdpRcvbufErrors } from './kernel-udp.js';
import { WorkerLoadTracker } from './load-tracker.js';
import type {
  ExpectedSource,
  MediaCounters,
  MediaEngine,
  MediaEvent,
  MediaLoad,
  StreamSpec,
  TappedPacket,
} from './media-engine.js';
import {
  MEDIA_ERR_ENGINE_CLOSED,
  MEDIA_ERR_OPEN_FAILED,
  MEDIA_ERR_SRTP_PARAMS,
  MEDIA_ERR_STREAM_EXISTS,
  MEDIA_ERR_UNKNOWN_STREAM,
  MediaError,
} from './media-errors.js';
import { checkSrtpParams, type SrtpParams } from './srtp.js';
import { startRtpWorker, type RtpWorkerLauncher } from './worker-launcher.js';
import type { RtpWorkerSettings, TapBatch, ToWorker } from './worker-messages.js';
import { RtpWorkerPool, type WorkerNotice } from './worker-pool.js';

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
  /** How often the copies of tapped streams reach the main thread (MediaEngine.tap). Default 40. */
  readonly tapIntervalMs?: number;
  /** How often each worker reports its lag and pending writes for `load()`. Default 250. */
  readonly loadIntervalMs?: number;
  /**
   * The node's write backlog cap, split evenly across the workers. Default
   * `writeBacklogCapBytes(os.totalmem())`; a test gives a small one to reach it on a fast disk.
   */
  readonly writeBacklogBytes?: number;
  /**
   * How a worker thread is started; default startRtpWorker. A caller that must hold the Worker
   * objects (a test of the crash path terminates one) passes a launcher that wraps it.
   */
  readonly launchWorker?: RtpWorkerLauncher;
}

/** The engine returned by createMediaEngine: the MediaEngine contract with its optional parts. */
export interface RtpMediaEngine extends MediaEngine {
  setClockRate(streamId: string, clockRateHz: number): void;
  setSrtp(streamId: string, srtp: SrtpParams | 'pending' | undefined): void;
  setTelephoneEvent(streamId: string, payloadType: number | undefined, clockRateHz?: number): void;
  /** Ports allocated now (streams opening or open), for leak checks. */
  readonly portsInUse: number;
  tap(
    streamId: string,
    onPackets: (packets: readonly TappedPacket[]) => void,
    onEnd?: () => void,
  ): () => void;
  load(): MediaLoad;
  counters(): MediaCounters;
}

type TapListener = (packets: readonly TappedPacket[]) => void;

/** One tap of a stream (MediaEngine.tap). */
interface Tap {
  readonly onPackets: TapListener;
  readonly onEnd: (() => void) | undefined;
}

const DEFAULT_CLOCK_RATE_HZ = 8000;
const TIMEOUT_CHECK_INTERVAL_MS = 250;
/** Final statistics kept for closeStream/getStats after a stream ended (bounded memory). */
const CLOSED_STATS_KEPT = 4096;
/** How old the host's receive-buffer overflow count may be when load() answers. */
const KERNEL_DROPS_MAX_AGE_MS = 250;

const MIB = 2 ** 20;
/**
 * The node's write backlog cap: the most bytes of stored packets its media workers may hold in
 * memory for the disk, split evenly across them (streams are spread evenly too). It is the last
 * line, for a disk that stalls (a hung NFS mount, a saturated disk): past it packets are not
 * stored and are counted (`unstored`), rather than every call being lost with the process.
 *
 * - Admission control refuses new calls when these bytes reach 256 MiB (recording/admission.ts,
 *   MEDIA_WRITE_LEVELS: warn 64, refuse 256, resume 128). The calls already held go on writing,
 *   so the cap must be above that, with room for them: at least 320 MiB. At 500 calls (1,000
 *   streams of 20 ms G.711, 216-byte records, about 10.8 MB/s) the 64 MiB beyond the refuse level
 *   is 6 s more of a stalled disk, and a 512 MiB cap 25 s more.
 * - It must fit the machine: at most 512 MiB, and at most a quarter of its memory above that
 *   floor. Queued batches are held in buffers of their own length (TrackWriter.flush), so the
 *   memory held is the bytes counted, plus two batch buffers (8 KiB) per stream.
 *
 * A machine with less than 1.25 GiB gets the 320 MiB floor anyway: below the refuse level the cap
 * would drop packets of calls while admission still took new ones.
 */
export function writeBacklogCapBytes(totalMemoryBytes: number): number {
  return Math.max(320 * MIB, Math.min(512 * MIB, Math.floor(totalMemoryBytes / 4)));
}

/** The counters of MediaCounters that add up the streams' statistics. */
type StreamTotals = Omit<MediaCounters, 'streamsOpened' | 'streamsClosed'>;

function totalsOf(stats: TrackStats): StreamTotals {
  return {
    packetsStored: stats.packets,
    packetsLost: stats.lost,
    kernelDropped: stats.kernelDropped,
    unreadAtClose: stats.unreadAtClose,
    unstored: stats.unstored,
    dropped: stats.dropped,
    srtpAuthFailures: stats.srtpAuthFailures,
    packetsPaused: stats.paused ?? 0,
  };
}

function addTotals(a: StreamTotals, b: StreamTotals): StreamTotals {
  return {
    packetsStored: a.packetsStored + b.packetsStored,
    packetsLost: a.packetsLost + b.packetsLost,
    kernelDropped: a.kernelDropped + b.kernelDropped,
    unreadAtClose: a.unreadAtClose + b.unreadAtClose,
    unstored: a.unstored + b.unstored,
    dropped: a.dropped + b.dropped,
    srtpAuthFailures: a.srtpAuthFailures + b.srtpAuthFailures,
    packetsPaused: a.packetsPaused + b.packetsPaused,
  };
}

const NO_TOTALS: StreamTotals = totalsOf(EMPTY_TRACK_STATS);

interface StreamEntry {
  readonly streamId: string;
  /** The pool index of the worker that owns the stream's sockets. */
  readonly worker: number;
  port: number | undefined;
  fd: number | undefined;
  stats: TrackStats;
  opened: Promise<void>;
  closing: Promise<TrackStats> | undefined;
  /** Set once the stream ended (closed, failed or lost with its worker). */
  final: TrackStats | undefined;
  /** Who receives the stream's copies (MediaEngine.tap); the worker copies while it is non-empty. */
  readonly taps: Set<Tap>;
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
  readonly #allocator: PortAllocator;
  readonly #defaultClockRateHz: number;
  readonly #pool: RtpWorkerPool;
  /** The streams of each worker, by pool index: the load, and what a crash takes with it. */
  readonly #streamsOfWorker: Set<string>[] = [];
  readonly #streams = new Map<string, StreamEntry>();
  readonly #ended = new Map<string, TrackStats>();
  readonly #listeners: ((event: MediaEvent) => void)[] = [];
  readonly #load: WorkerLoadTracker;
  /** The totals of the streams that ended, and how many opened and ended (MediaCounters). */
  #endedTotals: StreamTotals = NO_TOTALS;
  #streamsOpened = 0;
  #streamsClosed = 0;
  /** The host's receive-buffer overflows when the engine started, and the latest reading. */
  #kernelDropsAtStart = 0;
  #kernelDrops = { value: 0, atMs: -Infinity };
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: MediaEngineOptions) {
    this.#log = options.logger.child({ component: 'media' });
    this.#allocator = new PortAllocator(options.rtpPortMin, options.rtpPortMax);
    this.#defaultClockRateHz = options.defaultClockRateHz ?? DEFAULT_CLOCK_RATE_HZ;
    const workerCount = Math.max(1, Math.floor(options.workerCount ?? 1));
    const settings: RtpWorkerSettings = {
      bindAddress: options.bind,
      localAddress: options.advertise ?? options.bind,
      mediaTimeoutMs: options.mediaTimeoutMs,
      defaultClockRateHz: this.#defaultClockRateHz,
      flushIntervalMs: options.flushIntervalMs ?? 200,
      statsIntervalMs: options.statsIntervalMs ?? 1000,
      loadIntervalMs: options.loadIntervalMs ?? 250,
      socketTableIntervalMs: Math.min(250, options.statsIntervalMs ?? 1000),
      timeoutCheckIntervalMs: Math.min(TIMEOUT_CHECK_INTERVAL_MS, options.mediaTimeoutMs),
      bufferBytes: 4096,
      flushRecords: 10,
      tapIntervalMs: options.tapIntervalMs ?? 40,
      writeBacklogBytes: Math.floor(
        (options.writeBacklogBytes ?? writeBacklogCapBytes(totalmem())) / workerCount,
      ),
    };
    this.#load = new WorkerLoadTracker(settings.statsIntervalMs, settings.loadIntervalMs);
    for (let index = 0; index < workerCount; index++) {
      this.#streamsOfWorker.push(new Set());
      this.#load.started(index, Date.now());
    }
    this.#pool = new RtpWorkerPool({
      settings,
      workerCount,
      launch: options.launchWorker ?? startRtpWorker,
      log: this.#log,
      onNotice: (notice, workerIndex) => this.#onNotice(notice, workerIndex),
      onCrash: (workerIndex, exitCode, failure) => this.#onWorkerCrash(workerIndex, exitCode, failure),
    });
  }

  get portsInUse(): number {
    return this.#allocator.inUse;
  }

  async start(): Promise<void> {
    try {
      await this.#pool.start();
    } catch (error: unknown) {
      this.#closed = true;
      throw error;
    }
    this.#kernelDropsAtStart = readUdpRcvbufErrors();
    this.#kernelDrops = { value: this.#kernelDropsAtStart, atMs: Date.now() };
    this.#log.info({ workers: this.#pool.size, ports: this.#allocator.capacity }, 'media engine started');
  }

  async openStream(spec: StreamSpec): Promise<{ readonly port: number }> {
    if (this.#closed) {
      throw new MediaError(MEDIA_ERR_ENGINE_CLOSED, 'the media engine is closed');
    }
    if (this.#streams.has(spec.streamId)) {
      throw new MediaError(MEDIA_ERR_STREAM_EXISTS, `stream ${spec.streamId} is already open`);
    }
    const srtp = spec.srtp === undefined ? undefined : copySrtp(spec.srtp);
    const worker = this.#leastLoadedWorker();
    const entry: StreamEntry = {
      streamId: spec.streamId,
      worker,
      port: undefined,
      fd: undefined,
      stats: EMPTY_TRACK_STATS,
      opened: Promise.resolve(),
      closing: undefined,
      final: undefined,
      taps: new Set(),
    };
    this.#streams.set(spec.streamId, entry);
    this.#streamsOfWorker[worker]?.add(spec.streamId);
    entry.opened = this.#open(entry, spec, srtp);
    try {
      await entry.opened;
    } catch (error: unknown) {
      this.#streams.delete(spec.streamId);
      this.#streamsOfWorker[worker]?.delete(spec.streamId);
      for (const tap of entry.taps) {
        if (tap.onEnd !== undefined) {
          this.#tapEnded(spec.streamId, tap.onEnd);
        }
      }
      entry.taps.clear();
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

  setHeld(streamId: string, held: boolean): void {
    this.#sendWhenOpen(streamId, { type: 'hold', streamId, held });
  }

  setSrtp(streamId: string, srtp: SrtpParams | 'pending' | undefined): void {
    const copy = srtp === undefined ? undefined : copySrtp(srtp);
    this.#sendWhenOpen(streamId, { type: 'srtp', streamId, srtp: copy });
  }

  async setPaused(streamId: string, paused: boolean): Promise<number | undefined> {
    const entry = this.#streams.get(streamId);
    if (entry === undefined) {
      return undefined;
    }
    try {
      await entry.opened;
      if (finalStatsOf(entry) !== undefined) {
        return undefined;
      }
      const reply = await this.#pool.request(entry.worker, { type: 'pause', streamId, paused });
      return reply.type === 'paused' && reply.atUs !== undefined ? Math.floor(reply.atUs / 1000) : undefined;
    } catch {
      // The open failed, or the worker died with the stream: nothing of it is stored any more.
      return undefined;
    }
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

  tap(streamId: string, onPackets: TapListener, onEnd?: () => void): () => void {
    const entry = this.#streams.get(streamId);
    if (entry === undefined || entry.final !== undefined) {
      // Nothing more will come: the end is told at once, but never from inside this call.
      if (onEnd !== undefined) {
        queueMicrotask(() => this.#tapEnded(streamId, onEnd));
      }
      return () => undefined;
    }
    // An object of its own, so the same function tapping twice is two taps.
    const tap: Tap = { onPackets, onEnd };
    entry.taps.add(tap);
    // A closing stream copies nothing more (the worker refuses), but its end is still told.
    if (entry.taps.size === 1 && entry.closing === undefined) {
      this.#sendWhenOpen(streamId, { type: 'tap', streamId, on: true });
    }
    return () => {
      if (!entry.taps.delete(tap) || entry.taps.size > 0 || entry.final !== undefined) {
        return;
      }
      this.#sendWhenOpen(streamId, { type: 'tap', streamId, on: false });
    };
  }

  #tapEnded(streamId: string, onEnd: () => void): void {
    try {
      onEnd();
    } catch (error: unknown) {
      this.#log.error({ err: error, streamId }, 'media tap listener threw');
    }
  }

  getStats(streamId: string): TrackStats | undefined {
    return this.#streams.get(streamId)?.stats ?? this.#ended.get(streamId);
  }

  load(): MediaLoad {
    const nowMs = Date.now();
    if (nowMs - this.#kernelDrops.atMs >= KERNEL_DROPS_MAX_AGE_MS) {
      this.#kernelDrops = { value: readUdpRcvbufErrors(), atMs: nowMs };
    }
    const running = this.#pool.running();
    return {
      workerLagMs: this.#load.workerLagMs(nowMs, running),
      workerMaxWaitMs: this.#load.workerMaxWaitMs(nowMs, running),
      kernelReceiveDrops: Math.max(0, this.#kernelDrops.value - this.#kernelDropsAtStart),
      pendingWriteBytes: this.#load.pendingWriteBytes(running),
      streams: this.#streams.size,
    };
  }

  counters(): MediaCounters {
    let totals = this.#endedTotals;
    for (const entry of this.#streams.values()) {
      if (entry.final === undefined && entry.port !== undefined) {
        totals = addTotals(totals, totalsOf(entry.stats));
      }
    }
    return { ...totals, streamsOpened: this.#streamsOpened, streamsClosed: this.#streamsClosed };
  }

  async flush(): Promise<void> {
    await Promise.all(this.#pool.running().map((worker) => this.#pool.request(worker, { type: 'flush' })));
  }

  onEvent(listener: (event: MediaEvent) => void): void {
    this.#listeners.push(listener);
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    this.#closed = true;
    this.#pool.stopReplacing();
    const results = await Promise.allSettled([...this.#streams.keys()].map((id) => this.closeStream(id)));
    for (const result of results) {
      if (result.status === 'rejected') {
        this.#log.warn({ err: result.reason as unknown }, 'a stream failed to close cleanly');
      }
    }
    await this.#pool.terminate();
    this.#log.info('media engine closed');
  }

  async #open(entry: StreamEntry, spec: StreamSpec, srtp: SrtpParams | 'pending' | undefined): Promise<void> {
    const { port, value: fd } = await this.#allocator.acquire(async (port) => {
      const reply = await this.#pool.request(entry.worker, {
        type: 'open',
        streamId: spec.streamId,
        filePath: spec.filePath,
        port,
        clockRateHz: spec.clockRateHz ?? this.#defaultClockRateHz,
        ...(srtp === undefined ? {} : { srtp }),
        ...(spec.paused === true ? { paused: true } : {}),
      });
      if (reply.type === 'opened') {
        return reply.fd;
      }
      if (reply.type === 'open-failed' && reply.code === 'EADDRINUSE') {
        this.#log.debug({ streamId: spec.streamId, port }, 'RTP port busy, trying the next one');
        throw Object.assign(new Error(reply.message), { code: 'EADDRINUSE' });
      }
      const detail = reply.type === 'open-failed' ? `${reply.code}: ${reply.message}` : reply.type;
      // The errno code stays readable as the cause's: ENOSPC or EROFS creating the file tells
      // the recording domain that the disk, not the call, is the problem.
      const cause =
        reply.type === 'open-failed'
          ? Object.assign(new Error(reply.message), { code: reply.code })
          : undefined;
      throw new MediaError(MEDIA_ERR_OPEN_FAILED, `cannot open stream ${spec.streamId}: ${detail}`, {
        cause,
      });
    });
    entry.port = port;
    entry.fd = fd;
    this.#streamsOpened++;
    this.#log.debug({ streamId: spec.streamId, port, worker: entry.worker }, 'media stream opened');
  }

  async #close(entry: StreamEntry): Promise<TrackStats> {
    await entry.opened;
    if (entry.final !== undefined) {
      return entry.final;
    }
    let stats: TrackStats;
    try {
      const reply = await this.#pool.request(entry.worker, {
        type: 'close',
        streamId: entry.streamId,
      });
      if (reply.type !== 'closed') {
        throw new Error(`unexpected reply ${reply.type} to close`);
      }
      stats = reply.stats ?? entry.final ?? entry.stats;
      if (reply.error !== undefined) {
        this.#log.error({ streamId: entry.streamId, error: reply.error }, 'track tail not made durable');
        this.#emit({
          type: 'stream-error',
          streamId: entry.streamId,
          message: reply.error,
          ...(reply.code === undefined ? {} : { code: reply.code }),
        });
      }
    } catch (error: unknown) {
      // The worker died while closing: #onWorkerCrash has already retired the stream.
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
    // The worker sent the stream's last copies before it answered the close: they were delivered.
    const taps = [...entry.taps];
    entry.taps.clear();
    for (const tap of taps) {
      if (tap.onEnd !== undefined) {
        this.#tapEnded(entry.streamId, tap.onEnd);
      }
    }
    if (entry.port !== undefined) {
      this.#endedTotals = addTotals(this.#endedTotals, totalsOf(stats));
      this.#streamsClosed++;
    }
    if (entry.port !== undefined) {
      this.#allocator.release(entry.port);
    }
    this.#streamsOfWorker[entry.worker]?.delete(entry.streamId);
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
          this.#pool.post(entry.worker, message);
        }
      },
      () => undefined, // The open failed and openStream reported it; nothing to update.
    );
  }

  #leastLoadedWorker(): number {
    let best: number | undefined;
    let bestLoad = 0;
    this.#streamsOfWorker.forEach((streams, worker) => {
      if (this.#pool.isRunning(worker) && (best === undefined || streams.size < bestLoad)) {
        best = worker;
        bestLoad = streams.size;
      }
    });
    if (best === undefined) {
      throw new MediaError(MEDIA_ERR_ENGINE_CLOSED, 'no media worker is running');
    }
    return best;
  }

  #onNotice(notice: WorkerNotice, worker: number): void {
    switch (notice.type) {
      case 'load':
        this.#load.report(worker, Date.now(), notice, notice.pendingWriteBytes);
        return;
      case 'stats':
        for (const [streamId, stats] of notice.streams) {
          const entry = this.#streams.get(streamId);
          if (entry !== undefined && entry.final === undefined) {
            entry.stats = stats;
          }
        }
        return;
      case 'event':
        this.#emit(notice.event);
        return;
      case 'tapped':
        for (const batch of notice.batches) {
          this.#deliverTapped(batch);
        }
        return;
      case 'failed': {
        const entry = this.#streams.get(notice.streamId);
        this.#log.error({ streamId: notice.streamId, error: notice.message }, 'media stream failed');
        if (entry !== undefined) {
          this.#retire(entry, notice.stats);
        }
        this.#emit({
          type: 'stream-error',
          streamId: notice.streamId,
          message: notice.message,
          ...(notice.code === undefined ? {} : { code: notice.code }),
        });
        return;
      }
    }
  }

  /**
   * A worker crashed. Its sockets died with it; its track files are still open in the process,
   * so they are closed here (what it had not written yet, at most one batch per stream, is lost).
   * Every stream it had is reported with a 'stream-error' event; the pool then starts a new
   * worker in its place for the streams to come.
   */
  #onWorkerCrash(worker: number, exitCode: number, failure: MediaError): void {
    const streams = this.#streamsOfWorker[worker] ?? new Set<string>();
    this.#log.error({ worker, exitCode, streams: streams.size }, 'media worker exited');
    this.#load.started(worker, Date.now());
    for (const streamId of [...streams]) {
      const entry = this.#streams.get(streamId);
      if (entry?.port === undefined) {
        // Still opening: openStream rejects with the failure the pool gave its request.
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
  }

  /**
   * Hands a tapped stream's batch to its listeners. The packets are views into the transferred
   * buffer (no copy); a listener that throws is logged and the others still get the batch.
   */
  #deliverTapped(batch: TapBatch): void {
    const entry = this.#streams.get(batch.streamId);
    if (entry === undefined || entry.taps.size === 0) {
      return;
    }
    const packets: TappedPacket[] = [];
    for (let i = 0; i < batch.count; i++) {
      const start = batch.offsets[i] ?? 0;
      const end = batch.offsets[i + 1] ?? start;
      packets.push({ arrivalMs: batch.arrivalMs[i] ?? 0, rtp: batch.bytes.subarray(start, end) });
    }
    for (const tap of [...entry.taps]) {
      try {
        tap.onPackets(packets);
      } catch (error: unknown) {
        this.#log.error({ err: error, streamId: batch.streamId }, 'media tap listener threw');
      }
    }
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
