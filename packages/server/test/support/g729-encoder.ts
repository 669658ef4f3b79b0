/**
 * G.729 test encoder: turns 8 kHz 16-bit PCM into G.729 (Annex A bitstream) frames with bcg729,
 * optionally with Annex B voice activity detection (SID and untransmitted frames).
 *
 * bcg729 is GPL-3: it is only ever compiled into this throw-away test helper (a tiny C program
 * built once per test process into a temporary directory, removed at exit), never linked into
 * src/. The server decodes G.729 with the ffmpeg binary as a subprocess (docs/codecs.md).
 * Needs gcc and the bcg729 headers and library (scripts/install-test-tools.sh installs them).
 */
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** 80 samples (10 ms at 8 kHz) per G.729 frame. */
export const G729_FRAME_SAMPLES = 80;

export interface G729EncodeOptions {
  /**
   * Annex B: voice activity detection. Silent stretches then give 2-byte SID frames (RFC 3551
   * §4.5.6) or 0-byte untransmitted frames instead of 10-byte frames.
   */
  vad?: boolean;
}

// The helper reads s16le frames on stdin and writes, per frame, one length byte (10, 2 or 0)
// followed by that many bitstream bytes.
const HELPER_SOURCE = `#include <stdio.h>
#include <stdint.h>
#include <bcg729/encoder.h>
int main(int argc, char **argv) {
  uint8_t vad = argc > 1 && argv[1][0] == '1';
  bcg729EncoderChannelContextStruct *ctx = initBcg729EncoderChannel(vad);
  int16_t frame[80];
  uint8_t bits[10];
  uint8_t len = 0;
  while (fread(frame, sizeof(int16_t), 80, stdin) == 80) {
    bcg729Encoder(ctx, frame, bits, &len);
    fputc(len, stdout);
    fwrite(bits, 1, len, stdout);
  }
  closeBcg729EncoderChannel(ctx);
  return fflush(stdout) == 0 ? 0 : 1;
}
`;

let helper: Promise<string> | undefined;

/** Compiles the helper once per process; resolves with its path. */
function compileHelper(): Promise<string> {
  helper ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verbatim-g729-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const source = join(dir, 'g729-encode.c');
    const binary = join(dir, 'g729-encode');
    await writeFile(source, HELPER_SOURCE);
    try {
      await execFileAsync('gcc', ['-O2', '-o', binary, source, '-lbcg729']);
    } catch (error) {
      throw new Error(
        'cannot build the G.729 test encoder (needs gcc and bcg729: scripts/install-test-tools.sh)',
        { cause: error },
      );
    }
    return binary;
  })();
  return helper;
}

/**
 * Encodes 8 kHz PCM to G.729 frames: one entry per 10 ms (a trailing partial frame is padded
 * with silence): 10 bytes for a speech frame, and with `vad` 2 bytes for a SID frame or 0 bytes
 * for an untransmitted frame.
 */
export async function encodeG729(pcm: Int16Array, options: G729EncodeOptions = {}): Promise<Uint8Array[]> {
  const binary = await compileHelper();
  const frames = Math.ceil(pcm.length / G729_FRAME_SAMPLES);
  const input = Buffer.alloc(frames * G729_FRAME_SAMPLES * 2);
  for (let i = 0; i < pcm.length; i++) {
    input.writeInt16LE(pcm[i] ?? 0, 2 * i);
  }
  const output = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn(binary, [options.vad === true ? '1' : '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        resolve(Buffer.concat(chunks));
      } else {
        reject(new Error(`the G.729 test encoder exited with ${String(code)}`));
      }
    });
    child.stdin.end(input);
  });
  const result: Uint8Array[] = [];
  for (let offset = 0; offset < output.length;) {
    const length = output[offset] ?? 0;
    result.push(new Uint8Array(output.subarray(offset + 1, offset + 1 + length)));
    offset += 1 + length;
  }
  if (result.length !== frames) {
    throw new Error(`the G.729 test encoder gave ${result.length} frames for ${frames}`);
  }
  return result;
}
