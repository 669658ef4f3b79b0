import type { Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { RtpMediaEngine } from '../../src/media/create-media-engine.js';
import type { MediaEvent } from '../../src/media/media-engine.js';
import { PcapReader } from '../../src/protocol/container/pcap.js';
import { parseRtpHeader, serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import {
  boundUdpSocket,
  closeSockets,
  loopbackMediaEngine,
  sendUdp,
  statsReach,
} from '../support/loopback-media.js';
import { waitFor } from '../support/wait.js';

/**
 * Pausing a stream in the media engine (pauseRecording, PCI): real worker threads, real sockets on
 * loopback, the track file read back. What arrives while paused is counted and never written, nor
 * read for DTMF; the sender stays alive for the media timeout; the track's sequence numbers show
 * no loss for it.
 */

const EVENT_PT = 101;

function audio(seq: number): Uint8Array {
  return serializeRtpPacket(
    { marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0xfeed },
    new Uint8Array(160).fill(seq & 0xff),
  );
}

/** An RFC 4733 key press of digit 5: a start packet and an end packet. */
function keyPress(seq: number): Uint8Array[] {
  const packet = (s: number, end: boolean, duration: number): Uint8Array =>
    serializeRtpPacket(
      { marker: !end, payloadType: EVENT_PT, sequenceNumber: s, timestamp: seq * 160, ssrc: 0xfeed },
      new Uint8Array([5, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]),
    );
  return [packet(seq, false, 160), packet(seq + 1, true, 800)];
}

async function storedSequenceNumbers(path: string): Promise<number[]> {
  const reader = new PcapReader();
  const records = reader.push(await readFile(path));
  assert.equal(reader.error, undefined);
  return records.map((record) => {
    const header = parseRtpHeader(record.payload);
    assert.ok(header.ok);
    return header.value.sequenceNumber;
  });
}

void describe('media engine: a paused stream', () => {
  let dir: string;
  const sockets: Socket[] = [];
  const engines: RtpMediaEngine[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-media-pause-'));
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.close()));
    await closeSockets(sockets.splice(0));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function engineWith(
    mediaTimeoutMs = 60_000,
  ): Promise<{ engine: RtpMediaEngine; events: MediaEvent[] }> {
    const started = await loopbackMediaEngine({ mediaTimeoutMs });
    engines.push(started.engine);
    return started;
  }

  async function sender(): Promise<Socket> {
    const socket = await boundUdpSocket();
    sockets.push(socket);
    return socket;
  }

  async function sendAll(socket: Socket, packets: readonly Uint8Array[], port: number): Promise<void> {
    for (const packet of packets) {
      await sendUdp(socket, packet, port);
    }
  }

  const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

  it('stores nothing received between pause and resume, reads no key press then, counts it, and shows no loss', async () => {
    const { engine, events } = await engineWith();
    const path = join(dir, 'paused.pcap');
    const { port } = await engine.openStream({ streamId: 'p', filePath: path });
    engine.setTelephoneEvent('p', EVENT_PT);
    // Applied by the worker before the first datagram: a flush is answered after it.
    await engine.flush();
    const socket = await sender();

    await sendAll(socket, [...range(0, 50).map(audio), ...keyPress(50)], port);
    await statsReach(engine, 'p', (s) => s.packets === 52);
    const before = Date.now();
    const pausedAt = await engine.setPaused('p', true);
    assert.ok(
      pausedAt !== undefined && pausedAt >= before - 1 && pausedAt <= Date.now() + 1,
      `paused at ${pausedAt}`,
    );

    await sendAll(socket, [...range(52, 100).map(audio), ...keyPress(100)], port);
    await statsReach(engine, 'p', (s) => s.paused === 50);
    assert.ok((await engine.setPaused('p', false)) !== undefined);
    await sendAll(socket, [...range(102, 150).map(audio), ...keyPress(150)], port);
    await statsReach(engine, 'p', (s) => s.packets === 102);

    const stats = await engine.closeStream('p');
    assert.deepEqual(await storedSequenceNumbers(path), [...range(0, 52), ...range(102, 152)]);
    assert.equal(stats.packets, 102);
    assert.equal(stats.paused, 50);
    assert.equal(stats.lost, 0, 'a pause is no loss');
    assert.equal(stats.dropped, 0);
    assert.equal(engine.counters().packetsPaused, 50);
    await waitFor(() => events.filter((e) => e.type === 'dtmf').length === 2);
    assert.equal(
      events.filter((e) => e.type === 'dtmf').length,
      2,
      'the key press sent while paused is not read',
    );
  });

  it('opens paused: stores nothing; paused packets keep the media timeout away, silence then still reports it', async () => {
    const { engine, events } = await engineWith(600);
    const path = join(dir, 'opened-paused.pcap');
    const { port } = await engine.openStream({ streamId: 'q', filePath: path, paused: true });
    const socket = await sender();
    // 1.5 s of packets, 20 ms apart: far longer than the 600 ms timeout.
    for (const seq of range(0, 75)) {
      await sendUdp(socket, audio(seq), port);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(
      events.filter((e) => e.type === 'media-timeout'),
      [],
      'a sender heard while paused is alive',
    );
    await waitFor(() => events.some((e) => e.type === 'media-timeout'), { timeoutMs: 5000 });
    const stats = await engine.closeStream('q');
    assert.equal(stats.packets, 0);
    assert.equal(stats.paused, 75);
    assert.deepEqual(await storedSequenceNumbers(path), []);
    assert.ok(!events.some((e) => e.type === 'first-packet'), 'nothing stored, no first packet');
  });

  it('answers undefined for a stream it does not hold (unknown, or closed)', async () => {
    const { engine } = await engineWith();
    assert.equal(await engine.setPaused('nobody', true), undefined);
    await engine.openStream({ streamId: 'r', filePath: join(dir, 'closed.pcap') });
    await engine.closeStream('r');
    assert.equal(await engine.setPaused('r', true), undefined);
  });
});
