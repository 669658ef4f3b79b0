import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { PacketDecoder } from './track-decoder.js';

/**
 * G.729, G.729 Annex A and Annex B (RFC 3551 §4.5.6) through the system's `ffmpeg` binary as a
 * subprocess: raw 10-byte frames go to its stdin (`-f g729`), 8 kHz s16le PCM comes back on
 * stdout. FFmpeg is GPL-licensed in Debian's build, so it is only ever run as a separate program,
 * never linked or loaded into this process (the same rule keeps bcg729, GPL-3, in test helpers).
 * Writing a G.729 decoder by hand was not worth it: CS-ACELP is an order of magnitude more code
 * than G.722, and G.729 tracks are rare next to G.711. One ffmpeg process per track and export
 * stream decodes the whole track, so the decoder state carries over from packet to packet; it
 * decodes far faster than real time, so the pipe's round trip per batch of packets is the cost.
 *
 * Annex A frames use the same bitstream as G.729 and decode with the same decoder. An Annex B SID
 * frame (2 bytes, comfort-noise parameters) becomes 10 ms of silence, not comfort noise: a
 * recording is listened to for what was said, and silence there is what the speaker sent. The
 * timeline keeps its length either way, since packets are placed by RTP timestamp and the
 * untransmitted frames of silence suppression (no packets at all) stay zeros.
 */

export const G729_SAMPLE_RATE_HZ = 8000;
export const G729_FRAME_BYTES = 10;
export const G729_SID_BYTES = 2;
const SAMPLES_PER_FRAME = 80;
const DEFAULT_TIMEOUT_MS = 20_000;
const STDERR_KEEP_BYTES = 2048;

export interface G729DecoderOptions {
  /** The ffmpeg binary; default `ffmpeg` from PATH. */
  ffmpegPath?: string;
  logger?: Logger;
  /** How long one batch may take before ffmpeg is given up on; default 20 s. */
  timeoutMs?: number;
}

interface PayloadLayout {
  readonly frames: number;
  readonly sid: boolean;
}

class FfmpegG729Decoder implements PacketDecoder {
  readonly kind = 'packet';
  readonly codec = 'G729';
  readonly sampleRateHz = G729_SAMPLE_RATE_HZ;
  readonly rtpClockRateHz = G729_SAMPLE_RATE_HZ;
  readonly #ffmpegPath: string;
  readonly #logger: Logger | undefined;
  readonly #timeoutMs: number;
  #child: ChildProcessByStdio<Writable, Readable, Readable> | undefined;
  #failed = false;
  #closed = false;
  #undecodable = 0;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #stderr = '';
  #waiter: { readonly bytes: number; readonly done: (ok: boolean) => void } | undefined;

  constructor(options: G729DecoderOptions) {
    this.#ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
    this.#logger = options.logger;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get undecodable(): number {
    return this.#undecodable;
  }

  async decode(payloads: readonly Uint8Array[]): Promise<Int16Array[]> {
    const layouts: PayloadLayout[] = [];
    let frameCount = 0;
    for (const payload of payloads) {
      // Zero or more 10-byte frames, then at most one 2-byte SID frame (RFC 3551 §4.5.6).
      const frames = Math.floor(payload.length / G729_FRAME_BYTES);
      const rest = payload.length % G729_FRAME_BYTES;
      if (rest !== 0 && rest !== G729_SID_BYTES) {
        // Not G.729/A/B framing (Annex D or E frames, or a damaged payload): the whole payload
        // is unplaceable, since its duration cannot be trusted.
        this.#undecodable++;
        layouts.push({ frames: 0, sid: false });
        continue;
      }
      layouts.push({ frames, sid: rest === G729_SID_BYTES });
      frameCount += frames;
    }
    let pcm: Int16Array = new Int16Array(frameCount * SAMPLES_PER_FRAME);
    if (frameCount > 0) {
      const input = new Uint8Array(frameCount * G729_FRAME_BYTES);
      let offset = 0;
      payloads.forEach((payload, index) => {
        const frames = (layouts[index] as PayloadLayout).frames;
        input.set(payload.subarray(0, frames * G729_FRAME_BYTES), offset);
        offset += frames * G729_FRAME_BYTES;
      });
      pcm = await this.#run(input, pcm.length);
    }
    const out: Int16Array[] = [];
    let at = 0;
    for (const layout of layouts) {
      const samples = layout.frames * SAMPLES_PER_FRAME;
      const decoded = new Int16Array(samples + (layout.sid ? SAMPLES_PER_FRAME : 0));
      decoded.set(pcm.subarray(at, at + samples));
      at += samples;
      out.push(decoded);
    }
    return out;
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#stop();
  }

  /** Decodes `input` (whole frames) to `samples` samples, or silence once ffmpeg has failed. */
  async #run(input: Uint8Array, samples: number): Promise<Int16Array> {
    const child = this.#failed || this.#closed ? undefined : (this.#child ?? this.#start());
    if (child === undefined) {
      this.#undecodable += samples / SAMPLES_PER_FRAME;
      return new Int16Array(samples);
    }
    const bytes = samples * 2;
    const received = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#fail(`no output from ffmpeg within ${this.#timeoutMs} ms`);
      }, this.#timeoutMs);
      this.#waiter = {
        bytes,
        done: (ok) => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve(ok);
        },
      };
    });
    child.stdin.write(input);
    this.#checkWaiter();
    if (!(await received)) {
      this.#undecodable += samples / SAMPLES_PER_FRAME;
      return new Int16Array(samples);
    }
    return this.#take(bytes);
  }

  #start(): ChildProcessByStdio<Writable, Readable, Readable> {
    // No probing: the format is given, and probing would wait for seconds of input that the
    // export only writes after it has read the output of the frames before.
    const child = spawn(
      this.#ffmpegPath,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-probesize',
        '32',
        '-analyzeduration',
        '0',
        '-f',
        'g729',
        '-i',
        'pipe:0',
        '-f',
        's16le',
        '-ac',
        '1',
        '-ar',
        String(G729_SAMPLE_RATE_HZ),
        '-flush_packets',
        '1',
        'pipe:1',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.#child = child;
    child.stdout.on('data', (chunk: Buffer) => {
      this.#queue.push(chunk);
      this.#queuedBytes += chunk.length;
      this.#checkWaiter();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-STDERR_KEEP_BYTES);
    });
    child.on('error', (error) => {
      this.#fail(`ffmpeg could not be run: ${error.message}`);
    });
    child.on('exit', (code, signal) => {
      if (!this.#closed) {
        this.#fail(`ffmpeg exited (code ${String(code)}, signal ${String(signal)})`);
      }
    });
    child.stdin.on('error', (error) => {
      // EPIPE when ffmpeg died: the exit handler reports it.
      this.#logger?.debug({ err: error }, 'ffmpeg stdin closed');
    });
    return child;
  }

  #checkWaiter(): void {
    const waiter = this.#waiter;
    if (waiter !== undefined && this.#queuedBytes >= waiter.bytes) {
      waiter.done(true);
    }
  }

  #take(bytes: number): Int16Array {
    const joined = this.#queue.length === 1 ? (this.#queue[0] as Buffer) : Buffer.concat(this.#queue);
    const out = new Int16Array(bytes / 2);
    for (let i = 0; i < out.length; i++) {
      out[i] = joined.readInt16LE(2 * i);
    }
    const rest = joined.subarray(bytes);
    this.#queue = rest.length > 0 ? [rest] : [];
    this.#queuedBytes = rest.length;
    return out;
  }

  #fail(reason: string): void {
    if (this.#failed || this.#closed) {
      this.#waiter?.done(false);
      return;
    }
    this.#failed = true;
    this.#logger?.warn(
      { reason, ffmpegStderr: this.#stderr.trim() },
      'G.729 decoding failed; the rest of the track is exported as silence',
    );
    this.#stop();
  }

  #stop(): void {
    this.#waiter?.done(false);
    const child = this.#child;
    this.#child = undefined;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (child !== undefined) {
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill();
      }
    }
  }
}

/** A G.729/A/B decoder; ffmpeg starts with the first frame to decode. */
export function createG729Decoder(options: G729DecoderOptions = {}): PacketDecoder {
  return new FfmpegG729Decoder(options);
}
