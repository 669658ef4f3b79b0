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
  // Not -q: "Got EOS from element" is how a finished play is told from a failed one.
  const proc = spawnTracked(`gst-launch ${options.name}`, 'gst-launch-1.0', [
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
  const exitCode = await waitExit(proc, options.timeoutMs ?? 30_000);
  const code = exitCode !== 0 && onlyTheShutdownRace(proc.output()) ? 0 : exitCode;
  if (code !== 0) {
    return { code, process: proc };
  }
  return { code, wav: readWavSamples(new Uint8Array(await readFile(output))), process: proc };
}

/**
 * gst-launch (GStreamer 1.22) exits 1 now and then after a complete play. At EOS it takes the
 * pipeline down; rtspsrc's CLOSE command (PAUSED to READY) flushes the connection while its own
 * PAUSE (PLAYING to PAUSED) is being sent, and the PAUSE fails with "Could not send message.
 * (Received end-of-file)". The server never sees that PAUSE and answers the TEARDOWN that follows
 * on the same connection (seen with GST_DEBUG=rtspsrc:5). A run whose EOS came first and whose
 * only errors are that one finished its play.
 */
function onlyTheShutdownRace(output: string): boolean {
  const eos = output.indexOf('Got EOS from element "pipeline0"');
  const errors = [...output.matchAll(/^ERROR: .*\n.*\n(.*)\n(.*)$/gm)];
  return (
    eos >= 0 &&
    errors.length > 0 &&
    errors.every(
      (error) =>
        error.index > eos &&
        /gst_rtspsrc_(pause|try_send) \(\)/.test(error[1] ?? '') &&
        (error[2] ?? '').startsWith('Could not send message. (Received end-of-file)'),
    )
  );
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

/** An RTSP response as a raw client reads it. */
export interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string[]>;
  readonly body: string;
}

/** An interleaved frame received, with when it arrived. */
export interface ReceivedFrame {
  readonly channel: number;
  readonly packet: Uint8Array;
  readonly atMs: number;
}

/**
 * A minimal RTSP client on one TCP connection: requests in order (CSeq counted), responses
 * parsed, interleaved frames collected. For the exchanges a player hides (PAUSE timing, the bytes
 * of each packet, the RTCP).
 */
export class RawRtspClient {
  readonly frames: ReceivedFrame[] = [];
  #buffer = Buffer.alloc(0);
  #cseq = 0;
  #waiting: ((response: RawResponse) => void) | undefined;
  #closed = false;
  readonly #socket;

  private constructor(port: number) {
    this.#socket = connect({ host: '127.0.0.1', port });
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#drain();
    });
    this.#socket.on('close', () => {
      this.#closed = true;
    });
    this.#socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawRtspClient> {
    const client = new RawRtspClient(port);
    await new Promise<void>((resolve, reject) => {
      client.#socket.once('connect', resolve);
      client.#socket.once('error', reject);
    });
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  request(method: string, url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
    this.#cseq += 1;
    const lines = [`${method} ${url} RTSP/1.0`, `CSeq: ${this.#cseq}`];
    for (const [name, value] of Object.entries(headers)) {
      lines.push(`${name}: ${value}`);
    }
    const answer = new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no answer to ${method} within 5 s`));
      }, 5000);
      this.#waiting = (response) => {
        clearTimeout(timer);
        resolve(response);
      };
    });
    this.#socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    return answer;
  }

  /** Closes the connection abruptly, as a player that crashed. */
  destroy(): void {
    this.#socket.destroy();
  }

  #drain(): void {
    for (;;) {
      if (this.#buffer.length === 0) {
        return;
      }
      if (this.#buffer[0] === 0x24) {
        if (this.#buffer.length < 4) {
          return;
        }
        const length = this.#buffer.readUInt16BE(2);
        if (this.#buffer.length < 4 + length) {
          return;
        }
        this.frames.push({
          channel: this.#buffer[1] ?? 0,
          packet: new Uint8Array(this.#buffer.subarray(4, 4 + length)),
          atMs: Date.now(),
        });
        this.#buffer = this.#buffer.subarray(4 + length);
        continue;
      }
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) {
        return;
      }
      const head = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map<string, string[]>();
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
      }
      const length = Number(headers.get('content-length')?.[0] ?? '0');
      if (this.#buffer.length < end + 4 + length) {
        return;
      }
      const body = this.#buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.#buffer = this.#buffer.subarray(end + 4 + length);
      const status = Number(/^RTSP\/1\.0 (\d{3})/.exec(head[0] ?? '')?.[1] ?? '0');
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting?.({ status, headers, body });
    }
  }
}
