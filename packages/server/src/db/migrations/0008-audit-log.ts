import { PostgresAdapter, type Kysely } from 'kysely';

/**
 * Issue 10: the audit trail. Append-only; read newest first, by time window and optionally by
 * user, action or target, so the id (insertion order) and the time carry the indexes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // SQLite numbers an INTEGER PRIMARY KEY itself (AUTOINCREMENT: never reusing an id); PostgreSQL
  // needs an identity column for the same.
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'integer', (c) =>
      postgres ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('at_ms', 'bigint', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('role', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('outcome', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('audit_log_at_idx').on('audit_log').columns(['at_ms', 'id']).execute();
  await db.schema.createIndex('audit_log_user_idx').on('audit_log').columns(['username', 'id']).execute();
  await db.schema.createIndex('audit_log_target_idx').on('audit_log').columns(['target', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
}
