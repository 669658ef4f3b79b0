import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BaselinePlan } from './step-baseline.js';
import type { CapacityPlan } from './step-capacity.js';
import type { OverloadPlan } from './step-overload.js';
import type { SaturationPlan } from './step-saturation.js';
import type { SetupRatePlan } from './step-setup-rate.js';
import type { SippPlan } from './step-sipp.js';
import { STEP_NAMES, type StepName } from './results.js';
import { REPO_ROOT } from './recorder.js';

/** Command-line options of `npm run bench` and the sizes of every step in full and quick runs. */

export interface BenchOptions {
  readonly quick: boolean;
  readonly skipSipp: boolean;
  readonly outDir: string;
  /** Rebuild dist/ when it is older than the source (dist is always built when missing). */
  readonly rebuildStale: boolean;
  /** Steps to run; the others are recorded as skipped. */
  readonly steps: ReadonlySet<StepName>;
  /** --steps was given (a quick run then also runs the steps it otherwise skips). */
  readonly stepsNamed: boolean;
  readonly rtpPorts: { readonly min: number; readonly max: number };
  /**
   * Admission control of the recorder shared by capacity, setup rate and sipp (--admission);
   * the saturation step always has it on, the overload step off.
   */
  readonly admission: boolean;
}

export interface BenchPlan {
  readonly capacity: CapacityPlan;
  readonly baseline: Omit<BaselinePlan, 'calls'>;
  readonly setupRate: SetupRatePlan;
  readonly overload: Omit<OverloadPlan, 'capacity'> & { readonly capacity: number | 'measured' };
  readonly query: { readonly sessions: number; readonly queries: number; readonly warmupQueries: number };
  readonly export: { readonly audioSeconds: number; readonly runs: number };
  readonly sipp: SippPlan;
  readonly saturation: SaturationPlan;
}

export const USAGE = `Usage: npm run bench -- [options]

Runs the Verbatim benchmark (bench/README.md) and writes bench/results/latest.json.

Options:
  --quick           smoke run in about 90 s (small loads); writes latest-quick.json
                    (skips sipp; runs saturation only when --steps names it)
  --skip-sipp       skip the sipp cross-check (always skipped with --quick)
  --out DIR         where to write the results (default bench/results)
  --no-build        do not rebuild packages/server/dist when it is older than the source
  --steps LIST      comma-separated subset of ${STEP_NAMES.join(',')}
  --rtp-ports A-B   UDP range of the recorder under test (default 10000-19999)
  --admission off   the recorder of capacity, setup rate and sipp without admission control
  -h, --help        this text
`;

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        'skip-sipp': { type: 'boolean', default: false },
        out: { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        steps: { type: 'string' },
        'rtp-ports': { type: 'string', default: '10000-19999' },
        admission: { type: 'string', default: 'on' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values;
  if (values.help) {
    return 'help';
  }
  const steps = new Set<StepName>();
  for (const name of (values.steps ?? STEP_NAMES.join(',')).split(',')) {
    const step = STEP_NAMES.find((s) => s === name.trim());
    if (step === undefined) {
      throw new UsageError(`unknown step '${name}' (steps: ${STEP_NAMES.join(', ')})`);
    }
    steps.add(step);
  }
  if (values.admission !== 'on' && values.admission !== 'off') {
    throw new UsageError(`--admission must be on or off`);
  }
  const range = /^(\d+)-(\d+)$/.exec(values['rtp-ports']);
  const min = Number(range?.[1]);
  const max = Number(range?.[2]);
  if (range === null || min < 1024 || max > 65535 || max - min < 200) {
    throw new UsageError(`--rtp-ports must be A-B within 1024-65535 and at least 200 ports wide`);
  }
  return {
    quick: values.quick,
    skipSipp: values['skip-sipp'],
    outDir: resolve(values.out ?? resolve(REPO_ROOT, 'bench/results')),
    rebuildStale: !values['no-build'],
    steps,
    stepsNamed: values.steps !== undefined,
    rtpPorts: { min, max },
    admission: values.admission === 'on',
  };
}

export function planFor(quick: boolean): BenchPlan {
  if (quick) {
    return {
      capacity: {
        levels: [20, 50],
        callsPerSecond: 25,
        settleMs: 1500,
        steadyMs: 10_000,
        tailMs: 1000,
        deleteMediaAfterCount: true,
      },
      baseline: { settleMs: 1500, steadyMs: 10_000, tailMs: 500 },
      setupRate: { rates: [20, 50], secondsOfCalls: 5, holdMs: 2000, deleteMediaAfterCount: true },
      overload: {
        capacity: 20,
        extraShare: 0.5,
        callsPerSecond: 25,
        settleMs: 1500,
        afterOfferMs: 3000,
        extraHoldMs: 2000,
      },
      query: { sessions: 10_000, queries: 200, warmupQueries: 8 },
      export: { audioSeconds: 300, runs: 3 },
      sipp: { calls: 100, callsPerSecond: 20, audioSeconds: 15 },
      saturation: {
        offeredCalls: 60,
        capacityFactor: 1.6,
        fallbackCapacity: 20,
        maxOffered: 60,
        callsPerSecond: 25,
        settleMs: 1500,
        steadyMs: 5000,
        tailMs: 1000,
        busyLoops: 1,
      },
    };
  }
  return {
    capacity: {
      levels: [250, 500, 750, 1000, 1250, 1500],
      callsPerSecond: 50,
      settleMs: 3000,
      steadyMs: 60_000,
      tailMs: 2000,
      deleteMediaAfterCount: true,
    },
    baseline: { settleMs: 3000, steadyMs: 60_000, tailMs: 1000 },
    setupRate: { rates: [100, 200, 300], secondsOfCalls: 5, holdMs: 2000, deleteMediaAfterCount: true },
    overload: {
      capacity: 'measured',
      extraShare: 0.5,
      callsPerSecond: 100,
      settleMs: 3000,
      afterOfferMs: 10_000,
      extraHoldMs: 2000,
    },
    query: { sessions: 1_000_000, queries: 400, warmupQueries: 20 },
    export: { audioSeconds: 3600, runs: 3 },
    sipp: { calls: 100, callsPerSecond: 20, audioSeconds: 15 },
    saturation: {
      offeredCalls: 'measured',
      capacityFactor: 3,
      fallbackCapacity: 1000,
      // Below the default --max-sessions (2,000): refusals come from the node's headroom, not the cap.
      maxOffered: 1900,
      callsPerSecond: 50,
      settleMs: 3000,
      steadyMs: 30_000,
      tailMs: 2000,
      busyLoops: 1,
    },
  };
}
