import { join } from 'node:path';
import type { Command } from 'commander';
import { EXIT_FAILURE, EXIT_OK, UsageError } from './command-errors.js';
import { addDatabaseOptions, loadOrThrow } from './config-options.js';
import { withReadOnlyRepository } from './database.js';
import { parseWhen, windowProblems } from './export.js';
import { formatBytes, formatElapsed, ProgressReporter, progressModeOf } from './progress.js';
import { FINDING_KINDS, problemCount, type Finding, type VerifyReport } from '../model/media-integrity.js';
import { verifyMedia } from '../storage/media-verify.js';
import { verifyStoreOf } from '../db/verify-store.js';

/**
 * `verbatim verify`: checks the media store against the database (issue 13). Every track file of
 * the sessions that started in the window is read whole and compared with the SHA-256 and length
 * stored when it was finished; the media directory is walked for files no track names. Read-only
 * (database and files), so it runs beside a recording node, e.g. nightly from cron.
 *
 * Findings go to stdout, one line each (`KIND  PATH  session … track N  detail`), then a summary;
 * progress goes to stderr (a bar on a terminal, a line every 10 % otherwise). Exit 0: every file
 * intact (tracks recorded before digests existed are counted, not failed), 1: a problem found,
 * 2: bad usage.
 */

interface VerifyOptions {
  readonly since?: string;
  readonly until?: string;
  readonly quiet?: boolean;
}

export function registerVerify(
  program: Command,
  run: (action: () => Promise<number>) => Promise<void>,
): void {
  const command = addDatabaseOptions(
    program
      .command('verify')
      .description(
        'check every track file against its stored SHA-256 and find missing, truncated, altered and ' +
          'orphaned files (read-only; also while serve is running)',
      )
      .option(
        '--since <DATE>',
        'only sessions that started at or after DATE: 2026-12-03, 2026-12-03T08:00, …T08:00+01:00 or epoch ms; UTC unless a zone is given',
      )
      .option(
        '--until <DATE>',
        'only sessions that started before DATE; a date alone means the end of that day',
      )
      .option('--quiet', 'no progress output (findings and the summary are still printed)'),
  );
  command.addHelpText(
    'after',
    '\nExamples:\n' +
      '  verbatim verify\n' +
      '  verbatim verify --since 2026-12-01 --until 2026-12-07\n' +
      '\nFindings: missing (the row names a file that is not there), truncated (shorter than when it\n' +
      'was digested, or its last pcap record cut), altered (its SHA-256 differs), unreadable (an I/O\n' +
      'or permission error), orphaned (a file under the media directory no track names; the MP4\n' +
      'cache and temporary files are not), not-digested (recorded before digests were kept: counted,\n' +
      'not a failure). Sessions still recording, deleted or pruned are skipped.\n' +
      'Exit codes: 0 all intact, 1 problems found, 2 bad usage.',
  );
  command.action((options: VerifyOptions) => run(() => verifyCommand(options, command)));
}

interface Window {
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly windowed: boolean;
}

/** The window asked for; the whole store when neither edge is given. */
export function windowOf(
  options: { readonly since?: string; readonly until?: string },
  nowMs: number,
): Window {
  const sinceMs = options.since === undefined ? 0 : parseWhen(options.since, 'since');
  // The whole store also holds calls that start while the check runs: they are ACTIVE, skipped.
  const untilMs = options.until === undefined ? nowMs + 1 : parseWhen(options.until, 'until');
  const problems = windowProblems(options, sinceMs, untilMs);
  if (problems.length > 0 || sinceMs === undefined || untilMs === undefined) {
    throw new UsageError(problems);
  }
  return { sinceMs, untilMs, windowed: options.since !== undefined || options.until !== undefined };
}

async function verifyCommand(options: VerifyOptions, command: Command): Promise<number> {
  const startedAt = Date.now();
  const window = windowOf(options, startedAt);
  const config = loadOrThrow(command);
  const mediaDir = join(config.dataDir, 'media');
  const progress = new ProgressReporter({
    stream: process.stderr,
    mode: progressModeOf(process.stderr, options.quiet === true),
    totalMs: 0,
    label: 'verify',
  });
  const report = await withReadOnlyRepository(config, async (repository) => {
    try {
      return await verifyMedia({
        repository: verifyStoreOf(repository),
        mediaDir,
        ...window,
        onPlan: (plan) => {
          progress.setTotal(plan.mediaMs);
        },
        onProgress: (done) => {
          progress.setDetail(done.detail);
          progress.update(done.mediaMs, done.bytes);
        },
        onFinding: (finding) => {
          // Above the bar on a terminal; stdout keeps the findings apart from the progress.
          progress.above(() => process.stdout.write(`${formatFinding(finding)}\n`));
        },
      });
    } catch (error) {
      progress.abandon();
      throw error;
    }
  });
  progress.setDetail('');
  progress.finish();
  process.stdout.write(`${summaryOf(report, Date.now() - startedAt)}\n`);
  return problemCount(report) > 0 ? EXIT_FAILURE : EXIT_OK;
}

/** `altered  2026-12-03/5a13…/track1.pcap  session 5a13… track 1  SHA-256 …, stored …`. */
export function formatFinding(finding: Finding): string {
  const owner =
    finding.sessionId === undefined
      ? ''
      : `  session ${finding.sessionId} track ${String(finding.trackNumber)}`;
  return `${finding.kind.padEnd(12)}  ${finding.path}${owner}  ${finding.detail}`;
}

function summaryOf(report: VerifyReport, elapsedMs: number): string {
  const parts = FINDING_KINDS.map((kind) => `${String(report.counts[kind])} ${kind}`);
  const verdict = problemCount(report) > 0 ? 'PROBLEMS FOUND' : 'all intact';
  return (
    `verify: ${verdict}: ${String(report.tracks)} track(s) of ${String(report.sessions)} session(s) checked, ` +
    `${String(report.intact)} intact; ${parts.join(', ')}; ` +
    `${String(report.skippedSessions)} session(s) skipped (recording, deleted or pruned); ` +
    `${formatBytes(report.bytesRead)} read in ${formatElapsed(elapsedMs)}`
  );
}
