import type { Kysely, Transaction } from 'kysely';

import {
  FINISHED_JOB_STATES,
  UNFINISHED_JOB_STATES,
  isFinishedJobState,
  type DeleteFailureReason,
  type Job,
  type JobItem,
  type JobState,
  type JobStateChange,
  type NewJob,
  type SessionDeletionOutcome,
} from '../model/job.js';
import type { VerifyReport } from '../model/media-integrity.js';
import type { Database, JobItemsTable, JobsTable } from './schema.js';

/**
 * The job statements of the repository (migration 0006), as functions over a Kysely connection so
 * that kysely-repository.ts stays about sessions. Counts go through Number(): PostgreSQL's
 * count(*) and sum() come over as strings.
 */

type Executor = Kysely<Database> | Transaction<Database>;

/** Items inserted per statement: 5 values a row stays far below SQLite's 32,766 variables. */
const ITEM_INSERT_CHUNK = 1000;

const JOB_SEQUENCE = 'jobs';

export async function insertJob(db: Kysely<Database>, job: NewJob): Promise<Job> {
  return db.transaction().execute(async (trx) => {
    // Update first, then read: on PostgreSQL the update's row lock orders concurrent creators.
    await trx
      .updateTable('job_id_sequence')
      .set((eb) => ({ last_value: eb('last_value', '+', 1) }))
      .where('name', '=', JOB_SEQUENCE)
      .execute();
    const sequence = await trx
      .selectFrom('job_id_sequence')
      .select('last_value')
      .where('name', '=', JOB_SEQUENCE)
      .executeTakeFirstOrThrow();
    const row: JobsTable = {
      job_id: sequence.last_value,
      job_type: job.jobType,
      state: 'QUEUED',
      created_ms: job.createdAt,
      ended_ms: null,
      operations_total: job.sessionIds.length,
      operations_done: 0,
      operations_failed: 0,
      error_reason: null,
      parameters: job.verifyWindow === undefined ? null : JSON.stringify(job.verifyWindow),
      result: null,
    };
    await trx.insertInto('jobs').values(row).execute();
    for (let start = 0; start < job.sessionIds.length; start += ITEM_INSERT_CHUNK) {
      const items: JobItemsTable[] = job.sessionIds
        .slice(start, start + ITEM_INSERT_CHUNK)
        .map((sessionId, i) => ({
          job_id: row.job_id,
          position: start + i,
          session_id: sessionId,
          status: 'PENDING',
          failure_reason: null,
        }));
      await trx.insertInto('job_items').values(items).execute();
    }
    return toJob(row);
  });
}

export async function selectJob(db: Executor, jobId: number): Promise<Job | undefined> {
  const row = await db.selectFrom('jobs').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  return row === undefined ? undefined : toJob(row);
}

export async function selectUnfinishedJobs(db: Executor): Promise<Job[]> {
  const rows = await db
    .selectFrom('jobs')
    .selectAll()
    .where('state', 'in', UNFINISHED_JOB_STATES)
    .orderBy('job_id')
    .execute();
  return rows.map(toJob);
}

export async function countJobs(db: Executor): Promise<{ total: number; unfinished: number }> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => [
      eb.fn.countAll<number | string | bigint>().as('total'),
      eb.fn
        .sum<number | string | bigint | null>(
          eb.case().when('state', 'in', UNFINISHED_JOB_STATES).then(1).else(0).end(),
        )
        .as('unfinished'),
    ])
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), unfinished: Number(row.unfinished ?? 0) };
}

export async function updateJobState(
  db: Executor,
  jobId: number,
  from: readonly JobState[],
  to: JobState,
  change: JobStateChange,
): Promise<boolean> {
  if (from.length === 0) {
    return false;
  }
  const result = await db
    .updateTable('jobs')
    .set({
      state: to,
      ...(isFinishedJobState(to) ? { ended_ms: change.at } : {}),
      ...(change.errorReason === undefined ? {} : { error_reason: change.errorReason }),
    })
    .where('job_id', '=', jobId)
    .where('state', 'in', from)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function selectJobItems(
  db: Executor,
  jobId: number,
  status: 'PENDING' | 'FAILED',
  afterPosition: number,
  limit: number,
): Promise<JobItem[]> {
  const rows = await db
    .selectFrom('job_items')
    .selectAll()
    .where('job_id', '=', jobId)
    .where('status', '=', status)
    .where('position', '>', afterPosition)
    .orderBy('position')
    .limit(limit)
    .execute();
  return rows.map(toJobItem);
}

export async function failJobItem(
  db: Kysely<Database>,
  jobId: number,
  position: number,
  reason: DeleteFailureReason,
): Promise<boolean> {
  return db.transaction().execute((trx) => markItem(trx, jobId, position, reason));
}

export async function completeSessionDeletion(
  db: Kysely<Database>,
  jobId: number,
  position: number,
  sessionId: string,
): Promise<SessionDeletionOutcome> {
  return db.transaction().execute(async (trx) => {
    const item = await trx
      .selectFrom('job_items')
      .select('status')
      .where('job_id', '=', jobId)
      .where('position', '=', position)
      .executeTakeFirst();
    if (item?.status !== 'PENDING') {
      return 'NOT_PENDING';
    }
    const session = await trx
      .selectFrom('sessions')
      .select('state')
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    const refusal: DeleteFailureReason | undefined =
      session === undefined
        ? 'NOT_FOUND'
        : session.state === 'ACTIVE'
          ? 'ACTIVE'
          : session.state === 'DELETED'
            ? 'ALREADY_DELETED'
            : undefined;
    if (refusal !== undefined) {
      await markItem(trx, jobId, position, refusal);
      return refusal;
    }
    // The tombstone keeps the session row (id, times, controller, ccid) and nothing about who
    // spoke: participants and tags go with the tracks. Children first, whatever the FK actions.
    await trx.deleteFrom('tags').where('session_id', '=', sessionId).execute();
    await trx.deleteFrom('participants').where('session_id', '=', sessionId).execute();
    await trx.deleteFrom('tracks').where('session_id', '=', sessionId).execute();
    await trx.updateTable('sessions').set({ state: 'DELETED' }).where('session_id', '=', sessionId).execute();
    await markItem(trx, jobId, position, undefined);
    return 'DELETED';
  });
}

/** Marks a PENDING item DONE (no reason) or FAILED and counts it in its job; false when not PENDING. */
async function markItem(
  trx: Transaction<Database>,
  jobId: number,
  position: number,
  failure: DeleteFailureReason | undefined,
): Promise<boolean> {
  const result = await trx
    .updateTable('job_items')
    .set({ status: failure === undefined ? 'DONE' : 'FAILED', failure_reason: failure ?? null })
    .where('job_id', '=', jobId)
    .where('position', '=', position)
    .where('status', '=', 'PENDING')
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) {
    return false;
  }
  await trx
    .updateTable('jobs')
    .set((eb) => ({
      operations_done: eb('operations_done', '+', 1),
      operations_failed: eb('operations_failed', '+', failure === undefined ? 0 : 1),
    }))
    .where('job_id', '=', jobId)
    .execute();
  return true;
}

export async function deleteJob(
  db: Kysely<Database>,
  jobId: number,
): Promise<'deleted' | 'not-found' | 'unfinished'> {
  return db.transaction().execute(async (trx) => {
    const job = await trx.selectFrom('jobs').select('state').where('job_id', '=', jobId).executeTakeFirst();
    if (job === undefined) {
      return 'not-found';
    }
    if (!isFinishedJobState(job.state)) {
      return 'unfinished';
    }
    await deleteJobs(trx, [jobId]);
    return 'deleted';
  });
}

export async function pruneFinishedJobs(db: Kysely<Database>, keep: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const excess = (await countJobs(trx)).total - keep;
    if (excess <= 0) {
      return 0;
    }
    const oldest = await trx
      .selectFrom('jobs')
      .select('job_id')
      .where('state', 'in', FINISHED_JOB_STATES)
      .orderBy('job_id')
      .limit(excess)
      .execute();
    await deleteJobs(
      trx,
      oldest.map((row) => row.job_id),
    );
    return oldest.length;
  });
}

async function deleteJobs(trx: Transaction<Database>, jobIds: readonly number[]): Promise<void> {
  if (jobIds.length > 0) {
    await trx.deleteFrom('job_items').where('job_id', 'in', jobIds).execute();
    await trx.deleteFrom('jobs').where('job_id', 'in', jobIds).execute();
  }
}

function toJob(row: JobsTable): Job {
  return {
    jobId: row.job_id,
    jobType: row.job_type,
    jobState: row.state,
    createdAt: row.created_ms,
    ...(row.ended_ms === null ? {} : { endedAt: row.ended_ms }),
    operationsTotal: row.operations_total,
    operationsCompleted: row.operations_done,
    operationsFailed: row.operations_failed,
    ...(row.error_reason === null ? {} : { errorReason: row.error_reason }),
    ...jsonField('verifyWindow', row.parameters),
    ...jsonField('verifyResult', row.result),
  };
}

/**
 * A JSON column of a job as a field of the model, or nothing when it is NULL or unreadable (a
 * hand-edited row must not make getJobById fail: the job's state and counters still answer).
 */
function jsonField<K extends 'verifyWindow' | 'verifyResult'>(
  key: K,
  text: string | null,
): Partial<Pick<Job, K>> {
  if (text === null) {
    return {};
  }
  try {
    return { [key]: JSON.parse(text) as Job[K] } as Partial<Pick<Job, K>>;
  } catch {
    return {};
  }
}

export async function setJobProgress(
  db: Executor,
  jobId: number,
  total: number,
  completed: number,
  failed: number,
): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ operations_total: total, operations_done: completed, operations_failed: failed })
    .where('job_id', '=', jobId)
    .execute();
}

export async function setJobResult(db: Executor, jobId: number, result: VerifyReport): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ result: JSON.stringify(result) })
    .where('job_id', '=', jobId)
    .execute();
}

function toJobItem(row: JobItemsTable): JobItem {
  return {
    jobId: row.job_id,
    position: row.position,
    sessionId: row.session_id,
    status: row.status,
    ...(row.failure_reason === null ? {} : { failureReason: row.failure_reason }),
  };
}
