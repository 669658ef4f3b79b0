import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { readWavSamples, type WavSamples } from './audio.js';
import { spawnTracked, waitExit, type Spawned } from './processes.js';

/**
 * RTSP clients for tests: ffmpeg and GStreamer pulling a URL into WAV files, and a raw socket
 * for requests a player would not send.
 */

export interface PullOptions {
  readonly transport: 'tcp' | 'udp';
  /** The audio streams to keep (`-map 0:a:N`), one WAV each. */
  readonly audioStreams: readonly number[];
  readonly seekS?: number;
  readonly work: string;
  readonly name: string;
  readonly timeoutMs?: number;
}

export interface PullResult {
  readonly code: number | string;
  readonly wavs: WavSamples[];
  readonly elapsedMs: number;
  readonly process: Spawned;
}

/** `ffmpeg -rtsp_transport … -i URL -map 0:a:N out-N.wav …`: each stream decoded to 8 kHz mono. */
export async function pullWithFfmpeg(url: string, options: PullOptions): Promise<PullResult> {
  const outputs = options.audioStreams.map((n) => join(options.work, `${options.name}-${n}.wav`));
  const args = [
    '-nostdin',
    '-hide_banner',
    '-loglevel',
    'warning',
    '-rtsp_transport',
    options.transport,
    ...(options.seekS === undefined ? [] : ['-ss', String(options.seekS)]),
    '-i',
    url,
    ...options.audioStreams.flatMap((n, i) => [
      '-map',
      `0:a:${n}`,
      '-c:a',
      'pcm_s16le',
      '-ar',
      '8000',
      '-ac',
      '1',
      '-y',
      outputs[i] ?? '',
    ]),
  ];
  const started = Date.now();
  const proc = spawnTracked(`ffmpeg ${options.name}`, 'ffmpeg', args);
  const code = await waitExit(proc, options.timeoutMs ?? 30_000);
  const elapsedMs = Date.now() - started;
  const wavs: WavSamples[] = [];
  if (code === 0) {
    for (const output of outputs) {
      wavs.push(readWavSamples(new Uint8Array(await readFile(output))));
    }
  }
  return { code, wavs, elapsedMs, process: proc };
}

/** `gst-launch-1.0 rtspsrc location=URL ! rtppcmudepay ! mulawdec ! wavenc ! filesink` (a PCMU stream). */
export async function pullPcmuWithGstreamer(
  url: string,
  options: { work: string; name: string; timeoutMs?: number; user?: string; password?: string },
): Promise<{ code: number | string; wav?: WavSamples; process: Spawned }> {
  const output = join(options.work, `${options.name}.wav`);
  const credentials =
    options.user === undefined ? [] : [`user-id=${options.user}`, `user-pw=${options.password ?? ''}`];
  const proc = spawnTracked(`gst-launch ${options.name}`, 'gst-launch-1.0', [
    '-q',
    '-e',
    'rtspsrc',
    `location=${url}`,
    ...credentials,
    'protocols=tcp',
    '!',
    'rtppcmudepay',
    '!',
    'mulawdec',
    '!',
    'audioconvert',
    '!',
    'wavenc',
    '!',
    'filesink',
    `location=${output}`,
  ]);
  const code = await waitExit(proc, options.timeoutMs ?? 30_000);
  if (code !== 0) {
    return { code, process: proc };
  }
  return { code, wav: readWavSamples(new Uint8Array(await readFile(output))), process: proc };
}

/**
 * Sends raw bytes on a fresh connection and collects what comes back until `until` holds for the
 * text received (or the server closes); resolves with it and whether the server closed.
 */
export function rawRtsp(
  port: number,
  request: string | Uint8Array,
  until: (text: string) => boolean = (text) => text.includes('\r\n\r\n'),
  timeoutMs = 5000,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete RTSP answer within ${timeoutMs} ms; got:\n${text}`));
    }, timeoutMs);
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (until(text)) {
        finish(false);
      }
    });
    socket.on('close', () => {
      finish(true);
    });
    socket.on('error', () => undefined);
    socket.write(request);
  });
}

/** The header values of a name in an RTSP response text. */
export function responseHeaders(text: string, name: string): string[] {
  const head = text.split('\r\n\r\n')[0] ?? '';
  return head
    .split('\r\n')
    .filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((line) => line.slice(name.length + 1).trim());
}
