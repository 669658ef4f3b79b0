import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Mp4ExportError } from './playback-errors.js';

/**
 * One run of the ffmpeg binary as a subprocess (never linked: Debian's build is GPL), fed from
 * streams: `inputs[0]` on stdin (`pipe:0`), `inputs[1]` on fd 3 (`pipe:3`), and so on, each with
 * backpressure and closed at its end; stdout goes to `output` when given. Abort kills it
 * (SIGKILL). Rejects with VERBATIM_ERR_PLAYBACK_FFMPEG_FAILED and the tail of ffmpeg's stderr
 * when it cannot start or exits with an error, with the abort reason when aborted, and with the
 * read error of an input that failed (a damaged track file).
 */

export interface FfmpegRun {
  readonly ffmpegPath: string;
  readonly args: readonly string[];
  readonly inputs: readonly Readable[];
  readonly output?: (chunk: Buffer) => void;
  readonly signal?: AbortSignal;
}

/** The last stderr characters kept for the error of a failed run. */
const STDERR_TAIL_CHARS = 2000;

export async function runFfmpeg(run: FfmpegRun): Promise<void> {
  const { signal } = run;
  signal?.throwIfAborted();
  const extraPipes = run.inputs.slice(1).map(() => 'pipe' as const);
  const child = spawn(run.ffmpegPath, run.args, {
    stdio: [
      run.inputs.length > 0 ? 'pipe' : 'ignore',
      run.output === undefined ? 'ignore' : 'pipe',
      'pipe',
      ...extraPipes,
    ],
  });
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL_CHARS);
  });
  if (run.output !== undefined) {
    child.stdout?.on('data', run.output);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }));
    },
  );
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  };
  signal?.addEventListener('abort', kill, { once: true });
  // An input fails when ffmpeg dies (EPIPE) or a track file cannot be read: ffmpeg is then
  // killed, and its exit (or the read error) decides the outcome below.
  const inputErrors: unknown[] = [];
  await Promise.all(
    run.inputs.map(async (source, index) => {
      const pipe = child.stdio[index === 0 ? 0 : index + 2] as Writable | null | undefined;
      if (pipe === null || pipe === undefined) {
        source.destroy();
        return;
      }
      try {
        await pipeline(source, pipe);
      } catch (error) {
        source.destroy();
        inputErrors.push(error);
        kill();
      }
    }),
  );
  const exit = await exited;
  signal?.removeEventListener('abort', kill);
  if (signal?.aborted === true) {
    throw signal.reason instanceof Error
      ? signal.reason
      : new Mp4ExportError('VERBATIM_ERR_PLAYBACK_ABORTED', 'the MP4 export was aborted');
  }
  if (exit.error !== undefined) {
    throw new Mp4ExportError(
      'VERBATIM_ERR_PLAYBACK_FFMPEG_FAILED',
      `ffmpeg could not start: ${exit.error.message}`,
      {
        cause: exit.error,
      },
    );
  }
  const readError = inputErrors.find((error) => !isPipeClosed(error));
  if (readError !== undefined) {
    // A track file that could not be read (WavExportError) or an unexpected stream failure.
    throw readError instanceof Error
      ? readError
      : new Error('the MP4 export could not read its input', { cause: readError });
  }
  if (exit.code !== 0) {
    throw new Mp4ExportError(
      'VERBATIM_ERR_PLAYBACK_FFMPEG_FAILED',
      `ffmpeg failed (${exit.code === null ? `signal ${exit.signal ?? '?'}` : `exit ${exit.code}`}): ${stderrTail.trim() || 'no message'}`,
    );
  }
}

/** ffmpeg closed its end first: it exited, and its exit status tells why. */
function isPipeClosed(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET';
}
