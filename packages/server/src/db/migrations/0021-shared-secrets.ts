import type { Kysely } from 'kysely';

/**
 * Keys the node draws once and keeps (model/shared-secret.ts): first the key that signs media
 * tokens, so that the URLs handed out survive a restart and, in a cluster, a token issued by one
 * node opens the media on another.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('shared_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('shared_secrets').execute();
}
