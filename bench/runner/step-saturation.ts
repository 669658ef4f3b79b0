import type { GeneratorPool } from './generator-client.js';
import { placeMixedCalls, placementOf, type Placement } from './mixed-calls.js';
import { spawnChild, type Child } from './processes.js';
import { readCpuSeconds, readPeakRssBytes, startWindow, type WindowSample } from './proc-stats.js';
import type { Recorder } from './recorder.js';
import { describeAdmissionCounts, readAdmissionCounts, type AdmissionCounts } from './node-metrics.js';
import { LOSS_BOUND } from './step-capacity.js';
import { countActiveSince, countStoredLoss, waitAllClosedSince, type LossCount } from './stored-packets.js';
import { messageOf, sleepUntil } from './timing.js';

/**
 * Step h: saturation. A fresh recorder with no --max-sessions (so only the default hard cap,
 * which the offered load stays below) is offered far more calls than the machine can carry, all
 * held together; it must protect the calls it accepts by refusing the rest with 503 (issue 8:
 * admission control on its own headroom). Run twice: on the bare machine, then with part of the
 * CPU taken by busy-loop children (a shared host whose capacity moved). Reported per run: calls
 * accepted, refused, failed, and the loss of the accepted calls, which must stay ≤ 0.01 %.
 */

export interface SaturationPlan {
  /** Calls offered in each run; 'measured': `capacityFactor` × the capacity ramp's result. */
  readonly offeredCalls: number | 'measured';
  readonly capacityFactor: number;
  /** Used when the ramp measured nothing. */
  readonly fallbackCapacity: number;
  /** At most this many calls are offered (below the default --max-sessions and the RTP range). */
  readonly maxOffered: number;
  readonly callsPerSecond: number;
  /** Time after the last call is placed before the steady window (every answer in). */
  readonly settleMs: number;
  /** All accepted calls are up through this window. */
  readonly steadyMs: number;
  readonly tailMs: number;
  /** Busy-loop processes of the shared run (each takes up to one core). */
  readonly busyLoops: number;
}

export interface SaturationRun {
  readonly label: 'plain' | 'shared';
  readonly busyLoops: number;
  readonly offered: number;
  readonly accepted: number;
  /** Refused with 503. */
  readonly refused: number;
  /** Neither answered nor refused (timed out, or another failure). */
  readonly failed: number;
  readonly placement: Placement;
  /** ACTIVE sessions when the steady window opened and closed. */
  readonly activeAtSteadyStart: number;
  readonly activeAtSteadyEnd: number;
  readonly recorderSteady: WindowSample;
  /** The recorder's RSS when it had started, and the most it reached over the whole run (VmHWM). */
  readonly recorderStartRssBytes: number;
  readonly recorderPeakRssBytes: number;
  /**
   * (peak − start) / calls accepted: what the node's memory grew by per call it held, with every
   * refused INVITE and every queue of the run included. Bounded memory at any offered load means
   * this stays near the capacity ramp's figure however many calls are offered.
   */
  readonly rssBytesPerAcceptedCall: number;
  /** CPU seconds the busy loops took in the steady window (0 in the plain run). */
  readonly busyCpuSeconds: number;
  /** Loss of the accepted calls' streams, counted from the track files (as in step a). */
  readonly acceptedLoss: LossCount;
  /** Why calls were refused, and which signals put the node in ramping or refusing (its /metrics). */
  readonly admission: AdmissionCounts;
  readonly passed: boolean;
  readonly failReasons: readonly string[];
}

export interface SaturationResult {
  readonly lossBound: number;
  readonly offeredCalls: number;
  readonly runs: readonly SaturationRun[];
  /** The larger loss ratio of the two runs' accepted calls (the figure). */
  readonly acceptedLossRatio: number;
  /** The larger memory growth per accepted call of the two runs (the figure). */
  readonly rssBytesPerAcceptedCall: number;
  readonly passed: boolean;
}

/** A fresh recorder for one run; stopped by the caller. */
export type StartRecorder = () => Promise<Recorder>;

/** Busy-loop children, not pinned: the scheduler gives each about a core's worth of share. */
function startBusyLoops(count: number): Child[] {
  return Array.from({ length: count }, (_, i) =>
    spawnChild(`busy loop ${i + 1}`, process.execPath, ['-e', 'for (;;) {}']),
  );
}

async function runOnce(
  startRecorder: StartRecorder,
  generators: GeneratorPool,
  plan: SaturationPlan,
  offered: number,
  label: SaturationRun['label'],
): Promise<SaturationRun> {
  const busyLoops = label === 'shared' ? plan.busyLoops : 0;
  const recorder = await startRecorder();
  const busy = startBusyLoops(busyLoops);
  try {
    const rampMs = (offered / plan.callsPerSecond) * 1000;
    const holdMs = Math.round(rampMs + plan.settleMs + plan.steadyMs + plan.tailMs);
    const sinceMs = Date.now() - 1000;
    const t0 = performance.now();
    const placing = placeMixedCalls(
      generators,
      { host: '127.0.0.1', sipPort: recorder.sipPort },
      { calls: offered, callsPerSecond: plan.callsPerSecond, holdMs, tag: `saturation-${label}` },
    ).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const steadyStart = t0 + rampMs + plan.settleMs;
    await sleepUntil(steadyStart);
    const activeAtSteadyStart = countActiveSince(recorder.dbPath, sinceMs);
    const window = startWindow(recorder.pid);
    const busyAtStart = busy.map((b) => readCpuSeconds(b.pid));
    await sleepUntil(steadyStart + plan.steadyMs);
    const recorderSteady = window.finish();
    const busyCpuSeconds = busy.reduce((sum, b, i) => sum + readCpuSeconds(b.pid) - (busyAtStart[i] ?? 0), 0);
    const activeAtSteadyEnd = countActiveSince(recorder.dbPath, sinceMs);
    const placed = await placing;
    if (!placed.ok) {
      throw new Error(`offering ${offered} calls (${label}) failed: ${messageOf(placed.error)}`);
    }
    const report = placed.value;
    await waitAllClosedSince(recorder.dbPath, sinceMs, 30_000);
    const recorderPeakRssBytes = readPeakRssBytes(recorder.pid);
    const admission = await readAdmissionCounts(recorder);
    const acceptedLoss = await countStoredLoss(recorder.dataDir, report.streams, { deleteMedia: true });
    const failReasons: string[] = [];
    if (acceptedLoss.lossRatio > LOSS_BOUND) {
      failReasons.push(
        `loss of the accepted calls ${(acceptedLoss.lossRatio * 100).toFixed(4)} % is above ${LOSS_BOUND * 100} %`,
      );
    }
    if (report.answered === 0) {
      failReasons.push('no call was accepted');
    }
    if (report.failed > 0) {
      failReasons.push(`${report.failed} calls were neither answered nor refused`);
    }
    return {
      label,
      busyLoops,
      offered,
      accepted: report.answered,
      refused: report.rejected,
      failed: report.failed,
      placement: placementOf(report),
      activeAtSteadyStart,
      activeAtSteadyEnd,
      recorderSteady,
      recorderStartRssBytes: recorder.startRssBytes,
      recorderPeakRssBytes,
      rssBytesPerAcceptedCall:
        Math.max(0, recorderPeakRssBytes - recorder.startRssBytes) / Math.max(1, report.answered),
      busyCpuSeconds,
      acceptedLoss,
      admission,
      passed: failReasons.length === 0,
      failReasons,
    };
  } finally {
    await Promise.all(busy.map((b) => b.stop(1000)));
    await recorder.stop();
  }
}

/** How many calls a run offers: the plan's number, or a multiple of the measured capacity. */
export function offeredCallsFor(plan: SaturationPlan, measuredCapacity: number | null | undefined): number {
  if (plan.offeredCalls !== 'measured') {
    return plan.offeredCalls;
  }
  const capacity = measuredCapacity ?? plan.fallbackCapacity;
  return Math.min(plan.maxOffered, Math.ceil(capacity * plan.capacityFactor));
}

export async function runSaturation(
  startRecorder: StartRecorder,
  generators: GeneratorPool,
  plan: SaturationPlan,
  offered: number,
  log: (line: string) => void,
): Promise<SaturationResult> {
  await generators.ensure(2);
  const runs: SaturationRun[] = [];
  for (const label of ['plain', 'shared'] as const) {
    log(
      `saturation (${label}${label === 'shared' ? `, ${plan.busyLoops} busy loop(s)` : ''}): offering ${offered} calls`,
    );
    const run = await runOnce(startRecorder, generators, plan, offered, label);
    runs.push(run);
    log(
      `saturation (${label}): ${run.accepted} accepted, ${run.refused} refused (${describeAdmissionCounts(run.admission)}), ${run.failed} failed; ` +
        `peak RSS ${Math.round(run.recorderPeakRssBytes / 2 ** 20)} MiB (${Math.round(run.rssBytesPerAcceptedCall / 1024)} KB per accepted call); ` +
        `loss of the accepted calls ${(run.acceptedLoss.lossRatio * 100).toFixed(4)} %: ${run.passed ? 'pass' : `FAIL (${run.failReasons.join('; ')})`}`,
    );
  }
  return {
    lossBound: LOSS_BOUND,
    offeredCalls: offered,
    runs,
    acceptedLossRatio: Math.max(...runs.map((r) => r.acceptedLoss.lossRatio)),
    rssBytesPerAcceptedCall: Math.max(...runs.map((r) => r.rssBytesPerAcceptedCall)),
    passed: runs.every((r) => r.passed),
  };
}
