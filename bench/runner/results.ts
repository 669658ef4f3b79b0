import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildInfo } from './recorder.js';
import type { MachineInfo } from './machine.js';

/**
 * The results file (bench/results/latest.json and a timestamped copy; quick runs write
 * latest-quick.json) and the table printed at the end. bench/README.md documents every field.
 *
 * A figure is either a finite number ≥ 0 or null; a null figure always has its reason in
 * `notMeasured[figure]` (the step failed, was skipped, or nothing passed). Each step keeps its raw
 * figures under `steps`, so any headline number can be recomputed from the file.
 */

export const SCHEMA_VERSION = 1;

/** The figures issue #3 requires, in the order the table prints them. */
export const REQUIRED_FIGURES = [
  'maxConcurrentCalls',
  'lossRatio',
  'recorderCpuPerCall',
  'baselineCpuPerCall',
  'rssBytesPerCall',
  'callsPerSecond',
  'queryP95Ms',
  'exportSecondsPerHour',
] as const;

export const EXTRA_FIGURES = [
  'setupMsP95',
  'overloadRefusedRatio',
  'overloadHeldLossRatio',
  'saturationLossRatio',
  'saturationRssBytesPerCall',
  'refusalsBeginAtCalls',
  'mp4ExportSecondsPerHour',
] as const;

export type FigureName = (typeof REQUIRED_FIGURES)[number] | (typeof EXTRA_FIGURES)[number];

export type Figures = Record<FigureName, number | null>;

export const STEP_NAMES = [
  'capacity',
  'baseline',
  'setupRate',
  'overload',
  'query',
  'export',
  'mp4',
  'sipp',
  'saturation',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

export type StepRecord =
  | ({ readonly status: 'ok'; readonly seconds: number } & Readonly<Record<string, unknown>>)
  | { readonly status: 'failed'; readonly seconds: number; readonly reason: string }
  | { readonly status: 'skipped'; readonly reason: string };

export interface TargetCheck {
  readonly figure: FigureName;
  readonly measured: number | null;
  readonly target: string;
  /** null: nothing to compare (the figure or its reference was not measured). */
  readonly met: boolean | null;
  readonly note?: string;
}

export interface BenchResults extends Figures {
  readonly schemaVersion: number;
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  readonly build: BuildInfo;
  readonly notMeasured: Partial<Record<FigureName, string>>;
  readonly targets: readonly TargetCheck[];
  readonly steps: Record<StepName, StepRecord>;
}

/** The targets of DESIGN.md §3 for this 2-core machine. */
export function checkTargets(figures: Figures, notes: Partial<Record<FigureName, string>>): TargetCheck[] {
  const check = (
    figure: FigureName,
    target: string,
    test: (value: number) => boolean | null,
  ): TargetCheck => {
    const measured = figures[figure];
    const note = notes[figure];
    return {
      figure,
      measured,
      target,
      met: measured === null ? null : test(measured),
      ...(note === undefined ? {} : { note }),
    };
  };
  const baseline = figures.baselineCpuPerCall;
  return [
    check('maxConcurrentCalls', '>= 1000', (v) => v >= 1000),
    check('lossRatio', '<= 0.0001 (0.01 %)', (v) => v <= 0.0001),
    check('recorderCpuPerCall', '<= 3 x baselineCpuPerCall', (v) =>
      baseline === null || baseline === 0 ? null : v <= 3 * baseline,
    ),
    check('baselineCpuPerCall', '(reference)', () => null),
    check('rssBytesPerCall', '< 102400 (100 KB)', (v) => v < 102_400),
    check('callsPerSecond', '>= 200', (v) => v >= 200),
    check('setupMsP95', '(reported)', () => null),
    check('queryP95Ms', '< 50 at 1,000,000 sessions', (v) => v < 50),
    check('exportSecondsPerHour', '< 1', (v) => v < 1),
    check('mp4ExportSecondsPerHour', '< 10', (v) => v < 10),
    check('overloadRefusedRatio', '= 1 (every extra call gets 503)', (v) => v === 1),
    check('overloadHeldLossRatio', '<= 0.0001 (0.01 %)', (v) => v <= 0.0001),
    check('saturationLossRatio', '<= 0.0001 (0.01 %) of the accepted calls', (v) => v <= 0.0001),
    check(
      'saturationRssBytesPerCall',
      '<= 2 x rssBytesPerCall (the calls held set the memory, not the calls offered)',
      (v) => (figures.rssBytesPerCall === null ? null : v <= 2 * figures.rssBytesPerCall),
    ),
    check('refusalsBeginAtCalls', '(reported, next to where loss begins)', () => null),
  ];
}

function formatValue(figure: FigureName, value: number | null): string {
  if (value === null) {
    return 'not measured';
  }
  switch (figure) {
    case 'lossRatio':
    case 'overloadHeldLossRatio':
    case 'saturationLossRatio':
      return `${(value * 100).toFixed(4)} %`;
    case 'overloadRefusedRatio':
      return `${(value * 100).toFixed(1)} %`;
    case 'recorderCpuPerCall':
    case 'baselineCpuPerCall':
      return `${value.toFixed(4)} CPU s/call-min`;
    case 'rssBytesPerCall':
    case 'saturationRssBytesPerCall':
      return `${(value / 1024).toFixed(1)} KB`;
    case 'callsPerSecond':
      return `${value} calls/s`;
    case 'queryP95Ms':
    case 'setupMsP95':
      return `${value.toFixed(1)} ms`;
    case 'exportSecondsPerHour':
    case 'mp4ExportSecondsPerHour':
      return `${value.toFixed(3)} s/hour`;
    case 'maxConcurrentCalls':
    case 'refusalsBeginAtCalls':
      return `${value} calls`;
  }
}

export function formatTable(results: BenchResults): string {
  const rows = results.targets.map((t) => [
    t.figure,
    formatValue(t.figure, t.measured),
    t.target,
    t.met === null ? '-' : t.met ? 'met' : 'NOT MET',
    [t.note, t.measured === null ? results.notMeasured[t.figure] : undefined]
      .filter((n) => n !== undefined)
      .join('; '),
  ]);
  const header = ['figure', 'measured', 'target', 'met', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join(' | ')
      .trimEnd();
  const m = results.machine;
  return [
    `Verbatim benchmark (${results.mode}) ${results.startedAt}, ${Math.round(results.durationSeconds)} s`,
    `${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${m.os}, Linux ${m.kernel}, Node ${m.node}, ` +
      `commit ${m.gitCommit.slice(0, 12)}${m.gitDirty ? ' (modified)' : ''}, load ${m.loadAverageAtStart.toFixed(2)} at start`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ].join('\n');
}

/** Writes latest(.json|-quick.json) and a timestamped copy; returns their paths. */
export async function writeResults(outDir: string, results: BenchResults): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const stamp = results.startedAt.replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  const suffix = results.mode === 'quick' ? '-quick' : '';
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const paths = [join(outDir, `latest${suffix}.json`), join(outDir, `${stamp}${suffix}.json`)];
  for (const path of paths) {
    await writeFile(path, text);
  }
  return paths;
}
