import { rmSync } from 'node:fs';
import { mkdir, readdir, rm, rename, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { pino, type Logger } from 'pino';
import { downloadFileName } from '../api/download-names.js';
import type { Config } from '../config/config.js';
import type { QueryExpression, Repository } from '../db/repository.js';
import type { Session } from '../model/session.js';
import {
  CommandFailure,
  EXIT_FAILURE,
  EXIT_OK,
  UsageError,
  messageOf,
  type RunAction,
} from './command-errors.js';
import { addDatabaseOptions, loadOrThrow } from './config-options.js';
import { describeDb, withReadOnlyRepository } from './database.js';
import type { ChannelChoice, ExportFormat, Exporter } from './exporters.js';
import { formatBytes, formatDuration, formatElapsed, ProgressReporter, progressModeOf } from './progress.js';

/**
 * `verbatim export`: recordings to files, offline, from the data directory (DESIGN.md §1.1). One
 * session (`SESSION_ID -o FILE`) or every session that started in a window (`--since --until
 * --dir`), as WAV or MP4. It reads the database read-only and the track files as they are, so it
 * runs beside a node that is recording. Each file is written under a temporary name in its
 * directory and renamed when complete: a failure, Ctrl-C or a crash never leaves a partial file
 * under the final name, and a re-run of a window skips the files already there.
 */

const EXPORT_FORMATS: readonly ExportFormat[] = ['wav', 'mp4'];
/** Exit code after Ctrl-C or SIGTERM (128 + SIGINT), as shells report it. */
const EXIT_INTERRUPTED = 130;
/** Sessions read from the database per query (the repository's limit). */
const PAGE_SIZE = 1000;
const DAY_MS = 86_400_000;

interface ExportOptions {
  readonly format?: ExportFormat;
  readonly track?: string;
  readonly mix?: boolean;
  readonly output?: string;
  readonly since?: string;
  readonly until?: string;
  readonly dir?: string;
  readonly force?: boolean;
  readonly quiet?: boolean;
}

export function registerExport(program: Command, run: RunAction): void {
  const command = addDatabaseOptions(
    program
      .command('export')
      .description(
        'write recordings to files, offline from the data directory (also while serve is running): ' +
          'one session with -o FILE, or every session that started in a window with --since/--until --dir',
      )
      .argument('[sessionId]', 'the session to export')
      .addOption(
        new Option(
          '--format <FORMAT>',
          'wav: 16-bit PCM, stereo, track 0 left and track 1 right; mp4: AAC stereo (plus H.264 video). ' +
            'Default: mp4 when -o ends in .mp4, else wav',
        ).choices(EXPORT_FORMATS),
      )
      .option('--track <N>', 'WAV of that one track, mono')
      .option('--mix', 'WAV of both tracks mixed into one channel')
      .option('-o, --output <FILE>', 'the file to write (one session)')
      .option(
        '--since <DATE>',
        'window start, inclusive: 2026-12-03, 2026-12-03T08:00, …T08:00+01:00 or epoch ms; UTC unless a zone is given',
      )
      .option('--until <DATE>', 'window end, exclusive; a date alone means the end of that day. Default: now')
      .option('--dir <DIR>', 'where the window is written, one file per session named as the downloads are')
      .option('--force', 'overwrite existing files (a window re-exports every session)')
      .option('--quiet', 'no progress output (errors and the summary are still printed)'),
  );
  command.addHelpText(
    'after',
    '\nExamples:\n' +
      '  verbatim export 5a13177450e571 -o call.wav\n' +
      '  verbatim export 5a13177450e571 --track 1 -o agent.wav\n' +
      '  verbatim export --since 2026-12-01 --until 2026-12-07 --dir /srv/export --format mp4\n' +
      '\nProgress goes to stderr: a bar on a terminal, a line every 10 % otherwise. Sessions still\n' +
      'recording (ACTIVE), deleted or pruned are skipped with a note; files already in --dir are kept.\n' +
      'Exit codes: 0 done, 1 a session could not be exported (the others still are), 2 bad usage,\n' +
      '130 interrupted (the file being written is removed).',
  );
  command.action((sessionId: string | undefined, options: ExportOptions) =>
    run(() => exportCommand(sessionId, options, command)),
  );
}

/** What the user asked for, checked before anything is read. */
type Plan =
  | { readonly kind: 'one'; readonly sessionId: string; readonly outPath: string }
  | { readonly kind: 'window'; readonly sinceMs: number; readonly untilMs: number; readonly dir: string };

interface Request {
  readonly plan: Plan;
  readonly format: ExportFormat;
  readonly channels: ChannelChoice;
  readonly force: boolean;
  readonly quiet: boolean;
}

function requestOf(sessionId: string | undefined, options: ExportOptions, nowMs: number): Request {
  const problems: string[] = [];
  const format = options.format ?? (extname(options.output ?? '').toLowerCase() === '.mp4' ? 'mp4' : 'wav');
  let channels: ChannelChoice = { kind: 'stereo' };
  if (options.track !== undefined && options.mix === true) {
    problems.push('ask for one track (--track N) or the mix (--mix), not both');
  } else if (options.track !== undefined) {
    if (/^\d{1,9}$/.test(options.track)) {
      channels = { kind: 'track', trackNumber: Number(options.track) };
    } else {
      problems.push(`--track must be a track number (0, 1, …), got '${options.track}'`);
    }
  } else if (options.mix === true) {
    channels = { kind: 'mix' };
  }
  if (format !== 'wav' && (options.track !== undefined || options.mix === true)) {
    problems.push(`--track and --mix apply to WAV only, not ${format}`);
  }
  const window = options.since !== undefined || options.until !== undefined || options.dir !== undefined;
  let plan: Plan | undefined;
  if (sessionId !== undefined) {
    if (window) {
      problems.push(
        'export either one session (SESSION_ID -o FILE) or a window (--since/--until --dir), not both',
      );
    }
    if (options.output === undefined) {
      problems.push('say where to write the session: -o FILE');
    } else {
      plan = { kind: 'one', sessionId, outPath: resolve(options.output) };
    }
  } else if (!window) {
    problems.push('name a session (verbatim export SESSION_ID -o FILE) or a window (--since DATE --dir DIR)');
  } else {
    if (options.output !== undefined) {
      problems.push('-o names the file of one session; a window is written to --dir DIR');
    }
    if (options.dir === undefined) {
      problems.push('say where to write the window: --dir DIR');
    }
    if (options.since === undefined) {
      problems.push('a window needs its start: --since DATE');
    }
    const sinceMs = options.since === undefined ? undefined : parseWhen(options.since, 'since');
    const untilMs = options.until === undefined ? nowMs : parseWhen(options.until, 'until');
    problems.push(...windowProblems(options, sinceMs, untilMs));
    if (options.dir !== undefined && sinceMs !== undefined && untilMs !== undefined) {
      plan = { kind: 'window', sinceMs, untilMs, dir: resolve(options.dir) };
    }
  }
  if (problems.length > 0 || plan === undefined) {
    throw new UsageError(problems);
  }
  return { plan, format, channels, force: options.force === true, quiet: options.quiet === true };
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A window edge as epoch ms, or undefined when it is not one. ISO 8601 dates and times, UTC
 * unless they carry a zone (the session times and file names are UTC, and an export must not
 * depend on the machine's time zone), or epoch milliseconds (what the API answers). A date alone
 * is its midnight; as `until` it is the midnight after, so `--since D --until D` is the day D.
 */
/**
 * What is wrong with a `--since`/`--until` window (export and verify read them alike): a value
 * that is no date, or an empty window. `sinceMs`/`untilMs` are the parsed values (or defaults).
 */
export function windowProblems(
  given: { readonly since?: string | undefined; readonly until?: string | undefined },
  sinceMs: number | undefined,
  untilMs: number | undefined,
): string[] {
  const problems: string[] = [];
  for (const [flag, value, parsed] of [
    ['--since', given.since, sinceMs],
    ['--until', given.until, untilMs],
  ] as const) {
    if (value !== undefined && parsed === undefined) {
      problems.push(
        `${flag} '${value}' is not a date: use 2026-12-03, 2026-12-03T08:00:00, 2026-12-03T08:00:00+01:00 or epoch milliseconds`,
      );
    }
  }
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs >= untilMs) {
    problems.push(
      `the window is empty: --since (${new Date(sinceMs).toISOString()}) is not before --until (${new Date(untilMs).toISOString()})`,
    );
  }
  return problems;
}

export function parseWhen(text: string, edge: 'since' | 'until'): number | undefined {
  const trimmed = text.trim();
  if (/^\d{1,15}$/.test(trimmed)) {
    return Number(trimmed);
  }
  const match = DATE_TIME.exec(trimmed);
  if (match === null) {
    return undefined;
  }
  // Groups that did not take part (a date without a time) are undefined, read as 0.
  const part = (index: number): number => Number(match[index] ?? 0);
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map(part) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = match[7] ?? '';
  const zone = (match[8] ?? 'Z').toUpperCase();
  // Date.UTC rolls 2026-02-31 over into March: a round trip refuses such a date.
  const utcMs = Date.UTC(
    year,
    month - 1,
    day,
    hour,
    minute,
    second,
    Math.round(Number(`0${fraction}`) * 1000),
  );
  const back = new Date(utcMs);
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCMinutes() !== minute ||
    back.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  let offsetMs = 0;
  if (zone !== 'Z') {
    const digits = zone.replace(':', '');
    const hours = Number(digits.slice(1, 3));
    const minutes = Number(digits.slice(3, 5));
    if (hours > 23 || minutes > 59) {
      return undefined;
    }
    offsetMs = (digits.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
  }
  const dateOnly = match[4] === undefined;
  return utcMs - offsetMs + (dateOnly && edge === 'until' ? DAY_MS : 0);
}

/** Why a session cannot be exported, or undefined when it can. */
function unexportable(session: Session): string | undefined {
  if (session.sessionState === 'ACTIVE') {
    return 'still recording (ACTIVE)';
  }
  if (session.sessionState === 'DELETED') {
    return 'deleted';
  }
  if (session.prunedAt !== undefined) {
    return 'media pruned';
  }
  return undefined;
}

/** Why the asked channels do not fit the session, or undefined when they do. */
function channelProblem(session: Session, channels: ChannelChoice): string | undefined {
  if (channels.kind !== 'track') {
    return undefined;
  }
  const track = session.tracks.find((t) => t.trackNumber === channels.trackNumber);
  const numbers = session.tracks.map((t) => t.trackNumber).join(', ');
  if (track === undefined) {
    return `no track ${channels.trackNumber} (tracks: ${numbers === '' ? 'none' : numbers})`;
  }
  return track.trackMediaType === 'AUDIO'
    ? undefined
    : `track ${channels.trackNumber} is video; a WAV holds audio only`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return false;
    }
    throw error;
  }
}

interface Interrupt {
  readonly signal: AbortSignal;
  /** The temporary files being written: a second Ctrl-C removes them before it exits. */
  readonly temporaries: Set<string>;
  release(): void;
}

/**
 * Ctrl-C and SIGTERM abort the export (the exporter stops, the partial file is removed) instead of
 * killing it. A second one exits at once, removing the partial file itself, so an exporter that
 * does not stop (a stuck subprocess) never holds the terminal.
 */
function interruptSignal(): Interrupt {
  const controller = new AbortController();
  const temporaries = new Set<string>();
  const onSignal = (): void => {
    if (!controller.signal.aborted) {
      controller.abort(new Error('interrupted'));
      return;
    }
    for (const path of temporaries) {
      rmSync(path, { force: true });
    }
    process.stderr.write('\ninterrupted again: stopped at once\n');
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    temporaries,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** A temporary name of writeSession: `.<name>.partial-<pid><ext>`. */
const PARTIAL_NAME = /^\..+\.partial-(\d+)(\.[A-Za-z0-9]+)?$/;

/**
 * Removes the temporary files that an export killed outright (SIGKILL, a power cut) left in
 * `dir`, those of processes that no longer run; returns how many.
 */
async function removeStalePartials(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir)) {
    const pid = Number(PARTIAL_NAME.exec(name)?.[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !processRuns(pid)) {
      await rm(join(dir, name), { force: true });
      removed += 1;
    }
  }
  return removed;
}

function processRuns(pid: number): boolean {
  try {
    // Signal 0 checks that the process exists without signalling it.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The exporters' warnings (a damaged packet, a missing track file) as `warning:` lines above the
 * progress, not as JSON log lines.
 */
function warningLogger(note: (line: string) => void, about: () => string): Logger {
  return pino(
    { level: 'warn', base: null, timestamp: false },
    {
      write(line: string): void {
        let text = line.trim();
        try {
          const record = JSON.parse(text) as Record<string, unknown>;
          const fields = Object.entries(record)
            .filter(
              ([key, value]) =>
                key !== 'level' && key !== 'msg' && (typeof value === 'string' || typeof value === 'number'),
            )
            .map(([key, value]) => `${key}=${String(value)}`);
          text = [typeof record.msg === 'string' ? record.msg : '', ...fields].join(' ');
        } catch {
          // Not JSON: printed as it came.
        }
        note(`warning: ${about()}: ${text}`);
      },
    },
  );
}

interface Writing {
  readonly exporter: Exporter;
  readonly channels: ChannelChoice;
  readonly mediaDir: string;
  readonly interrupt: Interrupt;
  readonly logger: Logger;
}

/**
 * Writes one session to `finalPath` through a temporary file beside it (same directory, so the
 * rename is atomic; the format's extension kept, as ffmpeg chooses its muxer by it). Returns the
 * file's size.
 */
async function writeSession(
  writing: Writing,
  session: Session,
  finalPath: string,
  onProgress: (doneMs: number, bytes?: number) => void,
): Promise<number> {
  const extension = extname(finalPath);
  const stem = basename(finalPath, extension);
  const temporary = join(dirname(finalPath), `.${stem}.partial-${process.pid}${extension}`);
  const { signal, temporaries } = writing.interrupt;
  temporaries.add(temporary);
  try {
    await writing.exporter.write({
      session,
      mediaDir: writing.mediaDir,
      outPath: temporary,
      channels: writing.channels,
      onProgress,
      signal,
      logger: writing.logger,
    });
    signal.throwIfAborted();
    await rename(temporary, finalPath);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  } finally {
    temporaries.delete(temporary);
  }
  return (await stat(finalPath)).size;
}

async function exportCommand(
  sessionId: string | undefined,
  options: ExportOptions,
  command: Command,
): Promise<number> {
  const startedAt = Date.now();
  const request = requestOf(sessionId, options, startedAt);
  const config = loadOrThrow(command);
  // Never into the node's media store: its deletion and pruning own every file there.
  const mediaDir = resolve(config.dataDir, 'media');
  const target = request.plan.kind === 'one' ? request.plan.outPath : request.plan.dir;
  const fromMedia = relative(mediaDir, target);
  if (fromMedia === '' || (!fromMedia.startsWith('..') && !isAbsolute(fromMedia))) {
    throw new UsageError([`${target} is inside the media directory ${mediaDir}: export somewhere else`]);
  }
  // Loaded only to run: --help and usage errors stay fast.
  const { EXPORTERS } = await import('./exporters.js');
  const exporter = EXPORTERS[request.format];
  const context: Context = { config, request, exporter, startedAt };
  return request.plan.kind === 'one' ? exportOne(context, request.plan) : exportWindow(context, request.plan);
}

interface Context {
  readonly config: Config;
  readonly request: Request;
  readonly exporter: Exporter;
  readonly startedAt: number;
}

async function exportOne(context: Context, plan: Extract<Plan, { kind: 'one' }>): Promise<number> {
  const { config, request, exporter } = context;
  const { outPath, sessionId } = plan;
  if (!request.force && (await exists(outPath))) {
    throw new UsageError([`${outPath} exists (add --force to overwrite it)`]);
  }
  if (!(await exists(dirname(outPath)))) {
    throw new UsageError([`the directory of ${outPath} does not exist`]);
  }
  const session = await withReadOnlyRepository(config, (repository) => repository.getSession(sessionId));
  if (session === undefined) {
    throw new CommandFailure(`no session '${sessionId}' in ${describeDb(config)}`);
  }
  const why = unexportable(session);
  if (why !== undefined) {
    throw new CommandFailure(`session ${sessionId} cannot be exported: ${why}`);
  }
  const channelIssue = channelProblem(session, request.channels);
  if (channelIssue !== undefined) {
    throw new UsageError([`session ${sessionId} has ${channelIssue}`]);
  }
  const durationMs = sessionDuration(session);
  const progress = new ProgressReporter({
    stream: process.stderr,
    mode: progressModeOf(process.stderr, request.quiet),
    totalMs: durationMs,
    label: 'export',
  });
  const interrupt = interruptSignal();
  try {
    const bytes = await writeSession(
      {
        exporter,
        channels: request.channels,
        mediaDir: join(config.dataDir, 'media'),
        interrupt,
        logger: warningLogger(
          (line) => {
            progress.note(line);
          },
          () => sessionId,
        ),
      },
      session,
      outPath,
      (doneMs, bytesSoFar) => {
        progress.update(doneMs, bytesSoFar ?? 0);
      },
    );
    progress.update(durationMs, bytes);
    progress.finish();
    process.stdout.write(
      `wrote ${outPath}: ${formatBytes(bytes)}, ${formatDuration(durationMs)} of ${describeChannels(request)}, in ${formatElapsed(Date.now() - context.startedAt)}\n`,
    );
    return EXIT_OK;
  } catch (error) {
    progress.abandon();
    if (interrupt.signal.aborted) {
      process.stderr.write(`interrupted: ${outPath} was not written\n`);
      return EXIT_INTERRUPTED;
    }
    throw new CommandFailure(`exporting ${sessionId} failed: ${messageOf(error)}`, { cause: error });
  } finally {
    interrupt.release();
  }
}

function describeChannels(request: Request): string {
  if (request.format === 'mp4') {
    return 'MP4';
  }
  switch (request.channels.kind) {
    case 'stereo':
      return 'stereo WAV';
    case 'mix':
      return 'mixed mono WAV';
    case 'track':
      return `track ${request.channels.trackNumber} mono WAV`;
  }
}

function sessionDuration(session: Session): number {
  return Math.max(0, session.sessionDuration ?? 0);
}

/**
 * The sessions whose start lies in [since, until), oldest first, a page at a time: a window of a
 * year is never held in memory as whole sessions.
 */
async function* sessionPagesInWindow(
  repository: Repository,
  sinceMs: number,
  untilMs: number,
): AsyncGenerator<Session[]> {
  const where: QueryExpression = {
    kind: 'condition',
    field: 'sessionStartDate',
    operator: 'between',
    // BETWEEN is inclusive at both ends; the window's end is not.
    values: [sinceMs, untilMs - 1],
  };
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const page = await repository.querySessions({
      where,
      sort: [{ field: 'sessionStartDate', order: 'ASC' }],
      offset,
      limit: PAGE_SIZE,
    });
    yield page;
    if (page.length < PAGE_SIZE) {
      return;
    }
  }
}

/** A session to write: what the plan needs of it (the session itself is read again to write it). */
interface WindowJob {
  readonly sessionId: string;
  readonly path: string;
  readonly durationMs: number;
}

/** What a window holds: the sessions to write, and why the others are not written. */
interface WindowPlan {
  readonly listed: number;
  readonly jobs: WindowJob[];
  readonly skips: { readonly sessionId: string | undefined; readonly reason: string }[];
}

async function planWindow(
  repository: Repository,
  plan: Extract<Plan, { kind: 'window' }>,
  request: Request,
  exporter: Exporter,
): Promise<WindowPlan> {
  const jobs: WindowJob[] = [];
  const skips: WindowPlan['skips'][number][] = [];
  let listed = 0;
  for await (const page of sessionPagesInWindow(repository, plan.sinceMs, plan.untilMs)) {
    listed += page.length;
    for (const session of page) {
      const why = unexportable(session) ?? channelProblem(session, request.channels);
      if (why !== undefined) {
        skips.push({ sessionId: session.sessionId, reason: why });
        continue;
      }
      const path = join(plan.dir, downloadFileName(session, exporter.suffix(request.channels)));
      // A file under its final name was complete when it was renamed there.
      if (!request.force && (await exists(path))) {
        // Not noted one by one: a re-run would list every session it already wrote.
        skips.push({ sessionId: undefined, reason: 'already exported' });
        continue;
      }
      jobs.push({ sessionId: session.sessionId, path, durationMs: sessionDuration(session) });
    }
  }
  return { listed, jobs, skips };
}

/**
 * A window, one session at a time. The database stays open (read-only, outside any transaction
 * between reads, so the recorder's checkpoints go on) and each session is read again just before
 * it is written: one deleted or pruned by the node meanwhile is skipped, not exported half-gone.
 */
async function exportWindow(context: Context, plan: Extract<Plan, { kind: 'window' }>): Promise<number> {
  const { config, request, exporter } = context;
  await mkdir(plan.dir, { recursive: true });
  const stale = await removeStalePartials(plan.dir);
  return withReadOnlyRepository(config, async (repository) => {
    const { listed, jobs, skips } = await planWindow(repository, plan, request, exporter);
    const skipped = new Map<string, number>();
    let totalMs = jobs.reduce((sum, job) => sum + job.durationMs, 0);
    const progress = new ProgressReporter({
      stream: process.stderr,
      mode: progressModeOf(process.stderr, request.quiet),
      totalMs,
      label: 'export',
    });
    const skip = (sessionId: string | undefined, reason: string): void => {
      skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
      if (sessionId !== undefined) {
        progress.note(`skipped ${sessionId}: ${reason}`);
      }
    };
    if (stale > 0) {
      progress.note(`removed ${stale} partial file(s) left in ${plan.dir} by an export that was killed`);
    }
    for (const { sessionId, reason } of skips) {
      skip(sessionId, reason);
    }
    const failures: { sessionId: string; reason: string }[] = [];
    let exported = 0;
    let exportedMs = 0;
    let bytes = 0;
    let doneMs = 0;
    let current = '';
    const interrupt = interruptSignal();
    const writing: Writing = {
      exporter,
      channels: request.channels,
      mediaDir: join(config.dataDir, 'media'),
      interrupt,
      logger: warningLogger(
        (line) => {
          progress.note(line);
        },
        () => current,
      ),
    };
    // Its share of the job is no longer to be done (skipped or failed).
    const drop = (job: WindowJob): void => {
      totalMs -= job.durationMs;
      progress.setTotal(totalMs);
      progress.update(doneMs, bytes);
    };
    try {
      for (const [index, job] of jobs.entries()) {
        current = job.sessionId;
        progress.setDetail(`session ${index + 1}/${jobs.length}`);
        try {
          const session = await repository.getSession(job.sessionId);
          const why = session === undefined ? 'deleted' : unexportable(session);
          if (session === undefined || why !== undefined) {
            skip(job.sessionId, `${why ?? 'deleted'} since the export began`);
            drop(job);
            continue;
          }
          const size = await writeSession(writing, session, job.path, (sessionDoneMs, sessionBytes) => {
            progress.update(doneMs + sessionDoneMs, bytes + (sessionBytes ?? 0));
          });
          exported += 1;
          exportedMs += job.durationMs;
          bytes += size;
          doneMs += job.durationMs;
          progress.update(doneMs, bytes);
        } catch (error) {
          if (interrupt.signal.aborted) {
            progress.abandon();
            process.stderr.write(
              `interrupted: ${exported} of ${jobs.length} sessions exported; the file being written was removed (run again to resume)\n`,
            );
            return EXIT_INTERRUPTED;
          }
          const reason = messageOf(error).split('\n')[0] ?? '';
          failures.push({ sessionId: job.sessionId, reason });
          progress.note(`failed ${job.sessionId}: ${reason}`);
          drop(job);
        }
      }
    } finally {
      interrupt.release();
    }
    progress.setDetail('');
    progress.finish();
    process.stdout.write(
      summary({
        exported,
        of: listed,
        bytes,
        exportedMs,
        elapsedMs: Date.now() - context.startedAt,
        dir: plan.dir,
        skipped,
        failures,
      }),
    );
    return failures.length > 0 ? EXIT_FAILURE : EXIT_OK;
  });
}

function summary(outcome: {
  exported: number;
  of: number;
  bytes: number;
  exportedMs: number;
  elapsedMs: number;
  dir: string;
  skipped: ReadonlyMap<string, number>;
  failures: readonly { sessionId: string; reason: string }[];
}): string {
  const lines = [
    `exported ${outcome.exported} of ${outcome.of} sessions to ${outcome.dir}: ${formatBytes(outcome.bytes)}, ` +
      `${formatDuration(outcome.exportedMs)} of audio, in ${formatElapsed(outcome.elapsedMs)}`,
  ];
  const skippedCount = [...outcome.skipped.values()].reduce((sum, n) => sum + n, 0);
  if (skippedCount > 0) {
    const reasons = [...outcome.skipped.entries()].map(([reason, n]) => `${n} ${reason}`).join(', ');
    lines.push(`skipped ${skippedCount}: ${reasons}`);
  }
  if (outcome.failures.length > 0) {
    lines.push(`failed ${outcome.failures.length}:`);
    for (const failure of outcome.failures) {
      lines.push(`  ${failure.sessionId}: ${failure.reason}`);
    }
  }
  return lines.map((line) => `${line}\n`).join('');
}
