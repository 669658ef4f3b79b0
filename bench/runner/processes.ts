import { fork, spawn, type ChildProcess, type ForkOptions, type SpawnOptions } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every process and temporary directory the benchmark creates is registered here, so that one
 * call (on success, on failure, on Ctrl-C or SIGTERM) stops them all and deletes the directories:
 * a benchmark that leaves a recorder holding 6,000 UDP ports behind would spoil the next run and
 * everybody else's tests on the machine.
 */

/** Output kept per child for error messages: the tail is what explains a failure. */
const OUTPUT_KEEP_CHARS = 64 * 1024;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code, or the signal name, once the process has exited. */
  readonly exited: Promise<number | string>;
  readonly running: () => boolean;
  /** The last OUTPUT_KEEP_CHARS characters of stdout and stderr, interleaved. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number | string>;
}

const children = new Set<Child>();
const tempDirs = new Set<string>();

function track(name: string, child: ChildProcess): Child {
  if (child.pid === undefined) {
    throw new Error(`${name} could not be started`);
  }
  let kept = '';
  const keep = (data: Buffer): void => {
    kept = (kept + data.toString()).slice(-OUTPUT_KEEP_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (error) => {
      kept += `\nprocess error: ${error.message}`;
      resolve('spawn-error');
    });
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const tracked: Child = {
    name,
    process: child,
    pid: child.pid,
    exited,
    running,
    output: () => kept,
    async stop(graceMs = 5000) {
      if (running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exited;
        clearTimeout(timer);
        children.delete(tracked);
        return code;
      }
      children.delete(tracked);
      return exited;
    },
  };
  children.add(tracked);
  void exited.then(() => children.delete(tracked));
  return tracked;
}

export function spawnChild(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Child {
  return track(name, spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

/** A Node child with an IPC channel; its stdout and stderr are captured (`silent`). */
export function forkChild(name: string, modulePath: string, options: ForkOptions = {}): Child {
  return track(name, fork(modulePath, [], { silent: true, ...options }));
}

export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Stops every child still running (in parallel) and deletes every temporary directory. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(3000)));
  await Promise.all([...tempDirs].map((d) => removeTempDir(d)));
}

/**
 * Ctrl-C and SIGTERM clean up and exit; the synchronous `exit` hook is the last resort for a path
 * that skipped the asynchronous cleanup (process.exit from elsewhere, an uncaught exception).
 */
export function installCleanupHandlers(onSignal: (signal: NodeJS.Signals) => void): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // A second Ctrl-C: stop waiting for the children to exit cleanly.
      killAllNow();
      process.exit(130);
    }
    signalled = true;
    onSignal(signal);
    void cleanupAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('exit', killAllNow);
}

function killAllNow(): void {
  for (const child of children) {
    if (child.running()) {
      child.process.kill('SIGKILL');
    }
  }
  for (const dir of tempDirs) {
    rmSync(dir, { recursive: true, force: true });
  }
  tempDirs.clear();
}
