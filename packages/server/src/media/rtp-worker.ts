import { parentPort, workerData } from 'node:worker_threads';

import type { TrackStats } from '../model/session.js';
import { ArrivalClock } from './arrival-clock.js';
import { ControlInbox } from './control-inbox.js';
import { UdpSocketTable, type UdpSocketState } from './kernel-udp.js';
import { errnoCode, RtpStream, type RtpStreamHost } from './rtp-stream.js';
import { LagProbe } from './lag-probe.js';
import type { FromWorker, RtpWorkerSettings, ToWorker } from './worker-messages.js';
import { WriteBacklog } from './write-backlog.js';
import { transferList } from './tap-buffer.js';
import type { TapBatch } from './worker-messages.js';

/**
 * Entry point of a media worker thread. It owns the RTP sockets and track files of its streams
 * and talks to the engine on the main thread only in control messages and one statistics
 * message per second for all of its streams.
 */

const port = parentPort;
if (port === null) {
  throw new Error('rtp-worker.ts runs only as a worker thread');
}
const settings = workerData as RtpWorkerSettings;
const streams = new Map<string, RtpStream>();
/** Streams whose packets are copied to the main thread (open or still closing). */
const tapped = new Set<RtpStream>();
let tapTimer: NodeJS.Timeout | undefined;
/** Streams that are closing: they still read their sockets until drained (RtpStream.close). */
const closing = new Set<RtpStream>();
const lag = new LagProbe();
lag.start();
/**
 * What the track writers of all the worker's streams hold for the disk, against the worker's share
 * of the node's cap. Going over and coming back are logged once each, never per packet.
 */
const backlog = new WriteBacklog(settings.writeBacklogBytes, (event) => {
  const fields = { pendingWriteBytes: event.bytes, limitBytes: event.limitBytes };
  if (event.over) {
    post({
      type: 'log',
      level: 'warn',
      message:
        'write backlog over its cap, the disk fell behind: packets are not stored (counted as unstored)',
      fields,
    });
  } else {
    post({
      type: 'log',
      level: 'warn',
      message: 'write backlog back under half its cap: packets are stored again',
      fields: { ...fields, unstored: event.refused },
    });
  }
});

function portsOfStreams(): Set<number> {
  const ports = new Set<number>();
  for (const stream of streams.values()) {
    ports.add(stream.port);
  }
  for (const stream of closing) {
    ports.add(stream.port);
  }
  return ports;
}

const socketTable = new UdpSocketTable(settings.bindAddress, settings.socketTableIntervalMs, portsOfStreams);

/** Every read of the socket table updates the kernel's drop count of every stream. */
function readSocketTable(): Promise<ReadonlyMap<number, UdpSocketState> | undefined> {
  return socketTable.read().then((table) => {
    if (table !== undefined) {
      for (const stream of [...streams.values(), ...closing]) {
        const state = table.get(stream.port);
        if (state !== undefined) {
          stream.setKernelDropped(state.drops);
        }
      }
    }
    return table;
  });
}

function post(message: FromWorker): void {
  port?.postMessage(message);
}

/**
 * One message for every tapped stream's packets since the last tick, their buffers transferred.
 * The timer runs only while a stream is tapped.
 */
function sendTapped(): void {
  const batches: TapBatch[] = [];
  for (const stream of tapped) {
    const batch = stream.takeTapped();
    if (batch !== undefined) {
      batches.push(batch);
    }
  }
  if (batches.length > 0) {
    const message: FromWorker = { type: 'tapped', batches };
    port?.postMessage(message, transferList(batches));
  }
}

function setTapped(stream: RtpStream, on: boolean): void {
  stream.setTapped(on);
  if (on) {
    tapped.add(stream);
    tapTimer ??= setInterval(sendTapped, settings.tapIntervalMs);
  } else {
    tapped.delete(stream);
    if (tapped.size === 0 && tapTimer !== undefined) {
      clearInterval(tapTimer);
      tapTimer = undefined;
    }
  }
}

/** A stream that ended: what it copied last goes out now, then it is no longer tapped. */
function untapEnded(stream: RtpStream): void {
  if (tapped.has(stream)) {
    sendTapped();
    setTapped(stream, false);
  }
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return 'VERBATIM_ERR_MEDIA_OPEN_FAILED';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const host: RtpStreamHost = {
  clock: new ArrivalClock(),
  onFirstPacket(stream, atMs) {
    post({ type: 'event', event: { type: 'first-packet', streamId: stream.streamId, at: atMs } });
  },
  onDtmf(stream, detection) {
    post({ type: 'event', event: { type: 'dtmf', streamId: stream.streamId, ...detection } });
  },
  onFailure(stream, error, fileErrorCode) {
    if (streams.get(stream.streamId) === stream) {
      streams.delete(stream.streamId);
    }
    untapEnded(stream);
    post({
      type: 'failed',
      streamId: stream.streamId,
      stats: stream.snapshot(),
      message: error.message,
      ...(fileErrorCode === undefined ? {} : { code: fileErrorCode }),
    });
  },
  readSocketTable,
};

function handle(message: ToWorker): void {
  switch (message.type) {
    case 'open': {
      const spec = {
        streamId: message.streamId,
        filePath: message.filePath,
        port: message.port,
        bindAddress: settings.bindAddress,
        localAddress: settings.localAddress,
        clockRateHz: message.clockRateHz,
        mediaTimeoutMs: settings.mediaTimeoutMs,
        writer: { bufferBytes: settings.bufferBytes, flushRecords: settings.flushRecords, backlog },
        ...(message.srtp === undefined ? {} : { srtp: message.srtp }),
        ...(message.paused === true ? { paused: true } : {}),
      };
      RtpStream.open(spec, host).then(
        (stream) => {
          streams.set(stream.streamId, stream);
          post({ type: 'opened', requestId: message.requestId, fd: stream.fd });
        },
        (error: unknown) => {
          post({
            type: 'open-failed',
            requestId: message.requestId,
            code: errorCode(error),
            message: errorMessage(error),
          });
        },
      );
      return;
    }
    case 'close': {
      const stream = streams.get(message.streamId);
      if (stream === undefined) {
        post({ type: 'closed', requestId: message.requestId, stats: undefined });
        return;
      }
      streams.delete(message.streamId);
      closing.add(stream);
      void stream.close().then(({ stats, error }) => {
        closing.delete(stream);
        untapEnded(stream);
        if (error === undefined) {
          post({ type: 'closed', requestId: message.requestId, stats });
        } else {
          post({
            type: 'closed',
            requestId: message.requestId,
            stats,
            error: error.message,
            code: errnoCode(error) ?? 'EIO',
          });
        }
        if (stream.malformedEvents > 0) {
          post({
            type: 'log',
            level: 'debug',
            message: 'telephone-event packets too short to read',
            fields: { streamId: stream.streamId, malformedEvents: stream.malformedEvents },
          });
        }
        if (stream.rtcpPackets > 0) {
          post({
            type: 'log',
            level: 'debug',
            message: 'RTCP received on the stream',
            fields: { streamId: stream.streamId, rtcpPackets: stream.rtcpPackets },
          });
        }
      });
      return;
    }
    case 'flush': {
      void Promise.all([...streams.values()].map((stream) => stream.flushAndWait())).then(() => {
        post({ type: 'flushed', requestId: message.requestId });
      });
      return;
    }
    case 'pause': {
      // A closing stream still reads what is queued on its socket (RtpStream.close): it obeys too.
      const stream =
        streams.get(message.streamId) ?? [...closing].find((s) => s.streamId === message.streamId);
      stream?.setPaused(message.paused);
      // The arrival clock's now: what the packets read from here on are stamped after.
      post({
        type: 'paused',
        requestId: message.requestId,
        atUs: stream === undefined ? undefined : host.clock.nowUs(),
      });
      return;
    }
    case 'expect-source':
      streams.get(message.streamId)?.setExpectedSource(message.source);
      return;
    case 'clock-rate':
      streams.get(message.streamId)?.setClockRate(message.clockRateHz);
      return;
    case 'rearm-timeout':
      streams.get(message.streamId)?.rearmTimeout(Date.now());
      return;
    case 'hold':
      streams.get(message.streamId)?.setHeld(message.held);
      return;
    case 'tap': {
      // A closing stream still drains its socket: a listener that stops meanwhile stops its copy.
      const stream =
        streams.get(message.streamId) ?? [...closing].find((s) => s.streamId === message.streamId);
      if (stream !== undefined && (!message.on || !closing.has(stream))) {
        setTapped(stream, message.on);
      }
      return;
    }
    case 'srtp':
      streams.get(message.streamId)?.setSrtp(message.srtp);
      return;
    case 'telephone-event':
      streams.get(message.streamId)?.setTelephoneEvent(message.payloadType, message.clockRateHz);
      return;
  }
}

/**
 * How long the worker handles control messages before it reads its sockets again: a stream's
 * set-up or tear-down costs about 0.1 ms here, so a slice is some 20 of them, and a burst of a
 * thousand INVITEs delays no datagram by more than about a slice (ControlInbox).
 */
const CONTROL_SLICE_MS = 2;
const inbox = new ControlInbox<ToWorker>(handle, { sliceMs: CONTROL_SLICE_MS });
port.on('message', (message: ToWorker) => {
  inbox.push(message);
});

// Batched writes: whatever did not fill a batch is written at least this often, which bounds
// what a crash of the process can lose (DESIGN.md §3: at most 1 s per track).
setInterval(() => {
  for (const stream of streams.values()) {
    stream.flush();
  }
}, settings.flushIntervalMs);

setInterval(() => {
  const nowMs = Date.now();
  for (const stream of streams.values()) {
    stream.checkDtmfIdle(nowMs);
    if (stream.checkTimeout(nowMs)) {
      const lastPacketAt = stream.lastPacketAt;
      post({
        type: 'event',
        event:
          lastPacketAt === undefined
            ? { type: 'media-timeout', streamId: stream.streamId }
            : { type: 'media-timeout', streamId: stream.streamId, lastPacketAt },
      });
    }
  }
}, settings.timeoutCheckIntervalMs);

setInterval(() => {
  host.clock.resync();
  if (streams.size === 0) {
    return;
  }
  // The kernel's drop counters reach the streams when the read completes, for the next snapshot.
  void readSocketTable();
  const snapshot: (readonly [string, TrackStats])[] = [];
  for (const stream of streams.values()) {
    snapshot.push([stream.streamId, stream.snapshot()]);
  }
  post({ type: 'stats', streams: snapshot });
}, settings.statsIntervalMs);

setInterval(() => {
  // Every writer of the worker (open and closing streams) holds its unwritten bytes in the backlog.
  post({ type: 'load', ...lag.takeWindow(), pendingWriteBytes: backlog.bytes });
}, settings.loadIntervalMs);

post({ type: 'ready' });
