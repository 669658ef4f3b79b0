import type { VerifyReport, VerifyWindow } from './media-integrity.js';
import type { Session } from './session.js';

/**
 * Jobs: long-running management work a MediaSense client starts and then follows (reference §6,
 * addendum §3–4). The only kind today deletes sessions (deleteSessions, createJob
 * `DELETE_SESSIONS`). A job and each of its operations live in the database, so a job outlives a
 * restart of the node. Every time is epoch milliseconds.
 */

export type JobType = 'DELETE_SESSIONS' | 'VERIFY_MEDIA';

/**
 * VERIFY_MEDIA (issue 13, verifyMedia) is a Verbatim job: it checks the track files of a window
 * against their digests (storage/media-verify.ts) and keeps its findings as the job's result.
 */
export const JOB_TYPES: readonly JobType[] = ['DELETE_SESSIONS', 'VERIFY_MEDIA'];

/**
 * RUNNING, COMPLETED, CANCELED and ERROR are MediaSense's states (addendum §4). MediaSense had one
 * more state before RUNNING whose name is not known; Verbatim's is QUEUED: a job waits there while
 * another job runs (jobs run one at a time).
 */
export type JobState = 'QUEUED' | 'RUNNING' | 'COMPLETED' | 'CANCELED' | 'ERROR';

/** States a job never leaves; only a job in one of them may be deleted (deleteJob). */
export const FINISHED_JOB_STATES: readonly JobState[] = ['COMPLETED', 'CANCELED', 'ERROR'];

export const UNFINISHED_JOB_STATES: readonly JobState[] = ['QUEUED', 'RUNNING'];

export function isFinishedJobState(state: JobState): boolean {
  return FINISHED_JOB_STATES.includes(state);
}

export interface Job {
  /** Positive integer, never reused on a node. */
  readonly jobId: number;
  readonly jobType: JobType;
  readonly jobState: JobState;
  /** When the job was accepted (its jobStartTime). */
  readonly createdAt: number;
  /** When it reached COMPLETED, CANCELED or ERROR. */
  readonly endedAt?: number;
  /** Operations the job holds: one per distinct session id it was given. */
  readonly operationsTotal: number;
  /** Operations attempted, failed ones included (MediaSense's operationsCompleted). */
  readonly operationsCompleted: number;
  /** Operations attempted that did not succeed (a Verbatim extension). */
  readonly operationsFailed: number;
  /** Why the job ended in ERROR. */
  readonly errorReason?: string;
  /** VERIFY_MEDIA: the window it checks. */
  readonly verifyWindow?: VerifyWindow;
  /** VERIFY_MEDIA: what it found, once COMPLETED (the findings capped, the counts whole). */
  readonly verifyResult?: VerifyReport;
}

/** What became of one operation of a job (one session of a DELETE_SESSIONS job). */
export type JobItemStatus = 'PENDING' | 'DONE' | 'FAILED';

/** Why an operation of a DELETE_SESSIONS job failed. */
export type DeleteFailureReason =
  /** No session has this id. */
  | 'NOT_FOUND'
  /** The session is still recording: only closed sessions are deleted. */
  | 'ACTIVE'
  /** The session was deleted before (by another job, or listed twice across jobs). */
  | 'ALREADY_DELETED'
  /** A media file or folder could not be removed (permissions, I/O): the session is kept. */
  | 'MEDIA_NOT_REMOVED'
  /** The session was tagged for legal hold after the job was created: it is kept. */
  | 'LEGAL_HOLD';

export interface JobItem {
  readonly jobId: number;
  /** Order of the operation within its job, from 0. */
  readonly position: number;
  readonly sessionId: string;
  readonly status: JobItemStatus;
  readonly failureReason?: DeleteFailureReason;
}

/** A job as deleteSessions or createJob asks for it, before it has an id. */
export interface NewJob {
  readonly jobType: JobType;
  readonly createdAt: number;
  /** Distinct ids, in the order given (none for VERIFY_MEDIA). */
  readonly sessionIds: readonly string[];
  readonly verifyWindow?: VerifyWindow;
}

export interface JobStateChange {
  readonly at: number;
  readonly errorReason?: string;
}

/** What deleting one session of a job did: DELETED, why it was refused, or nothing (not PENDING). */
export type SessionDeletionOutcome = 'DELETED' | DeleteFailureReason | 'NOT_PENDING';

/**
 * The jobs in the database (migration 0006) as the deletion job runner (storage/deletion-jobs.ts)
 * uses them: the repository implements it, and app.ts hands the repository over, so storage/
 * does not depend on db/. The runner is the only writer of jobs.
 */
export interface DeletionJobStore {
  getSession(sessionId: string): Promise<Session | undefined>;
  /** Stores a QUEUED job with one PENDING item per session id, in order; returns it with its new id. */
  createJob(job: NewJob): Promise<Job>;
  getJob(jobId: number): Promise<Job | undefined>;
  /** QUEUED and RUNNING jobs, oldest first. */
  listUnfinishedJobs(): Promise<Job[]>;
  /** How many jobs are kept, and how many of them are QUEUED or RUNNING. */
  countJobs(): Promise<{ readonly total: number; readonly unfinished: number }>;
  /**
   * Moves a job from one of the states `from` to `to` (a finished state also sets its end time);
   * false when the job does not exist or is in none of them.
   */
  updateJobState(
    jobId: number,
    from: readonly JobState[],
    to: JobState,
    change: JobStateChange,
  ): Promise<boolean>;
  /** Up to `limit` PENDING items of a job after position `afterPosition` (-1: from the start), in order. */
  pendingJobItems(jobId: number, afterPosition: number, limit: number): Promise<JobItem[]>;
  /** Up to `limit` FAILED items of a job, in order. */
  failedJobItems(jobId: number, limit: number): Promise<JobItem[]>;
  /** Marks a PENDING item FAILED and counts it in its job; false when it was not PENDING. */
  failJobItem(jobId: number, position: number, reason: DeleteFailureReason): Promise<boolean>;
  /**
   * In one transaction: a closed session becomes a DELETED tombstone (its session row stays; its
   * tracks, participants and tags rows go) and the PENDING item is DONE and counted. When the
   * session is not closed (missing, ACTIVE, DELETED) the item is FAILED instead, with that reason.
   * An item no longer PENDING changes nothing.
   */
  completeSessionDeletion(
    jobId: number,
    position: number,
    sessionId: string,
  ): Promise<SessionDeletionOutcome>;
  /** Deletes a finished job and its items; `unfinished` when it is QUEUED or RUNNING. */
  deleteJob(jobId: number): Promise<'deleted' | 'not-found' | 'unfinished'>;
  /** Deletes the oldest finished jobs until at most `keep` jobs remain; returns how many went. */
  pruneFinishedJobs(keep: number): Promise<number>;
}

/** What a VERIFY_MEDIA job writes besides its state (migration 0015); the repository implements it. */
export interface VerifyJobStore {
  /** Sets a job's counters: tracks to check, checked, and found with a problem. */
  setJobProgress(jobId: number, total: number, completed: number, failed: number): Promise<void>;
  /** Stores what the job found. */
  setJobResult(jobId: number, result: VerifyReport): Promise<void>;
}
