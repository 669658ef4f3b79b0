import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Mp4ExportError, exportSessionMp4 } from '../../src/playback/mp4-export.js';
import {
  buildPcapFile,
  dominantFrequencyHz,
  sineG711Packets,
  type CapturedDatagram,
} from '../support/audio.js';
import { sampleSession } from '../support/fake-repository.js';
import { useTempDir } from '../support/temp-dir.js';

const execFileAsync = promisify(execFile);
const START_MS = 1_700_000_000_000;

/** A track file of `seconds` of a µ-law tone, arriving in real time from the session start. */
function toneTrack(frequencyHz: number, seconds: number, ssrc: number): Uint8Array {
  const packets = sineG711Packets({ codec: 'PCMU', frequencyHz, count: seconds * 50, ssrc });
  return buildPcapFile(
    packets.map((packet, i) => ({ timestampUs: (START_MS + i * 20) * 1000, datagram: packet.datagram })),
  );
}

async function probe(path: string): Promise<{ codec: string; channels: number; durationS: number }> {
  const { stdout } = await execFileAsync('ffprobe', [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_streams',
    '-show_format',
    path,
  ]);
  const info = JSON.parse(stdout) as {
    streams: { codec_type: string; codec_name: string; channels?: number }[];
    format: { duration: string };
  };
  const audio = info.streams.find((s) => s.codec_type === 'audio');
  return {
    codec: audio?.codec_name ?? '',
    channels: audio?.channels ?? 0,
    durationS: Number(info.format.duration),
  };
}

/** The MP4 decoded back to 8 kHz 16-bit PCM, one array per channel. */
export async function decodeChannels(path: string): Promise<Int16Array[]> {
  const { stdout } = await execFileAsync(
    'ffmpeg',
    ['-v', 'error', '-i', path, '-map', '0:a', '-f', 's16le', '-ar', '8000', '-ac', '2', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  const all = new Int16Array(stdout.buffer, stdout.byteOffset, stdout.length / 2);
  const left = new Int16Array(all.length / 2);
  const right = new Int16Array(all.length / 2);
  for (let i = 0; i < left.length; i++) {
    left[i] = all[2 * i] ?? 0;
    right[i] = all[2 * i + 1] ?? 0;
  }
  return [left, right];
}

describe('MP4 export of a two-track G.711 session', () => {
  const dir = useTempDir('verbatim-mp4-');

  it('writes AAC stereo with track 0 left and track 1 right, as long as the session', async () => {
    const session = sampleSession({ sessionStartDate: START_MS, sessionDuration: 4000 });
    const mediaDir = join(dir.path, 'media');
    await mkdir(join(mediaDir, session.sessionId), { recursive: true });
    await writeFile(join(mediaDir, session.sessionId, 'track-0.pcap'), toneTrack(440, 4, 1));
    await writeFile(join(mediaDir, session.sessionId, 'track-1.pcap'), toneTrack(1000, 4, 2));
    const outPath = join(dir.path, 'out.mp4');
    const progress: number[] = [];
    await exportSessionMp4({ session, mediaDir, outPath, onProgress: (f) => progress.push(f) });
    const info = await probe(outPath);
    assert.equal(info.codec, 'aac');
    assert.equal(info.channels, 2);
    assert.ok(Math.abs(info.durationS - 4) < 0.1, `duration ${info.durationS}`);
    const [left, right] = await decodeChannels(outPath);
    assert.ok(left !== undefined && right !== undefined);
    const mid = 8000;
    assert.ok(Math.abs(dominantFrequencyHz(left, 8000, mid, 8000) - 440) < 10);
    assert.ok(Math.abs(dominantFrequencyHz(right, 8000, mid, 8000) - 1000) < 10);
    assert.equal(progress.at(-1), 1);
    assert.ok(
      progress.every((f, i) => i === 0 || f >= (progress[i - 1] ?? 0)),
      'progress never goes back',
    );
    // No temporary file is left beside the result.
    assert.deepEqual(await readdir(dir.path), ['media', 'out.mp4']);
  });

  it('fails clearly and leaves no file when ffmpeg fails', async () => {
    const session = sampleSession({ sessionStartDate: START_MS, sessionDuration: 1000 });
    const outPath = join(dir.path, 'failed.mp4');
    await assert.rejects(
      exportSessionMp4({ session, mediaDir: join(dir.path, 'media'), outPath, ffmpegPath: '/bin/false' }),
      (error: unknown) =>
        error instanceof Mp4ExportError && error.code === 'VERBATIM_ERR_PLAYBACK_FFMPEG_FAILED',
    );
    assert.ok(!(await readdir(dir.path)).some((name) => name.includes('failed')));
  });

  it('stops ffmpeg and leaves no file when aborted', async () => {
    const session = sampleSession({ sessionStartDate: START_MS, sessionDuration: 600_000 });
    const outPath = join(dir.path, 'aborted.mp4');
    const controller = new AbortController();
    const done = exportSessionMp4({
      session,
      mediaDir: join(dir.path, 'media'),
      outPath,
      signal: controller.signal,
      onProgress: (f) => {
        if (f > 0) {
          controller.abort(new Error('gone'));
        }
      },
    });
    await assert.rejects(done, /gone/);
    assert.ok(!(await readdir(dir.path)).some((name) => name.includes('aborted')));
  });
});

/**
 * H.264 RTP as ffmpeg sends it (libx264 baseline, 15 frames/s, FU-A for large NAL units), captured
 * on a loopback socket with arrival times shifted so that the first packet arrives `offsetMs` after
 * the session start.
 */
async function h264Capture(seconds: number, offsetMs: number): Promise<CapturedDatagram[]> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  const received: CapturedDatagram[] = [];
  socket.on('message', (message: Buffer) => {
    const payloadType = (message[1] ?? 0) & 0x7f;
    if (payloadType === 96) {
      received.push({
        timestampUs: Number(process.hrtime.bigint() / 1000n),
        datagram: new Uint8Array(message),
      });
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    await execFileAsync('ffmpeg', [
      '-v',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=320x240:rate=15:d=${seconds}`,
      '-c:v',
      'libx264',
      '-profile:v',
      'baseline',
      '-pix_fmt',
      'yuv420p',
      '-g',
      '15',
      '-bf',
      '0',
      '-f',
      'rtp',
      '-payload_type',
      '96',
      `rtp://127.0.0.1:${socket.address().port}?pkt_size=1200`,
    ]);
  } finally {
    socket.close();
  }
  const firstUs = received[0]?.timestampUs ?? 0;
  return received.map((d) => ({ ...d, timestampUs: d.timestampUs - firstUs + (START_MS + offsetMs) * 1000 }));
}

describe('MP4 export of a session with H.264 video', () => {
  const dir = useTempDir('verbatim-mp4-video-');

  it('carries the recorded H.264 frames, at their place on the session timeline, with the audio', async () => {
    const session = sampleSession({ sessionStartDate: START_MS, sessionDuration: 4000 });
    const videoTrack = {
      ...session.tracks[0]!,
      trackNumber: 2,
      trackMediaType: 'VIDEO' as const,
      codec: 'H264',
      payloadType: 96,
      clockRateHz: 90000,
      mediaPath: `${session.sessionId}/track-2.pcap`,
    };
    const withVideo = { ...session, tracks: [...session.tracks, videoTrack] };
    const mediaDir = join(dir.path, 'media');
    await mkdir(join(mediaDir, session.sessionId), { recursive: true });
    await writeFile(join(mediaDir, session.sessionId, 'track-0.pcap'), toneTrack(440, 4, 1));
    await writeFile(join(mediaDir, session.sessionId, 'track-1.pcap'), toneTrack(1000, 4, 2));
    await writeFile(
      join(mediaDir, session.sessionId, 'track-2.pcap'),
      buildPcapFile(await h264Capture(2, 1000)),
    );
    const outPath = join(dir.path, 'video.mp4');
    await exportSessionMp4({ session: withVideo, mediaDir, outPath });
    const { stdout } = await execFileAsync('ffprobe', [
      '-v',
      'error',
      '-count_frames',
      '-print_format',
      'json',
      '-show_streams',
      '-show_format',
      outPath,
    ]);
    const info = JSON.parse(stdout) as {
      streams: {
        codec_type: string;
        codec_name: string;
        start_time: string;
        nb_read_frames?: string;
        width?: number;
      }[];
      format: { duration: string };
    };
    const video = info.streams.find((s) => s.codec_type === 'video');
    const audio = info.streams.find((s) => s.codec_type === 'audio');
    assert.equal(audio?.codec_name, 'aac');
    assert.equal(video?.codec_name, 'h264');
    assert.equal(video.width, 320);
    // 2 s at 15 frames/s; a frame or two may be lost on loopback or cut at the end.
    assert.ok(Math.abs(Number(video.nb_read_frames) - 30) <= 3, `frames ${video.nb_read_frames}`);
    assert.ok(Math.abs(Number(video.start_time) - 1) < 0.1, `video starts at ${video.start_time}`);
    assert.ok(Math.abs(Number(info.format.duration) - 4) < 0.15, `duration ${info.format.duration}`);
    const [left, right] = await decodeChannels(outPath);
    assert.ok(Math.abs(dominantFrequencyHz(left!, 8000, 8000, 8000) - 440) < 10);
    assert.ok(Math.abs(dominantFrequencyHz(right!, 8000, 8000, 8000) - 1000) < 10);
  });
});

describe('MP4 export of a long call, encoded in two halves at once', () => {
  const dir = useTempDir('verbatim-mp4-split-');

  it('joins the halves without a gap, a repeat or a click, and keeps the length', async () => {
    const seconds = 90;
    const session = sampleSession({ sessionStartDate: START_MS, sessionDuration: seconds * 1000 });
    const mediaDir = join(dir.path, 'media');
    await mkdir(join(mediaDir, session.sessionId), { recursive: true });
    await writeFile(join(mediaDir, session.sessionId, 'track-0.pcap'), toneTrack(440, seconds, 1));
    await writeFile(join(mediaDir, session.sessionId, 'track-1.pcap'), toneTrack(1000, seconds, 2));
    const outPath = join(dir.path, 'split.mp4');
    await exportSessionMp4({ session, mediaDir, outPath, splitMinMs: 60_000 });
    const info = await probe(outPath);
    assert.equal(info.codec, 'aac');
    assert.equal(info.channels, 2);
    // Up to one AAC frame (128 ms) of padding may remain at the end of a joined file.
    assert.ok(
      info.durationS >= seconds - 0.01 && info.durationS <= seconds + 0.14,
      `duration ${info.durationS}`,
    );
    const channels = await decodeChannels(outPath);
    // The join is at the last whole AAC frame before the middle: 45 s, give or take 128 ms.
    const join0 = Math.floor((seconds * 8000) / 2 / 1024) * 1024;
    for (const [index, samples] of channels.entries()) {
      const expectedHz = index === 0 ? 440 : 1000;
      // 20 ms windows across the join and one second around it: the tone, at an even level.
      const levels: number[] = [];
      for (let at = join0 - 8000; at < join0 + 8000; at += 160) {
        let energy = 0;
        for (let i = at; i < at + 160; i++) {
          energy += (samples[i] ?? 0) ** 2;
        }
        levels.push(Math.sqrt(energy / 160));
      }
      const median = [...levels].sort((a, b) => a - b)[levels.length >> 1] ?? 0;
      assert.ok(median > 1000, `channel ${index} carries its tone`);
      for (const [i, level] of levels.entries()) {
        assert.ok(
          Math.abs(level - median) < median * 0.1,
          `channel ${index}: level ${level} vs ${median} at window ${i - 50} from the join`,
        );
      }
      for (const at of [join0 - 4000, join0 - 400, join0 + 400, join0 + 4000]) {
        assert.ok(
          Math.abs(dominantFrequencyHz(samples, 8000, at, 800) - expectedHz) < 15,
          `channel ${index} at ${at}`,
        );
      }
      // No repeat or gap: the tone's phase runs on across the join (a shift of even one sample
      // would show at 1000 Hz), compared with the sine the track carries.
      let error = 0;
      let signal = 0;
      for (let i = join0 - 800; i < join0 + 800; i++) {
        const expected = 8000 * Math.sin((2 * Math.PI * expectedHz * i) / 8000);
        error += ((samples[i] ?? 0) - expected) ** 2;
        signal += expected ** 2;
      }
      assert.ok(
        10 * Math.log10(signal / error) > 15,
        `channel ${index}: ${(10 * Math.log10(signal / error)).toFixed(1)} dB at the join`,
      );
    }
  });
});
