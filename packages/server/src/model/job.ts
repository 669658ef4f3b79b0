/**
 * Jobs: long-running management work a MediaSense client starts and then follows (reference §6,
 * addendum §3–4). The only kind today deletes sessions (deleteSessions, createJob
 * `DELETE_SESSIONS`). A job and each of its operations live in the database, so a job outlives a
 * restart of the node. Every time is epoch milliseconds.
 */

export type JobType = 'DELETE_SESSIONS';

export const JOB_TYPES: readonly JobType[] = ['DELETE_SESSIONS'];

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
  | 'MEDIA_NOT_REMOVED';

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
  /** Distinct ids, in the order given. */
  readonly sessionIds: readonly string[];
}

export interface JobStateChange {
  readonly at: number;
  readonly errorReason?: string;
}

/** What deleting one session of a job did: DELETED, why it was refused, or nothing (not PENDING). */
export type SessionDeletionOutcome = 'DELETED' | DeleteFailureReason | 'NOT_PENDING';
