import { PostgresAdapter, type Kysely } from 'kysely';

/**
 * Issue 11: agent sign-in intervals from the Finesse AgentInfo gadget (model/agent.ts). One row per
 * START; KEEPALIVE moves last_keepalive_ms, STOP (or the next START of the login) sets end_ms.
 * Sessions are linked to agents when read, by extension and time, so the indexes serve that join
 * (extension, start) and the gadget's calls (the open intervals of one login).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('agent_intervals')
    .addColumn('id', 'integer', (c) =>
      postgres ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('login_id', 'text', (c) => c.notNull())
    .addColumn('login_name', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('extension', 'text', (c) => c.notNull())
    .addColumn('start_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_keepalive_ms', 'bigint', (c) => c.notNull())
    .addColumn('end_ms', 'bigint')
    .execute();
  await db.schema
    .createIndex('agent_intervals_extension_idx')
    .on('agent_intervals')
    .columns(['extension', 'start_ms'])
    .execute();
  await db.schema
    .createIndex('agent_intervals_login_idx')
    .on('agent_intervals')
    .columns(['login_id', 'end_ms'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('agent_intervals').execute();
}
