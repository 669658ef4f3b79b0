import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './processes.js';
import type { Recorder } from './recorder.js';
import { sessionUrlOf } from './step-export.js';
import type { SynthCall } from './synth-call.js';

/**
 * Step mp4: the MP4 (AAC) export of the same long two-track G.711 call as the export step, as a
 * client gets it: the session's mp4Url from getSessions, then an HTTP GET timed to the last byte.
 * The first request converts (ffmpeg encoding AAC from the shared timeline); a second request is
 * timed too, to show the cached file being served. The file is checked with ffprobe (AAC, two
 * channels, as long as the call), so a short or broken answer cannot pass for a fast one.
 */

export interface Mp4Result {
  readonly audioSeconds: number;
  /** The first request: conversion and download. */
  readonly convertSeconds: number;
  /** A second request, served from the cache. */
  readonly cachedSeconds: number;
  readonly bytes: number;
  readonly probedSeconds: number;
  /** convertSeconds scaled to one hour of audio. */
  readonly mp4ExportSecondsPerHour: number;
}

const execFileAsync = promisify(execFile);

async function timedDownload(url: string, jsessionId: string): Promise<{ seconds: number; body: Buffer }> {
  const started = performance.now();
  const response = await fetch(url, { headers: { cookie: `JSESSIONID=${jsessionId}` } });
  if (response.status !== 200) {
    throw new Error(`GET ${url} answered ${response.status}: ${await response.text()}`);
  }
  const body = Buffer.from(await response.arrayBuffer());
  return { seconds: (performance.now() - started) / 1000, body };
}

export async function runMp4Export(recorder: Recorder, call: SynthCall): Promise<Mp4Result> {
  const url = await sessionUrlOf(recorder, call, 'mp4Url');
  const first = await timedDownload(url, recorder.jsessionId);
  const cached = await timedDownload(url, recorder.jsessionId);
  if (!first.body.equals(cached.body)) {
    throw new Error('the cached MP4 differs from the one first served');
  }
  const dir = await makeTempDir('verbatim-bench-mp4-');
  const path = join(dir, 'call.mp4');
  await writeFile(path, first.body);
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
    streams: { codec_name?: string; channels?: number }[];
    format: { duration?: string };
  };
  const audio = info.streams[0];
  const audioSeconds = call.durationMs / 1000;
  const probedSeconds = Number(info.format.duration);
  if (audio?.codec_name !== 'aac' || audio.channels !== 2 || Math.abs(probedSeconds - audioSeconds) > 0.5) {
    throw new Error(
      `the MP4 is not the call: ${audio?.codec_name ?? 'no stream'}, ${audio?.channels ?? 0} channels, ${probedSeconds} s of ${audioSeconds} s`,
    );
  }
  return {
    audioSeconds,
    convertSeconds: first.seconds,
    cachedSeconds: cached.seconds,
    bytes: first.body.length,
    probedSeconds,
    mp4ExportSecondsPerHour: (first.seconds * 3600) / audioSeconds,
  };
}
