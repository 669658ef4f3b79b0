import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { spawnTracked, type Spawned } from './processes.js';

/**
 * Taking CPU away from a node as a shared host does, with nothing but what a fresh Debian machine
 * has (util-linux taskset, coreutils nice; run as root for a negative nice): the node's threads
 * are pinned to one core and busy processes of higher priority are started on that core. The
 * node keeps a small, steady share of it (CFS weights: nice 0 against busy loops at nice -10 gets
 * about 1/19 of the core per loop), so it runs late without stopping. The node's own threads
 * report how long they waited for a CPU (/proc/PID/task/TID/schedstat), which shows the
 * starvation happened.
 */

/** The core the node is pinned to, and the cores left for everything else (SIPp). */
export interface CoreSplit {
  readonly node: string;
  readonly others: string;
}

/** CPU 0 for the node and the rest for the others; undefined on a one-core machine. */
export function coreSplit(): CoreSplit | undefined {
  const cores = availableParallelism();
  return cores < 2 ? undefined : { node: '0', others: cores === 2 ? '1' : `1-${cores - 1}` };
}

/** Pins every thread of `pid` (and the threads it starts later) to `cpus`. */
export function pinProcess(pid: number, cpus: string): void {
  const result = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${result.stderr}${result.error?.message ?? ''}`);
  }
}

/** `count` busy-loop processes at `nice` pinned to `cpus`; stop them with stopBusyLoops. */
export function startBusyLoops(count: number, cpus: string, nice = -10): Spawned[] {
  return Array.from({ length: count }, (_, i) =>
    spawnTracked(`busy loop ${i + 1}`, 'nice', [
      '-n',
      String(nice),
      'taskset',
      '-c',
      cpus,
      process.execPath,
      '-e',
      'for (;;) {}',
    ]),
  );
}

export async function stopBusyLoops(loops: readonly Spawned[]): Promise<void> {
  await Promise.all(loops.map((loop) => loop.stop(1000)));
}

/** What every thread of `pid` has used and waited for so far, in ms (threads gone are not counted). */
export interface CpuTimes {
  readonly atMs: number;
  /** Time spent on a CPU, summed over the threads. */
  readonly runMs: number;
  /** Time spent runnable but waiting for a CPU, summed over the threads. */
  readonly waitMs: number;
}

export function cpuTimes(pid: number): CpuTimes {
  let runNs = 0;
  let waitNs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/);
      runNs += Number(run);
      waitNs += Number(wait);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { atMs: performance.now(), runMs: runNs / 1e6, waitMs: waitNs / 1e6 };
}

/** Per second of wall time between two readings: CPU used and CPU waited for. */
export function cpuRates(from: CpuTimes, to: CpuTimes): { runPerSecond: number; waitPerSecond: number } {
  const seconds = (to.atMs - from.atMs) / 1000;
  return {
    runPerSecond: (to.runMs - from.runMs) / 1000 / seconds,
    waitPerSecond: (to.waitMs - from.waitMs) / 1000 / seconds,
  };
}
