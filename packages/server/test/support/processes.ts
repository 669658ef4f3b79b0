import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** A spawned child with its output kept for assertions and for printing when a test fails. */
export interface Spawned {
  readonly child: ChildProcess;
  readonly name: string;
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number | string>;
}

const running = new Set<Spawned>();

export function spawnTracked(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Spawned {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const chunks: string[] = [];
  child.stdout?.on('data', (d: Buffer) => chunks.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => chunks.push(d.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (error) => {
      chunks.push(`spawn error: ${error.message}`);
      resolve('spawn-error');
    });
  });
  const spawned: Spawned = {
    child,
    name,
    output: () => chunks.join(''),
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        running.delete(spawned);
        return result;
      }
      running.delete(spawned);
      return exited;
    },
  };
  running.add(spawned);
  void exited.then(() => running.delete(spawned));
  return spawned;
}

/**
 * Kills whatever a test left running (called from after hooks), but `except`: a process the hook
 * stops by itself with the grace it needs (a Verbatim node may take longer than 2 s to stop).
 */
export async function stopAll(except: readonly Spawned[] = []): Promise<void> {
  await Promise.all([...running].filter((p) => !except.includes(p)).map((p) => p.stop(2000)));
}

/** Waits for exit with a deadline; kills the process and fails with its output if it is exceeded. */
export async function waitExit(proc: Spawned, timeoutMs: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const result = await Promise.race([proc.exited, deadline]);
  clearTimeout(timer);
  if (result === 'timeout') {
    await proc.stop(1000);
    throw new Error(`${proc.name} did not exit within ${timeoutMs} ms; output:\n${proc.output()}`);
  }
  return result;
}

/** The output of each process, under its name, for a failure message. */
export function outputsOf(processes: readonly (Spawned | undefined)[]): string {
  return processes
    .filter((p): p is Spawned => p !== undefined)
    .map((p) => `--- ${p.name} ---\n${p.output()}`)
    .join('\n');
}

/**
 * Runs `body`; when it fails, stops every process a test left running and fails with the output
 * of the processes `shown` names (read at that moment, so processes started inside count).
 */
export async function failWithOutputs<T>(
  shown: () => readonly (Spawned | undefined)[],
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (error) {
    await stopAll();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${outputsOf(shown())}`, {
      cause: error,
    });
  }
}
