import type { GeneratorPool } from './generator-client.js';
import { placeMixedCalls, placementOf, type Placement } from './mixed-calls.js';
import { readRssBytes, startCpuWindow, startWindow, type WindowSample } from './proc-stats.js';
import type { Recorder } from './recorder.js';
import {
  countsSince,
  describeAdmissionCounts,
  readAdmissionCounts,
  watchSignals,
  type AdmissionCounts,
  type SignalWindow,
} from './node-metrics.js';
import { countActiveSince, countStoredLoss, waitSessionsClosed, type LossCount } from './stored-packets.js';
import { messageOf, sleep, sleepUntil } from './timing.js';

/**
 * Step a: the capacity ramp. Each level places that many calls (half CUCM-style, half CUBE-style)
 * at a moderate rate, keeps them all up through a steady window in which the recorder's CPU time
 * and RSS are read from /proc, hangs up, waits for the sessions to close and counts the stored
 * packets against the sent ones. The ramp stops after the first level that fails.
 */

/** ≤ 0.01 % of the sent packets may be missing from the stored tracks (DESIGN.md §3). */
export const LOSS_BOUND = 0.0001;

export interface CapacityPlan {
  readonly levels: readonly number[];
  /** Rate at which a level's calls are placed. */
  readonly callsPerSecond: number;
  /** Time after the last call is placed before the steady window opens (answers, first packets). */
  readonly settleMs: number;
  readonly steadyMs: number;
  /** Calls stay up this long after the steady window, so no hang-up falls inside it. */
  readonly tailMs: number;
  readonly deleteMediaAfterCount: boolean;
}

export interface CapacityLevel {
  readonly calls: number;
  readonly passed: boolean;
  readonly failReasons: readonly string[];
  readonly placedCallsPerSecond: number;
  readonly holdMs: number;
  readonly placement: Placement;
  /** ACTIVE sessions of this level when the steady window opened and closed (expected: calls). */
  readonly activeAtSteadyStart: number;
  readonly activeAtSteadyEnd: number;
  readonly recorderIdleRssBytes: number;
  readonly recorderSteady: WindowSample;
  /** CPU seconds of the load generator processes in the steady window. */
  readonly generatorSteady: { readonly cpuSeconds: number; readonly processes: number };
  /** CPU seconds of the recorder per call per minute of steady window. */
  readonly recorderCpuPerCall: number;
  /**
   * (largest RSS in the steady window − RSS of the recorder when it had just started) / calls held.
   * Measured from the fresh recorder, not from the RSS before the level: a node keeps the heap an
   * earlier level grew, so "before the level" made a level after a bigger one look almost free
   * (the 2026-11-25 runs said 61 KB at 1,250 calls; from the fresh start it was ~190 KB).
   */
  readonly rssBytesPerCall: number;
  /** Sessions still ACTIVE 30 s after every call had hung up (expected: 0). */
  readonly activeAfterHangup: number;
  readonly loss: LossCount;
  /** Refusals by reason during the level, and the signals that put the node in ramping or refusing. */
  readonly admission: AdmissionCounts;
  /** The headroom signals through the steady window (from /metrics, once a second). */
  readonly signals: SignalWindow;
  /** The same while the level's calls were being placed and answered (before the steady window). */
  readonly signalsWhilePlacing: SignalWindow;
}

export interface CapacityResult {
  readonly lossBound: number;
  readonly levels: readonly CapacityLevel[];
  /** Highest level that passed, or null when none did. */
  readonly maxConcurrentCalls: number | null;
  /** The level the per-call figures come from: the highest passing one, else the first tested. */
  readonly referenceCalls: number | null;
  /**
   * The first level at which the node refused calls with 503 (its admission control), and the
   * first at which the calls it accepted lost more than the bound; null when no tested level did.
   * Refusals should begin at or below the level where loss would: a node that protects its calls
   * refuses before it loses.
   */
  readonly refusalsBeginAtCalls: number | null;
  readonly lossBeginsAtCalls: number | null;
  /**
   * The most calls a level carried (answered) without loss, refused calls aside: what the machine
   * was seen to carry cleanly when no level passed because admission refused some of its calls.
   */
  readonly carriedCalls: number | null;
}

type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

async function runLevel(
  recorder: Recorder,
  generators: GeneratorPool,
  plan: CapacityPlan,
  calls: number,
): Promise<CapacityLevel> {
  // Let the previous level's garbage be collected and its memory settle before the idle reading.
  await sleep(1000);
  const idleRss = readRssBytes(recorder.pid);
  const rampMs = (calls / plan.callsPerSecond) * 1000;
  const holdMs = Math.round(rampMs + plan.settleMs + plan.steadyMs + plan.tailMs);
  const sinceMs = Date.now() - 1000;
  const admissionBefore = await readAdmissionCounts(recorder);
  const t0 = performance.now();
  const placingWatch = watchSignals(recorder);
  const placing = settle(
    placeMixedCalls(
      generators,
      { host: '127.0.0.1', sipPort: recorder.sipPort },
      {
        calls,
        callsPerSecond: plan.callsPerSecond,
        holdMs,
        tag: `capacity-${calls}`,
      },
    ),
  );
  const failReasons: string[] = [];
  const steadyStart = t0 + rampMs + plan.settleMs;
  if ((await Promise.race([sleepUntil(steadyStart).then(() => 'waited' as const), placing])) !== 'waited') {
    failReasons.push('the calls ended before the steady window opened');
  }
  const signalsWhilePlacing = await placingWatch.finish();
  const activeAtSteadyStart = countActiveSince(recorder.dbPath, sinceMs);
  const recorderWindow = startWindow(recorder.pid);
  const generatorWindow = startCpuWindow(generators.pids);
  const signalWatch = watchSignals(recorder);
  await sleepUntil(steadyStart + plan.steadyMs);
  const signals = await signalWatch.finish();
  const recorderSteady = recorderWindow.finish();
  const generatorSteady = generatorWindow.finish();
  const activeAtSteadyEnd = countActiveSince(recorder.dbPath, sinceMs);

  const placed = await placing;
  if (!placed.ok) {
    throw new Error(`placing ${calls} calls failed: ${messageOf(placed.error)}`);
  }
  const report = placed.value;
  const callKeys = [...new Set(report.streams.map((s) => s.callKey))];
  const activeAfterHangup = await waitSessionsClosed(recorder.dbPath, callKeys, 30_000);
  const admission = countsSince(await readAdmissionCounts(recorder), admissionBefore);
  const loss = await countStoredLoss(recorder.dataDir, report.streams, {
    deleteMedia: plan.deleteMediaAfterCount,
  });

  if (report.answered !== calls) {
    failReasons.push(`${report.answered} of ${calls} calls answered`);
  }
  if (report.failed > 0 || report.rejected > 0) {
    failReasons.push(`${report.failed} calls failed, ${report.rejected} rejected`);
  }
  if (loss.sentPackets === 0) {
    failReasons.push('no packet was sent');
  }
  if (loss.lossRatio > LOSS_BOUND) {
    failReasons.push(`loss ${(loss.lossRatio * 100).toFixed(4)} % is above ${LOSS_BOUND * 100} %`);
  }
  if (activeAfterHangup > 0) {
    failReasons.push(`${activeAfterHangup} sessions still ACTIVE 30 s after hang-up`);
  }
  const steadyMinutes = recorderSteady.wallSeconds / 60;
  // A level that was partly refused holds fewer calls than it offered: memory is per call held.
  const held = Math.max(1, Math.min(calls, report.answered));
  return {
    calls,
    passed: failReasons.length === 0,
    failReasons,
    placedCallsPerSecond: plan.callsPerSecond,
    holdMs,
    placement: placementOf(report),
    activeAtSteadyStart,
    activeAtSteadyEnd,
    recorderIdleRssBytes: idleRss,
    recorderSteady,
    generatorSteady,
    recorderCpuPerCall: recorderSteady.cpuSeconds / (held * steadyMinutes),
    rssBytesPerCall: Math.max(0, recorderSteady.rssMaxBytes - recorder.startRssBytes) / held,
    activeAfterHangup,
    loss,
    admission,
    signals,
    signalsWhilePlacing,
  };
}

/**
 * A level that failed only because admission control refused some of its calls (fewer than
 * half), with no loss and no failed call: the ramp goes on, so that it shows where loss would
 * begin next to where refusals began.
 */
function refusedOnlyAFew(level: CapacityLevel): boolean {
  const { placement, loss } = level;
  return (
    placement.rejected > 0 &&
    placement.rejected < level.calls / 2 &&
    placement.failed === 0 &&
    loss.lossRatio <= LOSS_BOUND &&
    level.activeAfterHangup === 0
  );
}

export async function runCapacity(
  recorder: Recorder,
  generators: GeneratorPool,
  plan: CapacityPlan,
  log: (line: string) => void,
): Promise<CapacityResult> {
  // One generator process per call style, started before any level is timed.
  await generators.ensure(2);
  const levels: CapacityLevel[] = [];
  for (const calls of plan.levels) {
    log(`capacity: ${calls} concurrent calls, ${plan.steadyMs / 1000} s steady`);
    const level = await runLevel(recorder, generators, plan, calls);
    levels.push(level);
    log(
      `capacity: ${calls} calls: ${level.placement.rejected} refused (${describeAdmissionCounts(level.admission)}), loss ${(level.loss.lossRatio * 100).toFixed(4)} %, ` +
        `${level.recorderCpuPerCall.toFixed(4)} CPU s per call-minute, ` +
        `worker lag mean ${level.signals.workerLagMsMean ?? '-'} / max ${level.signals.workerLagMsMax ?? '-'} ms ` +
        `(placing: ${level.signalsWhilePlacing.workerLagMsMean ?? '-'} / ${level.signalsWhilePlacing.workerLagMsMax ?? '-'} ms), ` +
        `${Math.round(level.rssBytesPerCall / 1024)} KB per call: ${level.passed ? 'pass' : `FAIL (${level.failReasons.join('; ')})`}`,
    );
    if (!level.passed && !refusedOnlyAFew(level)) {
      break;
    }
  }
  const passing = levels.filter((l) => l.passed);
  const cleanlyCarried = levels
    .filter((l) => l.loss.lossRatio <= LOSS_BOUND && l.placement.failed === 0)
    .map((l) => l.placement.answered);
  const best = passing[passing.length - 1];
  return {
    lossBound: LOSS_BOUND,
    levels,
    maxConcurrentCalls: best?.calls ?? null,
    referenceCalls: (best ?? levels[0])?.calls ?? null,
    refusalsBeginAtCalls: levels.find((l) => l.placement.rejected > 0)?.calls ?? null,
    lossBeginsAtCalls: levels.find((l) => l.loss.lossRatio > LOSS_BOUND)?.calls ?? null,
    carriedCalls: cleanlyCarried.length === 0 ? null : Math.max(...cleanlyCarried),
  };
}
