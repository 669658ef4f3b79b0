import type { Kysely } from 'kysely';

/**
 * Issue 10: jobs (deleteSessions, createJob) kept in the database so that a job outlives a restart
 * of the node: `jobs` holds each job and its counters, `job_items` each operation (one session id)
 * with its status, so a job interrupted by a stop resumes at its first PENDING operation.
 * `job_id_sequence` hands out job ids, one row per sequence name: ids are never reused, even after
 * deleteJob removed the newest job, and no dialect-specific auto-increment type is needed (the
 * same migration runs on SQLite and PostgreSQL).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('job_id_sequence')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('last_value', 'bigint', (c) => c.notNull())
    .execute();
  await (db as Kysely<{ job_id_sequence: { name: string; last_value: number } }>)
    .insertInto('job_id_sequence')
    .values({ name: 'jobs', last_value: 0 })
    .execute();

  await db.schema
    .createTable('jobs')
    .addColumn('job_id', 'bigint', (c) => c.primaryKey())
    .addColumn('job_type', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('ended_ms', 'bigint')
    .addColumn('operations_total', 'integer', (c) => c.notNull())
    .addColumn('operations_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('operations_failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_reason', 'text')
    .execute();
  await db.schema.createIndex('jobs_state_idx').on('jobs').columns(['state', 'job_id']).execute();

  await db.schema
    .createTable('job_items')
    .addColumn('job_id', 'bigint', (c) => c.notNull().references('jobs.job_id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('failure_reason', 'text')
    .addPrimaryKeyConstraint('job_items_pk', ['job_id', 'position'])
    .execute();
  // The runner reads a job's next PENDING operations in order; getJobById lists the failed ones.
  await db.schema
    .createIndex('job_items_status_idx')
    .on('job_items')
    .columns(['job_id', 'status', 'position'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['job_items', 'jobs', 'job_id_sequence']) {
    await db.schema.dropTable(table).execute();
  }
}
