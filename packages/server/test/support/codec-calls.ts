import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PcapReader, type PcapPacket } from '../../src/protocol/container/pcap.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { goertzelPower, rmsLevel } from './audio.js';
import { assertToneSpan, assertTonesNear, type ToneWindows } from './cucm-calls.js';
import { toneFileArgs } from './ffmpeg-tone.js';
import { encodeG729 } from './g729-encoder.js';
import { runGenericCall } from './generic-calls.js';
import { spawnTracked, waitExit, type Spawned } from './processes.js';
import type { SessionJson } from './session-api.js';
import { audioLine, genericCallScenario, type AudioOffer, type GenericPeer } from './sipp-scenarios.js';
import { assertInRtpRange, type RunningServer } from './verbatim-server.js';

/**
 * One recorded call per codec, driven by real peers: SIPp plays a generic SIP user agent (not
 * CUCM, not CUBE) whose INVITE offers exactly one codec on one sendonly `m=audio` line, and a real
 * encoder sends a known signal at real time to the port of Verbatim's answer: ffmpeg `-f rtp` for
 * the codecs it packetises, or the small real-time RTP sender below for frames encoded elsewhere
 * (G.729 from bcg729, G.711 audio carrying RFC 4733 events, payloads Verbatim cannot decode).
 */

/** The peer of the codec calls: a SIP user agent offering one codec on one sendonly line. */
const CODEC_PEER: GenericPeer = {
  displayName: 'Codec Test',
  user: '4085550100',
  tag: 'CodecTag',
  userAgent: 'SIPp codec test',
  allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS',
  origin: '5306 5306',
};

/**
 * Runs one codec call: SIPp offers `offer` on one sendonly line, and once the answer's port is
 * known (it must be in Verbatim's RTP range) `send` streams the media to it (it resolves when the
 * sender is done). Fails with the output of every process when SIPp or the sender fails.
 */
export async function runCodecCall(
  server: RunningServer,
  work: string,
  options: {
    readonly name: string;
    readonly offer: AudioOffer;
    readonly holdMs: number;
    readonly send: (port: number) => Promise<Spawned | undefined>;
  },
): Promise<{ callId: string }> {
  const scenario = genericCallScenario({
    title: 'generic SIP call offering one codec',
    peer: CODEC_PEER,
    toUser: 'recorder',
    media: [audioLine('[media_port]', options.offer, 'sendonly')],
    answerLog: 'first-audio',
    holdMs: options.holdMs,
  });
  return runGenericCall(server, work, {
    name: `codec-${options.name}`,
    scenario,
    holdMs: options.holdMs,
    answerLog: 'first-audio',
    whileUp: async (port) => {
      assertInRtpRange(server, port, 'the answered port');
      return options.send(port);
    },
  });
}

/** Encodes a tone with ffmpeg into raw G.711 bytes (one byte per 8 kHz sample). */
export async function encodeG711ToneWithFfmpeg(
  work: string,
  law: 'mulaw' | 'alaw',
  frequencyHz: number,
  seconds: number,
): Promise<Uint8Array> {
  const file = join(work, `tone-${frequencyHz}hz.${law}`);
  const ffmpeg = spawnTracked(
    `ffmpeg ${law} encode`,
    'ffmpeg',
    toneFileArgs(frequencyHz, seconds, ['-c:a', `pcm_${law}`, '-f', law], file),
  );
  assert.equal(await waitExit(ffmpeg, 30_000), 0, `ffmpeg ${law} encode exits 0:\n${ffmpeg.output()}`);
  const bytes = new Uint8Array(await readFile(file));
  assert.equal(bytes.length, seconds * 8000, 'ffmpeg encoded one byte per sample');
  return bytes;
}

/** One RTP packet to send `atMs` after the sender starts. */
export interface ScheduledRtp {
  readonly atMs: number;
  readonly payloadType: number;
  readonly marker: boolean;
  readonly timestamp: number;
  readonly payload: Uint8Array;
  /** Assigned in sending order when absent, as one RTP sender has one sequence number space. */
  readonly sequenceNumber?: number;
}

/**
 * Sends RTP packets from one UDP socket (one source address and port, as a phone does) at their
 * scheduled times, measured against a monotonic clock so timer lateness does not accumulate.
 * Returns the datagrams exactly as sent.
 */
export async function sendRtpRealtime(
  port: number,
  packets: readonly ScheduledRtp[],
  options: { ssrc?: number; firstSequenceNumber?: number } = {},
): Promise<Uint8Array[]> {
  const ordered = [...packets].sort((a, b) => a.atMs - b.atMs);
  const ssrc = options.ssrc ?? 0x7e57c0de;
  let sequenceNumber = options.firstSequenceNumber ?? 4000;
  const datagrams = ordered.map((p) => {
    const datagram = serializeRtpPacket(
      {
        marker: p.marker,
        payloadType: p.payloadType,
        sequenceNumber: (p.sequenceNumber ?? sequenceNumber) & 0xffff,
        timestamp: p.timestamp >>> 0,
        ssrc,
      },
      p.payload,
    );
    if (p.sequenceNumber === undefined) {
      sequenceNumber++;
    }
    return datagram;
  });
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const start = performance.now();
    for (const [i, packet] of ordered.entries()) {
      const waitMs = start + packet.atMs - performance.now();
      if (waitMs > 1) {
        await delay(waitMs);
      }
      await new Promise<void>((resolve, reject) => {
        socket.send(datagrams[i] ?? new Uint8Array(0), port, '127.0.0.1', (error) => {
          if (error) {
            reject(error);
          } else {
            resolve();
          }
        });
      });
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  return datagrams;
}

/**
 * Cuts a byte stream of a sample-based codec (G.711: one byte per sample) into packets of
 * `packetMs` at 8 kHz, timestamps counting samples (RFC 3551 §4.5).
 */
export function packetiseSamples(
  bytes: Uint8Array,
  options: { payloadType: number; packetMs: number; firstTimestamp?: number },
): ScheduledRtp[] {
  const samplesPerPacket = (options.packetMs * 8000) / 1000;
  const packets: ScheduledRtp[] = [];
  for (let offset = 0, i = 0; offset + samplesPerPacket <= bytes.length; offset += samplesPerPacket, i++) {
    packets.push({
      atMs: i * options.packetMs,
      payloadType: options.payloadType,
      marker: i === 0,
      timestamp: (options.firstTimestamp ?? 80_000) + offset,
      payload: bytes.slice(offset, offset + samplesPerPacket),
    });
  }
  return packets;
}

/** A G.729 Annex B SID frame (RFC 3551 §4.5.6) is 2 bytes; a speech frame is 10 bytes per 10 ms. */
export const G729_SID_BYTES = 2;

/**
 * Packs G.729 frames (one per 10 ms, in order; an empty frame is one Annex B left untransmitted)
 * into RTP packets of at most `framesPerPacket` frames. RFC 3551 §4.5.6: a packet holds zero or
 * more speech frames followed by at most one SID frame, so a SID ends its packet; an untransmitted
 * frame ends a packet too, and the next transmitted frame starts a new talkspurt (marker bit, RFC
 * 3551 §4.1). Timestamps count 8 kHz samples (80 per frame), so they jump over the silence.
 */
export function packetiseG729Frames(
  frames: readonly Uint8Array[],
  options: { payloadType?: number; framesPerPacket?: number; firstTimestamp?: number } = {},
): ScheduledRtp[] {
  const framesPerPacket = options.framesPerPacket ?? 2;
  const firstTimestamp = options.firstTimestamp ?? 16_000;
  const packets: ScheduledRtp[] = [];
  let current: { firstFrame: number; parts: Uint8Array[] } | undefined;
  let talkspurtStart = true;
  const flush = (): void => {
    if (current === undefined) {
      return;
    }
    const size = current.parts.reduce((sum, p) => sum + p.length, 0);
    const payload = new Uint8Array(size);
    let offset = 0;
    for (const part of current.parts) {
      payload.set(part, offset);
      offset += part.length;
    }
    // The packet leaves once its last frame has been captured.
    packets.push({
      atMs: (current.firstFrame + current.parts.length) * 10,
      payloadType: options.payloadType ?? 18,
      marker: talkspurtStart,
      timestamp: firstTimestamp + current.firstFrame * 80,
      payload,
    });
    talkspurtStart = false;
    current = undefined;
  };
  for (const [i, frame] of frames.entries()) {
    if (frame.length === 0) {
      flush();
      talkspurtStart = true;
      continue;
    }
    current ??= { firstFrame: i, parts: [] };
    current.parts.push(frame);
    if (frame.length === G729_SID_BYTES || current.parts.length >= framesPerPacket) {
      flush();
    }
  }
  flush();
  return packets;
}

/** A phase-continuous sine as 16-bit PCM, optionally with a stretch of digital silence inside. */
export function sinePcm(options: {
  frequencyHz: number;
  seconds: number;
  sampleRateHz?: number;
  amplitude?: number;
  silence?: { fromSeconds: number; toSeconds: number };
}): Int16Array {
  const rate = options.sampleRateHz ?? 8000;
  const pcm = new Int16Array(Math.round(options.seconds * rate));
  for (let n = 0; n < pcm.length; n++) {
    const t = n / rate;
    const silent =
      options.silence !== undefined && t >= options.silence.fromSeconds && t < options.silence.toSeconds;
    pcm[n] = silent
      ? 0
      : Math.round((options.amplitude ?? 8000) * Math.sin(2 * Math.PI * options.frequencyHz * t));
  }
  return pcm;
}

/**
 * G.729 frames of 8 kHz PCM from the bcg729-based test encoder (g729-encoder.ts): one per 10 ms,
 * 10 bytes of speech, or with Annex B VAD/DTX a 2-byte SID or 0 bytes (left untransmitted).
 */
export async function encodeG729Frames(pcm: Int16Array, options: { annexB: boolean }): Promise<Uint8Array[]> {
  return encodeG729(pcm, { vad: options.annexB });
}

/** One RFC 4733 telephone event read from a capture: its digit and its packets' payloads. */
export interface CapturedDtmfEvent {
  /** '0'–'9', '*', '#', 'A'–'D' (RFC 4733 §3.2 event codes 0–15). */
  readonly digit: string;
  /** Payloads in capture order (the three end packets included), with their offsets in ms. */
  readonly packets: readonly { readonly offsetMs: number; readonly payload: Uint8Array }[];
}

const DTMF_DIGITS = '0123456789*#ABCD';

/**
 * Reads the telephone-event packets of a capture (one of SIPp's dtmf_2833_*.pcap): the event
 * code and the payloads as captured, with their offsets from the first packet.
 */
export async function readDtmfCapture(path: string): Promise<CapturedDtmfEvent> {
  const reader = new PcapReader();
  const packets: PcapPacket[] = reader.push(new Uint8Array(await readFile(path)));
  assert.equal(reader.error, undefined, `${path} is a readable capture`);
  const first = packets[0];
  assert.ok(first !== undefined, `${path} holds packets`);
  const payloads = packets.map((p) => {
    const csrcCount = (p.payload[0] ?? 0) & 0x0f;
    return {
      offsetMs: (p.timestampUs - first.timestampUs) / 1000,
      payload: p.payload.slice(12 + 4 * csrcCount),
    };
  });
  const code = payloads[0]?.payload[0] ?? 255;
  const digit = DTMF_DIGITS[code];
  assert.ok(digit !== undefined, `${path}: event code ${code} is a DTMF digit`);
  return { digit, packets: payloads };
}

/**
 * Telephone-event packets to send alongside audio: each event starts at `atMs` of the call, its
 * packets keep the spacing of the capture, and every packet of one event carries the RTP timestamp
 * of the event's start (RFC 4733 §2.3.1) on the audio's clock; the first has the marker bit.
 */
export function dtmfPackets(
  events: readonly { readonly event: CapturedDtmfEvent; readonly atMs: number }[],
  options: { payloadType: number; firstTimestamp: number },
): ScheduledRtp[] {
  return events.flatMap(({ event, atMs }) =>
    event.packets.map((p, i) => ({
      atMs: atMs + p.offsetMs,
      payloadType: options.payloadType,
      marker: i === 0,
      timestamp: options.firstTimestamp + atMs * 8,
      payload: p.payload,
    })),
  );
}

/**
 * 100 ms windows of one channel, at any sample rate: where it carries sound (gaps: the start of
 * each silent window between the first and the last loud one) and the dominant frequency of each
 * loud window but the first and the last (edges are partial).
 */
export type ChannelAnalysis = ToneWindows;

/** RMS above which a 100 ms window counts as sound (the tones are sent at about 2,900 RMS). */
const LOUD_RMS = 500;

export function analyseTone(samples: Int16Array, sampleRateHz: number): ChannelAnalysis {
  const window = sampleRateHz / 10;
  const loud: boolean[] = [];
  for (let start = 0; start + window <= samples.length; start += window) {
    loud.push(rmsLevel(samples, start, start + window) > LOUD_RMS);
  }
  const first = loud.indexOf(true);
  const last = loud.lastIndexOf(true);
  const gaps: number[] = [];
  const tones: number[] = [];
  for (let i = first; first >= 0 && i <= last; i++) {
    if (!loud[i]) {
      gaps.push(i * 100);
    } else if (i > first && i < last) {
      tones.push(toneInBandHz(samples, sampleRateHz, i * window, window));
    }
  }
  return { firstMs: first * 100, lastMs: last * 100 + 100, gaps, tones };
}

/**
 * The strongest frequency between 100 and 4000 Hz (every tone these tests send is in the
 * telephone band) by a 10 Hz Goertzel scan refined to 1 Hz. Restricting the scan keeps the
 * analysis of a 48 kHz channel cheap on a shared machine.
 */
export function toneInBandHz(
  samples: Int16Array,
  sampleRateHz: number,
  start: number,
  length: number,
): number {
  let best = 0;
  let bestPower = -1;
  const scan = (from: number, to: number, step: number): void => {
    for (let f = from; f <= to; f += step) {
      const power = goertzelPower(samples, sampleRateHz, f, start, length);
      if (power > bestPower) {
        bestPower = power;
        best = f;
      }
    }
  };
  scan(100, 4000, 10);
  scan(best - 10, best + 10, 1);
  return best;
}

/**
 * The channel carries `expectedHz` from its first to its last loud window with no silent window
 * inside, for about `expectedSeconds`.
 */
export function assertToneAt(
  samples: Int16Array,
  sampleRateHz: number,
  expectedHz: number,
  expectedSeconds: number,
  label: string,
): ChannelAnalysis {
  const channel = analyseTone(samples, sampleRateHz);
  assertToneSpan(channel, expectedHz, expectedSeconds, label, { tonesMeasured: true });
  return channel;
}

/**
 * The channel carries `expectedHz` in talkspurts (runs of loud 100 ms windows) that start and
 * last as expected, within 300 ms (an encoder's hangover and the decoder's comfort noise blur the
 * edges), with quiet between them.
 */
export function assertTalkspurts(
  samples: Int16Array,
  sampleRateHz: number,
  expectedHz: number,
  expected: readonly { readonly startMs: number; readonly durationMs: number }[],
  label: string,
): void {
  const channel = analyseTone(samples, sampleRateHz);
  assert.ok(channel.firstMs >= 0, `${label}: no sound at all`);
  const window = sampleRateHz / 10;
  const runs: { startMs: number; durationMs: number }[] = [];
  for (let i = channel.firstMs / 100; i < channel.lastMs / 100; i++) {
    const loud = rmsLevel(samples, i * window, (i + 1) * window) > LOUD_RMS;
    const last = runs.at(-1);
    if (loud && last !== undefined && last.startMs + last.durationMs === i * 100) {
      last.durationMs += 100;
    } else if (loud) {
      runs.push({ startMs: i * 100, durationMs: 100 });
    }
  }
  assert.equal(runs.length, expected.length, `${label}: talkspurts ${JSON.stringify(runs)}`);
  const origin = (runs[0]?.startMs ?? 0) - (expected[0]?.startMs ?? 0);
  for (const [i, want] of expected.entries()) {
    const got = runs[i];
    assert.ok(
      got !== undefined &&
        Math.abs(got.startMs - origin - want.startMs) <= 300 &&
        Math.abs(got.durationMs - want.durationMs) <= 300,
      `${label}: talkspurt ${i} is ${JSON.stringify(got)} (relative to the first), expected ${JSON.stringify(want)}`,
    );
  }
  assertTonesNear(channel.tones, expectedHz, label);
}

/** Every sample of the channel is zero (a channel with no track, or an undecodable one). */
export function assertSilent(samples: Int16Array, label: string): void {
  const loud = samples.findIndex((s) => s !== 0);
  assert.equal(loud, -1, `${label}: sample ${loud} is not silent`);
}

/** Tags of the session and its tracks whose name mentions DTMF, in offset order. */
export function dtmfTags(
  session: SessionJson & { tags?: { tagName: string; tagOffset?: number }[] },
): string[] {
  const trackTags = (session.tracks as { tags?: { tagName: string; tagOffset?: number }[] }[]).flatMap(
    (t) => t.tags ?? [],
  );
  return [...(session.tags ?? []), ...trackTags]
    .filter((t) => /dtmf/i.test(t.tagName))
    .sort((a, b) => (a.tagOffset ?? 0) - (b.tagOffset ?? 0))
    .map((t) => t.tagName);
}
