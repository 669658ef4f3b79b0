import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time and resident memory of one process from Linux /proc (proc(5)). The figures cover every
 * thread of the process, so the recorder's media worker threads are included, and nothing else:
 * the load generator and this runner are other processes.
 */

let clockTicksPerSecond: number | undefined;

/** USER_HZ, the unit of utime and stime (100 on every common Linux build; asked once). */
function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    let ticks = 100;
    try {
      const answer = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      if (Number.isInteger(answer) && answer > 0) {
        ticks = answer;
      }
    } catch (error) {
      // getconf is part of libc-bin and nearly always present; 100 is the Linux default anyway.
      process.emitWarning(`getconf CLK_TCK failed, assuming 100: ${String(error)}`);
    }
    clockTicksPerSecond = ticks;
  }
  return clockTicksPerSecond;
}

/** utime + stime of the process (all its threads), in seconds. */
export function readCpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'; the
  // fields after the last ')' start with field 3 (state), so utime (14) and stime (15) are at
  // indexes 11 and 12 of what follows.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`unexpected /proc/${pid}/stat: ${text.slice(0, 200)}`);
  }
  return (utime + stime) / ticksPerSecond();
}

/** A size field of /proc/PID/status (given in kB there), in bytes. */
function readStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
  if (match?.[1] === undefined) {
    throw new Error(`no ${field} in /proc/${pid}/status`);
  }
  return Number(match[1]) * 1024;
}

/** VmRSS of the process, in bytes. */
export function readRssBytes(pid: number): number {
  return readStatusBytes(pid, 'VmRSS');
}

/**
 * VmHWM of the process: the largest resident set it has had since it started, in bytes (the
 * kernel's own high-water mark, so no peak between two samples is missed).
 */
export function readPeakRssBytes(pid: number): number {
  return readStatusBytes(pid, 'VmHWM');
}

export interface WindowSample {
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  /** Largest VmRSS seen in the window (sampled every `intervalMs`). */
  readonly rssMaxBytes: number;
  readonly rssMeanBytes: number;
  readonly rssSamples: number;
}

/**
 * Measures a process over a window: CPU time at its start and end, RSS every `intervalMs`. Call
 * `finish()` at the end of the window.
 */
export function startWindow(pid: number, intervalMs = 1000): { finish(): WindowSample } {
  const startedAt = performance.now();
  const cpuAtStart = readCpuSeconds(pid);
  const rss: number[] = [readRssBytes(pid)];
  const timer = setInterval(() => {
    try {
      rss.push(readRssBytes(pid));
    } catch (error) {
      // The process died mid-window; finish() reports the failure when it reads the CPU time.
      process.emitWarning(`RSS sample of ${pid} failed: ${String(error)}`);
    }
  }, intervalMs);
  return {
    finish(): WindowSample {
      clearInterval(timer);
      rss.push(readRssBytes(pid));
      const cpuSeconds = readCpuSeconds(pid) - cpuAtStart;
      return {
        cpuSeconds,
        wallSeconds: (performance.now() - startedAt) / 1000,
        rssMaxBytes: Math.max(...rss),
        rssMeanBytes: rss.reduce((a, b) => a + b, 0) / rss.length,
        rssSamples: rss.length,
      };
    },
  };
}

/** CPU seconds of several processes over a window (the load generator processes together). */
export function startCpuWindow(pids: readonly number[]): {
  finish(): { cpuSeconds: number; processes: number };
} {
  const atStart = pids.map((pid) => readCpuSeconds(pid));
  return {
    finish() {
      const cpuSeconds = pids.reduce((sum, pid, i) => sum + readCpuSeconds(pid) - (atStart[i] ?? 0), 0);
      return { cpuSeconds, processes: pids.length };
    },
  };
}
