import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { REPO_ROOT } from './recorder.js';

/** What the figures were measured on: they mean little without it. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly os: string;
  readonly kernel: string;
  readonly node: string;
  /** 1-minute load average when the run started: other work on the machine skews the figures. */
  readonly loadAverageAtStart: number;
  readonly gitCommit: string;
  /** The checkout had changes not in gitCommit. */
  readonly gitDirty: boolean;
}

function git(args: readonly string[]): string | undefined {
  try {
    // --no-optional-locks: a read must not refresh (write) the index of a checkout others use.
    return execFileSync('git', ['--no-optional-locks', ...args], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // Not a git checkout (a release tarball): reported as "unknown" below.
    return undefined;
  }
}

function distribution(): string {
  try {
    const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return match?.[1] ?? osType();
  } catch {
    return osType();
  }
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryBytes: totalmem(),
    os: distribution(),
    kernel: release(),
    node: process.version,
    loadAverageAtStart: loadavg()[0] ?? 0,
    gitCommit: git(['rev-parse', 'HEAD']) ?? 'unknown',
    gitDirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
  };
}
