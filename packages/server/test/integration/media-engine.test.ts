import type { Socket } from 'node:dgram';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { RtpMediaEngine } from '../../src/media/create-media-engine.js';
import type { MediaEvent } from '../../src/media/media-engine.js';
import { ARRIVAL_CLOCK_MAX_DRIFT_US } from '../../src/media/arrival-clock.js';
import { startRtpWorker } from '../../src/media/worker-launcher.js';
import { PcapReader, type PcapPacket } from '../../src/protocol/container/pcap.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import {
  boundUdpSocket,
  closeSockets,
  loopbackMediaEngine,
  randomEnginePorts,
  sendUdp,
  statsReach,
} from '../support/loopback-media.js';
import { waitFor } from '../support/wait.js';

type MediaTimeout = Extract<MediaEvent, { type: 'media-timeout' }>;

const PAYLOAD_BYTES = 160; // 20 ms of G.711 at 8 kHz.

/** A recognisable G.711 payload: every byte encodes the sequence number. */
function payloadFor(seq: number): Uint8Array {
  return new Uint8Array(PAYLOAD_BYTES).fill((seq * 7 + 1) & 0xff);
}

function rtp(seq: number, ssrc = 0xcafe0001, payload = payloadFor(seq)): Uint8Array {
  return serializeRtpPacket(
    { marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc },
    payload,
  );
}

async function readPcap(path: string): Promise<PcapPacket[]> {
  const reader = new PcapReader();
  const packets = reader.push(await readFile(path));
  assert.equal(reader.error, undefined);
  assert.equal(reader.end().truncatedTailBytes, 0);
  return packets;
}

function openFdCount(): Promise<number> {
  return readdir('/proc/self/fd').then((entries) => entries.length);
}

void describe('media engine over loopback', () => {
  let dir: string;
  const sockets: Socket[] = [];
  const engines: RtpMediaEngine[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-media-'));
  });

  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.close()));
    await closeSockets(sockets.splice(0));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function engineWith(
    options: {
      mediaTimeoutMs?: number;
      workerCount?: number;
      range?: { rtpPortMin: number; rtpPortMax: number };
      /** Receives every worker thread the engine starts, in order. */
      workers?: Worker[];
    } = {},
  ): Promise<{ engine: RtpMediaEngine; events: MediaEvent[] }> {
    const { engine, events } = await loopbackMediaEngine({
      ...options.range,
      workerCount: options.workerCount ?? 1,
      ...(options.mediaTimeoutMs === undefined ? {} : { mediaTimeoutMs: options.mediaTimeoutMs }),
      ...(options.workers === undefined
        ? {}
        : {
            launchWorker: (settings) => {
              const worker = startRtpWorker(settings);
              options.workers?.push(worker);
              return worker;
            },
          }),
    });
    engines.push(engine);
    return { engine, events };
  }

  async function sender(address = '127.0.0.1'): Promise<Socket> {
    const socket = await boundUdpSocket(address);
    sockets.push(socket);
    return socket;
  }

  void it('stores exactly the valid RTP of the latched source, in arrival order, with its statistics', async () => {
    const { engine, events } = await engineWith();
    const filePath = join(dir, 'main', 'track0.pcap');
    const { port } = await engine.openStream({ streamId: 's-main', filePath });
    assert.equal(port % 2, 0);
    // The capture exists from the start, holding its 24-byte global header.
    assert.equal((await stat(filePath)).size, 24);

    const phone = await sender();
    const foreign = await sender();
    const sentAtMs = Date.now();
    await sendUdp(phone, rtp(1), port);
    await waitFor(() => events.find((e) => e.type === 'first-packet'), {
      timeoutMs: 5000,
      what: 'first-packet',
    });

    // 4 is lost, 6 duplicated, 8 arrives before 7; garbage, an RTCP packet on the RTP port and
    // RTP from a second source must all be dropped and counted.
    const storedOrder = [1, 2, 3, 5, 6, 6, 8, 7, 9, 10];
    for (const seq of storedOrder.slice(1)) {
      await sendUdp(phone, rtp(seq), port);
      if (seq === 5) {
        await sendUdp(phone, new TextEncoder().encode('not an RTP packet'), port);
        await sendUdp(phone, new Uint8Array([0x80]), port);
        await sendUdp(foreign, rtp(100, 0xbad), port);
      }
      if (seq === 8) {
        await sendUdp(phone, new Uint8Array([0x80, 201, 0, 1, 0xca, 0xfe, 0, 1]), port); // RTCP RR.
        await sendUdp(foreign, rtp(101, 0xbad), port);
      }
    }
    // RTCP on port + 1 is read, not stored and not counted as dropped.
    await sendUdp(phone, new Uint8Array([0x80, 201, 0, 1, 0xca, 0xfe, 0, 1]), port + 1);

    await statsReach(engine, 's-main', (s) => s.packets === storedOrder.length && s.dropped === 5);
    const stats = await engine.closeStream('s-main');
    const closedAtMs = Date.now();

    assert.equal(stats.packets, 10);
    assert.equal(stats.bytes, 10 * PAYLOAD_BYTES);
    assert.equal(stats.lost, 1);
    assert.equal(stats.duplicated, 1);
    assert.equal(stats.reordered, 1);
    assert.equal(stats.dropped, 5);
    // Nothing overflowed the receive buffer, and the close read everything that was queued.
    assert.equal(stats.kernelDropped, 0);
    assert.equal(stats.unreadAtClose, 0);
    assert.equal(stats.unstored, 0);
    assert.ok(stats.jitterMs >= 0);
    assert.ok(stats.firstPacketAt !== undefined && stats.lastPacketAt !== undefined);
    // Arrival times come from the worker's arrival clock, which may be ARRIVAL_CLOCK_MAX_DRIFT_US from Date.now()
    // (and Date.now() truncates to the millisecond): a loopback packet arrives well within that.
    const slackMs = ARRIVAL_CLOCK_MAX_DRIFT_US / 1000 + 1;
    assert.ok(
      stats.firstPacketAt >= sentAtMs - slackMs,
      `first packet at ${stats.firstPacketAt - sentAtMs} ms`,
    );
    assert.ok(
      stats.lastPacketAt <= closedAtMs + slackMs,
      `last packet ${stats.lastPacketAt - closedAtMs} ms after the close`,
    );

    const packets = await readPcap(filePath);
    assert.deepEqual(
      packets.map((p) => p.payload[2]! * 256 + p.payload[3]!),
      storedOrder,
    );
    const phonePort = phone.address().port;
    packets.forEach((packet, index) => {
      const seq = storedOrder[index]!;
      assert.deepEqual(Uint8Array.from(packet.payload), rtp(seq));
      assert.equal(packet.sourceAddress, '127.0.0.1');
      assert.equal(packet.sourcePort, phonePort);
      assert.equal(packet.destinationPort, port);
    });
    const times = packets.map((p) => p.timestampUs);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
    assert.ok(times[0]! >= (sentAtMs - slackMs) * 1000 && times.at(-1)! <= (closedAtMs + slackMs) * 1000);
    assert.equal(Math.floor(times[0]! / 1000), stats.firstPacketAt);

    // Closing is idempotent and the final statistics stay readable.
    assert.deepEqual(await engine.closeStream('s-main'), stats);
    assert.deepEqual(engine.getStats('s-main'), stats);
    assert.equal(engine.portsInUse, 0);
  });

  void it('switches to the source the SDP names and keeps packets of a new SSRC from it', async () => {
    const { engine } = await engineWith();
    const filePath = join(dir, 'switch.pcap');
    const { port } = await engine.openStream({ streamId: 's-switch', filePath });
    const early = await sender('127.0.0.1');
    const named = await sender('127.0.0.2');

    await sendUdp(early, rtp(1, 0x1), port);
    await statsReach(engine, 's-switch', (s) => s.packets === 1);
    engine.setExpectedSource('s-switch', { address: '127.0.0.2', port: named.address().port });
    // setExpectedSource is asynchronous (a message to the worker, handled after the sockets of
    // that turn are read): wait until it is effective. The packets of the latched source that
    // arrived before it were still its to store.
    let earlySeq = 1;
    const stillStored = await waitFor(
      async () => {
        await sendUdp(early, rtp(++earlySeq, 0x1), port);
        const stats = engine.getStats('s-switch');
        return stats !== undefined && stats.dropped > 0 ? stats.packets : undefined;
      },
      { timeoutMs: 5000, what: 'the latched source to be dropped' },
    );
    await sendUdp(named, rtp(500, 0x2), port);
    await sendUdp(named, rtp(501, 0x2), port);
    await sendUdp(named, rtp(9000, 0x3), port); // An SSRC change from the accepted source.
    await sendUdp(named, rtp(9001, 0x3), port);
    await statsReach(engine, 's-switch', (s) => s.packets === stillStored + 4);
    const stats = await engine.closeStream('s-switch');
    assert.equal(stats.packets, stillStored + 4);
    assert.equal(stats.lost, 0);

    const packets = await readPcap(filePath);
    assert.deepEqual(
      packets.map((p) => [p.sourceAddress, p.payload[2]! * 256 + p.payload[3]!]),
      [
        ...Array.from({ length: stillStored }, (_, i) => ['127.0.0.1', i + 1]),
        ['127.0.0.2', 500],
        ['127.0.0.2', 501],
        ['127.0.0.2', 9000],
        ['127.0.0.2', 9001],
      ],
    );
  });

  void it('flush() makes every stored packet readable before the stream closes', async () => {
    const { engine } = await engineWith();
    const filePath = join(dir, 'flush.pcap');
    const { port } = await engine.openStream({ streamId: 's-flush', filePath });
    const phone = await sender();
    for (let seq = 1; seq <= 3; seq++) {
      await sendUdp(phone, rtp(seq), port);
    }
    await statsReach(engine, 's-flush', (s) => s.packets === 3);
    await engine.flush();
    assert.equal((await readPcap(filePath)).length, 3);
    await engine.closeStream('s-flush');
  });

  void it('reports media-timeout for a stream that never receives', async () => {
    const { engine, events } = await engineWith({ mediaTimeoutMs: 300 });
    const openedAt = Date.now();
    await engine.openStream({ streamId: 's-silent', filePath: join(dir, 'silent.pcap') });
    const event = await waitFor(() => events.find((e) => e.type === 'media-timeout'), {
      timeoutMs: 5000,
      what: 'media-timeout',
    });
    assert.ok(Date.now() - openedAt >= 300);
    assert.deepEqual(event, { type: 'media-timeout', streamId: 's-silent' });
  });

  void it('reports media-timeout again after rearmTimeout, counted from the re-arm (a line resumed after hold)', async () => {
    const { engine, events } = await engineWith({ mediaTimeoutMs: 300 });
    await engine.openStream({ streamId: 's-rearm', filePath: join(dir, 'rearm.pcap') });
    await waitFor(() => events.find((e) => e.type === 'media-timeout'), {
      timeoutMs: 5000,
      what: 'media-timeout',
    });
    const rearmedAt = Date.now();
    assert.equal(typeof engine.rearmTimeout, 'function', 'the real engine re-arms');
    engine.rearmTimeout?.('s-rearm');
    await waitFor(() => events.filter((e) => e.type === 'media-timeout').length === 2, {
      timeoutMs: 5000,
      what: 'a second media-timeout',
    });
    assert.ok(Date.now() - rearmedAt >= 300, 'the silence is counted from the re-arm');
  });

  void it('counts a silence of more than a second as a gap, but not one while the line is held', async () => {
    const { engine } = await engineWith();
    const { port } = await engine.openStream({ streamId: 's-gaps', filePath: join(dir, 'gaps.pcap') });
    const phone = await sender();
    let seq = 1;
    const talk = async (packets: number): Promise<void> => {
      for (let i = 0; i < packets; i++) {
        await sendUdp(phone, rtp(seq++), port);
        await new Promise((resolve) => setTimeout(resolve, 20)); // Packet pacing (20 ms ptime), not a wait.
      }
    };
    // The silences are what is tested: they have to last.
    const silence = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
    await talk(5);
    await silence(1200);
    await talk(5);
    assert.equal(typeof engine.setHeld, 'function', 'the real engine is told of holds');
    engine.setHeld?.('s-gaps', true);
    await silence(1200);
    engine.setHeld?.('s-gaps', false);
    await talk(5);
    const stats = await engine.closeStream('s-gaps');
    assert.equal(stats.packets, 15);
    assert.equal(stats.gaps, 1, JSON.stringify(stats));
    assert.ok((stats.gapMs ?? 0) >= 1200 && (stats.gapMs ?? 0) < 2000, `gap of ${stats.gapMs} ms`);
    // The payload bytes are loud µ-law codes: the stream carried audio.
    assert.equal(stats.content, 'audio');
  });

  void it('reports media-timeout for a stream that stops, once per silence', async () => {
    const { engine, events } = await engineWith({ mediaTimeoutMs: 300 });
    const { port } = await engine.openStream({ streamId: 's-stops', filePath: join(dir, 'stops.pcap') });
    const phone = await sender();
    // Keep the stream alive for longer than the timeout: no event while packets flow.
    const until = Date.now() + 500;
    let seq = 1;
    while (Date.now() < until) {
      await sendUdp(phone, rtp(seq++), port);
      await new Promise((resolve) => setTimeout(resolve, 20)); // Packet pacing (20 ms ptime), not a wait.
    }
    assert.equal(events.filter((e) => e.type === 'media-timeout').length, 0);
    const event = await waitFor(() => events.find((e): e is MediaTimeout => e.type === 'media-timeout'), {
      timeoutMs: 5000,
      what: 'media-timeout',
    });
    const heardAt = Date.now();
    assert.ok(event.lastPacketAt !== undefined);
    assert.ok(heardAt - event.lastPacketAt >= 300);
    // A new packet re-arms the timeout.
    await sendUdp(phone, rtp(seq), port);
    await waitFor(() => events.filter((e) => e.type === 'media-timeout').length === 2, {
      timeoutMs: 5000,
      what: 'a second media-timeout',
    });
  });

  void it('opens and closes 50 streams at once without leaking ports or descriptors', async () => {
    const { engine } = await engineWith({ range: randomEnginePorts(400) });
    const fdsBefore = await openFdCount();
    const ids = Array.from({ length: 50 }, (_, i) => `s-many-${i}`);
    const opened = await Promise.all(
      ids.map((streamId) => engine.openStream({ streamId, filePath: join(dir, 'many', `${streamId}.pcap`) })),
    );
    const ports = opened.map((o) => o.port);
    assert.equal(new Set(ports).size, 50);
    assert.ok(ports.every((p) => p % 2 === 0));
    assert.equal(engine.portsInUse, 50);
    // Two sockets and one file per stream.
    assert.ok((await openFdCount()) >= fdsBefore + 150);

    const phone = await sender();
    await Promise.all(ports.map((port, i) => sendUdp(phone, rtp(i + 1), port)));
    const stats = await Promise.all(
      ids.map(async (streamId) => {
        await statsReach(engine, streamId, (s) => s.packets === 1);
        return engine.closeStream(streamId);
      }),
    );
    assert.ok(stats.every((s) => s.packets === 1));
    assert.equal(engine.portsInUse, 0);
    // The sender socket above is the only new descriptor left.
    assert.equal(await openFdCount(), fdsBefore + 1);
    for (const streamId of ids) {
      assert.equal((await readPcap(join(dir, 'many', `${streamId}.pcap`))).length, 1);
    }
  });

  void it('rejects when the port range is exhausted, and recovers when a stream closes', async () => {
    const min = 20000 + 2 * Math.floor(Math.random() * 10000);
    const { engine } = await engineWith({ range: { rtpPortMin: min, rtpPortMax: min + 3 } });
    await engine.openStream({ streamId: 'x1', filePath: join(dir, 'x1.pcap') });
    await engine.openStream({ streamId: 'x2', filePath: join(dir, 'x2.pcap') });
    await assert.rejects(engine.openStream({ streamId: 'x3', filePath: join(dir, 'x3.pcap') }), {
      code: 'VERBATIM_ERR_TRANSPORT_PORTS_EXHAUSTED',
    });
    await engine.closeStream('x1');
    await engine.openStream({ streamId: 'x3', filePath: join(dir, 'x3.pcap') });
    assert.equal(engine.portsInUse, 2);
  });

  void it('refuses a duplicate stream id, an existing file and an unknown stream, releasing the port', async () => {
    const { engine } = await engineWith();
    await engine.openStream({ streamId: 'dup', filePath: join(dir, 'dup.pcap') });
    await assert.rejects(engine.openStream({ streamId: 'dup', filePath: join(dir, 'dup2.pcap') }), {
      code: 'VERBATIM_ERR_MEDIA_STREAM_EXISTS',
    });
    const existing = join(dir, 'existing.pcap');
    await writeFile(existing, 'keep me');
    await assert.rejects(engine.openStream({ streamId: 'exists', filePath: existing }), {
      code: 'VERBATIM_ERR_MEDIA_OPEN_FAILED',
    });
    assert.equal(await readFile(existing, 'utf8'), 'keep me');
    assert.equal(engine.portsInUse, 1);
    await assert.rejects(engine.closeStream('never-opened'), { code: 'VERBATIM_ERR_MEDIA_UNKNOWN_STREAM' });
  });

  void it('reports the streams of a crashed worker and keeps the other worker recording', async () => {
    const workers: Worker[] = [];
    const { engine, events } = await engineWith({ workerCount: 2, workers });
    // Streams go to the least loaded worker: the first to worker 0, the second to worker 1.
    const lost = await engine.openStream({ streamId: 'on-0', filePath: join(dir, 'on-0.pcap') });
    const kept = await engine.openStream({ streamId: 'on-1', filePath: join(dir, 'on-1.pcap') });
    const phone = await sender();
    await sendUdp(phone, rtp(1), lost.port);
    await sendUdp(phone, rtp(1), kept.port);
    await statsReach(engine, 'on-0', (s) => s.packets === 1);

    // Kill worker 0 as a crash would; the engine's own exit handler runs before ours.
    const crashed = workers[0];
    assert.ok(crashed !== undefined);
    const exited = new Promise<void>((resolve) => crashed.once('exit', () => resolve()));
    await crashed.terminate();
    await exited;
    const errors = events.filter((e) => e.type === 'stream-error');
    assert.deepEqual(
      errors.map((e) => e.streamId),
      ['on-0'],
    );
    assert.equal((await engine.closeStream('on-0')).packets, 1);

    await sendUdp(phone, rtp(2), kept.port);
    await statsReach(engine, 'on-1', (s) => s.packets === 2);
    assert.equal((await engine.closeStream('on-1')).packets, 2);
    assert.equal((await readPcap(join(dir, 'on-1.pcap'))).length, 2);

    // The crashed worker was replaced: new streams open and record.
    const fresh = await engine.openStream({ streamId: 'fresh', filePath: join(dir, 'fresh.pcap') });
    await sendUdp(phone, rtp(1), fresh.port);
    await statsReach(engine, 'fresh', (s) => s.packets === 1);
    await engine.closeStream('fresh');
    assert.equal(engine.portsInUse, 0);
  });
});
