import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { encodeMulaw } from '../../src/protocol/codec/g711.js';
import { G722Decoder } from '../../src/protocol/codec/g722.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { createWavExport, type WavTrackSource } from '../../src/playback/wav-export.js';
import {
  buildPcapFile,
  dominantFrequencyHz,
  findSilences,
  readWavSamples,
  rmsLevel,
  type CapturedDatagram,
  type WavSamples,
} from '../support/audio.js';
import { encodeG729 } from '../support/g729-encoder.js';
import { useTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

/**
 * Every codec through the real export: a track file built from real encoder output (ffmpeg for
 * G.722, Opus and L16, bcg729 for G.729) of a known tone, exported, and the WAV checked for its
 * rate, the tone's frequency and level, its place on the timeline, its duration and gaps.
 */

const execFileAsync = promisify(execFile);
const SESSION_START_MS = 1_700_000_000_000;
/** Every track starts 100 ms into the session: the export must place it there. */
const TRACK_OFFSET_MS = 100;

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function ffmpeg(args: string[]): Promise<void> {
  await execFileAsync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** A 20 ms RTP packet stream: payload i at RTP time i × ticks, arriving at its real time. */
function rtpTrack(
  payloads: readonly Uint8Array[],
  options: { payloadType: number; ticksPerPacket: number; packetMs?: number; startMs?: number },
): CapturedDatagram[] {
  const packetMs = options.packetMs ?? 20;
  return payloads.map((payload, i) => ({
    // A deterministic 0–9 ms of network jitter that placement by RTP timestamp must absorb.
    timestampUs:
      (SESSION_START_MS + (options.startMs ?? TRACK_OFFSET_MS) + i * packetMs) * 1000 +
      ((i * 37) % 10) * 1000,
    datagram: serializeRtpPacket(
      {
        marker: i === 0,
        payloadType: options.payloadType,
        sequenceNumber: (7000 + i) & 0xffff,
        timestamp: (123_456 + i * options.ticksPerPacket) >>> 0,
        ssrc: 0xc0dec,
      },
      payload,
    ),
  }));
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset + size <= bytes.length; offset += size) {
    parts.push(bytes.subarray(offset, offset + size));
  }
  return parts;
}

/** The packets of an Ogg stream (RFC 3533 pages, lacing values joined), in order. */
function oggPackets(bytes: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let partial: number[] = [];
  let offset = 0;
  while (offset + 27 <= bytes.length) {
    assert.equal(String.fromCharCode(...bytes.subarray(offset, offset + 4)), 'OggS');
    const segments = bytes[offset + 26] ?? 0;
    let body = offset + 27 + segments;
    for (let s = 0; s < segments; s++) {
      const lacing = bytes[offset + 27 + s] ?? 0;
      partial.push(...bytes.subarray(body, body + lacing));
      body += lacing;
      if (lacing < 255) {
        packets.push(Uint8Array.from(partial));
        partial = [];
      }
    }
    offset = body;
  }
  return packets;
}

function sine(frequencyHz: number, rateHz: number, samples: number, amplitude: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, n) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * n) / rateHz)),
  );
}

/** Level in dB relative to a sine of peak `amplitude`. */
function levelDb(samples: Int16Array, start: number, end: number, amplitude: number): number {
  return 20 * Math.log10(rmsLevel(samples, start, end) / (amplitude / Math.SQRT2));
}

interface ToneExpectation {
  channel: Int16Array;
  rateHz: number;
  frequencyHz: number;
  amplitude: number;
  /** Where the tone starts and ends on the timeline. */
  startMs: number;
  endMs: number;
  levelToleranceDb: number;
  /** Codec delay allowed at the start of the tone (Opus pre-skip, filter warm-up). */
  onsetToleranceMs?: number;
  /** A resampling filter starts to ring this long before a hard onset (half its length). */
  preRingMs?: number;
}

function assertTone(t: ToneExpectation): void {
  const at = (ms: number): number => Math.round((ms * t.rateHz) / 1000);
  const body = { start: at(t.startMs + 50), end: at(t.endMs - 50) };
  const frequency = dominantFrequencyHz(t.channel, t.rateHz, body.start, body.end - body.start);
  assert.ok(Math.abs(frequency - t.frequencyHz) <= 2, `tone at ${frequency} Hz, expected ${t.frequencyHz}`);
  const level = levelDb(t.channel, body.start, body.end, t.amplitude);
  assert.ok(Math.abs(level) <= t.levelToleranceDb, `level ${level.toFixed(2)} dB`);
  // No gaps: no run of 2 ms of exact zeros inside the tone.
  const inside = findSilences(t.channel.subarray(body.start, body.end), t.rateHz, { minDurationMs: 2 });
  assert.deepEqual(inside, [], 'no gap inside the tone');
  // Placed on the timeline: silence (exact zeros) before the track starts, sound right after.
  const lead = findSilences(t.channel, t.rateHz, { minDurationMs: 20 })[0];
  assert.ok(lead !== undefined && lead.startMs === 0, 'silence before the track');
  const onset = lead.endMs;
  assert.ok(
    onset >= t.startMs - (t.preRingMs ?? 0) && onset <= t.startMs + (t.onsetToleranceMs ?? 1),
    `tone starts at ${onset} ms, expected ${t.startMs}`,
  );
}

describe('WAV export of every codec', () => {
  const tmp = useTempDir('verbatim-codecs-');

  async function exportWav(
    tracks: (WavTrackSource | undefined)[],
    durationMs: number,
  ): Promise<{ wav: WavSamples; sampleRateHz: number }> {
    const wavExport = await createWavExport({ tracks, sessionStartMs: SESSION_START_MS, durationMs });
    const bytes = await collect(wavExport.open());
    assert.equal(bytes.length, wavExport.totalBytes);
    const wav = readWavSamples(bytes);
    assert.equal(wav.sampleRateHz, wavExport.sampleRateHz);
    assert.equal(wav.channels, 2);
    assert.equal(wav.durationMs, durationMs, 'the file lasts exactly the session');
    return { wav, sampleRateHz: wavExport.sampleRateHz };
  }

  async function trackFile(name: string, records: CapturedDatagram[]): Promise<string> {
    const filePath = join(tmp.path, name);
    await writeFile(filePath, buildPcapFile(records));
    return filePath;
  }

  /**
   * ffmpeg's sine source (1/8 of full scale) at 16 kHz, G.722-encoded with `filters` applied, as a
   * track file of 20 ms packets: 160 bytes = 320 samples at 16 kHz, but 160 ticks of G.722's 8 kHz
   * RTP clock. Returns the file and its packet count.
   */
  async function g722ToneTrack(
    name: string,
    frequencyHz: number,
    seconds: number,
    filters: readonly string[] = [],
  ): Promise<{ filePath: string; packets: number }> {
    const encoded = join(tmp.path, `${name}.g722`);
    await ffmpeg([
      '-f', 'lavfi', '-i', `sine=frequency=${frequencyHz}:sample_rate=16000:duration=${seconds}`,
      ...filters, '-c:a', 'g722', '-f', 'g722', encoded,
    ]); // prettier-ignore
    const payloads = split(await readFile(encoded), 160);
    const filePath = await trackFile(
      `${name}.pcap`,
      rtpTrack(payloads, { payloadType: 9, ticksPerPacket: 160 }),
    );
    return { filePath, packets: payloads.length };
  }

  it('G.722 (ffmpeg-encoded) exports at 16 kHz with the tone intact', async () => {
    const { filePath, packets } = await g722ToneTrack('g722', 1200, 2, ['-af', 'volume=0.5']);
    assert.equal(packets, 100);
    const { wav, sampleRateHz } = await exportWav(
      [{ filePath, codec: 'G722', payloadType: 9, clockRateHz: 8000 }, undefined],
      2500,
    );
    assert.equal(sampleRateHz, 16000);
    assertTone({
      channel: wav.channelSamples[0] as Int16Array,
      rateHz: 16000,
      frequencyHz: 1200,
      // ffmpeg's sine source is 1/8 of full scale, then halved.
      amplitude: 32767 / 16,
      startMs: TRACK_OFFSET_MS,
      endMs: TRACK_OFFSET_MS + 2000,
      levelToleranceDb: 1,
    });
    // The track ends after its 2 s: the rest of the file is silence.
    const tail = findSilences(wav.channelSamples[0] as Int16Array, 16000, { minDurationMs: 100 }).at(-1);
    assert.deepEqual(tail, { startMs: 2100, endMs: 2500 });
    assert.equal(
      wav.channelSamples[1]?.every((s) => s === 0),
      true,
    );
  });

  it('Opus (ffmpeg/libopus in Ogg, packets demuxed) exports at 48 kHz', async () => {
    const encoded = join(tmp.path, 'tone.ogg');
    await ffmpeg([
      '-f', 'lavfi', '-i', 'sine=frequency=700:sample_rate=48000:duration=2',
      '-c:a', 'libopus', '-b:a', '48k', '-frame_duration', '20', '-application', 'voip', encoded,
    ]); // prettier-ignore
    // The first two Ogg packets are OpusHead and OpusTags (RFC 7845 §5), not audio.
    const packets = oggPackets(await readFile(encoded)).slice(2);
    assert.ok(packets.length >= 100);
    const filePath = await trackFile(
      'opus.pcap',
      rtpTrack(packets, { payloadType: 111, ticksPerPacket: 960 }),
    );
    const { wav, sampleRateHz } = await exportWav(
      [undefined, { filePath, codec: 'opus', payloadType: 111, clockRateHz: 48000 }],
      2500,
    );
    assert.equal(sampleRateHz, 48000);
    assertTone({
      channel: wav.channelSamples[1] as Int16Array,
      rateHz: 48000,
      frequencyHz: 700,
      amplitude: 32767 / 8,
      startMs: TRACK_OFFSET_MS,
      endMs: TRACK_OFFSET_MS + 2000,
      levelToleranceDb: 1.5,
      // The encoder's look-ahead (pre-skip, 6.5 ms) is not removed from an RTP stream.
      onsetToleranceMs: 10,
    });
  });

  it('L16 stereo at 44.1 kHz (ffmpeg s16be) exports at 44.1 kHz, channels averaged', async () => {
    const encoded = join(tmp.path, 'tone.s16be');
    // The same 500 Hz tone on both channels, half the level on the right: the mean is 3/4.
    await ffmpeg([
      '-f', 'lavfi', '-i', 'sine=frequency=500:sample_rate=44100:duration=2',
      '-af', 'pan=stereo|c0=c0|c1=0.5*c0', '-f', 's16be', '-ac', '2', encoded,
    ]); // prettier-ignore
    // 20 ms = 882 frames of 4 bytes.
    const payloads = split(await readFile(encoded), 882 * 4);
    const filePath = await trackFile(
      'l16.pcap',
      rtpTrack(payloads, { payloadType: 10, ticksPerPacket: 882 }),
    );
    const { wav, sampleRateHz } = await exportWav(
      [{ filePath, codec: 'L16', payloadType: 10, clockRateHz: 44100, channels: 2 }],
      2300,
    );
    assert.equal(sampleRateHz, 44100);
    assertTone({
      channel: wav.channelSamples[0] as Int16Array,
      rateHz: 44100,
      frequencyHz: 500,
      amplitude: (32767 / 8) * 0.75,
      startMs: TRACK_OFFSET_MS,
      endMs: TRACK_OFFSET_MS + 2000,
      levelToleranceDb: 0.2,
    });
  });

  it('G.729 (bcg729-encoded, two frames per packet) exports at 8 kHz', async () => {
    const frames = await encodeG729(sine(1000, 8000, 16000, 8000));
    const payloads: Uint8Array[] = [];
    for (let i = 0; i + 1 < frames.length; i += 2) {
      payloads.push(Uint8Array.from([...(frames[i] as Uint8Array), ...(frames[i + 1] as Uint8Array)]));
    }
    assert.ok(payloads.every((p) => p.length === 20));
    const filePath = await trackFile(
      'g729.pcap',
      rtpTrack(payloads, { payloadType: 18, ticksPerPacket: 160 }),
    );
    const { wav, sampleRateHz } = await exportWav(
      [{ filePath, codec: 'G729', payloadType: 18, clockRateHz: 8000 }],
      2300,
    );
    assert.equal(sampleRateHz, 8000);
    assertTone({
      channel: wav.channelSamples[0] as Int16Array,
      rateHz: 8000,
      frequencyHz: 1000,
      amplitude: 8000,
      startMs: TRACK_OFFSET_MS,
      endMs: TRACK_OFFSET_MS + 2000,
      levelToleranceDb: 3,
    });
  });

  it('G.729 Annex B: SID frames and untransmitted frames keep the timeline', async () => {
    // 1 s of tone, 1 s of silence, 1 s of tone at another frequency; VAD suppresses the middle.
    const pcm = new Int16Array(24000);
    pcm.set(sine(600, 8000, 8000, 8000), 0);
    pcm.set(sine(1400, 8000, 8000, 8000), 16000);
    const frames = await encodeG729(pcm, { vad: true });
    const records: CapturedDatagram[] = [];
    let sequence = 0;
    frames.forEach((frame, i) => {
      if (frame.length === 0) {
        return; // Untransmitted: no packet at all (RFC 3551 §4.5.6).
      }
      records.push({
        timestampUs: (SESSION_START_MS + TRACK_OFFSET_MS + i * 10) * 1000,
        datagram: serializeRtpPacket(
          { marker: false, payloadType: 18, sequenceNumber: sequence++, timestamp: 8000 + i * 80, ssrc: 0xb },
          frame,
        ),
      });
    });
    assert.ok(
      frames.some((f) => f.length === 2),
      'the encoder sent SID frames',
    );
    assert.ok(frames.filter((f) => f.length === 0).length > 50, 'and suppressed frames');
    const filePath = await trackFile('g729b.pcap', records);
    const { wav } = await exportWav([{ filePath, codec: 'G729', payloadType: 18 }], 3200);
    const channel = wav.channelSamples[0] as Int16Array;
    const at = (ms: number): number => ms * 8;
    assert.ok(Math.abs(dominantFrequencyHz(channel, 8000, at(200), at(800)) - 600) <= 2);
    assert.ok(Math.abs(dominantFrequencyHz(channel, 8000, at(2200), at(800)) - 1400) <= 2);
    // The SID frame and the untransmitted frames after it are silence, and the first frame sent
    // after them is exactly where it was spoken: 2 s after the first tone began.
    const sidFrame = frames.findIndex((f) => f.length === 2);
    const resumed = frames.findIndex((f, i) => i > sidFrame && f.length === 10);
    const afterSid = at(TRACK_OFFSET_MS + sidFrame * 10);
    const firstSound = channel.findIndex((s, i) => i >= afterSid && s !== 0);
    // (Within that frame: the decoder restarts from the silence its state holds.)
    const resumedAt = at(TRACK_OFFSET_MS + resumed * 10);
    assert.ok(
      firstSound >= resumedAt && firstSound < resumedAt + 80,
      `sound at ${firstSound}, frame at ${resumedAt}`,
    );
    assert.ok(resumed * 10 >= 1950 && resumed * 10 <= 2000, `speech resumed at ${resumed * 10} ms`);
    assert.ok(levelDb(channel, at(200), at(1000), 8000) > -3);
  });

  it('mixes rates: G.722 left and G.711 right become a 16 kHz file, both tones kept', async () => {
    const { filePath: left } = await g722ToneTrack('mix-left', 1800, 1.5);
    const mulaw = split(encodeMulaw(sine(440, 8000, 12000, 10000)), 160);
    const right = await trackFile(
      'mix-right.pcap',
      rtpTrack(mulaw, { payloadType: 0, ticksPerPacket: 160, startMs: 300 }),
    );
    const { wav, sampleRateHz } = await exportWav(
      [
        { filePath: left, codec: 'G722', payloadType: 9 },
        { filePath: right, codec: 'PCMU', payloadType: 0 },
      ],
      2000,
    );
    assert.equal(sampleRateHz, 16000);
    assertTone({
      channel: wav.channelSamples[1] as Int16Array,
      rateHz: 16000,
      frequencyHz: 440,
      amplitude: 10000,
      startMs: 300,
      endMs: 1800,
      levelToleranceDb: 0.3,
      // 16 zero crossings of the 8 kHz sinc on each side: up to 2 ms of ringing before the onset.
      preRingMs: 2,
    });
    assert.equal(dominantFrequencyHz(wav.channelSamples[0] as Int16Array, 16000, 16000 * 0.3, 16000), 1800);
  });

  it('a codec without a decoder is a silent channel of the right length; telephone-event and CN are skipped', async () => {
    const mulaw = split(encodeMulaw(sine(1000, 8000, 8000, 8000)), 160);
    const records = rtpTrack(mulaw, { payloadType: 0, ticksPerPacket: 160 });
    // RFC 4733 events (PT 101) and RFC 3389 comfort noise (PT 13) in the same file.
    records.push(
      ...rtpTrack([Uint8Array.from([1, 0x8a, 0, 0xa0])], {
        payloadType: 101,
        ticksPerPacket: 0,
        startMs: 400,
      }),
      ...rtpTrack([Uint8Array.from([0x40])], { payloadType: 13, ticksPerPacket: 0, startMs: 500 }),
    );
    records.sort((a, b) => a.timestampUs - b.timestampUs);
    const audio = await trackFile('with-events.pcap', records);
    const video = await trackFile(
      'aac.pcap',
      rtpTrack([Uint8Array.from([1, 2, 3])], { payloadType: 96, ticksPerPacket: 0 }),
    );
    const { wav, sampleRateHz } = await exportWav(
      [
        { filePath: audio, codec: 'PCMU', payloadType: 0 },
        { filePath: video, codec: 'MP4A-LATM', payloadType: 96, clockRateHz: 90000 },
      ],
      1500,
    );
    assert.equal(sampleRateHz, 8000, 'a codec without a decoder does not raise the rate');
    assert.equal(
      wav.channelSamples[1]?.every((s) => s === 0),
      true,
    );
    assertTone({
      channel: wav.channelSamples[0] as Int16Array,
      rateHz: 8000,
      frequencyHz: 1000,
      amplitude: 8000,
      startMs: TRACK_OFFSET_MS,
      endMs: TRACK_OFFSET_MS + 1000,
      levelToleranceDb: 0.2,
    });
  });

  it('G.729 without ffmpeg is silence of the right length, not a failure', async () => {
    const frames = await encodeG729(sine(1000, 8000, 4000, 8000));
    const filePath = await trackFile(
      'g729-noffmpeg.pcap',
      rtpTrack(frames, { payloadType: 18, ticksPerPacket: 80, packetMs: 10 }),
    );
    const wavExport = await createWavExport({
      tracks: [{ filePath, codec: 'G729', payloadType: 18 }],
      sessionStartMs: SESSION_START_MS,
      durationMs: 1000,
      ffmpegPath: join(tmp.path, 'no-such-ffmpeg'),
    });
    const wav = readWavSamples(await collect(wavExport.open()));
    assert.equal(wav.durationMs, 1000);
    assert.equal(
      wav.channelSamples[0]?.every((s) => s === 0),
      true,
    );
  });

  it('G.729: ffmpeg is stopped when the consumer goes away', async () => {
    const frames = await encodeG729(sine(1000, 8000, 80 * 1000, 8000));
    const filePath = await trackFile(
      'g729-abort.pcap',
      rtpTrack(frames, { payloadType: 18, ticksPerPacket: 80, packetMs: 10 }),
    );
    const children = async (): Promise<string> => {
      try {
        const { stdout } = await execFileAsync('pgrep', ['-P', String(process.pid), 'ffmpeg']);
        return stdout.trim();
      } catch {
        return ''; // pgrep exits 1 when nothing matches.
      }
    };
    const wavExport = await createWavExport({
      tracks: [{ filePath, codec: 'G729', payloadType: 18 }],
      sessionStartMs: SESSION_START_MS,
      durationMs: 10_000,
      chunkDurationMs: 500,
    });
    const stream = wavExport.open();
    const closed = new Promise<void>((resolve) => stream.once('close', resolve));
    let chunks = 0;
    for await (const chunk of stream) {
      assert.ok((chunk as Buffer).length > 0);
      if (++chunks === 3) {
        assert.notEqual(await children(), '', 'ffmpeg runs while the export streams');
        break;
      }
    }
    await closed;
    await waitFor(async () => (await children()) === '', { what: 'ffmpeg to exit', timeoutMs: 5000 });
  });

  it('serves byte ranges of a resampled export equal to the same slice of the whole file', async () => {
    const { filePath: left } = await g722ToneTrack('range-left', 900, 1);
    const right = await trackFile(
      'range-right.pcap',
      rtpTrack(split(encodeMulaw(sine(300, 8000, 8000, 9000)), 160), { payloadType: 0, ticksPerPacket: 160 }),
    );
    const wavExport = await createWavExport({
      tracks: [
        { filePath: left, codec: 'G722', payloadType: 9 },
        { filePath: right, codec: 'PCMU', payloadType: 0 },
      ],
      sessionStartMs: SESSION_START_MS,
      durationMs: 1200,
      chunkDurationMs: 70,
    });
    const whole = await collect(wavExport.open());
    const last = whole.length - 1;
    for (const [start, end] of [
      [0, 43],
      [44, 1000],
      [12_345, 23_456],
      [44 + 4 * 1120 - 2, 44 + 4 * 1120 + 9],
      [50_000, last],
    ] as const) {
      assert.deepEqual(
        await collect(wavExport.open({ start, end })),
        whole.subarray(start, end + 1),
        `${start}-${end}`,
      );
    }
  });
});

describe('G.722 decoder against ffmpeg', () => {
  const tmp = useTempDir('verbatim-g722-');

  it('decodes an ffmpeg-encoded sweep to the same samples ffmpeg decodes', async () => {
    const encoded = join(tmp.path, 'sweep.g722');
    const decoded = join(tmp.path, 'sweep.raw');
    // A 100 Hz–7 kHz sweep with noise exercises both sub-bands and the adaptation.
    await ffmpeg([
      '-f', 'lavfi', '-i', "aevalsrc='0.4*sin(2*PI*(100+1150*t)*t)+0.05*(random(0)-0.5)':s=16000:d=3",
      '-c:a', 'g722', '-f', 'g722', encoded,
    ]); // prettier-ignore
    await ffmpeg(['-f', 'g722', '-i', encoded, '-f', 's16le', '-ac', '1', decoded]);
    const bitstream = new Uint8Array(await readFile(encoded));
    const referenceBytes = await readFile(decoded);
    const reference = new Int16Array(
      referenceBytes.buffer.slice(
        referenceBytes.byteOffset,
        referenceBytes.byteOffset + referenceBytes.length,
      ),
    );
    assert.equal(reference.length, bitstream.length * 2);
    // Decoded packet by packet: the state must carry over between packets.
    const decoder = new G722Decoder();
    const ours = new Int16Array(bitstream.length * 2);
    for (let offset = 0; offset < bitstream.length; offset += 160) {
      decoder.decode(bitstream.subarray(offset, offset + 160), ours, offset * 2);
    }
    let signal = 0;
    let noise = 0;
    for (let i = 0; i < reference.length; i++) {
      const r = reference[i] as number;
      signal += r * r;
      noise += (r - (ours[i] as number)) ** 2;
    }
    const snrDb = noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
    assert.ok(snrDb > 60, `SNR against ffmpeg ${snrDb.toFixed(1)} dB`);
  });
});
