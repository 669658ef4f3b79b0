import type { GeneratorPool } from './generator-client.js';
import { placeMixedCalls, placementOf, type Placement } from './mixed-calls.js';
import type { Recorder } from './recorder.js';
import {
  countsSince,
  describeAdmissionCounts,
  readAdmissionCounts,
  type AdmissionCounts,
} from './node-metrics.js';
import { countStoredLoss, waitAllClosedSince, type LossCount } from './stored-packets.js';

/**
 * Step c: the call setup rate. For each offered rate, that many seconds' worth of short calls
 * (half CUCM-style, half CUBE-style) are placed; a rate passes when every call was answered, none
 * failed or was refused, and the generator actually reached 90 % of the rate (otherwise the figure
 * would be the generator's, not the recorder's). Stops at the first rate that fails.
 */

export interface SetupRatePlan {
  readonly rates: readonly number[];
  readonly secondsOfCalls: number;
  readonly holdMs: number;
  readonly deleteMediaAfterCount: boolean;
}

export interface SetupRateLevel {
  readonly offeredCallsPerSecond: number;
  readonly calls: number;
  readonly passed: boolean;
  readonly failReasons: readonly string[];
  readonly placement: Placement;
  readonly activeAfterHangup: number;
  readonly loss: LossCount;
  /** Refusals by reason at this rate, and the signals that put the node in ramping or refusing. */
  readonly admission: AdmissionCounts;
}

export interface SetupRateResult {
  readonly levels: readonly SetupRateLevel[];
  /** Highest offered rate that passed, or null. */
  readonly callsPerSecond: number | null;
  /** Setup time percentiles at that rate (INVITE → 200 OK). */
  readonly setupMsP50: number | null;
  readonly setupMsP95: number | null;
}

/** The generator must reach this share of the offered rate for the rate to count. */
const ACHIEVED_RATE_SHARE = 0.9;

export async function runSetupRate(
  recorder: Recorder,
  generators: GeneratorPool,
  plan: SetupRatePlan,
  log: (line: string) => void,
): Promise<SetupRateResult> {
  await generators.ensure(2);
  const levels: SetupRateLevel[] = [];
  for (const rate of plan.rates) {
    const calls = Math.round(rate * plan.secondsOfCalls);
    log(`setup rate: ${calls} calls at ${rate} calls/s`);
    const sinceMs = Date.now() - 1000;
    const admissionBefore = await readAdmissionCounts(recorder);
    const report = await placeMixedCalls(
      generators,
      { host: '127.0.0.1', sipPort: recorder.sipPort },
      {
        calls,
        callsPerSecond: rate,
        holdMs: plan.holdMs,
        tag: `setup-${rate}`,
      },
    );
    const activeAfterHangup = await waitAllClosedSince(recorder.dbPath, sinceMs, 30_000);
    const admission = countsSince(await readAdmissionCounts(recorder), admissionBefore);
    const loss = await countStoredLoss(recorder.dataDir, report.streams, {
      deleteMedia: plan.deleteMediaAfterCount,
    });
    const failReasons: string[] = [];
    if (report.answered !== calls || report.failed > 0 || report.rejected > 0) {
      failReasons.push(
        `${report.answered} of ${calls} answered, ${report.failed} failed, ${report.rejected} rejected`,
      );
    }
    if (report.achievedCallsPerSecond < ACHIEVED_RATE_SHARE * rate) {
      failReasons.push(
        `calls were answered at ${report.achievedCallsPerSecond.toFixed(1)}/s, under ${ACHIEVED_RATE_SHARE * 100} % of ${rate}/s`,
      );
    }
    const level: SetupRateLevel = {
      offeredCallsPerSecond: rate,
      calls,
      passed: failReasons.length === 0,
      failReasons,
      placement: placementOf(report),
      activeAfterHangup,
      loss,
      admission,
    };
    levels.push(level);
    log(
      `setup rate: ${rate}/s: answered ${report.answered}/${calls}, refused: ${describeAdmissionCounts(admission)}, p95 ${report.setupMsP95.toFixed(1)} ms, ` +
        `achieved ${report.achievedCallsPerSecond.toFixed(1)}/s: ${level.passed ? 'pass' : `FAIL (${failReasons.join('; ')})`}`,
    );
    if (!level.passed) {
      break;
    }
  }
  const best = levels.filter((l) => l.passed).pop();
  return {
    levels,
    callsPerSecond: best?.offeredCallsPerSecond ?? null,
    setupMsP50: best?.placement.setupMsP50 ?? null,
    setupMsP95: best?.placement.setupMsP95 ?? null,
  };
}
