import type { Socket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { RtpMediaEngine } from '../../src/media/create-media-engine.js';
import { startRtpWorker } from '../../src/media/worker-launcher.js';
import type { FromWorker } from '../../src/media/worker-messages.js';
import type { TappedPacket } from '../../src/media/media-engine.js';
import { createSrtpKeyAndSalt, SrtpSendContext } from '../../src/media/srtp.js';
import { parseRtpHeader, serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { pino } from 'pino';
import { LiveFeedService } from '../../src/playback/live-feed-service.js';
import type { LivePacket } from '../../src/playback/live-feed.js';
import type { Leg } from '../../src/recording/live-session.js';
import { SessionRegistry } from '../../src/recording/session-registry.js';
import {
  boundUdpSocket,
  closeSockets,
  loopbackMediaEngine,
  sendUdp,
  statsReach,
} from '../support/loopback-media.js';
import { waitFor } from '../support/wait.js';

/**
 * The media engine's tap (MediaEngine.tap) and the live feed over it, with real worker threads
 * and real RTP on loopback: a tapped stream's stored packets reach the main thread in batches,
 * byte for byte as stored (decrypted for SRTP), never those received while paused; an untapped
 * stream sends nothing.
 */

function audio(seq: number, ssrc = 0xfeed): Uint8Array {
  return serializeRtpPacket(
    { marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc },
    new Uint8Array(160).fill(seq & 0xff),
  );
}

/**
 * Lets a tap or untap reach the worker before what follows: the engine posts it once the stream's
 * open has settled (a microtask later), so a flush asked for after this is answered after it.
 */
async function applied(media: RtpMediaEngine): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await media.flush();
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

function sequenceNumbers(packets: readonly { rtp: Uint8Array }[]): number[] {
  return packets.map((p) => {
    const header = parseRtpHeader(p.rtp);
    assert.ok(header.ok);
    return header.value.sequenceNumber;
  });
}

void describe('media engine: tapping a stream', () => {
  let dir: string;
  const sockets: Socket[] = [];
  const engines: RtpMediaEngine[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-media-tap-'));
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.close()));
    await closeSockets(sockets.splice(0));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function engine(): Promise<RtpMediaEngine> {
    const started = await loopbackMediaEngine();
    engines.push(started.engine);
    return started.engine;
  }

  async function sender(): Promise<Socket> {
    const socket = await boundUdpSocket();
    sockets.push(socket);
    return socket;
  }

  it('copies what is stored, in batches, in order, with arrival times; nothing while paused or after untap', async () => {
    const media = await engine();
    const { port } = await media.openStream({ streamId: 't', filePath: join(dir, 't.pcap') });
    const batches: (readonly TappedPacket[])[] = [];
    const untap = media.tap('t', (packets) => batches.push(packets));
    await applied(media);
    const socket = await sender();
    const start = Date.now();
    for (const seq of range(0, 40)) {
      await sendUdp(socket, audio(seq), port);
    }
    await waitFor(() => batches.flat().length === 40, { what: '40 tapped packets' });
    assert.ok(batches.length < 40, `${batches.length} messages for 40 packets: batched`);
    const first = batches.flat();
    assert.deepEqual(sequenceNumbers(first), range(0, 40));
    assert.deepEqual(first[3]?.rtp, audio(3), 'the packet byte for byte');
    for (const packet of first) {
      assert.ok(packet.arrivalMs >= start - 5 && packet.arrivalMs <= Date.now() + 5, 'arrival time');
    }

    assert.notEqual(await media.setPaused('t', true), undefined);
    for (const seq of range(40, 60)) {
      await sendUdp(socket, audio(seq), port);
    }
    await statsReach(media, 't', (s) => s.paused === 20);
    assert.notEqual(await media.setPaused('t', false), undefined);
    for (const seq of range(60, 70)) {
      await sendUdp(socket, audio(seq), port);
    }
    await waitFor(() => batches.flat().length === 50, { what: '10 more tapped packets' });
    assert.deepEqual(sequenceNumbers(batches.flat().slice(40)), range(60, 70), 'nothing of the pause');

    untap();
    untap();
    await applied(media);
    for (const seq of range(70, 80)) {
      await sendUdp(socket, audio(seq), port);
    }
    await statsReach(media, 't', (s) => s.packets === 60);
    await media.flush();
    await new Promise((resolve) => setTimeout(resolve, 100)); // Two tap ticks: nothing may come.
    assert.equal(batches.flat().length, 50, 'nothing after untap');
    const stats = await media.closeStream('t');
    assert.equal(stats.packets, 60);
  });

  it('gives the decrypted packets of an SRTP stream', async () => {
    const media = await engine();
    const keyAndSalt = createSrtpKeyAndSalt();
    const params = {
      suite: 'AES_CM_128_HMAC_SHA1_80' as const,
      masterKey: keyAndSalt.subarray(0, 16),
      masterSalt: keyAndSalt.subarray(16),
    };
    const { port } = await media.openStream({ streamId: 's', filePath: join(dir, 's.pcap'), srtp: params });
    const got: TappedPacket[] = [];
    media.tap('s', (packets) => got.push(...packets));
    await applied(media);
    const socket = await sender();
    const protect = new SrtpSendContext(params);
    for (const seq of range(0, 10)) {
      await sendUdp(socket, protect.protect(audio(seq)), port);
    }
    await waitFor(() => got.length === 10, { what: '10 tapped SRTP packets' });
    assert.deepEqual(
      got.map((p) => Buffer.from(p.rtp)),
      range(0, 10).map((seq) => Buffer.from(audio(seq))),
    );
  });

  it('lets one tap of two stop while the other goes on; a throwing tap harms neither the other nor the track', async () => {
    const media = await engine();
    const { port } = await media.openStream({ streamId: 'u', filePath: join(dir, 'u.pcap') });
    let thrown = 0;
    const kept: TappedPacket[] = [];
    const stopped: TappedPacket[] = [];
    media.tap('u', () => {
      thrown++;
      throw new Error('a listener bug');
    });
    media.tap('u', (packets) => kept.push(...packets));
    const untap = media.tap('u', (packets) => stopped.push(...packets));
    await applied(media);
    const socket = await sender();
    for (const seq of range(0, 5)) {
      await sendUdp(socket, audio(seq), port);
    }
    await waitFor(() => kept.length === 5 && stopped.length === 5);
    untap();
    await applied(media);
    for (const seq of range(5, 10)) {
      await sendUdp(socket, audio(seq), port);
    }
    await waitFor(() => kept.length === 10);
    assert.equal(stopped.length, 5);
    assert.ok(thrown > 0);
    const stats = await media.closeStream('u');
    assert.equal(stats.packets, 10);
  });

  it('sends the main thread nothing for a stream nobody taps, and stops when the last tap goes', async () => {
    let tapped = 0;
    // Read through a function: TypeScript would keep a narrowing across the awaits.
    const tappedMessages = (): number => tapped;
    const started = await loopbackMediaEngine({
      launchWorker: (settings) => {
        const worker = startRtpWorker(settings);
        worker.on('message', (message: FromWorker) => {
          if (message.type === 'tapped') {
            tapped++;
          }
        });
        return worker;
      },
    });
    const media = started.engine;
    engines.push(media);
    const { port } = await media.openStream({ streamId: 'n', filePath: join(dir, 'n.pcap') });
    await applied(media);
    const socket = await sender();
    for (const seq of range(0, 20)) {
      await sendUdp(socket, audio(seq), port);
    }
    await statsReach(media, 'n', (s) => s.packets === 20);
    await media.flush();
    await new Promise((resolve) => setTimeout(resolve, 100)); // Two tap ticks.
    assert.equal(tappedMessages(), 0, 'an untapped stream sends no packets');

    const got: TappedPacket[] = [];
    const untap = media.tap('n', (packets) => got.push(...packets));
    await applied(media);
    for (const seq of range(20, 40)) {
      await sendUdp(socket, audio(seq), port);
    }
    await waitFor(() => got.length === 20);
    assert.ok(tappedMessages() > 0 && tappedMessages() < 20, `${tappedMessages()} messages for 20 packets`);
    untap();
    await applied(media);
    const after = tappedMessages();
    for (const seq of range(40, 60)) {
      await sendUdp(socket, audio(seq), port);
    }
    await statsReach(media, 'n', (s) => s.packets === 60);
    await media.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(tappedMessages(), after, 'nothing once untapped');
  });

  it('ignores a tap of a stream it does not hold, telling its end', async () => {
    const media = await engine();
    let ends = 0;
    const untap = media.tap(
      'nobody',
      () => assert.fail('no packets'),
      () => ends++,
    );
    assert.equal(ends, 0, 'never from inside the call');
    await Promise.resolve();
    assert.equal(ends, 1, 'its end is told at once');
    untap();
  });

  it('feeds a live listener every leg of a session, a leg added later too, and ends it once when the session closes', async () => {
    const media = await engine();
    const registry = new SessionRegistry(() => 'live-1');
    const sessions = { watchSession: registry.watch.bind(registry) };
    const feed = new LiveFeedService({ sessions, media, log: pino({ level: 'silent' }) });
    const session = registry.create({
      controllerType: 'Cisco-CUCM',
      controllerIp: '127.0.0.1',
      ccid: '1',
      expectedLegs: 2,
      startMs: Date.now(),
    });
    const openLeg = async (trackNumber: number): Promise<{ leg: Leg; port: number }> => {
      const streamId = `live-1-${trackNumber}`;
      const { port } = await media.openStream({ streamId, filePath: join(dir, `${streamId}.pcap`) });
      const leg: Leg = {
        trackNumber,
        streamId,
        startMs: Date.now(),
        mediaIndex: 0,
        port,
        localSdp: '',
        codecKnown: true,
        inactive: false,
        ended: false,
        participants: [],
      };
      registry.attach(session, leg);
      return { leg, port };
    };
    const zero = await openLeg(0);
    const received = new Map<number, LivePacket[]>();
    let ended = 0;
    const subscription = feed.subscribe('live-1', {
      packets(trackNumber, packets) {
        received.set(trackNumber, [...(received.get(trackNumber) ?? []), ...packets]);
      },
      ended() {
        ended++;
      },
    });
    assert.ok(subscription !== undefined);
    assert.equal(feed.subscribe('nobody', { packets: () => undefined, ended: () => undefined }), undefined);
    const one = await openLeg(1);
    await applied(media);
    const socket = await sender();
    for (const seq of range(0, 10)) {
      await sendUdp(socket, audio(seq, 0xa), zero.port);
      await sendUdp(socket, audio(1000 + seq, 0xb), one.port);
    }
    await waitFor(() => received.get(0)?.length === 10 && received.get(1)?.length === 10, {
      what: 'both tracks live',
    });
    assert.deepEqual(sequenceNumbers(received.get(1) ?? []), range(1000, 1010));

    // Both legs hung up: the session closes while its streams still drain what was sent before.
    registry.forget(session);
    registry.forget(session);
    for (const seq of range(10, 20)) {
      await sendUdp(socket, audio(seq, 0xa), zero.port);
    }
    await statsReach(media, 'live-1-0', (s) => s.packets === 20);
    assert.equal(ended, 0, 'not before the streams ended');
    await media.closeStream('live-1-0');
    assert.equal(ended, 0, 'one stream is still open');
    await media.closeStream('live-1-1');
    assert.equal(ended, 1, 'ended once both streams have');
    assert.deepEqual(sequenceNumbers(received.get(0) ?? []), range(0, 20), 'to the last packet');
    subscription.close();
    assert.equal(ended, 1, 'ended exactly once');
  });
});
