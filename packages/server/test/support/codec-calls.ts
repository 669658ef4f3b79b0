import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PcapReader, type PcapPacket } from '../../src/protocol/container/pcap.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { goertzelPower, rmsLevel } from './audio.js';
import type { SessionJson } from './cucm-calls.js';
import { encodeG729 } from './g729-encoder.js';
import { freeSippMediaPort, freeUdpTcpPort } from './ports.js';
import { spawnTracked, stopAll, waitExit, type Spawned } from './processes.js';
import type { RunningServer } from './verbatim-server.js';
import { waitFor } from './wait.js';

/**
 * One recorded call per codec, driven by real peers: SIPp plays a generic SIP user agent (not
 * CUCM, not CUBE) whose INVITE offers exactly one codec on one sendonly `m=audio` line, and a real
 * encoder sends a known signal at real time to the port of Verbatim's answer: ffmpeg `-f rtp` for
 * the codecs it packetises, or the small real-time RTP sender below for frames encoded elsewhere
 * (G.729 from bcg729, G.711 audio carrying RFC 4733 events, payloads Verbatim cannot decode).
 */

/** The m=audio line of an offer: its format list and its attribute lines (without "a="). */
export interface AudioOffer {
  readonly payloadTypes: readonly number[];
  readonly attributes: readonly string[];
}

export interface GenericCallScenario {
  readonly offer: AudioOffer;
  /** How long SIPp stays up after the ACK before it sends BYE. */
  readonly holdMs: number;
}

/** The log line SIPp writes with the port of the answer's m=audio line. */
export const AUDIO_PORT_LOG_PREFIX = 'VERBATIM-AUDIO-PORT=';

/**
 * A SIPp scenario for a generic early-offer call: INVITE with one sendonly audio line, the 200
 * OK's audio port written to the SIPp log (run SIPp with `-trace_logs -log_file`), ACK, a hold,
 * BYE. The whole regexp match is logged too: SIPp refuses a scenario with a variable never read.
 */
export function genericCallScenario(s: GenericCallScenario): string {
  const from = 'From: "Codec Test" <sip:4085550100@[local_ip]>;tag=[pid]CodecTag[call_number]';
  const to = 'To: <sip:recorder@[remote_ip]>';
  const attributes = s.offer.attributes.map((a) => `      a=${a}`).join('\n');
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="generic SIP call offering one codec">
  <send retrans="500">
    <![CDATA[
      INVITE sip:recorder@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${from}
      ${to}
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Max-Forwards: 70
      Contact: <sip:4085550100@[local_ip]:[local_port]>
      User-Agent: SIPp codec test
      Allow: INVITE, ACK, BYE, CANCEL, OPTIONS
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 5306 5306 IN IP[media_ip_type] [media_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP ${s.offer.payloadTypes.join(' ')}
${attributes}
      a=sendonly
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="m=audio ([0-9]+) " search_in="body" check_it="true" assign_to="all,port"/>
      <log message="${AUDIO_PORT_LOG_PREFIX}[$port]; matched: [$all]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${from}
      ${to}[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="${s.holdMs}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${from}
      ${to}[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`;
}

/** Polls the SIPp log file until it names the answer's audio port. */
export async function waitForAudioPort(logFile: string, timeoutMs: number): Promise<number> {
  return waitFor(
    async () => {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      const match = new RegExp(`${AUDIO_PORT_LOG_PREFIX}(\\d+);`).exec(text);
      return match?.[1] === undefined ? undefined : Number(match[1]);
    },
    { timeoutMs, what: `the answer's audio port in ${logFile}` },
  );
}

let callCounter = 0;

/**
 * A Call-ID prefix unique to this run, naming the case so a failing session is easy to find in
 * logs. SIPp matches responses to its calls by its own [call_id], so the Call-ID is chosen
 * through `-cid_str` rather than written into the scenario.
 */
function uniqueCallIdPrefix(name: string): string {
  callCounter++;
  const random = Math.floor(Math.random() * 0xffffffff).toString(16);
  return `codec-${name.replace(/[^A-Za-z0-9]/g, '')}-${callCounter}-${random}`;
}

/**
 * Runs one generic call: SIPp offers `offer`, and once the answer's port is known `send` streams
 * the media to it (it resolves when the sender is done). Fails with the output of every process
 * when SIPp or the sender fails. A SIPp that could not bind its media port (another process took
 * it between the check and the bind) is rerun with fresh ports before anything was sent.
 */
export async function runGenericCall(
  server: RunningServer,
  work: string,
  options: {
    readonly name: string;
    readonly offer: AudioOffer;
    readonly holdMs: number;
    readonly send: (port: number) => Promise<Spawned | undefined>;
  },
): Promise<{ callId: string; answeredPort: number }> {
  const scenarioFile = join(work, `${options.name}.xml`);
  await writeFile(scenarioFile, genericCallScenario({ offer: options.offer, holdMs: options.holdMs }));
  const callIdPrefix = uniqueCallIdPrefix(options.name);
  for (let attempt = 1; ; attempt++) {
    const logFile = join(work, `${options.name}-${attempt}-sipp.log`);
    const sipp = spawnTracked(`sipp ${options.name}`, 'sipp', [
      '-sf',
      scenarioFile,
      '-m',
      '1',
      '-t',
      'u1',
      '-i',
      '127.0.0.1',
      '-p',
      String(await freeUdpTcpPort()),
      '-mi',
      '127.0.0.1',
      '-mp',
      String(await freeSippMediaPort()),
      '-trace_logs',
      '-log_file',
      logFile,
      '-timeout',
      `${Math.ceil(options.holdMs / 1000) + 30}s`,
      '-timeout_error',
      '-cid_str',
      `${callIdPrefix}-%u@%s`,
      '-nostdin',
      `127.0.0.1:${server.sipPort}`,
    ]);
    let sender: Spawned | undefined;
    const outputs = (): string =>
      `--- sipp ---\n${sipp.output()}\n--- sender ---\n${sender?.output() ?? '(none or not a process)'}`;
    let port: number;
    try {
      port = await Promise.race([
        waitForAudioPort(logFile, 20_000),
        sipp.exited.then((code): never => {
          throw new Error(`sipp exited (${code}) before the answer's port was logged`);
        }),
      ]);
    } catch (error) {
      await sipp.stop(1000);
      const bindFailed = /Unable to bind|Address already in use/.test(sipp.output());
      if (bindFailed && attempt < 3) {
        continue;
      }
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${outputs()}`, {
        cause: error,
      });
    }
    try {
      assert.ok(
        port >= server.rtpRange.min && port <= server.rtpRange.max,
        `the answered port ${port} is in Verbatim's RTP range`,
      );
      sender = await options.send(port);
      assert.equal(await waitExit(sipp, options.holdMs + 30_000), 0, 'sipp exits 0');
    } catch (error) {
      await stopAll();
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${outputs()}`, {
        cause: error,
      });
    }
    // One call (-m 1) is call number 1, and %s is the local address given with -i.
    return { callId: `${callIdPrefix}-1@127.0.0.1`, answeredPort: port };
  }
}

/** A tone encoded and packetised by ffmpeg's RTP muxer, sent at real time (`-re`). */
export interface FfmpegToneSender {
  /** ffmpeg encoder: pcm_mulaw, pcm_alaw, g722, libopus, pcm_s16be, aac. */
  readonly encoder: string;
  readonly sampleRateHz: number;
  readonly payloadType: number;
  readonly frequencyHz: number;
  readonly seconds: number;
  /**
   * Samples per frame of the generated signal. ffmpeg's RTP muxer sends one encoder frame per
   * packet for the PCM codecs, so this sets their packet duration (160 at 8 kHz = 20 ms).
   */
  readonly samplesPerFrame?: number;
  /** Extra output options (`-rtpflags latm`, `-b:a 32k`, …). */
  readonly extraArgs?: readonly string[];
}

/** Starts ffmpeg sending the tone to 127.0.0.1:port and waits for it to exit 0. */
export async function sendToneWithFfmpeg(port: number, s: FfmpegToneSender): Promise<Spawned> {
  const frame = s.samplesPerFrame === undefined ? '' : `:samples_per_frame=${s.samplesPerFrame}`;
  const ffmpeg = spawnTracked(`ffmpeg ${s.encoder}`, 'ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-re',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${s.frequencyHz}:sample_rate=${s.sampleRateHz}:duration=${s.seconds}${frame}`,
    '-c:a',
    s.encoder,
    '-ar',
    String(s.sampleRateHz),
    '-ac',
    '1',
    ...(s.extraArgs ?? []),
    '-payload_type',
    String(s.payloadType),
    '-f',
    'rtp',
    `rtp://127.0.0.1:${port}?localaddr=127.0.0.1`,
  ]);
  const code = await waitExit(ffmpeg, s.seconds * 1000 + 30_000);
  assert.equal(code, 0, `ffmpeg ${s.encoder} exits 0:\n${ffmpeg.output()}`);
  return ffmpeg;
}

/** Encodes a tone with ffmpeg into raw G.711 bytes (one byte per 8 kHz sample). */
export async function encodeG711ToneWithFfmpeg(
  work: string,
  law: 'mulaw' | 'alaw',
  frequencyHz: number,
  seconds: number,
): Promise<Uint8Array> {
  const file = join(work, `tone-${frequencyHz}hz.${law}`);
  const ffmpeg = spawnTracked(`ffmpeg ${law} encode`, 'ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${frequencyHz}:sample_rate=8000:duration=${seconds}`,
    '-c:a',
    `pcm_${law}`,
    '-f',
    law,
    file,
  ]);
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

/** The RTP datagrams stored in a track capture (ExportRaw), in file order. */
export async function downloadRawTrack(
  server: RunningServer,
  session: SessionJson,
  trackNumber: number,
): Promise<Uint8Array[]> {
  const response = await fetch(
    `${server.baseUrl}/mma/ExportRaw?recording=${encodeURIComponent(`${session.sessionId}-TRACK${trackNumber}`)}`,
    { headers: { cookie: `JSESSIONID=${server.jsessionId}` } },
  );
  assert.equal(response.status, 200, 'the raw track downloads');
  const reader = new PcapReader();
  const packets = reader.push(new Uint8Array(await response.arrayBuffer()));
  assert.equal(reader.error, undefined, 'the raw track is a readable capture');
  assert.equal(reader.end().truncatedTailBytes, 0, 'the raw track has no torn tail');
  return packets.map((p) => p.payload.slice());
}

/** 100 ms windows of one channel: where it carries sound and which tone, at any sample rate. */
export interface ChannelAnalysis {
  firstMs: number;
  lastMs: number;
  /** Start of each silent window between the first and the last loud one. */
  gaps: number[];
  /** Dominant frequency of each loud window but the first and the last (edges are partial). */
  tones: number[];
}

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
  assert.ok(channel.firstMs >= 0, `${label}: no sound at all`);
  assert.deepEqual(
    channel.gaps,
    [],
    `${label}: silent windows inside the call at ${channel.gaps.join(', ')} ms`,
  );
  const spanMs = channel.lastMs - channel.firstMs;
  assert.ok(
    Math.abs(spanMs - expectedSeconds * 1000) <= 400,
    `${label}: sound lasts ${spanMs} ms, expected about ${expectedSeconds * 1000} ms`,
  );
  assert.ok(channel.tones.length > 0, `${label}: too short to measure a tone`);
  for (const tone of channel.tones) {
    assert.ok(
      Math.abs(tone - expectedHz) <= 25,
      `${label}: a window carries ${tone} Hz instead of ${expectedHz} Hz`,
    );
  }
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
  for (const tone of channel.tones) {
    assert.ok(
      Math.abs(tone - expectedHz) <= 25,
      `${label}: a window carries ${tone} Hz instead of ${expectedHz} Hz`,
    );
  }
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
