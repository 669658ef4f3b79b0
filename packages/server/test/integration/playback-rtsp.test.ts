import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { digestHa1 } from '../../src/api/digest-ha1.js';
import { hashPassword } from '../../src/api/passwords.js';
import { ApiRtspAccess } from '../../src/api/rtsp-access.js';
import type { Principal } from '../../src/api/authenticator.js';
import type { AuditEntry } from '../../src/api/audit-trail.js';
import type { Session } from '../../src/model/session.js';
import type { User } from '../../src/model/user.js';
import type { LiveFeed, LiveFeedListener, LiveSubscription } from '../../src/playback/live-feed.js';
import {
  createRtspServer,
  type RtspServer,
  type RtspServerOptions,
} from '../../src/playback/rtsp/rtsp-server.js';
import { parseRtpHeader, serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import {
  buildPcapFile,
  dominantFrequencyHz,
  goertzelPower,
  sineG711Packets,
  type CapturedDatagram,
} from '../support/audio.js';
import { sampleSession } from '../support/fake-repository.js';
import { stopAll } from '../support/processes.js';
import {
  pullWithFfmpeg,
  RawRtspClient,
  rawRtsp,
  responseHeaders,
  type ReceivedFrame,
} from '../support/rtsp-client.js';
import { waitFor } from '../support/wait.js';

/**
 * The RTSP server over loopback against fixture track files, with ffmpeg as the client: a 3 s
 * two-track PCMU session whose track 0 changes tone half way (500 Hz, then 700 Hz) and whose
 * track 1 is 1300 Hz throughout.
 */

const START_MS = 1_700_000_000_000;
const PASSWORD = 'rtsp-secret-1';
const SESSION_ID = 'a1b2c3d4e5f60718';
const LIVE_ID = 'feedfeedfeedfeed';
/** ACTIVE with both parties talking: the live mix. */
const LIVE_MIX_ID = 'f00df00df00df00d';
const VIDEO_ID = 'cafecafecafecafe';
/** ACTIVE in the database, but not recorded by this node (the live feed has nothing). */
const ELSEWHERE_ID = 'beefbeefbeefbeef';
/** Stand-ins for H.264 RTP payloads (a NAL header byte, then a counter): replayed as stored. */
const VIDEO_PAYLOADS = Array.from({ length: 30 }, (_, i) => Uint8Array.of(0x65, i, 0xaa, 0x55, i));

function videoCapture(): Uint8Array {
  return buildPcapFile(
    VIDEO_PAYLOADS.map((payload, i) => ({
      timestampUs: (START_MS + i * 33) * 1000,
      datagram: serializeRtpPacket(
        {
          marker: i % 3 === 2,
          payloadType: 96,
          sequenceNumber: 500 + i,
          timestamp: 9000 + i * 3000,
          ssrc: 0xcccc0000,
        },
        payload,
      ),
    })),
  );
}

function trackCapture(parts: readonly { hz: number; packets: number }[], ssrc: number): Uint8Array {
  const datagrams: CapturedDatagram[] = [];
  let index = 0;
  for (const part of parts) {
    for (const packet of sineG711Packets({
      codec: 'PCMU',
      frequencyHz: part.hz,
      count: part.packets,
      ssrc,
      firstSequenceNumber: 1000 + index,
      firstTimestamp: 160_000 + index * 160,
      firstSampleIndex: index * 160,
    })) {
      // Arrivals 20 ms apart with a few ms of jitter, as a network delivers them.
      datagrams.push({
        timestampUs: (START_MS + index * 20 + (index % 3)) * 1000,
        datagram: packet.datagram,
      });
      index++;
    }
  }
  return buildPcapFile(datagrams);
}

/** An RTP packet's fields and payload; fails the test when it is not RTP. */
function expectRtp(bytes: Uint8Array): {
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
  payloadType: number;
  payload: Uint8Array;
} {
  const header = parseRtpHeader(bytes);
  assert.ok(header.ok, 'an RTP packet');
  const { payloadOffset, payloadLength } = header.value;
  return { ...header.value, payload: bytes.subarray(payloadOffset, payloadOffset + payloadLength) };
}

/**
 * Whether an RTCP compound packet holds a BYE (packet type 203), read packet by packet from each
 * one's length (RFC 3550 §6.1). Not a search for the byte 203: a sender report's timestamps and
 * counts hold that byte about one time in ten, which once ended a test before the stream began.
 */
function carriesRtcpBye(compound: Uint8Array): boolean {
  for (let offset = 0; offset + 4 <= compound.length;) {
    if (compound[offset + 1] === 203) {
      return true;
    }
    const words = (((compound[offset + 2] ?? 0) << 8) | (compound[offset + 3] ?? 0)) + 1;
    offset += words * 4;
  }
  return false;
}

/** A live feed that plays 1300 Hz packets in real time for `seconds`, then ends the call. */
class FakeLiveFeed implements LiveFeed {
  subscriptions = 0;

  subscribe(sessionId: string, listener: LiveFeedListener): LiveSubscription | undefined {
    if (sessionId === LIVE_MIX_ID) {
      this.subscriptions++;
      return twoPartyFeed(listener);
    }
    if (sessionId !== LIVE_ID) {
      return undefined;
    }
    this.subscriptions++;
    const packets = sineG711Packets({ codec: 'PCMU', frequencyHz: 1300, count: 100, ssrc: 0x77 });
    let next = 0;
    const timer = setInterval(() => {
      const packet = packets[next++];
      if (packet === undefined) {
        clearInterval(timer);
        listener.ended();
        return;
      }
      listener.packets(0, [{ arrivalMs: Date.now(), rtp: packet.datagram }]);
    }, 20);
    return {
      close: () => {
        clearInterval(timer);
      },
    };
  }
}

/**
 * Both parties of a 2 s call as the media workers' tap hands them over: batches every 40 ms, each
 * packet arriving 0-29 ms late; track 0 is 500 Hz from the start, track 1 1300 Hz from 0.4 s.
 */
function twoPartyFeed(listener: LiveFeedListener): LiveSubscription {
  const near = sineG711Packets({ codec: 'PCMU', frequencyHz: 500, count: 100, ssrc: 0x81 });
  const far = sineG711Packets({
    codec: 'PCMU',
    frequencyHz: 1300,
    count: 80,
    ssrc: 0x82,
    firstTimestamp: 777,
  });
  const startMs = Date.now();
  const due = [
    ...near.map((p, i) => ({ track: 0, atMs: i * 20 + ((i * 7919) % 30), rtp: p.datagram })),
    ...far.map((p, i) => ({ track: 1, atMs: 400 + i * 20 + ((i * 104729) % 30), rtp: p.datagram })),
  ].sort((a, b) => a.atMs - b.atMs);
  let next = 0;
  const timer = setInterval(() => {
    const elapsed = Date.now() - startMs;
    const batches = new Map<number, { arrivalMs: number; rtp: Uint8Array }[]>();
    for (let packet = due[next]; packet !== undefined && packet.atMs <= elapsed; packet = due[++next]) {
      const batch = batches.get(packet.track) ?? [];
      batch.push({ arrivalMs: startMs + packet.atMs, rtp: packet.rtp });
      batches.set(packet.track, batch);
    }
    for (const [track, batch] of batches) {
      listener.packets(track, batch);
    }
    if (next >= due.length) {
      clearInterval(timer);
      listener.ended();
    }
  }, 40);
  return {
    close: () => {
      clearInterval(timer);
    },
  };
}

void describe('RTSP server over loopback with ffmpeg', () => {
  let dir = '';
  let server: RtspServer | undefined;
  let serverOptions: RtspServerOptions | undefined;
  let port = 0;
  const audits: AuditEntry[] = [];
  const users = new Map<string, User>();
  const sessions = new Map<string, Session>();
  const liveFeed = new FakeLiveFeed();
  const base = (): string => `rtsp://127.0.0.1:${port}`;
  const withCredentials = (path: string, password = PASSWORD): string =>
    `rtsp://admin:${password}@127.0.0.1:${port}${path}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-rtsp-'));
    const mediaDir = join(dir, 'media');
    await mkdir(join(mediaDir, SESSION_ID), { recursive: true });
    await writeFile(
      join(mediaDir, SESSION_ID, 'track-0.pcap'),
      trackCapture(
        [
          { hz: 500, packets: 75 },
          { hz: 700, packets: 75 },
        ],
        0xaaaa0000,
      ),
    );
    await writeFile(
      join(mediaDir, SESSION_ID, 'track-1.pcap'),
      trackCapture([{ hz: 1300, packets: 150 }], 0xbbbb0000),
    );
    sessions.set(
      SESSION_ID,
      sampleSession({ sessionId: SESSION_ID, sessionStartDate: START_MS, sessionDuration: 3000 }),
    );
    const live = sampleSession({ sessionId: LIVE_ID, sessionState: 'ACTIVE', sessionStartDate: Date.now() });
    sessions.set(LIVE_ID, { ...live, tracks: live.tracks.slice(0, 1) });
    sessions.set(ELSEWHERE_ID, { ...live, sessionId: ELSEWHERE_ID });
    sessions.set(LIVE_MIX_ID, { ...live, sessionId: LIVE_MIX_ID });
    await mkdir(join(mediaDir, VIDEO_ID), { recursive: true });
    await writeFile(join(mediaDir, VIDEO_ID, 'track-1.pcap'), videoCapture());
    await writeFile(
      join(mediaDir, VIDEO_ID, 'track-0.pcap'),
      trackCapture([{ hz: 500, packets: 50 }], 0xdddd0000),
    );
    const videoSession = sampleSession({
      sessionId: VIDEO_ID,
      sessionStartDate: START_MS,
      sessionDuration: 1000,
    });
    sessions.set(VIDEO_ID, {
      ...videoSession,
      tracks: videoSession.tracks.map((t) =>
        t.trackNumber === 1
          ? { ...t, trackMediaType: 'VIDEO', codec: 'H264', payloadType: 96, clockRateHz: 90000 }
          : t,
      ),
    });
    users.set('admin', {
      username: 'admin',
      role: 'admin',
      passwordHash: await hashPassword(PASSWORD),
      digestHa1: digestHa1('admin', PASSWORD),
      createdAt: 0,
    });
    users.set('legacy', {
      username: 'legacy',
      role: 'auditor',
      passwordHash: await hashPassword(PASSWORD),
      createdAt: 0,
    });
    const repository = {
      getSession: (id: string) => Promise.resolve(sessions.get(id)),
      getUser: (name: string) => Promise.resolve(users.get(name)),
      updateUser: (name: string, patch: { digestHa1?: string }) => {
        const user = users.get(name);
        if (user !== undefined) {
          users.set(name, { ...user, ...patch });
        }
        return Promise.resolve(user !== undefined);
      },
    };
    const tokens = {
      verify: (token: string, sessionId: string): Promise<Principal | undefined> =>
        Promise.resolve(
          token === 'good-token' && sessionId === SESSION_ID
            ? { username: 'admin', role: 'admin', via: 'token' }
            : undefined,
        ),
    };
    serverOptions = {
      repository,
      mediaDir,
      access: new ApiRtspAccess({
        repository,
        mediaTokens: tokens,
        audit: {
          record: (entry) => {
            audits.push(entry);
            return Promise.resolve();
          },
        },
        now: Date.now,
      }),
      liveFeed,
      logger: pino({ level: 'silent' }),
      limits: { maxRequestsPerSecond: 20 },
    };
    server = createRtspServer(serverOptions);
    port = await server.listen('127.0.0.1', 0);
  });

  after(async () => {
    await stopAll();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('replays both tracks over TCP with their tones and original timing (Digest, ffmpeg)', async () => {
    const pull = await pullWithFfmpeg(withCredentials(`/archive/${SESSION_ID}`), {
      transport: 'tcp',
      audioStreams: [0, 1],
      work: dir,
      name: 'tcp',
    });
    assert.equal(pull.code, 0, pull.process.output());
    const [near, far] = pull.wavs;
    assert.ok(near !== undefined && far !== undefined);
    const nearSamples = near.channelSamples[0] ?? new Int16Array(0);
    const farSamples = far.channelSamples[0] ?? new Int16Array(0);
    assert.ok(Math.abs(nearSamples.length / 8000 - 3) < 0.3, `track 0 lasts ${nearSamples.length / 8000} s`);
    assert.equal(Math.round(dominantFrequencyHz(nearSamples, 8000, 2000, 4000) / 10) * 10, 500);
    assert.equal(Math.round(dominantFrequencyHz(nearSamples, 8000, 16000, 4000) / 10) * 10, 700);
    assert.equal(Math.round(dominantFrequencyHz(farSamples, 8000, 4000, 8000) / 10) * 10, 1300);
    // Paced by the recording's own timing, not sent as fast as the socket takes it (a lower
    // bound: a loaded machine can only make it slower).
    assert.ok(pull.elapsedMs > 2500, `the 3 s replay took ${pull.elapsedMs} ms`);
    assert.ok(
      audits.some(
        (a) => a.action === 'rtsp:archive' && a.target === SESSION_ID && a.detail?.via === 'digest',
      ),
    );
  });

  void it('replays over UDP unicast from the server side ports', async () => {
    const pull = await pullWithFfmpeg(withCredentials(`/archive/${SESSION_ID}`), {
      transport: 'udp',
      audioStreams: [1],
      work: dir,
      name: 'udp',
    });
    assert.equal(pull.code, 0, pull.process.output());
    const far = pull.wavs[0]?.channelSamples[0] ?? new Int16Array(0);
    assert.ok(far.length > 8000 * 2.5, `got ${far.length / 8000} s`);
    assert.equal(Math.round(dominantFrequencyHz(far, 8000, 4000, 8000) / 10) * 10, 1300);
  });

  void it('seeks with Range: npt= (ffmpeg -ss 2 hears only the second tone)', async () => {
    const pull = await pullWithFfmpeg(withCredentials(`/archive/${SESSION_ID}`), {
      transport: 'tcp',
      audioStreams: [0],
      seekS: 2,
      work: dir,
      name: 'seek',
    });
    assert.equal(pull.code, 0, pull.process.output());
    const near = pull.wavs[0]?.channelSamples[0] ?? new Int16Array(0);
    assert.ok(near.length < 8000 * 1.5, `after a seek to 2 s of 3 s, got ${near.length / 8000} s`);
    assert.ok(near.length > 8000 * 0.5, `after a seek to 2 s of 3 s, got ${near.length / 8000} s`);
    assert.equal(Math.round(dominantFrequencyHz(near, 8000) / 10) * 10, 700);
  });

  void it('serves ?mix=1 as one PCMU track carrying both parties', async () => {
    const pull = await pullWithFfmpeg(withCredentials(`/archive/${SESSION_ID}?mix=1`), {
      transport: 'tcp',
      audioStreams: [0],
      work: dir,
      name: 'mix',
    });
    assert.equal(pull.code, 0, pull.process.output());
    const mix = pull.wavs[0]?.channelSamples[0] ?? new Int16Array(0);
    const noise = goertzelPower(mix, 8000, 1000, 4000, 4000);
    assert.ok(goertzelPower(mix, 8000, 500, 4000, 4000) > 100 * noise, 'the near party is in the mix');
    assert.ok(goertzelPower(mix, 8000, 1300, 4000, 4000) > 100 * noise, 'the far party is in the mix');
  });

  void it('accepts the media token of rtspUrl instead of a password', async () => {
    const pull = await pullWithFfmpeg(`${base()}/archive/${SESSION_ID}?token=good-token`, {
      transport: 'tcp',
      audioStreams: [1],
      seekS: 2.5,
      work: dir,
      name: 'token',
    });
    assert.equal(pull.code, 0, pull.process.output());
    assert.ok(audits.some((a) => a.detail?.via === 'token'));
  });

  void it('forwards a live session and ends cleanly with the call (RTCP BYE)', async () => {
    const pull = await pullWithFfmpeg(withCredentials(`/live/${LIVE_ID}`), {
      transport: 'tcp',
      audioStreams: [0],
      work: dir,
      name: 'live',
      timeoutMs: 15_000,
    });
    assert.equal(pull.code, 0, pull.process.output());
    const heard = pull.wavs[0]?.channelSamples[0] ?? new Int16Array(0);
    assert.ok(heard.length > 8000, `heard ${heard.length / 8000} s of a 2 s call`);
    assert.equal(
      Math.round(dominantFrequencyHz(heard, 8000, 0, Math.min(heard.length, 8000)) / 10) * 10,
      1300,
    );
    assert.equal(liveFeed.subscriptions, 1);
  });

  const basicHeader = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

  void it('mixes both parties of a live call into one PCMU track (?mix=1), paced, ended by the call', async () => {
    const client = await RawRtspClient.open(port);
    try {
      const url = `${base()}/live/${LIVE_MIX_ID}?mix=1`;
      const described = await client.request('DESCRIBE', url, basicHeader);
      assert.equal(described.status, 200);
      assert.equal((described.body.match(/^m=/gm) ?? []).length, 1, described.body);
      assert.match(described.body, /m=audio 0 RTP\/AVP 0\r\na=rtpmap:0 PCMU\/8000\r\n/);
      const setup = await client.request('SETUP', `${base()}/live/${LIVE_MIX_ID}/trackID=0?mix=1`, {
        ...basicHeader,
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      assert.equal(setup.status, 200);
      const session = (setup.headers.get('session')?.[0] ?? '').split(';')[0] ?? '';
      const playSentMs = Date.now();
      const play = await client.request('PLAY', url, { ...basicHeader, Session: session });
      assert.equal(play.status, 200);
      await waitFor(() => client.frames.some((f) => f.channel === 1 && carriesRtcpBye(f.packet)), {
        what: 'RTCP BYE once the call ended',
        timeoutMs: 10_000,
      });
      const rtp = client.frames.filter((f) => f.channel === 0).map((f) => ({ ...f, ...expectRtp(f.packet) }));
      // 2 s of call: about 100 packets of 20 ms (the feed started before PLAY answered).
      assert.ok(rtp.length >= 80 && rtp.length <= 125, `${rtp.length} packets`);
      const rtpInfo = play.headers.get('rtp-info')?.[0] ?? '';
      assert.match(rtpInfo, new RegExp(`seq=${rtp[0]?.sequenceNumber};rtptime=${rtp[0]?.timestamp}$`));
      rtp.forEach((packet, i) => {
        assert.equal(packet.payloadType, 0);
        assert.equal(packet.payload.length, 160);
        if (i > 0) {
          const previous = rtp[i - 1];
          assert.equal(packet.sequenceNumber, ((previous?.sequenceNumber ?? 0) + 1) & 0xffff);
          assert.equal(packet.timestamp, ((previous?.timestamp ?? 0) + 160) >>> 0);
        }
      });
      // Paced in real time, 160 ms behind: packet i is never sent before 160 + 20 (i + 1) ms after
      // PLAY (a loaded machine can only make it later).
      rtp.forEach((packet, i) => {
        const early = playSentMs + 160 + (i + 1) * 20 - packet.atMs;
        assert.ok(early <= 2, `packet ${i} came ${early} ms before its time`);
      });
      assert.equal(client.frames.at(-1)?.channel, 1, 'BYE comes after the last packet');
      await client.request('TEARDOWN', url, { ...basicHeader, Session: session });
    } finally {
      client.destroy();
    }
    const pull = await pullWithFfmpeg(withCredentials(`/live/${LIVE_MIX_ID}?mix=1`), {
      transport: 'tcp',
      audioStreams: [0],
      work: dir,
      name: 'live-mix',
      timeoutMs: 15_000,
    });
    // ffmpeg ends by itself: the server sends BYE once the call ended and its last audio went out.
    assert.equal(pull.code, 0, pull.process.output());
    const mix = pull.wavs[0]?.channelSamples[0] ?? new Int16Array(0);
    assert.ok(mix.length > 8000 * 1.2 && mix.length < 8000 * 3, `heard ${mix.length / 8000} s of a 2 s call`);
    // From 0.5 s (both parties talk) on.
    const noise = goertzelPower(mix, 8000, 1000, 4000, mix.length - 4000 - 800);
    const power = (hz: number): number => goertzelPower(mix, 8000, hz, 4000, mix.length - 4000 - 800);
    assert.ok(power(500) > 100 * noise, 'the near party is in the mix');
    assert.ok(power(1300) > 100 * noise, 'the far party is in the mix');
    assert.ok(audits.some((a) => a.action === 'rtsp:live-mix' && a.target === LIVE_MIX_ID));
  });

  void it('describes and replays an H.264 video track as stored, beside its audio', async () => {
    const client = await RawRtspClient.open(port);
    try {
      const url = `${base()}/archive/${VIDEO_ID}`;
      const described = await client.request('DESCRIBE', url, basicHeader);
      assert.equal(described.status, 200);
      assert.match(described.body, /m=audio 0 RTP\/AVP 0\r\na=rtpmap:0 PCMU\/8000\r\n/);
      assert.match(
        described.body,
        /m=video 0 RTP\/AVP 96\r\na=rtpmap:96 H264\/90000\r\na=fmtp:96 packetization-mode=1\r\n/,
      );
      const setup = await client.request('SETUP', `${url}/trackID=1`, {
        ...basicHeader,
        Transport: 'RTP/AVP/TCP;unicast;interleaved=4-5',
      });
      assert.equal(setup.status, 200);
      assert.match(
        setup.headers.get('transport')?.[0] ?? '',
        /^RTP\/AVP\/TCP;unicast;interleaved=4-5;ssrc=CCCC0000$/,
      );
      const session = (setup.headers.get('session')?.[0] ?? '').split(';')[0] ?? '';
      assert.match(setup.headers.get('session')?.[0] ?? '', /;timeout=60$/);
      const play = await client.request('PLAY', url, { Session: session, Range: 'npt=0-' });
      assert.equal(play.status, 200);
      assert.equal(play.headers.get('range')?.[0], 'npt=0.000-', 'played to the end: no end named');
      const rtpInfo = play.headers.get('rtp-info')?.[0] ?? '';
      const seq = Number(/seq=(\d+)/.exec(rtpInfo)?.[1]);
      const rtptime = Number(/rtptime=(\d+)/.exec(rtpInfo)?.[1]);
      assert.match(rtpInfo, new RegExp(`^url=${url}/trackID=1;`));
      await waitFor(() => client.frames.filter((f) => f.channel === 4).length === VIDEO_PAYLOADS.length, {
        what: 'every video packet',
      });
      const video = client.frames.filter((f) => f.channel === 4).map((f) => expectRtp(f.packet));
      video.forEach((packet, i) => {
        assert.deepEqual([...packet.payload], [...(VIDEO_PAYLOADS[i] ?? [])], `payload ${i} as stored`);
        assert.equal(packet.ssrc, 0xcccc0000, 'the recorded SSRC');
        assert.equal(packet.sequenceNumber, (seq + i) & 0xffff, 'continuous sequence numbers from RTP-Info');
        assert.equal(
          packet.timestamp,
          (rtptime + i * 3000) >>> 0,
          'recorded timestamp spacing from RTP-Info',
        );
        assert.equal(packet.marker, i % 3 === 2);
        assert.equal(packet.payloadType, 96);
      });
      const sr = client.frames.find((f) => f.channel === 5);
      assert.ok(sr !== undefined, 'an RTCP sender report on the RTCP channel');
      assert.equal(sr.packet[1], 200);
      assert.equal(Buffer.from(sr.packet).readUInt32BE(4), 0xcccc0000);
      await waitFor(() => client.frames.some((f) => f.channel === 5 && carriesRtcpBye(f.packet)), {
        what: 'RTCP BYE at the end of the range',
      });
      assert.equal((await client.request('TEARDOWN', url, { Session: session })).status, 200);
    } finally {
      client.destroy();
    }
  });

  void it('serves many clients of one session at once, each with sender reports that line its tracks up', async () => {
    const url = `${base()}/archive/${VIDEO_ID}`;
    const clients = await Promise.all(Array.from({ length: 12 }, () => RawRtspClient.open(port)));
    try {
      await Promise.all(
        clients.map(async (client) => {
          const first = await client.request('SETUP', `${url}/trackID=0`, {
            ...basicHeader,
            Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
          });
          assert.equal(first.status, 200);
          const session = (first.headers.get('session')?.[0] ?? '').split(';')[0] ?? '';
          const second = await client.request('SETUP', `${url}/trackID=1`, {
            Session: session,
            Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3',
          });
          assert.equal(second.status, 200);
          assert.equal(
            (await client.request('PLAY', url, { Session: session, Range: 'npt=0-' })).status,
            200,
          );
        }),
      );
      const ended = (client: RawRtspClient): boolean =>
        [1, 3].every((channel) =>
          client.frames.some((f) => f.channel === channel && carriesRtcpBye(f.packet)),
        );
      await waitFor(() => clients.every(ended), { what: 'every client to reach the end', timeoutMs: 10_000 });
      for (const client of clients) {
        assert.equal(client.frames.filter((f) => f.channel === 0).length, 50, 'every audio packet');
        assert.equal(
          client.frames.filter((f) => f.channel === 2).length,
          VIDEO_PAYLOADS.length,
          'every video packet',
        );
        // Each stream's first sender report: NTP time and RTP time of one instant. Both map to
        // the same presentation time (within a millisecond), which is what lets a player sync them.
        const sr = (channel: number): { ntpMs: number; rtp: number } => {
          const frame = client.frames.find((f) => f.channel === channel && f.packet[1] === 200);
          assert.ok(frame !== undefined);
          const view = Buffer.from(frame.packet);
          const ntpMs = (view.readUInt32BE(8) - 2208988800) * 1000 + (view.readUInt32BE(12) / 2 ** 32) * 1000;
          return { ntpMs, rtp: view.readUInt32BE(16) };
        };
        const firstRtp = (channel: number): number =>
          expectRtp(client.frames.find((f) => f.channel === channel)?.packet ?? new Uint8Array(0)).timestamp;
        const audio = sr(1);
        const video = sr(3);
        // Presentation time of the report = report wall clock − (packet 0's RTP time − report's) / clock.
        const audioStartMs = audio.ntpMs - (((audio.rtp - firstRtp(0)) | 0) / 8000) * 1000;
        const videoStartMs = video.ntpMs - (((video.rtp - firstRtp(2)) | 0) / 90000) * 1000;
        assert.ok(
          Math.abs(audioStartMs - videoStartMs) < 5,
          `tracks start ${audioStartMs - videoStartMs} ms apart`,
        );
      }
    } finally {
      for (const client of clients) {
        client.destroy();
      }
    }
  });

  void it('pauses and resumes where it paused, with continuous sequence numbers and timestamps', async () => {
    const client = await RawRtspClient.open(port);
    try {
      const url = `${base()}/archive/${SESSION_ID}`;
      const setup = await client.request('SETUP', `${url}/trackID=0`, {
        ...basicHeader,
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      const session = (setup.headers.get('session')?.[0] ?? '').split(';')[0] ?? '';
      const play = await client.request('PLAY', url, { Session: session, Range: 'npt=0-2.5' });
      assert.equal(play.status, 200);
      assert.equal(play.headers.get('range')?.[0], 'npt=0.000-2.500', 'the end asked for is named');
      const audio = (): ReceivedFrame[] => client.frames.filter((f) => f.channel === 0);
      await waitFor(() => audio().length >= 25, { what: '0.5 s of audio' });
      const paused = await client.request('PAUSE', url, { Session: session });
      assert.equal(paused.status, 200);
      const pausedAt = Number(/npt=([\d.]+)-/.exec(paused.headers.get('range')?.[0] ?? '')?.[1]);
      const countAtPause = audio().length;
      assert.ok(
        Math.abs(pausedAt - countAtPause * 0.02) < 0.1,
        `paused at ${pausedAt} s after ${countAtPause} packets`,
      );
      assert.equal((await client.request('GET_PARAMETER', url, { Session: session })).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(audio().length, countAtPause, 'nothing is sent while paused');
      const resumed = await client.request('PLAY', url, { Session: session });
      assert.equal(resumed.status, 200);
      assert.match(resumed.headers.get('range')?.[0] ?? '', /^npt=\d+\.\d{3}-$/);
      await waitFor(() => audio().length >= countAtPause + 10, { what: 'audio after resuming' });
      const packets = audio().map((f) => expectRtp(f.packet));
      for (let i = 1; i < packets.length; i++) {
        assert.equal(packets[i]?.sequenceNumber, ((packets[i - 1]?.sequenceNumber ?? 0) + 1) & 0xffff);
        assert.equal(packets[i]?.timestamp, ((packets[i - 1]?.timestamp ?? 0) + 160) >>> 0, `timestamp ${i}`);
      }
      assert.equal(packets[0]?.ssrc, 0xaaaa0000);
    } finally {
      client.destroy();
    }
  });

  void it('forgets a session whose client vanished mid-replay, and one that stopped talking', async () => {
    const before = server?.counters().sessions ?? 0;
    const vanishing = await RawRtspClient.open(port);
    const url = `${base()}/archive/${SESSION_ID}`;
    const setup = await vanishing.request('SETUP', `${url}/trackID=1`, {
      ...basicHeader,
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    const id = (setup.headers.get('session')?.[0] ?? '').split(';')[0] ?? '';
    await vanishing.request('PLAY', url, { Session: id });
    await waitFor(() => vanishing.frames.length > 5, { what: 'the replay to start' });
    vanishing.destroy();
    await waitFor(() => server?.counters().sessions === before, {
      what: 'the vanished client session to go',
    });

    // A session that is neither renewed nor torn down ends after its timeout.
    assert.ok(serverOptions !== undefined);
    const short = createRtspServer({ ...serverOptions, limits: { sessionTimeoutS: 1 } });
    const shortPort = await short.listen('127.0.0.1', 0);
    const silent = await RawRtspClient.open(shortPort);
    try {
      const shortUrl = `rtsp://127.0.0.1:${shortPort}/archive/${SESSION_ID}`;
      const answer = await silent.request('SETUP', `${shortUrl}/trackID=0`, {
        ...basicHeader,
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      assert.match(answer.headers.get('session')?.[0] ?? '', /;timeout=1$/);
      await waitFor(() => short.counters().sessionsTimedOut === 1, {
        what: 'the session timeout',
        timeoutMs: 5000,
      });
      const sessionId = (answer.headers.get('session')?.[0] ?? '').split(';')[0] ?? '';
      assert.equal((await silent.request('PLAY', shortUrl, { Session: sessionId })).status, 454);
    } finally {
      silent.destroy();
      await short.close();
    }
  });

  void it('answers 404 to PLAY of a live session this node does not record, and 503 without a live feed', async () => {
    const client = await RawRtspClient.open(port);
    try {
      const url = `${base()}/live/${ELSEWHERE_ID}`;
      const setup = await client.request('SETUP', `${url}/trackID=0`, {
        ...basicHeader,
        Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      });
      assert.equal(setup.status, 200);
      const session = (setup.headers.get('session')?.[0] ?? '').split(';')[0] ?? '';
      assert.equal((await client.request('PLAY', url, { Session: session })).status, 404);
      const archive = await client.request('DESCRIBE', `${base()}/archive/${ELSEWHERE_ID}`, basicHeader);
      assert.equal(archive.status, 404, 'an ACTIVE session has no archive yet');
    } finally {
      client.destroy();
    }
    assert.ok(serverOptions !== undefined);
    const plain = createRtspServer({
      repository: serverOptions.repository,
      mediaDir: serverOptions.mediaDir,
      access: serverOptions.access,
      logger: serverOptions.logger,
    });
    const plainPort = await plain.listen('127.0.0.1', 0);
    try {
      const { text } = await rawRtsp(
        plainPort,
        `DESCRIBE rtsp://127.0.0.1:${plainPort}/live/${LIVE_ID} RTSP/1.0\r\nCSeq: 1\r\nAuthorization: ${basicHeader.Authorization}\r\n\r\n`,
      );
      assert.match(text, /^RTSP\/1\.0 503 /);
    } finally {
      await plain.close();
    }
  });

  void it('answers 401 with Basic and Digest challenges, and ffmpeg fails on a wrong password', async () => {
    const describeRequest = `DESCRIBE ${base()}/archive/${SESSION_ID} RTSP/1.0\r\nCSeq: 2\r\n\r\n`;
    const { text } = await rawRtsp(port, describeRequest);
    assert.match(text, /^RTSP\/1\.0 401 Unauthorized\r\n/);
    assert.match(text, /\r\nCSeq: 2\r\n/);
    const challenges = responseHeaders(text, 'WWW-Authenticate');
    assert.ok(
      challenges.some((c) => /^Basic realm="Verbatim"$/.test(c)),
      challenges.join(' | '),
    );
    assert.ok(challenges.some((c) => /^Digest realm="Verbatim", nonce="[^"]+", algorithm=MD5/.test(c)));
    const wrong = await pullWithFfmpeg(withCredentials(`/archive/${SESSION_ID}`, 'not-the-password'), {
      transport: 'tcp',
      audioStreams: [0],
      work: dir,
      name: 'wrong',
    });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.process.output(), /401/);
  });

  void it('takes Basic credentials and stores HA1 for a user whose password predates it', async () => {
    const basic = (user: string): string => Buffer.from(`${user}:${PASSWORD}`).toString('base64');
    const describeWith = (user: string): string =>
      `DESCRIBE ${base()}/archive/${SESSION_ID} RTSP/1.0\r\nCSeq: 3\r\nAuthorization: Basic ${basic(user)}\r\n\r\n`;
    const answered = await rawRtsp(port, describeWith('legacy'), (t) =>
      /\r\n\r\n[\s\S]*m=audio[\s\S]*m=audio[^\r]*\r\n[\s\S]*control:[^\r]*\r\n$/.test(t),
    );
    assert.match(answered.text, /^RTSP\/1\.0 200 OK\r\n/);
    assert.equal(responseHeaders(answered.text, 'Content-Type')[0], 'application/sdp');
    assert.match(answered.text, /a=rtpmap:0 PCMU\/8000/);
    assert.match(
      answered.text,
      new RegExp(`a=control:rtsp://127\\.0\\.0\\.1:${port}/archive/${SESSION_ID}/trackID=1`),
    );
    assert.match(answered.text, /a=range:npt=0-3\.000/);
    assert.equal(users.get('legacy')?.digestHa1, digestHa1('legacy', PASSWORD));
  });

  void it('answers malformed requests with 400, keeps the connection, and closes on an oversized head', async () => {
    const bad = await rawRtsp(
      port,
      `NOT A REQUEST\r\nCSeq: 4\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 5\r\n\r\n`,
      (t) => /CSeq: 5/.test(t),
    );
    assert.match(bad.text, /^RTSP\/1\.0 400 Bad Request/);
    assert.match(
      bad.text,
      /RTSP\/1\.0 200 OK\r\nCSeq: 5\r\n[\s\S]*Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER/,
    );
    const version = await rawRtsp(port, `OPTIONS * RTSP/2.0\r\nCSeq: 1\r\n\r\n`);
    assert.match(version.text, /^RTSP\/1\.0 505 /);
    const huge = await rawRtsp(port, `OPTIONS * RTSP/1.0\r\nX: ${'a'.repeat(10_000)}\r\n\r\n`, () => false);
    assert.match(huge.text, /^RTSP\/1\.0 413 /);
    assert.equal(huge.closed, true);
    const unknownSession = await rawRtsp(
      port,
      `PLAY ${base()}/archive/${SESSION_ID} RTSP/1.0\r\nCSeq: 6\r\nSession: 0000000000000000\r\n\r\n`,
    );
    assert.match(unknownSession.text, /^RTSP\/1\.0 454 Session Not Found/);
    const notFound = await rawRtsp(
      port,
      `DESCRIBE ${base()}/archive/ffffffffffffffff RTSP/1.0\r\nCSeq: 7\r\nAuthorization: Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}\r\n\r\n`,
    );
    assert.match(notFound.text, /^RTSP\/1\.0 404 /);
  });

  void it('closes a connection that floods requests, and keeps serving others', async () => {
    const flood = Array.from({ length: 100 }, (_, i) => `OPTIONS * RTSP/1.0\r\nCSeq: ${i}\r\n\r\n`).join('');
    const flooded = await rawRtsp(port, flood, () => false);
    assert.equal(flooded.closed, true);
    assert.ok((server?.counters().floodClosed ?? 0) >= 1);
    const fine = await rawRtsp(port, `OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n`);
    assert.match(fine.text, /^RTSP\/1\.0 200 OK/);
    await waitFor(() => server?.counters().connections === 0, { what: 'every test connection to close' });
    // One address cannot take every connection.
    assert.ok(serverOptions !== undefined);
    const narrow = createRtspServer({ ...serverOptions, limits: { maxConnectionsPerAddress: 2 } });
    const narrowPort = await narrow.listen('127.0.0.1', 0);
    const held = [await RawRtspClient.open(narrowPort), await RawRtspClient.open(narrowPort)];
    try {
      await waitFor(() => narrow.counters().connections === 2, { what: 'two connections held' });
      const third = await rawRtsp(narrowPort, 'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n', () => false);
      assert.equal(third.closed, true);
      assert.equal(third.text, '');
      assert.equal(narrow.counters().connectionsRefused, 1);
    } finally {
      held.forEach((client) => {
        client.destroy();
      });
      await narrow.close();
    }
    assert.equal(server?.counters().sessions, 0);
  });
});
