import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { EventSink } from '../model/events.js';
import {
  JOB_TYPES,
  type DeleteFailureReason,
  type DeletionJobStore,
  type Job,
  type JobItem,
  type NewJob,
  type VerifyJobStore,
} from '../model/job.js';
import { PROBLEM_KINDS, type VerifyStore, type VerifyWindow } from '../model/media-integrity.js';
import type { Session } from '../model/session.js';
import { DeletedEventBatcher } from './deleted-events.js';
import { verifyMedia } from './media-verify.js';
import { removeSessionMedia } from './session-media.js';
import { isOnLegalHold } from '../model/storage-policy.js';

/** Most session ids one job may hold (deleteSessions, createJob); more is refused, not cut. */
export const MAX_SESSIONS_PER_JOB = 10_000;
/** Jobs kept on a node; the oldest finished ones go when a new job needs the room. */
export const MAX_JOBS_KEPT = 1_000;
/** QUEUED and RUNNING jobs at once (at most 1,000,000 sessions waiting); the next is refused. */
export const MAX_UNFINISHED_JOBS = 100;
/** FAILED operations a job report lists (the count is always whole). */
export const MAX_FAILED_ITEMS_REPORTED = 100;
/** Findings a VERIFY_MEDIA job keeps in its result (the counts are always whole). */
export const MAX_FINDINGS_REPORTED = 1_000;
/** A VERIFY_MEDIA job stores its progress at most this often (ms). */
const PROGRESS_WRITE_MS = 500;
/** PENDING operations read from the database at a time. */
const ITEM_PAGE = 100;

export interface DeletionJobRunnerOptions {
  readonly store: DeletionJobStore;
  /** Track mediaPath values are relative to it. */
  readonly mediaDir: string;
  readonly events: EventSink;
  readonly logger: Logger;
  readonly now?: () => number;
  /** VERIFY_MEDIA jobs (verifyMedia): where they read sessions and write their result. */
  readonly verify?: { readonly store: VerifyJobStore; readonly sessions: VerifyStore };
  /** Legal hold (the retention policy's tag): sessions carrying it are never deleted. Absent: none. */
  readonly legalHold?: LegalHoldCheck;
  /**
   * Removes what was made from a session's media and kept (its MP4s, its waveforms), which the
   * caches may keep outside the session's folder; run before the media goes.
   */
  readonly discardDerived?: (session: Session) => Promise<void>;
}

export interface LegalHoldCheck {
  /** The tag of the current policy. */
  tag(): string;
  /** Which of these sessions carry the tag (case-insensitively). */
  tagged(sessionIds: readonly string[], tag: string): Promise<string[]>;
}

/** Session ids a legal-hold refusal names in its detail. */
const HELD_IDS_SHOWN = 20;

/** A job and the first of its failed operations, as getJobById reports it. */
export interface JobReport {
  readonly job: Job;
  readonly failed: readonly JobItem[];
}

export type CreateJobResult =
  | { readonly ok: true; readonly job: Job }
  | {
      readonly ok: false;
      readonly reason: 'no-sessions' | 'too-many-sessions' | 'too-many-jobs' | 'closed' | 'unavailable';
      readonly detail: string;
    }
  | {
      readonly ok: false;
      readonly reason: 'legal-hold';
      readonly detail: string;
      /** The sessions on hold (all of them). */
      readonly sessionIds: readonly string[];
    };

export type CancelJobResult =
  | { readonly ok: true; readonly job: Job }
  | { readonly ok: false; readonly reason: 'not-found' }
  | { readonly ok: false; readonly reason: 'finished'; readonly job: Job };

interface CurrentJob {
  readonly jobId: number;
  cancelRequested: boolean;
  readonly stopped: Promise<void>;
  readonly markStopped: () => void;
}

/** Counters of one run of a job, for its closing log line. */
interface RunTally {
  deleted: number;
  refused: number;
  filesRemoved: number;
  filesAlreadyGone: number;
  mediaFailures: number;
}

/**
 * Runs the node's jobs one at a time: VERIFY_MEDIA checks (verifyMedia, #runVerify) and deletion
 * jobs (deleteSessions, createJob DELETE_SESSIONS), the latter one session at a
 * time, yielding to the event loop between sessions so that SIP, RTP control and the API keep
 * their turn while a 10,000-session job runs.
 *
 * Deleting a session removes its media first, then, in one transaction, turns the session into a
 * DELETED tombstone and marks the operation DONE. A stop between the two leaves the operation
 * PENDING with the files gone: the next run removes nothing more (ENOENT counts as removed) and
 * finishes it. Jobs are in the database, so a job RUNNING when the node stopped resumes at its
 * first PENDING operation after start(); a job that cannot resume (a job type this version does
 * not know) ends in ERROR with the reason. Nothing vanishes silently.
 *
 * State changes of jobs (picking the next job, cancel, finishing, deleting) run one at a time
 * through #locked, so a cancel never races the runner picking the same job up.
 */
export class DeletionJobRunner {
  readonly #store: DeletionJobStore;
  readonly #mediaDir: string;
  readonly #events: EventSink;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #verify: DeletionJobRunnerOptions['verify'];
  readonly #options: DeletionJobRunnerOptions;
  #serial: Promise<unknown> = Promise.resolve();
  #current: CurrentJob | undefined;
  #loop: Promise<void> | undefined;
  #wake = false;
  #started = false;
  #closing = false;

  constructor(options: DeletionJobRunnerOptions) {
    this.#options = options;
    this.#store = options.store;
    this.#mediaDir = options.mediaDir;
    this.#events = options.events;
    this.#log = options.logger.child({ component: 'jobs' });
    this.#now = options.now ?? Date.now;
    this.#verify = options.verify;
  }

  /** Starts running jobs: first a job left RUNNING by the previous run, then the QUEUED ones. */
  start(): void {
    this.#started = true;
    this.#kick();
  }

  /** Stops after the session being deleted; a RUNNING job stays RUNNING and resumes next start. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#loop;
  }

  async createDeleteJob(sessionIds: readonly string[]): Promise<CreateJobResult> {
    if (this.#closing) {
      return { ok: false, reason: 'closed', detail: 'the node is shutting down' };
    }
    if (sessionIds.length === 0) {
      return { ok: false, reason: 'no-sessions', detail: 'sessionIds lists no session' };
    }
    if (sessionIds.length > MAX_SESSIONS_PER_JOB) {
      return {
        ok: false,
        reason: 'too-many-sessions',
        detail: `a job takes at most ${MAX_SESSIONS_PER_JOB} sessionIds, got ${sessionIds.length}`,
      };
    }
    // A session listed twice is one operation: the second could only fail as ALREADY_DELETED.
    const distinct = [...new Set(sessionIds)];
    // Legal hold refuses the whole request, so that a caller never believes a held session went.
    const hold = this.#options.legalHold;
    if (hold !== undefined) {
      const tag = hold.tag();
      const held = await hold.tagged(distinct, tag);
      if (held.length > 0) {
        const shown = held.slice(0, HELD_IDS_SHOWN).join(', ');
        return {
          ok: false,
          reason: 'legal-hold',
          sessionIds: held,
          detail:
            `${held.length} of the sessions carry the legal hold tag '${tag}' and cannot be deleted until it ` +
            `is removed: ${shown}${held.length > HELD_IDS_SHOWN ? ', …' : ''}; nothing was deleted`,
        };
      }
    }
    return this.#create({ jobType: 'DELETE_SESSIONS', createdAt: this.#now(), sessionIds: distinct });
  }

  /**
   * A VERIFY_MEDIA job (issue 13): checks the track files of the sessions that started in the
   * window against their digests, and the media directory for orphans, like `verbatim verify`.
   * It queues behind deletions (one job at a time: a deletion running beside it would make its
   * files look missing) and keeps its findings as the job's result.
   */
  async createVerifyJob(window: VerifyWindow): Promise<CreateJobResult> {
    if (this.#closing) {
      return { ok: false, reason: 'closed', detail: 'the node is shutting down' };
    }
    if (this.#verify === undefined) {
      return {
        ok: false,
        reason: 'unavailable',
        detail: 'media verification is not configured on this node',
      };
    }
    return this.#create({
      jobType: 'VERIFY_MEDIA',
      createdAt: this.#now(),
      sessionIds: [],
      verifyWindow: window,
    });
  }

  async #create(newJob: NewJob): Promise<CreateJobResult> {
    const result = await this.#locked(async (): Promise<CreateJobResult> => {
      const { unfinished } = await this.#store.countJobs();
      if (unfinished >= MAX_UNFINISHED_JOBS) {
        return {
          ok: false,
          reason: 'too-many-jobs',
          detail: `${unfinished} jobs are waiting or running (at most ${MAX_UNFINISHED_JOBS}); try again later`,
        };
      }
      const pruned = await this.#store.pruneFinishedJobs(MAX_JOBS_KEPT - 1);
      if (pruned > 0) {
        this.#log.info({ pruned, kept: MAX_JOBS_KEPT }, 'oldest finished jobs removed to keep the job limit');
      }
      const job = await this.#store.createJob(newJob);
      return { ok: true, job };
    });
    if (result.ok) {
      this.#log.info(
        { jobId: result.job.jobId, jobType: newJob.jobType, sessions: newJob.sessionIds.length },
        'job created',
      );
      this.#kick();
    }
    return result;
  }

  async getJob(jobId: number): Promise<JobReport | undefined> {
    const job = await this.#store.getJob(jobId);
    if (job === undefined) {
      return undefined;
    }
    const failed =
      job.operationsFailed === 0 ? [] : await this.#store.failedJobItems(jobId, MAX_FAILED_ITEMS_REPORTED);
    return { job, failed };
  }

  /**
   * Cancels a QUEUED or RUNNING job. A RUNNING one stops after the session it is deleting: the
   * answer comes once it has stopped, so the job can be deleted right after.
   */
  async cancel(jobId: number): Promise<CancelJobResult> {
    // The promise to wait for is wrapped: returned bare, it would be adopted and hold the lock
    // that the job needs to stop.
    const step = await this.#locked(
      async (): Promise<{ readonly stopped?: Promise<void>; readonly tried: boolean }> => {
        if (this.#current?.jobId === jobId) {
          this.#current.cancelRequested = true;
          return { stopped: this.#current.stopped, tried: true };
        }
        const job = await this.#store.getJob(jobId);
        if (job === undefined || (job.jobState !== 'QUEUED' && job.jobState !== 'RUNNING')) {
          return { tried: false };
        }
        await this.#store.updateJobState(jobId, ['QUEUED', 'RUNNING'], 'CANCELED', { at: this.#now() });
        this.#log.info({ jobId, completed: job.operationsCompleted }, 'deletion job canceled');
        return { tried: true };
      },
    );
    await step.stopped;
    const job = await this.#store.getJob(jobId);
    if (job === undefined) {
      return { ok: false, reason: 'not-found' };
    }
    // A RUNNING job may still have COMPLETED before it saw the cancel.
    return step.tried && job.jobState === 'CANCELED'
      ? { ok: true, job }
      : { ok: false, reason: 'finished', job };
  }

  /** Deletes a COMPLETED, CANCELED or ERROR job; a QUEUED or RUNNING one must be canceled first. */
  deleteJob(jobId: number): Promise<'deleted' | 'not-found' | 'unfinished'> {
    return this.#locked(() => this.#store.deleteJob(jobId));
  }

  #kick(): void {
    if (!this.#started || this.#closing) {
      return;
    }
    if (this.#loop !== undefined) {
      this.#wake = true;
      return;
    }
    this.#loop = this.#runAll()
      .catch((error: unknown) => {
        this.#log.error({ err: error }, 'deletion jobs stopped by an error; they resume at the next start');
      })
      .finally(() => {
        this.#loop = undefined;
        if (this.#wake) {
          this.#kick();
        }
      });
  }

  async #runAll(): Promise<void> {
    while (!this.#closing) {
      this.#wake = false;
      const job = await this.#locked(() => this.#pickNext());
      if (job === undefined) {
        return;
      }
      await this.#runJob(job);
    }
  }

  /** The job to run now, marked RUNNING and current; a job that cannot run ends in ERROR. */
  async #pickNext(): Promise<Job | undefined> {
    const unfinished = await this.#store.listUnfinishedJobs();
    // A job left RUNNING by the previous run goes first, then the queue in order.
    const ordered = [
      ...unfinished.filter((job) => job.jobState === 'RUNNING'),
      ...unfinished.filter((job) => job.jobState === 'QUEUED'),
    ];
    for (const job of ordered) {
      if (!JOB_TYPES.includes(job.jobType)) {
        const errorReason = `unknown job type ${job.jobType}: written by another version of Verbatim`;
        await this.#store.updateJobState(job.jobId, ['QUEUED', 'RUNNING'], 'ERROR', {
          at: this.#now(),
          errorReason,
        });
        this.#log.error({ jobId: job.jobId, jobType: job.jobType }, 'job cannot run: ended in ERROR');
        continue;
      }
      if (job.jobState === 'QUEUED') {
        if (!(await this.#store.updateJobState(job.jobId, ['QUEUED'], 'RUNNING', { at: this.#now() }))) {
          continue;
        }
        this.#log.info({ jobId: job.jobId, sessions: job.operationsTotal }, 'deletion job started');
      } else {
        this.#log.info(
          { jobId: job.jobId, completed: job.operationsCompleted, total: job.operationsTotal },
          'deletion job resumed where the previous run stopped',
        );
      }
      let markStopped = (): void => undefined;
      const stopped = new Promise<void>((resolve) => {
        markStopped = resolve;
      });
      this.#current = { jobId: job.jobId, cancelRequested: false, stopped, markStopped };
      return job;
    }
    return undefined;
  }

  async #runJob(job: Job): Promise<void> {
    const current = this.#current;
    if (current === undefined) {
      return;
    }
    if (job.jobType === 'VERIFY_MEDIA') {
      await this.#runVerify(job, current);
      return;
    }
    const batcher = new DeletedEventBatcher(this.#events, job.jobId, this.#now);
    const tally: RunTally = {
      deleted: 0,
      refused: 0,
      filesRemoved: 0,
      filesAlreadyGone: 0,
      mediaFailures: 0,
    };
    let end: 'COMPLETED' | 'CANCELED' | 'STOPPED' | { readonly error: unknown } = 'COMPLETED';
    try {
      let after = -1;
      pages: for (;;) {
        const items = await this.#store.pendingJobItems(job.jobId, after, ITEM_PAGE);
        if (items.length === 0) {
          break;
        }
        for (const item of items) {
          if (current.cancelRequested) {
            end = 'CANCELED';
            break pages;
          }
          if (this.#closing) {
            end = 'STOPPED';
            break pages;
          }
          await this.#deleteOne(item, batcher, tally);
          after = item.position;
          // One session at a time: SIP, the media workers' control messages and the API run between.
          await yieldToEventLoop();
        }
      }
    } catch (error) {
      end = { error };
    }
    batcher.flush();
    await this.#locked(async () => {
      try {
        await this.#finish(job.jobId, end, tally);
      } finally {
        this.#current = undefined;
        current.markStopped();
      }
    });
  }

  async #finish(
    jobId: number,
    end: 'COMPLETED' | 'CANCELED' | 'STOPPED' | { readonly error: unknown },
    tally: RunTally,
  ): Promise<void> {
    const at = this.#now();
    if (end === 'STOPPED') {
      this.#log.info({ jobId, ...tally }, 'deletion job paused by shutdown; it resumes at the next start');
      return;
    }
    if (typeof end === 'object') {
      const errorReason = end.error instanceof Error ? end.error.message : String(end.error);
      await this.#store.updateJobState(jobId, ['RUNNING'], 'ERROR', { at, errorReason });
      this.#log.error({ jobId, err: end.error, ...tally }, 'deletion job ended in ERROR');
      return;
    }
    await this.#store.updateJobState(jobId, ['RUNNING'], end, { at });
    this.#log.info(
      { jobId, ...tally },
      end === 'CANCELED' ? 'deletion job canceled' : 'deletion job completed',
    );
  }

  /**
   * Runs a VERIFY_MEDIA job from its start (a check only reads: one interrupted by a stop simply
   * runs again at the next start). Its counters are tracks: to check, checked, with a problem.
   */
  async #runVerify(job: Job, current: CurrentJob): Promise<void> {
    const abort = new AbortController();
    let end: 'COMPLETED' | 'CANCELED' | 'STOPPED' | { readonly error: unknown } = 'COMPLETED';
    let planned = 0;
    let checked = 0;
    let problems = 0;
    let savedAt = this.#now();
    let saving: Promise<void> = Promise.resolve();
    const tally: RunTally = {
      deleted: 0,
      refused: 0,
      filesRemoved: 0,
      filesAlreadyGone: 0,
      mediaFailures: 0,
    };
    try {
      const verify = this.#verify;
      const window = job.verifyWindow;
      if (verify === undefined || window === undefined) {
        throw new Error('the job has no window, or this node cannot verify media');
      }
      const report = await verifyMedia({
        repository: verify.sessions,
        mediaDir: this.#mediaDir,
        ...window,
        signal: abort.signal,
        onPlan: (plan) => {
          planned = plan.tracks;
        },
        onFinding: (finding) => {
          if (PROBLEM_KINDS.includes(finding.kind)) {
            problems++;
          }
        },
        onProgress: () => {
          checked++;
          if (current.cancelRequested || this.#closing) {
            abort.abort();
          }
          // getJobById shows the progress: written as the job goes, at most twice a second.
          if (this.#now() - savedAt >= PROGRESS_WRITE_MS) {
            savedAt = this.#now();
            const [total, done, failed] = [planned, checked, problems];
            saving = saving
              .then(() => verify.store.setJobProgress(job.jobId, total, done, failed))
              .catch((error: unknown) => {
                this.#log.warn({ err: error, jobId: job.jobId }, 'verification progress not stored');
              });
          }
        },
      });
      await saving;
      await verify.store.setJobProgress(job.jobId, Math.max(planned, report.tracks), report.tracks, problems);
      await verify.store.setJobResult(job.jobId, {
        ...report,
        findings: report.findings.slice(0, MAX_FINDINGS_REPORTED),
      });
      this.#log.info(
        { jobId: job.jobId, tracks: report.tracks, problems, counts: report.counts },
        problems > 0 ? 'media verification found problems' : 'media verification found every file intact',
      );
    } catch (error) {
      if (abort.signal.aborted) {
        end = current.cancelRequested ? 'CANCELED' : 'STOPPED';
        await saving;
        await this.#verify?.store
          .setJobProgress(job.jobId, planned, checked, problems)
          .catch(() => undefined);
      } else {
        end = { error };
      }
    }
    await this.#locked(async () => {
      try {
        await this.#finish(job.jobId, end, tally);
      } finally {
        this.#current = undefined;
        current.markStopped();
      }
    });
  }

  /** One operation: refused (not closed), media removed then the tombstone written, or failed. */
  async #deleteOne(item: JobItem, batcher: DeletedEventBatcher, tally: RunTally): Promise<void> {
    const session = await this.#store.getSession(item.sessionId);
    const refusal = refusalFor(session);
    if (refusal !== undefined || session === undefined) {
      await this.#store.failJobItem(item.jobId, item.position, refusal ?? 'NOT_FOUND');
      tally.refused++;
      return;
    }
    // Tagged for legal hold after the job was created: checked again right before the files go.
    const hold = this.#options.legalHold;
    if (hold !== undefined && isOnLegalHold(session, hold.tag())) {
      await this.#store.failJobItem(item.jobId, item.position, 'LEGAL_HOLD');
      tally.refused++;
      return;
    }
    try {
      await this.#options.discardDerived?.(session);
    } catch (error) {
      this.#log.warn(
        { err: error, sessionId: item.sessionId },
        'cached MP4 or waveform of a deleted session not removed',
      );
    }
    const removal = await removeSessionMedia(this.#mediaDir, session);
    tally.filesRemoved += removal.removed;
    tally.filesAlreadyGone += removal.alreadyGone;
    if (removal.failures.length > 0) {
      tally.mediaFailures++;
      // One line per session kept: its media could not be removed, so it stays as it was.
      this.#log.warn(
        { jobId: item.jobId, sessionId: item.sessionId, failures: removal.failures.slice(0, 4) },
        'session media not removed: the session is kept and the operation failed',
      );
      await this.#store.failJobItem(item.jobId, item.position, 'MEDIA_NOT_REMOVED');
      return;
    }
    const outcome = await this.#store.completeSessionDeletion(item.jobId, item.position, item.sessionId);
    if (outcome === 'DELETED') {
      tally.deleted++;
      batcher.add(item.sessionId);
    } else if (outcome !== 'NOT_PENDING') {
      tally.refused++;
    }
  }

  /** Runs `work` after every state change queued before it, one at a time. */
  #locked<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#serial.then(work);
    this.#serial = result.catch(() => undefined);
    return result;
  }
}

function refusalFor(session: Session | undefined): DeleteFailureReason | undefined {
  if (session === undefined) {
    return 'NOT_FOUND';
  }
  switch (session.sessionState) {
    case 'ACTIVE':
      return 'ACTIVE';
    case 'DELETED':
      return 'ALREADY_DELETED';
    case 'CLOSED_NORMAL':
    case 'CLOSED_ERROR':
      return undefined;
  }
}
