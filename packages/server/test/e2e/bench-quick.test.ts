import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

/**
 * `npm run bench -- --quick` (issue #3) runs end to end, as a user runs it, and writes a results
 * file of the documented shape (bench/README.md, "The results file"). Only the shape is checked:
 * the figures depend on the machine and on whatever else it is doing, so no value or timing is
 * asserted beyond "a finite number ≥ 0, or null with a reason".
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function runQuickBench(outDir: string): Promise<{ code: number | string; output: string }> {
  return new Promise((resolveRun) => {
    // --no-build: `npm ci` has built dist; the shape does not depend on a rebuild after an edit.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--quick', '--no-build', '--out', outDir],
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
