import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planFor } from '../../../../bench/runner/plan.js';

/**
 * `npm run bench -- --quick` (issue #3) runs end to end, as a user runs it, and writes a results
 * file of the documented shape (bench/README.md, "The results file"). Beyond the shape, every step
 * must have run and measured something: each figure is there, every call placed was answered and
 * no packet was lost at these small loads. How fast anything went depends on the machine and on
 * whatever else it is doing, so no speed, CPU or memory figure is compared with a bound here: that
 * is what the full benchmark's targets are for.
 */

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
/** The quick run takes about 75 s; the deadline only turns a hang into a failure. */
const RUN_DEADLINE_MS = 150_000;

const REQUIRED_FIGURES = [
  'maxConcurrentCalls',
  'lossRatio',
  'recorderCpuPerCall',
  'rssBytesPerCall',
  'callsPerSecond',
  'queryP95Ms',
  'exportSecondsPerHour',
  'baselineCpuPerCall',
] as const;
const EXTRA_FIGURES = ['setupMsP95', 'overloadRefusedRatio', 'overloadHeldLossRatio'] as const;
const STEPS = ['capacity', 'baseline', 'setupRate', 'overload', 'query', 'export', 'sipp'] as const;
/** What the quick run asks of each step (bench/runner/plan.ts), so the counts below follow it. */
const PLAN = planFor(true);
const OVERLOAD_CAPACITY = PLAN.overload.capacity;
if (OVERLOAD_CAPACITY === 'measured') {
  throw new Error('the quick plan names its overload capacity');
}
const QUICK = {
  capacityLevels: PLAN.capacity.levels,
  setupRates: PLAN.setupRate.rates,
  secondsOfCalls: PLAN.setupRate.secondsOfCalls,
  overloadCapacity: OVERLOAD_CAPACITY,
  // As step-overload.ts offers them: a share of the capacity beyond it.
  overloadExtraCalls: Math.ceil(OVERLOAD_CAPACITY * PLAN.overload.extraShare),
  queries: PLAN.query.queries,
  exportRuns: PLAN.export.runs,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value[key]` as a record, failing the test with `what` when it is not one. */
function recordAt(value: Record<string, unknown>, key: string, what: string): Record<string, unknown> {
  const field = value[key];
  assert.ok(isRecord(field), `${what}: ${key} is recorded`);
  return field;
}

/** `value[key]` as a list of records. */
function recordsAt(value: Record<string, unknown>, key: string, what: string): Record<string, unknown>[] {
  const field = value[key];
  assert.ok(Array.isArray(field) && field.every(isRecord), `${what}: ${key} is a list`);
  return field;
}

/** Every call of a placement was answered: none refused, none failed. */
function assertAllAnswered(placement: Record<string, unknown>, calls: number, what: string): void {
  assert.deepEqual(
    {
      attempted: placement.attempted,
      answered: placement.answered,
      rejected: placement.rejected,
      failed: placement.failed,
    },
    { attempted: calls, answered: calls, rejected: 0, failed: 0 },
    `${what}: every call answered`,
  );
  assert.ok((placement.sentPackets as number) > 0, `${what}: RTP was sent`);
  assert.ok((placement.setupMsP95 as number) > 0, `${what}: setup times were measured`);
}

/** Every packet sent was stored, each call in its session (stored-packets.ts counts the pcap files). */
function assertNoLoss(loss: Record<string, unknown>, calls: number, what: string): void {
  assert.equal(loss.calls, calls, `${what}: every call counted`);
  assert.equal(loss.sessionsFound, calls, `${what}: every call has its session`);
  assert.equal(loss.callsWithoutSession, 0, `${what}: no call without a session`);
  assert.ok((loss.sentPackets as number) > 0, `${what}: packets were sent`);
  assert.equal(loss.storedPackets, loss.sentPackets, `${what}: every packet sent was stored`);
  assert.equal(loss.missingPackets, 0, `${what}: no packet missing`);
  assert.equal(loss.lossRatio, 0, `${what}: no loss`);
}

function runQuickBench(outDir: string): Promise<{ code: number | string; output: string }> {
  return new Promise((resolveRun) => {
    // --no-build: `npm ci` has built dist; the shape does not depend on a rebuild after an edit.
    // --admission off: the suite runs other tests beside this one, and on a busy host admission
    // control may refuse some of the quick run's calls, which every step here must see answered.
    // Admission's refusals are tested by cpu-starved.test.ts and the recording-admission tests.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--quick', '--no-build', '--admission', 'off', '--out', outDir],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // SIGTERM lets the runner stop the recorder and the generators it started before it exits.
    const deadline = setTimeout(() => child.kill('SIGTERM'), RUN_DEADLINE_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(deadline);
      resolveRun({ code: code ?? signal ?? 'unknown', output });
    });
  });
}

describe('npm run bench -- --quick', { timeout: RUN_DEADLINE_MS + 30_000 }, () => {
  let outDir: string;
  let results: Record<string, unknown>;
  let files: string[];

  before(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'verbatim-bench-quick-'));
    const run = await runQuickBench(outDir);
    assert.equal(run.code, 0, `the quick benchmark failed:\n${run.output}`);
    files = (await readdir(outDir)).sort();
    const parsed: unknown = JSON.parse(await readFile(join(outDir, 'latest-quick.json'), 'utf8'));
    assert.ok(isRecord(parsed), 'the results file holds a JSON object');
    results = parsed;
  });

  after(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  it('writes latest-quick.json and a timestamped quick copy, never latest.json', async () => {
    assert.equal(files.length, 2, `files: ${files.join(', ')}`);
    assert.ok(!files.includes('latest.json'));
    const copy = files.find((f) => f !== 'latest-quick.json');
    assert.match(copy ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z-quick\.json$/);
    assert.equal(
      await readFile(join(outDir, copy ?? ''), 'utf8'),
      await readFile(join(outDir, 'latest-quick.json'), 'utf8'),
    );
    assert.equal(results.schemaVersion, 1);
    assert.equal(results.mode, 'quick');
    for (const field of ['startedAt', 'finishedAt']) {
      assert.ok(!Number.isNaN(Date.parse(String(results[field]))), `${field} is a date`);
    }
  });

  it('has every figure as a finite number >= 0, or null with its reason in notMeasured', () => {
    const notMeasured = results.notMeasured;
    assert.ok(isRecord(notMeasured), 'notMeasured is an object');
    for (const figure of [...REQUIRED_FIGURES, ...EXTRA_FIGURES]) {
      assert.ok(figure in results, `${figure} is present`);
      const value = results[figure];
      if (value === null) {
        const reason = notMeasured[figure];
        assert.ok(typeof reason === 'string' && reason.length > 0, `${figure} is null without a reason`);
      } else {
        assert.equal(typeof value, 'number', `${figure} is a number or null`);
        assert.ok(Number.isFinite(value) && (value as number) >= 0, `${figure} = ${JSON.stringify(value)}`);
      }
    }
  });

  it('describes the machine it ran on', () => {
    const machine = results.machine;
    assert.ok(isRecord(machine));
    for (const field of ['cpuModel', 'os', 'kernel', 'node', 'gitCommit']) {
      assert.ok(typeof machine[field] === 'string' && machine[field] !== '', `machine.${field}`);
    }
    assert.ok(Number.isInteger(machine.cores) && (machine.cores as number) >= 1, 'machine.cores');
    assert.ok(typeof machine.memoryBytes === 'number' && machine.memoryBytes > 0, 'machine.memoryBytes');
    assert.equal(typeof machine.gitDirty, 'boolean');
    assert.match(String(machine.node), /^v\d+\./);
  });

  it('records every step with its status, and the sipp cross-check as skipped', (t) => {
    const steps = results.steps;
    assert.ok(isRecord(steps));
    for (const name of STEPS) {
      const step = steps[name];
      assert.ok(isRecord(step), `step ${name} is recorded`);
      assert.ok(
        ['ok', 'failed', 'skipped'].includes(String(step.status)),
        `step ${name}: ${String(step.status)}`,
      );
      if (step.status !== 'ok') {
        assert.ok(typeof step.reason === 'string' && step.reason !== '', `step ${name} has a reason`);
        t.diagnostic(`step ${name} ${JSON.stringify(step.status)}: ${JSON.stringify(step.reason)}`);
      }
      if (step.status !== 'skipped') {
        assert.ok(typeof step.seconds === 'number' && step.seconds >= 0, `step ${name} has its duration`);
      }
    }
    assert.equal((steps.sipp as Record<string, unknown>).status, 'skipped');
  });

  it('ran every step but the sipp cross-check to the end', () => {
    const steps = recordAt(results, 'steps', 'results');
    for (const name of STEPS.filter((step) => step !== 'sipp')) {
      const step = recordAt(steps, name, 'steps');
      assert.equal(step.status, 'ok', `step ${name} ran: ${JSON.stringify(step.reason)}`);
    }
  });

  it('measured every figure: a number, with no loss and every extra call refused', (t) => {
    for (const figure of [...REQUIRED_FIGURES, ...EXTRA_FIGURES]) {
      const value = results[figure];
      if (value === null && (figure === 'callsPerSecond' || figure === 'setupMsP95')) {
        // A rate passes only if the generator reached 90 % of it: on a busy machine even 20 calls/s
        // may not be reached. That is a measurement (too slow), not a step that did not run; the
        // calls themselves are checked below.
        const first = recordsAt(
          recordAt(recordAt(results, 'steps', 'results'), 'setupRate', 'steps'),
          'levels',
          'setupRate',
        )[0];
        const reasons = first?.failReasons;
        assert.ok(
          Array.isArray(reasons) &&
            reasons.length > 0 &&
            reasons.every((r) => /^calls were answered at /.test(String(r))),
          `${figure} is null for another reason than the rate reached: ${JSON.stringify(reasons)}`,
        );
        t.diagnostic(`${figure}: not measured on this machine: ${JSON.stringify(reasons)}`);
        continue;
      }
      assert.equal(
        typeof value,
        'number',
        `${figure} was measured: ${JSON.stringify((results.notMeasured as Record<string, unknown>)[figure])}`,
      );
    }
    for (const figure of [
      'recorderCpuPerCall',
      'baselineCpuPerCall',
      'queryP95Ms',
      'exportSecondsPerHour',
    ] as const) {
      assert.ok((results[figure] as number) > 0, `${figure} = ${JSON.stringify(results[figure])}`);
    }
    assert.ok(
      QUICK.capacityLevels.includes(results.maxConcurrentCalls as number),
      `maxConcurrentCalls is a tested level: ${JSON.stringify(results.maxConcurrentCalls)}`,
    );
    assert.equal(results.lossRatio, 0, 'no loss at the reference level');
    assert.equal(results.overloadHeldLossRatio, 0, 'no loss on the calls held at capacity');
    assert.equal(results.overloadRefusedRatio, 1, 'every call beyond capacity refused');
  });

  it('capacity: every level answered every call and stored every packet', () => {
    const capacity = recordAt(recordAt(results, 'steps', 'results'), 'capacity', 'steps');
    const levels = recordsAt(capacity, 'levels', 'capacity');
    assert.ok(levels.length >= 1, 'at least one level ran');
    for (const [index, level] of levels.entries()) {
      const calls = QUICK.capacityLevels[index];
      const what = `capacity ${String(calls)} calls`;
      assert.equal(level.calls, calls, `${what}: the planned level`);
      assertAllAnswered(recordAt(level, 'placement', what), calls ?? 0, what);
      assert.equal(level.activeAfterHangup, 0, `${what}: every session closed after hang-up`);
      assert.ok((level.recorderCpuPerCall as number) > 0, `${what}: the recorder's CPU was measured`);
      assertNoLoss(recordAt(level, 'loss', what), calls ?? 0, what);
    }
  });

  it('baseline: the bare receiver got every packet', () => {
    const baseline = recordAt(recordAt(results, 'steps', 'results'), 'baseline', 'steps');
    assert.ok((baseline.calls as number) > 0 && (baseline.sentPackets as number) > 0, 'baseline sent RTP');
    assert.equal(baseline.receivedPackets, baseline.sentPackets, 'every packet received');
    assert.equal(baseline.lossRatio, 0);
  });

  it('setup rate: every offered rate answered every call and stored every packet', () => {
    const setupRate = recordAt(recordAt(results, 'steps', 'results'), 'setupRate', 'steps');
    const levels = recordsAt(setupRate, 'levels', 'setupRate');
    assert.ok(levels.length >= 1, 'at least one rate ran');
    for (const [index, level] of levels.entries()) {
      const rate = QUICK.setupRates[index] ?? 0;
      const what = `setup rate ${rate}/s`;
      const calls = rate * QUICK.secondsOfCalls;
      assert.equal(level.offeredCallsPerSecond, rate, `${what}: the planned rate`);
      assertAllAnswered(recordAt(level, 'placement', what), calls, what);
      assert.equal(level.activeAfterHangup, 0, `${what}: every session closed after hang-up`);
      assertNoLoss(recordAt(level, 'loss', what), calls, what);
    }
  });

  it('overload: the held calls answered without loss, every extra call refused with 503', () => {
    const overload = recordAt(recordAt(results, 'steps', 'results'), 'overload', 'steps');
    assert.equal(overload.capacity, QUICK.overloadCapacity);
    assert.equal(overload.passed, true, `overload: ${JSON.stringify(overload.failReasons)}`);
    assertAllAnswered(recordAt(overload, 'held', 'overload'), QUICK.overloadCapacity, 'overload held');
    const extra = recordAt(overload, 'extra', 'overload');
    assert.deepEqual(
      {
        attempted: extra.attempted,
        answered: extra.answered,
        rejected: extra.rejected,
        failed: extra.failed,
      },
      { attempted: QUICK.overloadExtraCalls, answered: 0, rejected: QUICK.overloadExtraCalls, failed: 0 },
    );
    assertNoLoss(recordAt(overload, 'heldLoss', 'overload'), QUICK.overloadCapacity, 'overload held');
  });

  it('query and export: every query answered and timed, every export whole', () => {
    const steps = recordAt(results, 'steps', 'results');
    const query = recordAt(steps, 'query', 'steps');
    assert.equal(query.queries, QUICK.queries);
    assert.equal(query.errors, 0, `no query failed: ${JSON.stringify(query.firstError)}`);
    const byKind = recordAt(query, 'byKind', 'query');
    assert.ok(Object.keys(byKind).length > 0, 'queries of each kind');
    for (const [kind, figures] of Object.entries(byKind)) {
      assert.ok(isRecord(figures) && (figures.count as number) > 0, `${kind} queries ran`);
      assert.ok((figures.p95Ms as number) > 0, `${kind} queries were timed`);
    }
    const exported = recordAt(steps, 'export', 'steps');
    const runs = recordsAt(exported, 'runs', 'export');
    assert.equal(runs.length, QUICK.exportRuns);
    for (const run of runs) {
      assert.equal(run.bytes, exported.expectedBytes, 'the whole WAV was served');
      assert.ok((run.seconds as number) > 0, 'the export was timed');
    }
  });

  it('compares each figure with its target', () => {
    const targets = results.targets;
    assert.ok(Array.isArray(targets));
    const named = new Set(targets.map((t: unknown) => (isRecord(t) ? t.figure : undefined)));
    for (const figure of REQUIRED_FIGURES) {
      assert.ok(named.has(figure), `a target row for ${figure}`);
    }
    for (const row of targets) {
      assert.ok(isRecord(row));
      assert.equal(typeof row.target, 'string');
      assert.ok(row.met === null || typeof row.met === 'boolean');
      assert.equal(
        row.measured,
        results[String(row.figure)],
        `${String(row.figure)} in the table = the figure`,
      );
    }
  });
});
