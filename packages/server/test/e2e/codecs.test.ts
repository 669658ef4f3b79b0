import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertSilent,
  assertTalkspurts,
  assertToneAt,
  dtmfPackets,
  dtmfTags,
  encodeG711ToneWithFfmpeg,
  encodeG729Frames,
  packetiseG729Frames,
  packetiseSamples,
  readDtmfCapture,
  runCodecCall,
  sendRtpRealtime,
  sinePcm,
  type ScheduledRtp,
} from '../support/codec-calls.js';
import { sendToneWithFfmpeg, type FfmpegToneSender } from '../support/ffmpeg-tone.js';
import { downloadRawTrack, downloadWav, findSessionBy, type SessionJson } from '../support/session-api.js';
import type { AudioOffer } from '../support/sipp-scenarios.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * One generic SIP call per codec (DESIGN.md §1.2 "Codecs"), each recorded end to end with real
 * peers: SIPp offers exactly that codec on one sendonly m=audio line, a real encoder sends a
 * known tone at real time to the port Verbatim answered, and the session is then checked through
 * the MediaSense API (controller type, codec name, reception statistics) and its WAV is checked
 * against the signal that was sent (frequency, duration, no gaps, sample rate).
 */

/** Seconds of tone each sender sends. */
const TONE_SECONDS = 2;
/**
 * SIPp holds the call this long after the ACK. The sender starts once the answer is logged and
 * may take a second to start on a loaded machine; the margin keeps its whole signal inside the
 * call, and the BYE then ends the session normally.
 */
const HOLD_MARGIN_MS = 3000;

type SessionWithFlags = SessionJson & {
  undecodable?: boolean;
  tags?: { tagName: string; tagOffset?: number }[];
};

interface FfmpegCase {
  readonly name: string;
  readonly title: string;
  readonly offer: AudioOffer;
  readonly sender: FfmpegToneSender;
  /** The track's codec as the API names it: the rtpmap encoding name, upper case. */
  readonly codec: string;
  /** Packets the sender sends for TONE_SECONDS, as [least, most]. */
  readonly packets: readonly [number, number];
  /** The WAV's sample rate, or undefined for a codec that is stored and not decoded. */
  readonly wavRateHz?: number;
}

const tone = (
  encoder: string,
  sampleRateHz: number,
  payloadType: number,
  frequencyHz: number,
  extra: Partial<FfmpegToneSender> = {},
): FfmpegToneSender => ({ encoder, sampleRateHz, payloadType, frequencyHz, seconds: TONE_SECONDS, ...extra });

/** G.711 in one law at one packet time: ffmpeg's RTP muxer sends each PCM frame as one packet. */
function g711Case(codec: 'PCMU' | 'PCMA', packetMs: 20 | 40, frequencyHz: number): FfmpegCase {
  const payloadType = codec === 'PCMU' ? 0 : 8;
  return {
    name: `${codec.toLowerCase()}-${packetMs}`,
    title: `G.711 ${codec === 'PCMU' ? 'µ-law' : 'A-law'}, ${packetMs} ms packets${packetMs === 20 ? '' : ` (a=ptime:${packetMs})`}`,
    offer: {
      payloadTypes: [payloadType],
      attributes: [`rtpmap:${payloadType} ${codec}/8000`, `ptime:${packetMs}`],
    },
    sender: tone(codec === 'PCMU' ? 'pcm_mulaw' : 'pcm_alaw', 8000, payloadType, frequencyHz, {
      samplesPerFrame: packetMs * 8,
    }),
    codec,
    packets: [(TONE_SECONDS * 1000) / packetMs, (TONE_SECONDS * 1000) / packetMs],
    wavRateHz: 8000,
  };
}

const FFMPEG_CASES: readonly FfmpegCase[] = [
  g711Case('PCMU', 20, 440),
  g711Case('PCMU', 40, 550),
  g711Case('PCMA', 20, 660),
  g711Case('PCMA', 40, 770),
  {
    name: 'g722',
    title: 'G.722 (G722/8000 in SDP, 16 kHz audio)',
    offer: { payloadTypes: [9], attributes: ['rtpmap:9 G722/8000', 'ptime:20'] },
    // ffmpeg's G.722 encoder makes 320-sample (20 ms) frames, one per packet.
    sender: tone('g722', 16000, 9, 1100),
    codec: 'G722',
    packets: [100, 100],
    wavRateHz: 16000,
  },
  {
    name: 'opus',
    title: 'Opus (opus/48000/2 with fmtp, 20 ms frames)',
    offer: {
      payloadTypes: [111],
      attributes: ['rtpmap:111 opus/48000/2', 'fmtp:111 minptime=10;useinbandfec=1', 'ptime:20'],
    },
    // libopus makes 20 ms frames; it may flush one more packet for its look-ahead at the end.
    sender: tone('libopus', 48000, 111, 1250),
    codec: 'OPUS',
    packets: [99, 102],
    wavRateHz: 48000,
  },
  {
    name: 'l16',
    title: 'L16/16000 (linear PCM, network byte order)',
    offer: { payloadTypes: [96], attributes: ['rtpmap:96 L16/16000', 'ptime:20'] },
    sender: tone('pcm_s16be', 16000, 96, 900, { samplesPerFrame: 320 }),
    codec: 'L16',
    packets: [100, 100],
    wavRateHz: 16000,
  },
  {
    name: 'aac-ld',
    title: 'AAC-LD offer (MP4A-LATM) is stored raw',
    offer: {
      payloadTypes: [102],
      attributes: ['rtpmap:102 MP4A-LATM/90000', 'fmtp:102 profile-level-id=24;object=23;bitrate=64000'],
    },
    // ffmpeg has no AAC-LD encoder: its AAC (LC) in LATM framing (RFC 6416) is the closest real
    // MP4A-LATM stream, and a recorder that stores the codec raw never looks inside it.
    sender: tone('aac', 32000, 102, 1000, { extraArgs: ['-b:a', '64k', '-rtpflags', 'latm'] }),
    codec: 'MP4A-LATM',
    // 1024-sample frames at 32 kHz: 62.5 per 2 s, plus the encoder's priming frames.
    packets: [60, 68],
  },
];

describe(
  'every codec recorded end to end (sipp as a generic SIP peer, real encoders, verbatim serve)',
  {
    timeout: 600_000,
  },
  () => {
    let server: RunningServer;
    let work = '';

    // The media timeout must exceed the time a sender takes to start once the call is answered.
    serverForSuite('codecs', { mediaTimeoutSeconds: 10 }, (suite) => {
      ({ server, work } = suite);
    });

    /** The closed session of a call, checked for what every case has in common. */
    async function closedSession(callId: string, codec: string): Promise<SessionWithFlags> {
      const session: SessionWithFlags = await findSessionBy(
        server,
        'ccid',
        callId,
        (s) => s.sessionState !== 'ACTIVE',
      );
      assert.equal(session.sessionState, 'CLOSED_NORMAL');
      assert.equal(session.callControllerType, 'SIP');
      assert.equal(session.callControllerIP, '127.0.0.1');
      assert.equal(session.ccid, callId);
      assert.deepEqual(
        session.tracks.map((t) => [t.trackNumber, t.codec]),
        [[0, codec]],
        'one track, named by its rtpmap encoding name in upper case',
      );
      return session;
    }

    /**
     * Runs a call offering `offer` in which the small real-time sender sends `packets` (for
     * `seconds`), and gives its Call-ID and the datagrams as sent.
     */
    async function callSending(
      name: string,
      offer: AudioOffer,
      packets: readonly ScheduledRtp[],
      seconds = TONE_SECONDS,
    ): Promise<{ callId: string; sent: Uint8Array[] }> {
      let sent: Uint8Array[] = [];
      const { callId } = await runCodecCall(server, work, {
        name,
        offer,
        holdMs: seconds * 1000 + HOLD_MARGIN_MS,
        send: async (port) => {
          sent = await sendRtpRealtime(port, packets);
          return undefined;
        },
      });
      return { callId, sent };
    }

    /** Track 0 stored `packets` packets and lost none. */
    function assertStored(session: SessionJson, packets: number, message?: string): void {
      const stats = session.tracks[0]?.stats;
      assert.deepEqual([stats?.packets, stats?.lost], [packets, 0], message);
    }

    /** The WAV has the expected rate, the tone on channel 0 and nothing on any other channel. */
    async function checkWav(
      session: SessionJson,
      rateHz: number,
      frequencyHz: number,
      seconds: number,
    ): Promise<void> {
      const { wav } = await downloadWav(server, session);
      assert.equal(wav.sampleRateHz, rateHz, 'the WAV keeps the codec’s audio bandwidth');
      assertToneAt(wav.channelSamples[0] ?? new Int16Array(0), rateHz, frequencyHz, seconds, 'channel 0');
      for (const [channel, samples] of wav.channelSamples.entries()) {
        if (channel > 0) {
          assertSilent(samples, `channel ${channel} (no track)`);
        }
      }
    }

    for (const c of FFMPEG_CASES) {
      it(`${c.title}: ffmpeg's ${c.sender.encoder} tone is recorded`, async () => {
        const { callId } = await runCodecCall(server, work, {
          name: c.name,
          offer: c.offer,
          holdMs: TONE_SECONDS * 1000 + HOLD_MARGIN_MS,
          send: (port) => sendToneWithFfmpeg(port, c.sender),
        });
        const session = await closedSession(callId, c.codec);
        const stats = session.tracks[0]?.stats;
        assert.ok(stats !== undefined);
        assert.equal(stats.lost, 0, 'no packet lost');
        assert.ok(
          stats.packets >= c.packets[0] && stats.packets <= c.packets[1],
          `${stats.packets} packets stored, expected ${c.packets[0]}–${c.packets[1]}`,
        );
        const raw = await downloadRawTrack(server, session, 0);
        assert.equal(raw.length, stats.packets, 'the raw track holds every stored packet');
        assert.ok(
          raw.every((d) => ((d[1] ?? 0) & 0x7f) === c.sender.payloadType),
          `every stored packet has payload type ${c.sender.payloadType}`,
        );
        if (c.wavRateHz === undefined) {
          assert.equal(session.undecodable, true, 'a codec stored raw flags the session undecodable');
        } else {
          assert.equal(session.undecodable, undefined, 'a decoded codec does not flag the session');
          await checkWav(session, c.wavRateHz, c.sender.frequencyHz, TONE_SECONDS);
        }
      });
    }

    it('G.729 (annexb=no): bcg729 frames, two per 20 ms packet, are recorded', async () => {
      const frequencyHz = 600;
      const frames = await encodeG729Frames(sinePcm({ frequencyHz, seconds: TONE_SECONDS }), {
        annexB: false,
      });
      assert.equal(frames.length, TONE_SECONDS * 100, 'one frame per 10 ms');
      const packets = packetiseG729Frames(frames);
      const { callId, sent } = await callSending(
        'g729',
        { payloadTypes: [18], attributes: ['rtpmap:18 G729/8000', 'fmtp:18 annexb=no', 'ptime:20'] },
        packets,
      );
      const session = await closedSession(callId, 'G729');
      assert.equal(session.undecodable, undefined);
      assertStored(session, packets.length);
      assert.deepEqual(await downloadRawTrack(server, session, 0), sent, 'stored exactly as sent');
      await checkWav(session, 8000, frequencyHz, TONE_SECONDS);
    });

    it('G.729 Annex B (annexb=yes): silence suppressed by VAD/DTX, SID frames, both talkspurts in place', async () => {
      const frequencyHz = 700;
      // 1 s of tone, 1 s of digital silence (the encoder sends SID frames, then nothing), 1 s of tone.
      const pcm = sinePcm({ frequencyHz, seconds: 3, silence: { fromSeconds: 1, toSeconds: 2 } });
      const frames = await encodeG729Frames(pcm, { annexB: true });
      assert.equal(frames.length, 300, 'one frame (possibly empty) per 10 ms');
      assert.ok(
        frames.some((f) => f.length === 2),
        'the encoder sent SID frames in the silence',
      );
      assert.ok(
        frames.some((f) => f.length === 0),
        'the encoder left frames untransmitted in the silence',
      );
      const packets = packetiseG729Frames(frames);
      const { callId } = await callSending(
        'g729b',
        { payloadTypes: [18], attributes: ['rtpmap:18 G729/8000', 'fmtp:18 annexb=yes', 'ptime:20'] },
        packets,
        3,
      );
      const session = await closedSession(callId, 'G729');
      assertStored(session, packets.length);
      const { wav } = await downloadWav(server, session);
      assert.equal(wav.sampleRateHz, 8000);
      // The second talkspurt is placed one second after the end of the first, not pulled forward
      // over the silence, and the comfort noise between them stays quiet.
      assertTalkspurts(
        wav.channelSamples[0] ?? new Int16Array(0),
        8000,
        frequencyHz,
        [
          { startMs: 0, durationMs: 1000 },
          { startMs: 2000, durationMs: 1000 },
        ],
        'channel 0',
      );
    });

    it('telephone-event (RFC 4733) alongside G.711 becomes a DTMF tag of its track, the audio stays whole', async () => {
      const frequencyHz = 480;
      const audio = packetiseSamples(
        await encodeG711ToneWithFfmpeg(work, 'mulaw', frequencyHz, TONE_SECONDS),
        {
          payloadType: 0,
          packetMs: 20,
          firstTimestamp: 80_000,
        },
      );
      // SIPp's own captures of a real sender's events, one digit each.
      const events = await Promise.all(
        ['1', '5', 'pound'].map((name) => readDtmfCapture(`/usr/share/sip-tester/dtmf_2833_${name}.pcap`)),
      );
      assert.deepEqual(
        events.map((e) => e.digit),
        ['1', '5', '#'],
      );
      const digits = dtmfPackets(
        events.map((event, i) => ({ event, atMs: 400 + i * 500 })),
        { payloadType: 101, firstTimestamp: 80_000 },
      );
      // One socket for audio and events: a phone sends both from its one RTP port.
      const { callId } = await callSending(
        'dtmf',
        {
          payloadTypes: [0, 101],
          attributes: ['rtpmap:0 PCMU/8000', 'rtpmap:101 telephone-event/8000', 'fmtp:101 0-16', 'ptime:20'],
        },
        [...audio, ...digits],
      );
      const session = await closedSession(callId, 'PCMU');
      assertStored(session, audio.length + digits.length, 'audio and event packets stored, none lost');
      // Three digits half a second apart are one burst: one tag of the track that sent them.
      assert.deepEqual(dtmfTags(session), ['DTMF:15#']);
      assert.deepEqual(session.tags, [], 'no DTMF tag in the session list');
      // Events are not audio: the export skips them and the tone goes on under the digits.
      await checkWav(session, 8000, frequencyHz, TONE_SECONDS);
    });

    it('an offer Verbatim cannot decode (AMR-WB) is stored raw and the session flagged undecodable', async () => {
      // Octet-aligned AMR-WB (RFC 4867 §4.4): CMR 15 (no request), one ToC entry for mode 8 (23.85
      // kbit/s, 60 bytes of speech bits) with Q set. No AMR-WB encoder is installed; the speech
      // bits are a fixed pattern, which is all a recorder that stores the codec raw can tell apart.
      const audio = Array.from({ length: 100 }, (_, i) => {
        const payload = new Uint8Array(2 + 60);
        payload[0] = 0xf0;
        payload[1] = (8 << 3) | 0x04;
        for (let b = 2; b < payload.length; b++) {
          payload[b] = (i * 7 + b * 13) & 0xff;
        }
        return { atMs: i * 20, payloadType: 96, marker: i === 0, timestamp: 320_000 + i * 320, payload };
      });
      const { callId, sent } = await callSending(
        'amr-wb',
        { payloadTypes: [96], attributes: ['rtpmap:96 AMR-WB/16000', 'fmtp:96 octet-align=1', 'ptime:20'] },
        audio,
      );
      const session = await closedSession(callId, 'AMR-WB');
      assert.equal(session.undecodable, true);
      assertStored(session, 100);
      const raw = await downloadRawTrack(server, session, 0);
      assert.deepEqual(raw, sent, 'the track capture holds the datagrams exactly as sent');
      const { wav } = await downloadWav(server, session);
      for (const [channel, samples] of wav.channelSamples.entries()) {
        assertSilent(samples, `channel ${channel} (undecodable)`);
      }
    });
  },
);
