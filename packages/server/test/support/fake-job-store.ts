import type { VerifyReport } from '../../src/model/media-integrity.js';
import {
  isFinishedJobState,
  type DeleteFailureReason,
  type Job,
  type JobItem,
  type JobState,
  type JobStateChange,
  type NewJob,
  type SessionDeletionOutcome,
} from '../../src/model/job.js';
import type { Session } from '../../src/model/session.js';

/** The job half of the FakeRepository: jobs and their items in memory, as the SQL does them. */
export class FakeJobStore {
  readonly #jobs = new Map<number, Job>();
  readonly #items = new Map<number, JobItem[]>();
  readonly #sessions: Map<string, Session>;
  #lastId = 0;

  constructor(sessions: Map<string, Session>) {
    this.#sessions = sessions;
  }

  createJob(job: NewJob): Job {
    const created: Job = {
      jobId: ++this.#lastId,
      jobType: job.jobType,
      jobState: 'QUEUED',
      createdAt: job.createdAt,
      operationsTotal: job.sessionIds.length,
      operationsCompleted: 0,
      operationsFailed: 0,
      ...(job.verifyWindow === undefined ? {} : { verifyWindow: job.verifyWindow }),
    };
    this.#jobs.set(created.jobId, created);
    this.#items.set(
      created.jobId,
      job.sessionIds.map((sessionId, position) => ({
        jobId: created.jobId,
        position,
        sessionId,
        status: 'PENDING',
      })),
    );
    return created;
  }

  setJobProgress(jobId: number, total: number, completed: number, failed: number): void {
    const job = this.#jobs.get(jobId);
    if (job !== undefined) {
      this.#jobs.set(jobId, {
        ...job,
        operationsTotal: total,
        operationsCompleted: completed,
        operationsFailed: failed,
      });
    }
  }

  setJobResult(jobId: number, result: VerifyReport): void {
    const job = this.#jobs.get(jobId);
    if (job !== undefined) {
      this.#jobs.set(jobId, { ...job, verifyResult: result });
    }
  }

  getJob(jobId: number): Job | undefined {
    return this.#jobs.get(jobId);
  }

  listUnfinishedJobs(): Job[] {
    return [...this.#jobs.values()].filter((job) => !isFinishedJobState(job.jobState));
  }

  countJobs(): { total: number; unfinished: number } {
    return { total: this.#jobs.size, unfinished: this.listUnfinishedJobs().length };
  }

  updateJobState(jobId: number, from: readonly JobState[], to: JobState, change: JobStateChange): boolean {
    const job = this.#jobs.get(jobId);
    if (job === undefined || !from.includes(job.jobState)) {
      return false;
    }
    this.#jobs.set(jobId, {
      ...job,
      jobState: to,
      ...(isFinishedJobState(to) ? { endedAt: change.at } : {}),
      ...(change.errorReason === undefined ? {} : { errorReason: change.errorReason }),
    });
    return true;
  }

  items(jobId: number, status: 'PENDING' | 'FAILED', afterPosition: number, limit: number): JobItem[] {
    return (this.#items.get(jobId) ?? [])
      .filter((item) => item.status === status && item.position > afterPosition)
      .slice(0, limit);
  }

  failJobItem(jobId: number, position: number, reason: DeleteFailureReason): boolean {
    return this.#mark(jobId, position, reason);
  }

  completeSessionDeletion(jobId: number, position: number, sessionId: string): SessionDeletionOutcome {
    if (this.#items.get(jobId)?.[position]?.status !== 'PENDING') {
      return 'NOT_PENDING';
    }
    const session = this.#sessions.get(sessionId);
    const refusal: DeleteFailureReason | undefined =
      session === undefined
        ? 'NOT_FOUND'
        : session.sessionState === 'ACTIVE'
          ? 'ACTIVE'
          : session.sessionState === 'DELETED'
            ? 'ALREADY_DELETED'
            : undefined;
    if (refusal !== undefined || session === undefined) {
      this.#mark(jobId, position, refusal ?? 'NOT_FOUND');
      return refusal ?? 'NOT_FOUND';
    }
    this.#sessions.set(sessionId, { ...session, sessionState: 'DELETED', tags: [], tracks: [] });
    this.#mark(jobId, position, undefined);
    return 'DELETED';
  }

  deleteJob(jobId: number): 'deleted' | 'not-found' | 'unfinished' {
    const job = this.#jobs.get(jobId);
    if (job === undefined) {
      return 'not-found';
    }
    if (!isFinishedJobState(job.jobState)) {
      return 'unfinished';
    }
    this.#jobs.delete(jobId);
    this.#items.delete(jobId);
    return 'deleted';
  }

  pruneFinishedJobs(keep: number): number {
    const finished = [...this.#jobs.values()].filter((job) => isFinishedJobState(job.jobState));
    const excess = Math.max(0, this.#jobs.size - keep);
    for (const job of finished.slice(0, excess)) {
      this.deleteJob(job.jobId);
    }
    return Math.min(excess, finished.length);
  }

  #mark(jobId: number, position: number, failure: DeleteFailureReason | undefined): boolean {
    const items = this.#items.get(jobId);
    const item = items?.[position];
    const job = this.#jobs.get(jobId);
    if (items === undefined || item?.status !== 'PENDING' || job === undefined) {
      return false;
    }
    items[position] = {
      ...item,
      status: failure === undefined ? 'DONE' : 'FAILED',
      ...(failure === undefined ? {} : { failureReason: failure }),
    };
    this.#jobs.set(jobId, {
      ...job,
      operationsCompleted: job.operationsCompleted + 1,
      operationsFailed: job.operationsFailed + (failure === undefined ? 0 : 1),
    });
    return true;
  }
}
