import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

// The `verbatim` command line as an operator runs it: a child process with its own cwd and
// environment, stdout and stderr kept apart for the assertions on each.

const MAIN = resolve(import.meta.dirname, '../../src/main.ts');
const TSX = import.meta.resolve('tsx');
const RUN_TIMEOUT_MS = 30_000;

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Variables added to PATH and HOME; nothing else of the parent's environment is passed. */
  readonly env?: Record<string, string>;
  /** Written to stdin, a pipe (not a terminal), then closed; without it stdin is not connected. */
  readonly input?: string;
}

/** Only PATH and HOME from the parent: a stray VERBATIM_* in the developer's shell must not leak in. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env };
}

export function startCli(args: readonly string[], cwd: string, options: CliOptions = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
    cwd,
    env: childEnv(options.env ?? {}),
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) {
    child.stdin?.end(options.input);
  }
  return child;
}

/** The exit code and the output of `child`; kills it and fails if it runs longer than `timeoutMs`. */
export function cliFinished(child: ChildProcess, timeoutMs = RUN_TIMEOUT_MS): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function runCli(args: readonly string[], cwd: string, options: CliOptions = {}): Promise<CliRun> {
  return cliFinished(startCli(args, cwd, options));
}
