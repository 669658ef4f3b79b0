import type { GeneratorPool } from './generator-client.js';
import { placeMixedCalls, placementOf, type Placement } from './mixed-calls.js';
import type { Recorder } from './recorder.js';
import { LOSS_BOUND } from './step-capacity.js';
import { countActiveSince, countStoredLoss, waitAllClosedSince, type LossCount } from './stored-packets.js';
import { messageOf, sleepUntil } from './timing.js';

/**
 * Step d: overload. The recorder runs with --max-sessions C; C calls are placed and held, then
 * 50 % more are offered while they are up. Past capacity the node must refuse the new calls with
 * 503 (so the controller tries the next node) and keep recording the calls it holds without loss.
 */

export interface OverloadPlan {
  readonly capacity: number;
  readonly extraShare: number;
  readonly callsPerSecond: number;
  readonly settleMs: number;
  /** How long the held calls stay up after the extra calls were offered. */
  readonly afterOfferMs: number;
  readonly extraHoldMs: number;
}

export interface OverloadResult {
  readonly capacity: number;
  readonly held: Placement;
  readonly activeBeforeOffer: number;
  readonly extra: Placement;
  /** Extra calls refused with 503 / extra calls offered (expected: 1). */
  readonly refusedRatio: number;
  readonly heldLoss: LossCount;
  readonly passed: boolean;
  readonly failReasons: readonly string[];
}

export async function runOverload(
  recorder: Recorder,
  generators: GeneratorPool,
  plan: OverloadPlan,
): Promise<OverloadResult> {
  const target = { host: '127.0.0.1', sipPort: recorder.sipPort };
  const extraCalls = Math.ceil(plan.capacity * plan.extraShare);
  const rampMs = (plan.capacity / plan.callsPerSecond) * 1000;
  const offerMs = (extraCalls / plan.callsPerSecond) * 1000 + plan.extraHoldMs;
  const holdMs = Math.round(rampMs + plan.settleMs + offerMs + plan.afterOfferMs);
  // Two processes hold the calls and two more offer the extra ones while they are up.
  await generators.ensure(4);
  const sinceMs = Date.now() - 1000;
  const t0 = performance.now();
  const holding = placeMixedCalls(generators, target, {
    calls: plan.capacity,
    callsPerSecond: plan.callsPerSecond,
    holdMs,
    tag: 'overload-held',
  }).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  await sleepUntil(t0 + rampMs + plan.settleMs);
  const activeBeforeOffer = countActiveSince(recorder.dbPath, sinceMs);
  const extra = await placeMixedCalls(generators, target, {
    calls: extraCalls,
    callsPerSecond: plan.callsPerSecond,
    holdMs: plan.extraHoldMs,
    tag: 'overload-extra',
  });
  const held = await holding;
  if (!held.ok) {
    throw new Error(`placing the held calls failed: ${messageOf(held.error)}`);
  }
  await waitAllClosedSince(recorder.dbPath, sinceMs, 30_000);
  const heldLoss = await countStoredLoss(recorder.dataDir, held.value.streams, { deleteMedia: false });
  const failReasons: string[] = [];
  if (held.value.answered !== plan.capacity) {
    failReasons.push(`${held.value.answered} of the ${plan.capacity} held calls were answered`);
  }
  if (extra.rejected !== extraCalls) {
    failReasons.push(
      `${extra.rejected} of ${extraCalls} extra calls refused with 503 (${extra.answered} answered, ${extra.failed} failed)`,
    );
  }
  if (heldLoss.lossRatio > LOSS_BOUND) {
    failReasons.push(`loss on the held calls ${(heldLoss.lossRatio * 100).toFixed(4)} %`);
  }
  return {
    capacity: plan.capacity,
    held: placementOf(held.value),
    activeBeforeOffer,
    extra: placementOf(extra),
    refusedRatio: extraCalls > 0 ? extra.rejected / extraCalls : 0,
    heldLoss,
    passed: failReasons.length === 0,
    failReasons,
  };
}
