import type { Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { RtpMediaEngine } from '../../src/media/create-media-engine.js';
import type { MediaEvent } from '../../src/media/media-engine.js';
import type { TrackStats } from '../../src/model/session.js';
import { createSrtpKeyAndSalt } from '../../src/media/srtp.js';
import { decodeAlaw } from '../../src/protocol/codec/g711.js';
import { PcapReader, type PcapPacket } from '../../src/protocol/container/pcap.js';
import { parseRtpHeader, type RtpHeader } from '../../src/protocol/rtp/rtp-packet.js';
import {
  buildCryptoAttribute,
  encodeBase64,
  parseCryptoAttribute,
  type SdesCrypto,
  type SrtpSuite,
} from '../../src/protocol/sdp/sdes.js';
import { dominantFrequencyHz } from '../support/audio.js';
import { spawnTracked, stopAll, waitExit } from '../support/processes.js';
import {
  boundUdpSocket,
  closeSockets,
  loopbackMediaEngine,
  sendUdp,
  statsReach,
} from '../support/loopback-media.js';
import { waitFor } from '../support/wait.js';

/**
 * The media engine against real peers: ffmpeg sends SRTP (its own libsrtp-free implementation in
 * libavformat) with SDES keys, and sipp's bundled RFC 2833 captures provide DTMF as a phone sends it.
 */

type Dtmf = Extract<MediaEvent, { type: 'dtmf' }>;

const SIPP_PCAP_DIR = '/usr/share/sip-tester';
const TONE_HZ = 1000;

/** Our keys as the SDP path carries them: built into an a=crypto value and parsed back. */
function sdesKeys(
  suite: SrtpSuite,
  keyAndSalt = createSrtpKeyAndSalt(),
): { crypto: SdesCrypto; base64: string } {
  const parsed = parseCryptoAttribute(buildCryptoAttribute(1, suite, keyAndSalt));
  assert.ok(parsed.ok);
  return { crypto: parsed.value, base64: encodeBase64(keyAndSalt) };
}

async function readTrack(path: string): Promise<{ packet: PcapPacket; header: RtpHeader }[]> {
  const reader = new PcapReader();
  const packets = reader.push(await readFile(path));
  assert.equal(reader.error, undefined);
  return packets.map((packet) => {
    const header = parseRtpHeader(packet.payload);
    assert.ok(header.ok, 'every stored record is valid RTP');
    return { packet, header: header.value };
  });
}

/** The A-law samples of a track, checking that every record holds exactly its samples (no SRTP tag). */
function alawSamples(track: { packet: PcapPacket; header: RtpHeader }[]): Int16Array {
  const total = track.reduce((sum, { header }) => sum + header.payloadLength, 0);
  const samples = new Int16Array(total);
  let offset = 0;
  for (const [i, { packet, header }] of track.entries()) {
    assert.equal(header.payloadType, 8);
    const next = track[i + 1];
    if (next !== undefined && next.header.sequenceNumber === ((header.sequenceNumber + 1) & 0xffff)) {
      // The RTP timestamp advances by the samples in the packet: a left-over tag would break this.
      assert.equal((next.header.timestamp - header.timestamp) >>> 0, header.payloadLength);
    }
    const payload = packet.payload.subarray(
      header.payloadOffset,
      header.payloadOffset + header.payloadLength,
    );
    offset += decodeAlaw(payload, samples, offset);
  }
  return samples;
}

void describe('media engine: SRTP from ffmpeg and DTMF from sipp captures', () => {
  let dir: string;
  const engines: RtpMediaEngine[] = [];
  const sockets: Socket[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-srtp-'));
  });

  afterEach(async () => {
    await stopAll();
    await Promise.all(engines.splice(0).map((engine) => engine.close()));
    await closeSockets(sockets.splice(0));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function engineWithEvents(): Promise<{ engine: RtpMediaEngine; events: MediaEvent[] }> {
    const started = await loopbackMediaEngine();
    engines.push(started.engine);
    return started;
  }

  function ffmpegSrtp(
    suite: SrtpSuite,
    keyBase64: string,
    port: number,
    seconds: number,
  ): ReturnType<typeof spawnTracked> {
    return spawnTracked('ffmpeg', 'ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=${TONE_HZ}:sample_rate=8000:duration=${seconds}`,
      '-c:a',
      'pcm_alaw',
      '-ar',
      '8000',
      '-ac',
      '1',
      '-f',
      'rtp',
      '-srtp_out_suite',
      suite,
      '-srtp_out_params',
      keyBase64,
      `srtp://127.0.0.1:${port}`,
    ]);
  }

  void it('stores the decrypted A-law tone of an AES_CM_128_HMAC_SHA1_80 stream keyed at open', async () => {
    const { engine, events } = await engineWithEvents();
    const { crypto, base64 } = sdesKeys('AES_CM_128_HMAC_SHA1_80');
    const filePath = join(dir, 'srtp80.pcap');
    const { port } = await engine.openStream({ streamId: 's80', filePath, srtp: crypto });
    const ffmpeg = ffmpegSrtp('AES_CM_128_HMAC_SHA1_80', base64, port, 1.5);
    assert.equal(await waitExit(ffmpeg, 20_000), 0, ffmpeg.output());
    await statsReach(engine, 's80', (s) => s.packets > 0);
    const stats = await engine.closeStream('s80');
    assert.equal(stats.srtpAuthFailures, 0);
    assert.equal(stats.dropped, 0);
    assert.ok(events.some((e) => e.type === 'first-packet' && e.streamId === 's80'));

    const track = await readTrack(filePath);
    assert.equal(track.length, stats.packets);
    const samples = alawSamples(track);
    assert.ok(samples.length >= 8000, `only ${samples.length} samples stored`);
    assert.ok(Math.abs(dominantFrequencyHz(samples, 8000) - TONE_HZ) <= 2);
  });

  void it('drops AES_CM_128_HMAC_SHA1_32 packets while the key is pending, then decrypts them', async () => {
    const { engine } = await engineWithEvents();
    const { crypto, base64 } = sdesKeys('AES_CM_128_HMAC_SHA1_32');
    const filePath = join(dir, 'srtp32.pcap');
    const { port } = await engine.openStream({ streamId: 's32', filePath, srtp: 'pending' });
    const ffmpeg = ffmpegSrtp('AES_CM_128_HMAC_SHA1_32', base64, port, 2);
    // Delayed offer: media arrives before the ACK that carries the key.
    const before = await statsReach(engine, 's32', (s) => s.dropped >= 2);
    assert.equal(before.packets, 0);
    engine.setSrtp('s32', crypto);
    assert.equal(await waitExit(ffmpeg, 20_000), 0, ffmpeg.output());
    await statsReach(engine, 's32', (s) => s.packets > 0);
    const stats = await engine.closeStream('s32');
    assert.equal(stats.srtpAuthFailures, 0);
    assert.ok(stats.dropped >= 2);

    const samples = alawSamples(await readTrack(filePath));
    assert.ok(samples.length >= 4000, `only ${samples.length} samples stored`);
    assert.ok(Math.abs(dominantFrequencyHz(samples, 8000) - TONE_HZ) <= 2);
  });

  void it('stores nothing under a wrong key and counts every packet as an authentication failure', async () => {
    const { engine, events } = await engineWithEvents();
    const ours = sdesKeys('AES_CM_128_HMAC_SHA1_80');
    const theirs = sdesKeys('AES_CM_128_HMAC_SHA1_80');
    const filePath = join(dir, 'wrong-key.pcap');
    const { port } = await engine.openStream({ streamId: 'wrong', filePath, srtp: ours.crypto });
    const ffmpeg = ffmpegSrtp('AES_CM_128_HMAC_SHA1_80', theirs.base64, port, 1);
    assert.equal(await waitExit(ffmpeg, 20_000), 0, ffmpeg.output());
    // ffmpeg sends 1024-sample frames: about 8 packets a second at 8 kHz.
    await statsReach(engine, 'wrong', (s) => s.srtpAuthFailures >= 5);
    const stats = await engine.closeStream('wrong');
    assert.equal(stats.packets, 0);
    assert.equal(stats.dropped, 0);
    assert.ok(stats.srtpAuthFailures >= 5);
    assert.equal((await readTrack(filePath)).length, 0);
    assert.ok(!events.some((e) => e.type === 'first-packet'));
  });

  void it('refuses SRTP keys of the wrong size with VERBATIM_ERR_MEDIA_SRTP_PARAMS', async () => {
    const { engine } = await engineWithEvents();
    const { crypto } = sdesKeys('AES_CM_128_HMAC_SHA1_80');
    await assert.rejects(
      engine.openStream({
        streamId: 'bad',
        filePath: join(dir, 'bad.pcap'),
        srtp: { ...crypto, masterKey: crypto.masterKey.subarray(0, 8) },
      }),
      { code: 'VERBATIM_ERR_MEDIA_SRTP_PARAMS' },
    );
    await engine.openStream({ streamId: 'ok', filePath: join(dir, 'ok.pcap') });
    assert.throws(() => engine.setSrtp('ok', { ...crypto, masterSalt: new Uint8Array(2) }), {
      code: 'VERBATIM_ERR_MEDIA_SRTP_PARAMS',
    });
  });

  /**
   * Sends sipp's one-key captures to `port` from one socket. `rewrite` replays them as one phone
   * pressing the keys one after the other: sequence numbers continue and each press gets a later
   * timestamp (one second apart). Without it the captures go out byte for byte.
   */
  async function sendDtmfCaptures(port: number, keys: readonly string[], rewrite: boolean): Promise<number> {
    const socket = await boundUdpSocket();
    sockets.push(socket);
    let sent = 0;
    for (const [press, key] of keys.entries()) {
      const reader = new PcapReader();
      const records = reader.push(await readFile(join(SIPP_PCAP_DIR, `dtmf_2833_${key}.pcap`)));
      assert.equal(reader.error, undefined);
      // One key press: seven updates, then the end packet three times (RFC 4733 §2.5.1.4).
      assert.equal(records.length, 10);
      for (const record of records) {
        const datagram = Buffer.from(record.payload);
        if (rewrite) {
          datagram.writeUInt16BE(sent & 0xffff, 2);
          datagram.writeUInt32BE(0x10000 + press * 8000, 4);
        }
        await sendUdp(socket, datagram, port);
        sent++;
      }
    }
    return sent;
  }

  async function dtmfRun(
    streamId: string,
    keys: readonly string[],
    rewrite: boolean,
  ): Promise<{ dtmf: Dtmf[]; events: MediaEvent[]; stats: TrackStats; sent: number; filePath: string }> {
    const { engine, events } = await engineWithEvents();
    const filePath = join(dir, `${streamId}.pcap`);
    const { port } = await engine.openStream({ streamId, filePath });
    engine.setTelephoneEvent(streamId, 101);
    // The payload type reaches the worker as a control message, which it may handle after the
    // first datagrams (it reads its sockets between control turns); a flush is answered only
    // once every earlier message was handled.
    await engine.flush();
    const sent = await sendDtmfCaptures(port, keys, rewrite);
    const dtmf = await waitFor(
      () => {
        const found = events.filter((e): e is Dtmf => e.type === 'dtmf');
        return found.length >= keys.length ? found : undefined;
      },
      { timeoutMs: 5000, what: 'DTMF events' },
    );
    const stats = await engine.closeStream(streamId);
    return { dtmf, events, stats, sent, filePath };
  }

  void it('reports each DTMF key of sipp RFC 2833 captures once and stores every event packet', async () => {
    const { dtmf, events, stats, sent, filePath } = await dtmfRun(
      'dtmf',
      ['1', '5', 'pound', 'star', '9'],
      true,
    );
    assert.deepEqual(
      dtmf.map((e) => e.digit),
      ['1', '5', '#', '*', '9'],
    );
    for (const event of dtmf) {
      assert.equal(event.streamId, 'dtmf');
      // The captures end at duration 0x08c0 = 2240 units of 8 kHz.
      assert.equal(event.durationMs, 280);
      assert.ok(Math.abs(event.at - Date.now()) < 60_000);
    }
    // After the close (which reports anything still open), still one event per key.
    assert.equal(events.filter((e) => e.type === 'dtmf').length, 5, 'no event reported twice');
    assert.equal(stats.packets, sent);
    assert.equal((await readTrack(filePath)).length, sent);
  });

  void it('reports the keys of the captures replayed byte for byte, in the order they were taken', async () => {
    // The four captures come from one call: their timestamps and sequence numbers increase.
    const { dtmf, events } = await dtmfRun('verbatim', ['1', '5', '9', 'pound'], false);
    assert.deepEqual(
      dtmf.map((e) => e.digit),
      ['1', '5', '9', '#'],
    );
    assert.equal(events.filter((e) => e.type === 'dtmf').length, 4);
  });
});
