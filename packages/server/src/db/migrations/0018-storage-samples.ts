import type { Kysely } from 'kysely';

/**
 * Issue 14 (Administration: storage use over time): the storage agent's samples of the media
 * partition, one row per node every few minutes (`--storage-history-interval`), kept 90 days.
 * The node id is in the key so that the nodes of a cluster sharing the database keep their own
 * lines; `sessions` is the count of sessions whose media is kept when the sample was written.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('storage_samples')
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('at_ms', 'bigint', (c) => c.notNull())
    .addColumn('total_bytes', 'bigint', (c) => c.notNull())
    .addColumn('used_bytes', 'bigint', (c) => c.notNull())
    .addColumn('free_bytes', 'bigint', (c) => c.notNull())
    .addColumn('sessions', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('storage_samples_pk', ['node_id', 'at_ms'])
    .execute();
  // Reads and pruning go by time across nodes.
  await db.schema.createIndex('storage_samples_at_idx').on('storage_samples').column('at_ms').execute();
  // Each sample counts the sessions whose media is kept: from this index alone, without reading
  // the rows, so a large store costs the node a short count every few minutes, not a table scan.
  await db.schema.createIndex('sessions_kept_idx').on('sessions').columns(['pruned_ms', 'state']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_kept_idx').execute();
  await db.schema.dropIndex('storage_samples_at_idx').execute();
  await db.schema.dropTable('storage_samples').execute();
}
