import { PostgresAdapter, type Kysely } from 'kysely';

/**
 * Issue 11: event subscriptions and their durable delivery. `event_subscriptions` holds one row
 * per receiver URI; `event_outbox` the rendered payload of each event for each subscription that
 * wants it, until the receiver took it (delivered rows are deleted); `event_deliveries` one row
 * per attempt, kept bounded by the delivery (events/delivery.ts). Outbox and log ids come from the
 * database (SQLite AUTOINCREMENT, PostgreSQL identity), so they increase across nodes sharing it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  // SQLite numbers only an INTEGER PRIMARY KEY itself (64-bit there); PostgreSQL's integer is
  // 32-bit, too few for every event a busy node will ever write.
  const idType = postgres ? 'bigint' : 'integer';
  await db.schema
    .createTable('event_subscriptions')
    .addColumn('subscription_id', 'text', (c) => c.primaryKey())
    .addColumn('uri', 'text', (c) => c.notNull().unique())
    /** Type names, comma-separated, in EVENT_TYPE_NAMES order. */
    .addColumn('event_types', 'text', (c) => c.notNull())
    .addColumn('tag_name_regex', 'text')
    .addColumn('secret', 'text')
    .addColumn('api_version', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('failing_since_ms', 'bigint')
    .execute();

  await db.schema
    .createTable('event_outbox')
    .addColumn('id', idType, (c) =>
      postgres ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();
  // Each node reads the head of each of its subscriptions' queues.
  await db.schema
    .createIndex('event_outbox_queue_idx')
    .on('event_outbox')
    .columns(['subscription_id', 'node_id', 'id'])
    .execute();

  await db.schema
    .createTable('event_deliveries')
    .addColumn('id', idType, (c) =>
      postgres ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('subscription_id', 'text', (c) => c.notNull())
    .addColumn('event_id', 'bigint', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('at_ms', 'bigint', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .execute();
  await db.schema
    .createIndex('event_deliveries_subscription_idx')
    .on('event_deliveries')
    .columns(['subscription_id', 'id'])
    .execute();
  await db.schema.createIndex('event_deliveries_at_idx').on('event_deliveries').columns(['at_ms']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['event_deliveries', 'event_outbox', 'event_subscriptions']) {
    await db.schema.dropTable(table).execute();
  }
}
