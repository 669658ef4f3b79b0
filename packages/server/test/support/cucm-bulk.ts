import assert from 'node:assert/strict';
import { capture, FAR_HZ, NEAR_HZ } from './cucm-calls.js';
import { waitExit } from './processes.js';
import { downloadWav, findSessionBy, type SessionJson } from './session-api.js';
import { spawnSipp, type SippRun } from './sipp-process.js';
import { readFile } from 'node:fs/promises';
import {
  cucmLegScenario,
  cucmOfferedLegScenario,
  LOG_CALL_ANSWERED,
  LOG_CALL_REFUSED,
} from './sipp-scenarios.js';
import { dropoutsInside, mapPool, toneSpan, windowsOffTone } from './tone-checks.js';
import type { RunningServer } from './verbatim-server.js';

/**
 * Many CUCM-recorded calls at once, as a CUCM cluster offers them: two SIPp processes (the near
 * and the far legs) place call N of each at the same moment with the same x-refci, replaying a
 * capture of each party's tone; then every call's WAV is checked, not a sample of them.
 */

export interface CucmBulk {
  readonly calls: number;
  readonly callsPerSecond: number;
  /** Each leg replays this many seconds of its tone (whole 20 ms packets). */
  readonly toneSeconds: number;
  /** How long after the tone ends each leg hangs up (room for a late replay). */
  readonly marginMs: number;
  /** SIPp's CPUs (taskset -c), when a test starves others. */
  readonly cpus?: string;
  /** The node may refuse calls with 503: each leg logs its outcome (see callOutcomes). */
  readonly mayBeRefused?: boolean;
}

export interface CucmBulkRun {
  /** The x-refci (= ccid) of call N is `${base}N`. */
  readonly refCiBase: string;
  readonly legs: readonly SippRun[];
  /** ccids of the calls, in call order. */
  readonly ccids: readonly string[];
}

/** Starts both legs' SIPp processes; wait for them with finishCucmBulk. */
export async function startCucmBulk(
  server: RunningServer,
  work: string,
  name: string,
  bulk: CucmBulk,
): Promise<CucmBulkRun> {
  // Near-end x-refci ${base}N; far-end x-refci 9${base}N, which no near end uses (base starts 1-8).
  const refCiBase = String(10_000 + Math.floor(Math.random() * 80_000));
  const legs = await Promise.all(
    (['x-nearend', 'x-farend'] as const).map((stream) => {
      const hz = stream === 'x-nearend' ? NEAR_HZ : FAR_HZ;
      const leg = {
        stream,
        refCi: `${refCiBase}[call_number]`,
        farEndRefCi: `9${refCiBase}[call_number]`,
        nearEndDevice: 'SEP6C416A369525',
        nearEndAddr: '1001',
        farEndDevice: 'SEP38ED18552A12',
        farEndAddr: '1000',
        payloadType: 0,
        codecName: 'PCMU',
        holdMs: bulk.toneSeconds * 1000 + bulk.marginMs,
        ptimeMs: 20,
        pcapPath: capture(work, `${name}-${stream}`, 'PCMU', hz, bulk.toneSeconds),
      } as const;
      const scenario =
        bulk.mayBeRefused === true
          ? cucmOfferedLegScenario(leg)
          : cucmLegScenario({ ...leg, offer: 'delayed', ending: 'bye' });
      return spawnSipp(`sipp ${name} ${stream}`, server, scenario, {
        work,
        bulk: { calls: bulk.calls, callsPerSecond: bulk.callsPerSecond },
        timeoutSeconds: Math.ceil(
          bulk.calls / bulk.callsPerSecond + bulk.toneSeconds + bulk.marginMs / 1000 + 60,
        ),
        ...(bulk.cpus === undefined ? {} : { cpus: bulk.cpus }),
      });
    }),
  );
  const ccids = Array.from({ length: bulk.calls }, (_, i) => `${refCiBase}${i + 1}`);
  return { refCiBase, legs, ccids };
}

/**
 * Waits for both SIPp processes; each must have completed every call (exit 0) unless `mayFail`,
 * which gives the failures instead (each leg's name, exit code and output) for the test to judge.
 */
export async function finishCucmBulk(
  run: CucmBulkRun,
  bulk: CucmBulk,
  options: { mayFail?: boolean } = {},
): Promise<string[]> {
  const deadlineMs = (bulk.calls / bulk.callsPerSecond + bulk.toneSeconds + bulk.marginMs / 1000 + 90) * 1000;
  const failures: string[] = [];
  for (const leg of run.legs) {
    const code = await waitExit(leg.sipp, deadlineMs);
    if (code === 0) {
      continue;
    }
    const output = leg.sipp.output();
    // SIPp says why a call failed at the top, and gives its counts at the bottom.
    const shown = output.length <= 6000 ? output : `${output.slice(0, 3000)}\n…\n${output.slice(-3000)}`;
    failures.push(`${leg.sipp.name} did not complete every call (exit ${code}):\n${shown}`);
  }
  if (options.mayFail !== true) {
    assert.deepEqual(failures, [], failures.join('\n'));
  }
  return failures;
}

/** How the node answered each leg of a call of a `mayBeRefused` run. */
export interface CallOutcome {
  /** The call's ccid. */
  readonly ccid: string;
  /** Near leg, far leg; 'none' when the leg logged neither (it failed). */
  readonly legs: readonly ('answered' | 'refused' | 'none')[];
  /** The Retry-After header of each refused leg. */
  readonly retryAfter: readonly string[];
}

/** Reads each leg's SIPp log for the outcome of every call of a `mayBeRefused` run. */
export async function callOutcomes(run: CucmBulkRun): Promise<CallOutcome[]> {
  const logs = await Promise.all(run.legs.map((leg) => readFile(leg.logFile, 'utf8').catch(() => '')));
  const perLeg = logs.map((text) => {
    const outcomes = new Map<number, { outcome: 'answered' | 'refused'; retryAfter?: string }>();
    for (const match of text.matchAll(new RegExp(`${LOG_CALL_ANSWERED}(\\d+);`, 'g'))) {
      outcomes.set(Number(match[1]), { outcome: 'answered' });
    }
    for (const match of text.matchAll(new RegExp(`${LOG_CALL_REFUSED}(\\d+);([^\\n]*)`, 'g'))) {
      outcomes.set(Number(match[1]), { outcome: 'refused', retryAfter: match[2] ?? '' });
    }
    return outcomes;
  });
  return run.ccids.map((ccid, index) => {
    const legs = perLeg.map((outcomes) => outcomes.get(index + 1));
    return {
      ccid,
      legs: legs.map((leg) => leg?.outcome ?? 'none'),
      retryAfter: legs.flatMap((leg) => (leg?.retryAfter === undefined ? [] : [leg.retryAfter])),
    };
  });
}

/** What is wrong with one call's recording; empty when it is clean. */
export async function cucmCallFaults(
  server: RunningServer,
  ccid: string,
  toneSeconds: number,
  toleranceMs = 20,
): Promise<string[]> {
  const session: SessionJson = await findSessionBy(server, 'ccid', ccid, (s) => s.sessionState !== 'ACTIVE');
  const faults: string[] = [];
  const packets = (toneSeconds * 1000) / 20;
  if (session.sessionState !== 'CLOSED_NORMAL') {
    faults.push(`state ${session.sessionState}`);
  }
  const stored = session.tracks.map((t) => `${t.stats.packets}/${t.stats.lost}`);
  if (
    session.tracks.length !== 2 ||
    session.tracks.some((t) => t.stats.packets !== packets || t.stats.lost !== 0)
  ) {
    faults.push(`tracks stored/lost ${stored.join(', ')} (expected ${packets}/0 each)`);
  }
  const { wav } = await downloadWav(server, session);
  for (const [channel, hz] of [NEAR_HZ, FAR_HZ].entries()) {
    const samples = wav.channelSamples[channel] ?? new Int16Array(0);
    const label = channel === 0 ? 'near' : 'far';
    const span = toneSpan(samples, wav.sampleRateHz);
    if (span.firstSample < 0) {
      faults.push(`${label}: silent`);
      continue;
    }
    if (Math.abs(span.durationMs - toneSeconds * 1000) > toleranceMs) {
      faults.push(`${label}: tone lasts ${span.durationMs.toFixed(1)} ms, sent ${toneSeconds * 1000} ms`);
    }
    const dropouts = dropoutsInside(samples, wav.sampleRateHz, span);
    if (dropouts.length > 0) {
      faults.push(
        `${label}: silence inside the tone at ${dropouts.map((d) => `${d.startMs.toFixed(1)}-${d.endMs.toFixed(1)}`).join(', ')} ms`,
      );
    }
    const offTone = windowsOffTone(samples, wav.sampleRateHz, span, hz);
    if (offTone.length > 0) {
      faults.push(
        `${label}: not ${hz} Hz in the 100 ms windows at ${offTone.map((m) => m.toFixed(0)).join(', ')} ms`,
      );
    }
  }
  return faults;
}

/**
 * Checks every call's recording, `parallel` at a time; fails listing each faulty call (up to 20
 * of them) with what is wrong.
 */
export async function assertEveryCallClean(
  server: RunningServer,
  ccids: readonly string[],
  toneSeconds: number,
  parallel = 4,
): Promise<void> {
  const faults = await mapPool(ccids, parallel, async (ccid) => ({
    ccid,
    faults: await cucmCallFaults(server, ccid, toneSeconds),
  }));
  const faulty = faults.filter((f) => f.faults.length > 0);
  assert.equal(
    faulty.length,
    0,
    `${faulty.length} of ${ccids.length} recordings are not clean:\n` +
      faulty
        .slice(0, 20)
        .map((f) => `  ${f.ccid}: ${f.faults.join('; ')}`)
        .join('\n'),
  );
}
