import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { ALAW_TO_LINEAR, MULAW_TO_LINEAR } from '../../src/protocol/codec/g711.js';
import { WAV_UNKNOWN_DATA_BYTES, encodeWavHeader } from '../../src/protocol/container/wav.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { WavExportError, createWavExport, type WavExportOptions } from '../../src/playback/wav-export.js';
import {
  buildPcapFile,
  dominantFrequencyHz,
  findSilences,
  readWavSamples,
  silencesPerChannel,
  sineG711Packets,
  type CapturedDatagram,
  type SinePacket,
} from '../support/audio.js';

const execFileAsync = promisify(execFile);
const SESSION_START_MS = 1_700_000_000_000;
const SAMPLES_PER_MS = 8;

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Arrival of a packet `ms` after the session start, plus a deterministic jitter of 0–14 ms. */
function arrivalUs(ms: number, index: number, jitter = true): number {
  return (SESSION_START_MS + ms) * 1000 + (jitter ? ((index * 7919) % 15) * 1000 : 0);
}

function capture(packet: SinePacket, ms: number, index: number, jitter = true): CapturedDatagram {
  return { timestampUs: arrivalUs(ms, index, jitter), datagram: packet.datagram };
}

/** Places decoded payloads into an expected channel, as the export should. */
function place(expected: Int16Array, table: Int16Array, payload: Uint8Array, startSample: number): void {
  for (let i = 0; i < payload.length; i++) {
    const at = startSample + i;
    if (at >= 0 && at < expected.length) {
      expected[at] = table[payload[i] ?? 0xff] ?? 0;
    }
  }
}

describe('WAV export of a two-track G.711 session', () => {
  let dir: string;
  const durationMs = 3000;
  const frames = durationMs * SAMPLES_PER_MS;
  const expectedLeft = new Int16Array(frames);
  const expectedRight = new Int16Array(frames);
  let options: WavExportOptions;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-wav-'));
    // Track 0: 440 Hz µ-law from the session start, 3.2 s (longer than the session: cut).
    const left = sineG711Packets({
      codec: 'PCMU',
      frequencyHz: 440,
      count: 160,
      ssrc: 0x1111,
      firstTimestamp: 4_294_960_000,
    });
    const leftRecords: CapturedDatagram[] = [];
    left.forEach((packet, i) => {
      if (i === 10) {
        return; // Lost.
      }
      if (i === 30) {
        return; // Reordered: written after 31.
      }
      leftRecords.push(capture(packet, i * 20, i));
      place(expectedLeft, MULAW_TO_LINEAR, packet.payload, i * 160);
      if (i === 31) {
        const late = left[30] as SinePacket;
        leftRecords.push(capture(late, 31 * 20 + 5, 30, false));
        place(expectedLeft, MULAW_TO_LINEAR, late.payload, 30 * 160);
      }
      if (i === 22) {
        // A duplicate of packet 20 with different (loud) content: the first copy wins.
        const first = left[20] as SinePacket;
        const copy = serializeRtpPacket(
          {
            marker: false,
            payloadType: 0,
            sequenceNumber: first.sequenceNumber,
            timestamp: first.timestamp,
            ssrc: 0x1111,
          },
          new Uint8Array(160).fill(0x80),
        );
        leftRecords.push({ timestampUs: arrivalUs(22 * 20 + 1, 0, false), datagram: copy });
      }
      if (i >= 50 && i < 55) {
        // RFC 4733 telephone-event and an RTCP receiver report on the same stream: skipped.
        const event = serializeRtpPacket(
          {
            marker: i === 50,
            payloadType: 101,
            sequenceNumber: 60000 + i,
            timestamp: packet.timestamp,
            ssrc: 0x1111,
          },
          Uint8Array.from([5, 0x0a, 0x00, 0xa0]),
        );
        leftRecords.push({ timestampUs: arrivalUs(i * 20 + 2, 0, false), datagram: event });
        leftRecords.push({
          timestampUs: arrivalUs(i * 20 + 3, 0, false),
          datagram: Uint8Array.from([0x80, 201, 0, 1, 0, 0, 0x11, 0x11]),
        });
      }
    });
    // Track 1: 1000 Hz A-law starting 500 ms after track 0.
    const right = sineG711Packets({
      codec: 'PCMA',
      frequencyHz: 1000,
      count: 125,
      ssrc: 0x2222,
      amplitude: 12000,
    });
    const rightRecords = right.map((packet, i) => capture(packet, 500 + i * 20, i));
    right.forEach((packet, i) => place(expectedRight, ALAW_TO_LINEAR, packet.payload, 4000 + i * 160));

    await writeFile(join(dir, 'track0.pcap'), buildPcapFile(leftRecords));
    await writeFile(join(dir, 'track1.pcap'), buildPcapFile(rightRecords));
    options = {
      tracks: [
        { filePath: join(dir, 'track0.pcap'), codec: 'PCMU', payloadType: 0 },
        { filePath: join(dir, 'track1.pcap'), codec: 'PCMA', payloadType: 8 },
      ],
      sessionStartMs: SESSION_START_MS,
      durationMs,
    };
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('produces exactly the duration, with each signal on its channel and gaps as zeros', async () => {
    const wavExport = await createWavExport(options);
    assert.equal(wavExport.totalBytes, 44 + frames * 4);
    const bytes = await collect(wavExport.open());
    assert.equal(bytes.length, wavExport.totalBytes);
    const wav = readWavSamples(bytes);
    assert.equal(wav.sampleRateHz, 8000);
    assert.equal(wav.channels, 2);
    assert.equal(wav.durationMs, durationMs);
    const [leftChannel, rightChannel] = wav.channelSamples as [Int16Array, Int16Array];
    assert.deepEqual(leftChannel, expectedLeft);
    assert.deepEqual(rightChannel, expectedRight);
    assert.equal(dominantFrequencyHz(leftChannel, 8000, 0, 1600), 440);
    assert.equal(dominantFrequencyHz(leftChannel, 8000, 16000, 8000), 440);
    assert.equal(dominantFrequencyHz(rightChannel, 8000, 4000, 8000), 1000);
    assert.deepEqual(silencesPerChannel(wav, { minDurationMs: 5 }), [
      [{ startMs: 200, endMs: 220 }],
      [{ startMs: 0, endMs: 500 }],
    ]);
  });

  it('serves any byte range equal to the same slice of the whole file', async () => {
    const small = await createWavExport({ ...options, chunkDurationMs: 250 });
    const whole = await collect(small.open());
    const reference = await collect((await createWavExport(options)).open());
    assert.deepEqual(whole, reference);
    const last = whole.length - 1;
    const ranges = [
      [0, 0],
      [0, 43],
      [10, 50],
      [44, 44],
      [44, 8043],
      [8043, 8044],
      [8044, 8044 + 7999],
      [12345, 67890],
      [44 + 4 * 4000 - 3, 44 + 4 * 4000 + 1],
      [last - 5, last],
      [last, last],
      [0, last],
    ] as const;
    for (const [start, end] of ranges) {
      const part = await collect(small.open({ start, end }));
      assert.deepEqual(part, whole.subarray(start, end + 1), `range ${start}-${end}`);
    }
    assert.throws(() => small.open({ start: 0, end: last + 1 }), RangeError);
    assert.throws(() => small.open({ start: 5, end: 4 }), RangeError);
  });

  it('is read by ffprobe as 8 kHz stereo 16-bit PCM of the session duration', async () => {
    const path = join(dir, 'export.wav');
    await writeFile(path, await collect((await createWavExport(options)).open()));
    const { stdout } = await execFileAsync('ffprobe', [
      '-v',
      'error',
      '-show_streams',
      '-show_format',
      '-of',
      'json',
      path,
    ]);
    const probe = JSON.parse(stdout) as {
      streams: { codec_name: string; sample_rate: string; channels: number; duration: string }[];
    };
    const stream = probe.streams[0];
    assert.equal(stream?.codec_name, 'pcm_s16le');
    assert.equal(stream.sample_rate, '8000');
    assert.equal(stream.channels, 2);
    assert.equal(Number(stream.duration), 3);
  });

  it('writes a header that ffprobe accepts with an unknown data length', async () => {
    const path = join(dir, 'unknown-length.wav');
    const header = encodeWavHeader({
      sampleRateHz: 8000,
      channels: 1,
      bitsPerSample: 16,
      dataBytes: WAV_UNKNOWN_DATA_BYTES,
    });
    await writeFile(path, Buffer.concat([header, Buffer.alloc(16000)]));
    const { stdout } = await execFileAsync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', path]);
    const probe = JSON.parse(stdout) as {
      streams: { codec_name: string; sample_rate: string; channels: number }[];
    };
    assert.equal(probe.streams[0]?.codec_name, 'pcm_s16le');
    assert.equal(probe.streams[0].channels, 1);
  });

  it('ignores a torn tail left by a crash', async () => {
    const torn = join(dir, 'torn.pcap');
    const left = options.tracks[0];
    assert.ok(left !== undefined);
    const { readFile } = await import('node:fs/promises');
    const original = await readFile(left.filePath);
    await writeFile(torn, original);
    await appendFile(torn, original.subarray(24, 24 + 50));
    const tornExport = await createWavExport({
      ...options,
      tracks: [{ ...left, filePath: torn }, options.tracks[1]],
    });
    const wav = readWavSamples(await collect(tornExport.open()));
    assert.deepEqual(wav.channelSamples[0], expectedLeft);
  });

  it('stops reading when the consumer goes away', async () => {
    const stream = (await createWavExport({ ...options, chunkDurationMs: 100 })).open();
    const closed = new Promise<void>((resolve) => stream.once('close', resolve));
    for await (const chunk of stream) {
      assert.ok((chunk as Buffer).length > 0);
      break;
    }
    await closed;
    assert.equal(stream.destroyed, true);
  });
});

describe('WAV export alignment', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-wav-align-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function exportOne(
    name: string,
    records: CapturedDatagram[],
    durationMs: number,
  ): Promise<Int16Array> {
    const filePath = join(dir, name);
    await writeFile(filePath, buildPcapFile(records));
    const wavExport = await createWavExport({
      tracks: [{ filePath, codec: 'pcmu', payloadType: 0 }],
      sessionStartMs: SESSION_START_MS,
      durationMs,
    });
    const wav = readWavSamples(await collect(wavExport.open()));
    assert.equal(
      wav.channelSamples[1]?.every((s) => s === 0),
      true,
      'no second track: silent right channel',
    );
    return wav.channelSamples[0] as Int16Array;
  }

  it('places packets by RTP timestamp across silence suppression, ignoring arrival jitter', async () => {
    const packets = sineG711Packets({ codec: 'PCMU', frequencyHz: 300, count: 75 });
    // 0–500 ms talk, 500–1000 ms suppressed, 1000–1500 ms talk arriving 40 ms late (within the threshold).
    const records = packets
      .filter((_, i) => i < 25 || i >= 50)
      .map((packet, i) => capture(packet, packet.firstSampleIndex / 8 + (i >= 25 ? 40 : 0), i));
    const left = await exportOne('dtx.pcap', records, 1600);
    const expected = new Int16Array(1600 * 8);
    packets.forEach((packet, i) => {
      if (i < 25 || i >= 50) {
        place(expected, MULAW_TO_LINEAR, packet.payload, packet.firstSampleIndex);
      }
    });
    assert.deepEqual(left, expected);
    // The sine itself crosses zero exactly at some samples next to the gaps, hence the rounding.
    const silences = findSilences(left, 8000, { minDurationMs: 50 }).map((s) => ({
      startMs: Math.round(s.startMs),
      endMs: Math.round(s.endMs),
    }));
    assert.deepEqual(silences, [
      { startMs: 500, endMs: 1000 },
      { startMs: 1500, endMs: 1600 },
    ]);
  });

  it('re-anchors on an SSRC change, a timestamp jump and a talkspurt whose timestamps did not count the pause', async () => {
    const runA = sineG711Packets({
      codec: 'PCMU',
      frequencyHz: 500,
      count: 25,
      ssrc: 0xa,
      firstTimestamp: 1000,
    });
    // SSRC change: a new stream arrives at 700 ms with unrelated timestamps.
    const runB = sineG711Packets({
      codec: 'PCMU',
      frequencyHz: 700,
      count: 10,
      ssrc: 0xb,
      firstTimestamp: 99_999_999,
    });
    // Same SSRC, timestamps jump 10 s ahead while arrivals continue at 1000 ms.
    const runC = sineG711Packets({
      codec: 'PCMU',
      frequencyHz: 900,
      count: 10,
      ssrc: 0xb,
      firstTimestamp: 99_999_999 + 1600 + 80_000,
      firstSequenceNumber: 1010,
    });
    // Same SSRC, sequence numbers and timestamps go on from runC, but this talkspurt (its first
    // packet has the marker bit) arrives 300 ms later than they say: the sender did not count the
    // pause on its clock, so it starts a new run at its arrival. (Without the marker this is a
    // delay and is placed by timestamp: track-timeline-placement.test.ts.)
    const runD = sineG711Packets({
      codec: 'PCMU',
      frequencyHz: 1100,
      count: 10,
      ssrc: 0xb,
      firstTimestamp: 99_999_999 + 1600 + 80_000 + 1600,
      firstSequenceNumber: 1020,
    });
    const records = [
      ...runA.map((p, i) => capture(p, i * 20, i, false)),
      ...runB.map((p, i) => capture(p, 700 + i * 20, i, false)),
      ...runC.map((p, i) => capture(p, 1000 + i * 20, i, false)),
      ...runD.map((p, i) => capture(p, 1500 + i * 20, i, false)),
    ];
    const left = await exportOne('reanchor.pcap', records, 2000);
    const expected = new Int16Array(2000 * 8);
    runA.forEach((p, i) => place(expected, MULAW_TO_LINEAR, p.payload, i * 160));
    runB.forEach((p, i) => place(expected, MULAW_TO_LINEAR, p.payload, 700 * 8 + i * 160));
    runC.forEach((p, i) => place(expected, MULAW_TO_LINEAR, p.payload, 1000 * 8 + i * 160));
    runD.forEach((p, i) => place(expected, MULAW_TO_LINEAR, p.payload, 1500 * 8 + i * 160));
    assert.deepEqual(left, expected);
    assert.equal(dominantFrequencyHz(left, 8000, 700 * 8, 1600), 700);
    assert.equal(dominantFrequencyHz(left, 8000, 1000 * 8, 1600), 900);
    assert.equal(dominantFrequencyHz(left, 8000, 1500 * 8, 1600), 1100);
  });

  it('cuts audio that arrived before the session start', async () => {
    const packets = sineG711Packets({ codec: 'PCMU', frequencyHz: 440, count: 20 });
    const records = packets.map((p, i) => capture(p, -100 + i * 20, i, false));
    const left = await exportOne('early.pcap', records, 500);
    const expected = new Int16Array(500 * 8);
    packets.forEach((p, i) => place(expected, MULAW_TO_LINEAR, p.payload, -800 + i * 160));
    assert.deepEqual(left, expected);
    assert.notEqual(left[1], 0);
  });
});

describe('WAV export errors', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-wav-err-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function code(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof WavExportError);
      return error.code;
    }
    assert.fail('expected a WavExportError');
  }

  it('rejects a missing track file and a file that is not pcap, but not a codec without a decoder', async () => {
    const base = { sessionStartMs: SESSION_START_MS, durationMs: 1000 };
    assert.equal(
      await code(
        createWavExport({
          ...base,
          tracks: [{ filePath: join(dir, 'none.pcap'), codec: 'PCMU', payloadType: 0 }],
        }),
      ),
      'VERBATIM_ERR_PLAYBACK_TRACK_MISSING',
    );
    const notPcap = join(dir, 'not.pcap');
    await writeFile(notPcap, Buffer.alloc(100, 0x41));
    assert.equal(
      await code(
        createWavExport({ ...base, tracks: [{ filePath: notPcap, codec: 'PCMU', payloadType: 0 }] }),
      ),
      'VERBATIM_ERR_PLAYBACK_TRACK_CORRUPT',
    );
    // A codec without a decoder is never an error: the channel is silent and its file unread.
    const video = await createWavExport({
      ...base,
      tracks: [{ filePath: notPcap, codec: 'H264', payloadType: 96 }],
    });
    const silent = await collect(video.open());
    assert.equal(silent.length, 44 + 8000 * 4);
    assert.equal(
      silent.subarray(44).every((b) => b === 0),
      true,
    );
    assert.equal(
      await code(createWavExport({ ...base, durationMs: -1, tracks: [] })),
      'VERBATIM_ERR_PLAYBACK_BAD_OPTIONS',
    );
  });

  it('exports an empty track file (nothing recorded yet) as silence', async () => {
    const empty = join(dir, 'empty.pcap');
    await writeFile(empty, new Uint8Array(0));
    const wavExport = await createWavExport({
      tracks: [undefined, { filePath: empty, codec: 'PCMA', payloadType: 8 }],
      sessionStartMs: SESSION_START_MS,
      durationMs: 100,
    });
    const bytes = await collect(wavExport.open());
    assert.equal(bytes.length, 44 + 800 * 4);
    assert.equal(
      bytes.subarray(44).every((b) => b === 0),
      true,
    );
  });
});
