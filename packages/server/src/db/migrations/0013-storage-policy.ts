import type { Kysely } from 'kysely';

/**
 * Issue 13: the retention policy (model/storage-policy.ts), one row (id 1) shared by the nodes and
 * the command line. No row means the defaults. An index on the start of closed, unpruned sessions
 * keeps pruning's "oldest first" cheap on a large store.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('storage_policy')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('max_age_days', 'integer', (c) => c.notNull())
    .addColumn('delete_metadata', 'integer', (c) => c.notNull())
    .addColumn('legal_hold_tag', 'text', (c) => c.notNull())
    .addColumn('updated_ms', 'bigint', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('sessions_prune_idx')
    .on('sessions')
    .columns(['pruned_ms', 'start_ms'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_prune_idx').execute();
  await db.schema.dropTable('storage_policy').execute();
}
