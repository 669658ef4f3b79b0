/**
 * `npm run bench` (bench/README.md): starts Verbatim as a user would (`verbatim serve`, SQLite,
 * local disk), loads it from a separate load-generator process that behaves like a call controller
 * (real SIP over UDP, real-time RTP), and writes what it measured to bench/results/latest.json.
 *
 *   npm run bench                  full run (tens of minutes; leave the machine alone meanwhile)
 *   npm run bench -- --quick       smoke run in about 90 s; writes latest-quick.json
 *
 * Every process and temporary directory it creates is removed on exit, on failure and on Ctrl-C.
 */
import { GeneratorPool } from './runner/generator-client.js';
import { machineInfo } from './runner/machine.js';
import {
  parseOptions,
  planFor,
  USAGE,
  UsageError,
  type BenchOptions,
  type BenchPlan,
} from './runner/plan.js';
import { cleanupAll, installCleanupHandlers, makeTempDir } from './runner/processes.js';
import { ensureBuilt, migrate, startRecorder, type BuildInfo, type Recorder } from './runner/recorder.js';
import {
  REQUIRED_FIGURES,
  EXTRA_FIGURES,
  SCHEMA_VERSION,
  STEP_NAMES,
  checkTargets,
  formatTable,
  writeResults,
  type BenchResults,
  type FigureName,
  type Figures,
  type StepName,
  type StepRecord,
} from './runner/results.js';
import { seedSessions } from './runner/seed-sessions.js';
import { runBaseline, type BaselineResult } from './runner/step-baseline.js';
import { runCapacity, type CapacityResult } from './runner/step-capacity.js';
import { runExport, type ExportResult } from './runner/step-export.js';
import { runMp4Export, type Mp4Result } from './runner/step-mp4.js';
import { runOverload, type OverloadResult } from './runner/step-overload.js';
import { runQueries, type QueryResult } from './runner/step-query.js';
import { offeredCallsFor, runSaturation, type SaturationResult } from './runner/step-saturation.js';
import { runSetupRate, type SetupRateResult } from './runner/step-setup-rate.js';
import { runSippCrossCheck, type SippResult } from './runner/step-sipp.js';
import { writeSynthCall } from './runner/synth-call.js';
import { messageOf } from './runner/timing.js';

const startedAtMs = Date.now();

function log(line: string): void {
  process.stderr.write(`[bench +${((Date.now() - startedAtMs) / 1000).toFixed(1)}s] ${line}\n`);
}

interface Outcomes {
  capacity?: CapacityResult;
  baseline?: BaselineResult;
  setupRate?: SetupRateResult;
  overload?: OverloadResult;
  query?: QueryResult;
  export?: ExportResult;
  mp4?: Mp4Result;
  sipp?: SippResult;
  saturation?: SaturationResult;
}

/** Runs the steps in order, keeping one record per step whatever happens to it. */
class Session {
  readonly steps: Partial<Record<StepName, StepRecord>> = {};
  readonly outcomes: Outcomes = {};
  readonly generators = new GeneratorPool();
  #recorder: Recorder | undefined;

  constructor(
    readonly options: BenchOptions,
    readonly plan: BenchPlan,
  ) {}

  /** The recorder shared by capacity, setup rate and the sipp cross-check; restarted if it died. */
  async recorder(): Promise<Recorder> {
    if (this.#recorder === undefined || !this.#recorder.child.running()) {
      const dataDir = await makeTempDir('verbatim-bench-node-');
      this.#recorder = await startRecorder({
        dataDir,
        rtpPorts: this.options.rtpPorts,
        admission: this.options.admission,
      });
      log(`recorder: pid ${this.#recorder.pid}, SIP 127.0.0.1:${this.#recorder.sipPort}, data ${dataDir}`);
    }
    return this.#recorder;
  }

  async stopRecorder(): Promise<void> {
    if (this.#recorder !== undefined) {
      const code = await this.#recorder.stop();
      if (code !== 0) {
        log(`recorder exited with ${code}`);
      }
      this.#recorder = undefined;
    }
  }

  async close(): Promise<void> {
    await this.generators.close();
    await this.stopRecorder();
  }

  skip(name: StepName, reason: string): void {
    this.steps[name] = { status: 'skipped', reason };
  }

  async step<K extends StepName>(name: K, run: () => Promise<NonNullable<Outcomes[K]>>): Promise<void> {
    if (!this.options.steps.has(name)) {
      this.skip(name, 'not selected with --steps');
      return;
    }
    const started = performance.now();
    log(`${name}: start`);
    try {
      const value = await run();
      (this.outcomes as Record<string, unknown>)[name] = value;
      const seconds = (performance.now() - started) / 1000;
      this.steps[name] = { status: 'ok', seconds, ...(value as object) };
      log(`${name}: done in ${seconds.toFixed(1)} s`);
    } catch (error) {
      const seconds = (performance.now() - started) / 1000;
      this.steps[name] = { status: 'failed', seconds, reason: messageOf(error) };
      log(`${name}: FAILED after ${seconds.toFixed(1)} s: ${messageOf(error)}`);
    }
  }
}

async function runAll(session: Session): Promise<void> {
  const { plan, options } = session;
  await session.step('capacity', async () =>
    runCapacity(await session.recorder(), session.generators, plan.capacity, log),
  );
  const capacity = session.outcomes.capacity;
  const baselineCalls = capacity?.referenceCalls ?? plan.capacity.levels[0] ?? 20;
  await session.step('baseline', async () =>
    runBaseline(session.generators, { ...plan.baseline, calls: baselineCalls }),
  );
  await session.step('setupRate', async () =>
    runSetupRate(await session.recorder(), session.generators, plan.setupRate, log),
  );
  if (options.quick) {
    session.skip('sipp', 'skipped by --quick');
  } else if (options.skipSipp) {
    session.skip('sipp', 'skipped by --skip-sipp');
  } else {
    await session.step('sipp', async () =>
      runSippCrossCheck(await session.recorder(), session.generators, plan.sipp),
    );
  }
  await session.stopRecorder();

  await session.step('overload', async () => {
    const overloadCapacity =
      plan.overload.capacity === 'measured'
        ? (capacity?.maxConcurrentCalls ?? capacity?.carriedCalls ?? 1000)
        : plan.overload.capacity;
    const dataDir = await makeTempDir('verbatim-bench-overload-');
    const recorder = await startRecorder({
      dataDir,
      rtpPorts: options.rtpPorts,
      maxSessions: overloadCapacity,
      // The hard cap alone: with admission on, calls it refused while the held ones were placed
      // left room under the cap for extra calls (44 of 250 in the 2026-12-03 run).
      admission: false,
    });
    try {
      return await runOverload(recorder, session.generators, {
        ...plan.overload,
        capacity: overloadCapacity,
      });
    } finally {
      await recorder.stop();
    }
  });

  // Saturation: fresh recorders with no --max-sessions, so only the node's own headroom refuses.
  if (options.quick && !options.stepsNamed) {
    session.skip('saturation', 'skipped by --quick (name it with --steps to run it at quick scale)');
  } else {
    await session.step('saturation', async () => {
      const offered = offeredCallsFor(plan.saturation, capacity?.maxConcurrentCalls);
      const freshRecorder = async (): Promise<Recorder> =>
        startRecorder({
          dataDir: await makeTempDir('verbatim-bench-saturation-'),
          rtpPorts: options.rtpPorts,
        });
      return runSaturation(freshRecorder, session.generators, plan.saturation, offered, log);
    });
  }

  // Query and export share one node: a data directory seeded with N sessions plus the long call.
  const wantQuery = options.steps.has('query');
  const wantExport = options.steps.has('export');
  const wantMp4 = options.steps.has('mp4');
  if (!wantQuery) {
    session.skip('query', 'not selected with --steps');
  }
  if (!wantExport) {
    session.skip('export', 'not selected with --steps');
  }
  if (!wantMp4) {
    session.skip('mp4', 'not selected with --steps');
  }
  if (wantQuery || wantExport || wantMp4) {
    let archive: Recorder | undefined;
    try {
      const dataDir = await makeTempDir('verbatim-bench-archive-');
      const nowMs = Date.now();
      migrate(dataDir);
      log(`query: seeding ${wantQuery ? plan.query.sessions : 0} sessions`);
      const seed = seedSessions(`${dataDir}/verbatim.db`, {
        sessions: wantQuery ? plan.query.sessions : 0,
        days: 90,
        nowMs,
        agents: 2000,
      });
      log(`query: seeded in ${seed.seconds.toFixed(1)} s`);
      const call =
        wantExport || wantMp4
          ? await writeSynthCall(
              dataDir,
              plan.export.audioSeconds,
              nowMs - 2 * 3_600_000 - plan.export.audioSeconds * 1000,
            )
          : undefined;
      archive = await startRecorder({ dataDir, rtpPorts: options.rtpPorts });
      const node = archive;
      if (wantQuery) {
        await session.step('query', () =>
          runQueries(node, seed, {
            queries: plan.query.queries,
            warmupQueries: plan.query.warmupQueries,
            nowMs,
          }),
        );
      }
      if (call !== undefined && wantExport) {
        await session.step('export', () => runExport(node, call, { runs: plan.export.runs }));
      }
      if (call !== undefined && wantMp4) {
        await session.step('mp4', () => runMp4Export(node, call));
      }
    } catch (error) {
      // Preparing the archive node failed: both steps that needed it are failures, with the reason.
      for (const name of ['query', 'export', 'mp4'] as const) {
        if (options.steps.has(name) && session.steps[name] === undefined) {
          session.steps[name] = { status: 'failed', seconds: 0, reason: messageOf(error) };
        }
      }
      log(`query/export: FAILED: ${messageOf(error)}`);
    } finally {
      await archive?.stop();
    }
  }
}

/** Finite and ≥ 0, or null. */
function figure(value: number | null | undefined): number | null {
  return value !== null && value !== undefined && Number.isFinite(value) && value >= 0 ? value : null;
}

function stepReason(session: Session, name: StepName): string {
  const record = session.steps[name];
  if (record === undefined) {
    return `${name} step did not run`;
  }
  if (record.status === 'ok') {
    return `${name} step gave no value`;
  }
  return `${name} step ${record.status}: ${record.reason}`;
}

function computeFigures(session: Session): {
  figures: Figures;
  notMeasured: Partial<Record<FigureName, string>>;
} {
  const o = session.outcomes;
  const reference = o.capacity?.levels.find((l) => l.calls === o.capacity?.referenceCalls);
  const figures: Figures = {
    maxConcurrentCalls: figure(o.capacity?.maxConcurrentCalls),
    lossRatio: figure(reference?.loss.lossRatio),
    recorderCpuPerCall: figure(reference?.recorderCpuPerCall),
    baselineCpuPerCall: figure(o.baseline?.baselineCpuPerCall),
    rssBytesPerCall: figure(reference?.rssBytesPerCall),
    callsPerSecond: figure(o.setupRate?.callsPerSecond),
    setupMsP95: figure(o.setupRate?.setupMsP95),
    queryP95Ms: o.query !== undefined && o.query.errors === 0 ? figure(o.query.p95Ms) : null,
    exportSecondsPerHour: figure(o.export?.exportSecondsPerHour),
    mp4ExportSecondsPerHour: figure(o.mp4?.mp4ExportSecondsPerHour),
    overloadRefusedRatio: figure(o.overload?.refusedRatio),
    overloadHeldLossRatio: figure(o.overload?.heldLoss.lossRatio),
    saturationLossRatio: figure(o.saturation?.acceptedLossRatio),
    saturationRssBytesPerCall: figure(o.saturation?.rssBytesPerAcceptedCall),
    refusalsBeginAtCalls: figure(o.capacity?.refusalsBeginAtCalls),
  };
  const stepOf: Record<FigureName, StepName> = {
    maxConcurrentCalls: 'capacity',
    lossRatio: 'capacity',
    recorderCpuPerCall: 'capacity',
    rssBytesPerCall: 'capacity',
    baselineCpuPerCall: 'baseline',
    callsPerSecond: 'setupRate',
    setupMsP95: 'setupRate',
    queryP95Ms: 'query',
    exportSecondsPerHour: 'export',
    mp4ExportSecondsPerHour: 'mp4',
    overloadRefusedRatio: 'overload',
    overloadHeldLossRatio: 'overload',
    saturationLossRatio: 'saturation',
    saturationRssBytesPerCall: 'saturation',
    refusalsBeginAtCalls: 'capacity',
  };
  const notMeasured: Partial<Record<FigureName, string>> = {};
  for (const name of [...REQUIRED_FIGURES, ...EXTRA_FIGURES]) {
    if (figures[name] !== null) {
      continue;
    }
    if (name === 'maxConcurrentCalls' && o.capacity !== undefined) {
      const first = o.capacity.levels[0];
      notMeasured[name] =
        `no tested level passed: ${first?.calls ?? '?'} calls failed (${first?.failReasons.join('; ') ?? ''})`;
    } else if ((name === 'callsPerSecond' || name === 'setupMsP95') && o.setupRate !== undefined) {
      const first = o.setupRate.levels[0];
      notMeasured[name] =
        `no offered rate passed: ${first?.offeredCallsPerSecond ?? '?'}/s failed (${first?.failReasons.join('; ') ?? ''})`;
    } else if (name === 'refusalsBeginAtCalls' && o.capacity !== undefined) {
      const lossAt = o.capacity.lossBeginsAtCalls;
      notMeasured[name] =
        `no capacity level was refused (up to ${o.capacity.levels.at(-1)?.calls ?? '?'} calls); ` +
        (lossAt === null ? 'no level lost more than the bound either' : `loss began at ${lossAt} calls`);
    } else if (name === 'queryP95Ms' && o.query !== undefined) {
      notMeasured[name] = `${o.query.errors} queries failed, first: ${o.query.firstError ?? '?'}`;
    } else {
      notMeasured[name] = stepReason(session, stepOf[name]);
    }
  }
  return { figures, notMeasured };
}

/** Where a quick run's figure is not comparable with the target as such. */
function scaleNotes(session: Session): Partial<Record<FigureName, string>> {
  const { plan, options, outcomes } = session;
  const notes: Partial<Record<FigureName, string>> = {};
  const reference = outcomes.capacity?.referenceCalls;
  if (reference !== undefined && reference !== null) {
    notes.lossRatio = `at ${reference} calls`;
    notes.recorderCpuPerCall = `at ${reference} calls`;
    notes.rssBytesPerCall = `at ${reference} calls`;
    notes.baselineCpuPerCall = `at ${reference} calls`;
  }
  if (options.quick) {
    notes.maxConcurrentCalls = `quick run: tests at most ${Math.max(...plan.capacity.levels)} calls`;
    notes.callsPerSecond = `quick run: offers at most ${Math.max(...plan.setupRate.rates)} calls/s`;
    notes.queryP95Ms = `quick run: ${plan.query.sessions.toLocaleString('en-US')} sessions`;
    notes.exportSecondsPerHour = `quick run: scaled from ${plan.export.audioSeconds / 60} minutes`;
    notes.mp4ExportSecondsPerHour = `quick run: scaled from ${plan.export.audioSeconds / 60} minutes`;
  }
  if (outcomes.saturation !== undefined) {
    notes.saturationLossRatio = outcomes.saturation.runs
      .map(
        (r) => `${r.label}: ${r.accepted} accepted, ${r.refused} refused, ${r.failed} failed of ${r.offered}`,
      )
      .join('; ');
    notes.saturationRssBytesPerCall = outcomes.saturation.runs
      .map(
        (r) =>
          `${r.label}: peak RSS ${Math.round(r.recorderPeakRssBytes / 2 ** 20)} MiB with ${r.accepted} accepted of ${r.offered}`,
      )
      .join('; ');
  }
  const lossBegins = outcomes.capacity?.lossBeginsAtCalls;
  if (outcomes.capacity !== undefined) {
    notes.refusalsBeginAtCalls =
      lossBegins === null || lossBegins === undefined
        ? 'loss: no level tested above the bound'
        : `loss begins at ${lossBegins} calls`;
  }
  if (outcomes.overload !== undefined) {
    notes.overloadRefusedRatio = `${outcomes.overload.extra.rejected} of ${outcomes.overload.extra.attempted} extra calls at capacity ${outcomes.overload.capacity}`;
  }
  return notes;
}

async function main(): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const plan = planFor(options.quick);
  const session = new Session(options, plan);
  installCleanupHandlers((signal) => log(`${signal}: stopping every process the benchmark started`));

  const startedAt = new Date(startedAtMs).toISOString();
  const machine = machineInfo();
  log(`${options.quick ? 'quick' : 'full'} run on ${machine.cpuModel} (${machine.cores} cores)`);
  let build: BuildInfo;
  try {
    build = ensureBuilt(options.rebuildStale);
  } catch (error) {
    process.stderr.write(`error: ${messageOf(error)}\n`);
    return 1;
  }
  if (build.state === 'rebuilt') {
    log(
      `rebuilt packages/server/dist in ${build.seconds.toFixed(1)} s${build.warning === undefined ? '' : ` (${build.warning})`}`,
    );
  } else if (build.state === 'stale-kept') {
    log('warning: packages/server/dist is older than the source and --no-build was given');
  }

  try {
    await runAll(session);
  } finally {
    await session.close();
    await cleanupAll();
  }

  const { figures, notMeasured } = computeFigures(session);
  const finishedAtMs = Date.now();
  const steps = Object.fromEntries(
    STEP_NAMES.map((name) => [name, session.steps[name] ?? { status: 'skipped', reason: 'not reached' }]),
  ) as Record<StepName, StepRecord>;
  const results: BenchResults = {
    schemaVersion: SCHEMA_VERSION,
    mode: options.quick ? 'quick' : 'full',
    startedAt,
    finishedAt: new Date(finishedAtMs).toISOString(),
    durationSeconds: (finishedAtMs - startedAtMs) / 1000,
    machine,
    build,
    ...figures,
    notMeasured,
    targets: checkTargets(figures, scaleNotes(session)),
    steps,
  };
  process.stdout.write(formatTable(results));
  const paths = await writeResults(options.outDir, results);
  log(`wrote ${paths.join(' and ')}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(
      `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    await cleanupAll();
    process.exit(1);
  },
);
