import type { CallsReport, RecorderTarget, StreamReport } from '../protocol.js';
import type { GeneratorPool } from './generator-client.js';

/**
 * A load of calls as a contact centre offers it: half CUCM-style (two delayed-offer INVITEs per
 * call), half CUBE-style (one early-offer INVITE with two m-lines), placed at the same time, each
 * half at half the rate.
 */

/** One style's figures as the generator reports them, without the per-stream detail. */
export type StyleSummary = Pick<
  CallsReport,
  | 'attempted'
  | 'answered'
  | 'rejected'
  | 'failed'
  | 'setupMsP50'
  | 'setupMsP95'
  | 'setupWindowMs'
  | 'sentPackets'
  | 'latePackets'
>;

export interface MixedReport {
  readonly attempted: number;
  readonly answered: number;
  readonly rejected: number;
  readonly failed: number;
  /** The larger of the two styles' percentiles (the generator reports each style on its own). */
  readonly setupMsP50: number;
  readonly setupMsP95: number;
  /** The longer of the two styles' windows from first INVITE to last answer. */
  readonly setupWindowMs: number;
  /** Calls answered per second of setup window, both styles together. */
  readonly achievedCallsPerSecond: number;
  readonly sentPackets: number;
  readonly latePackets: number;
  readonly byStyle: { readonly cucm: StyleSummary; readonly cube: StyleSummary };
  /** Per-stream detail, for the loss count; not written to the results file. */
  readonly streams: readonly StreamReport[];
}

/** The report without its per-stream detail, as the results file keeps it. */
export type Placement = Omit<MixedReport, 'streams'>;

export function placementOf(report: MixedReport): Placement {
  return {
    attempted: report.attempted,
    answered: report.answered,
    rejected: report.rejected,
    failed: report.failed,
    setupMsP50: report.setupMsP50,
    setupMsP95: report.setupMsP95,
    setupWindowMs: report.setupWindowMs,
    achievedCallsPerSecond: report.achievedCallsPerSecond,
    sentPackets: report.sentPackets,
    latePackets: report.latePackets,
    byStyle: report.byStyle,
  };
}

function summary(report: CallsReport): StyleSummary {
  return {
    attempted: report.attempted,
    answered: report.answered,
    rejected: report.rejected,
    failed: report.failed,
    setupMsP50: report.setupMsP50,
    setupMsP95: report.setupMsP95,
    setupWindowMs: report.setupWindowMs,
    sentPackets: report.sentPackets,
    latePackets: report.latePackets,
  };
}

export async function placeMixedCalls(
  generators: GeneratorPool,
  target: RecorderTarget,
  options: {
    readonly calls: number;
    readonly callsPerSecond: number;
    readonly holdMs: number;
    readonly tag: string;
    /** All calls CUCM-style (the sipp cross-check compares like with like). */
    readonly cucmOnly?: boolean;
  },
): Promise<MixedReport> {
  const cucmCalls = options.cucmOnly === true ? options.calls : Math.ceil(options.calls / 2);
  const cubeCalls = options.calls - cucmCalls;
  const rateOf = (calls: number): number => (options.callsPerSecond * calls) / options.calls;
  const [cucm, cube] = await Promise.all([
    generators.with((generator) =>
      generator.placeCalls({
        tag: generator.tag(`${options.tag}-cucm`),
        target,
        style: 'cucm',
        calls: cucmCalls,
        callsPerSecond: rateOf(cucmCalls),
        holdMs: options.holdMs,
      }),
    ),
    cubeCalls === 0
      ? undefined
      : generators.with((generator) =>
          generator.placeCalls({
            tag: generator.tag(`${options.tag}-cube`),
            target,
            style: 'cube',
            calls: cubeCalls,
            callsPerSecond: rateOf(cubeCalls),
            holdMs: options.holdMs,
          }),
        ),
  ]);
  const reports = cube === undefined ? [cucm] : [cucm, cube];
  const sum = (pick: (r: CallsReport) => number): number => reports.reduce((a, r) => a + pick(r), 0);
  const max = (pick: (r: CallsReport) => number): number => Math.max(...reports.map(pick));
  const answered = sum((r) => r.answered);
  const setupWindowMs = max((r) => r.setupWindowMs);
  const empty: StyleSummary = {
    attempted: 0,
    answered: 0,
    rejected: 0,
    failed: 0,
    setupMsP50: 0,
    setupMsP95: 0,
    setupWindowMs: 0,
    sentPackets: 0,
    latePackets: 0,
  };
  return {
    attempted: sum((r) => r.attempted),
    answered,
    rejected: sum((r) => r.rejected),
    failed: sum((r) => r.failed),
    setupMsP50: max((r) => r.setupMsP50),
    setupMsP95: max((r) => r.setupMsP95),
    setupWindowMs,
    achievedCallsPerSecond: setupWindowMs > 0 ? answered / (setupWindowMs / 1000) : 0,
    sentPackets: sum((r) => r.sentPackets),
    latePackets: sum((r) => r.latePackets),
    byStyle: { cucm: summary(cucm), cube: cube === undefined ? empty : summary(cube) },
    streams: reports.flatMap((r) => r.streams),
  };
}
