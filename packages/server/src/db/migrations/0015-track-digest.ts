import type { Kysely } from 'kysely';

/**
 * Issue 13 (integrity): the SHA-256 of each finished track file, its length and when it was
 * computed, so `verbatim verify` can tell a missing, truncated or altered file. NULL for the
 * tracks recorded before (reported as "not digested") and while a track is still being written.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tracks').addColumn('media_sha256', 'text').execute();
  await db.schema.alterTable('tracks').addColumn('media_bytes', 'bigint').execute();
  await db.schema.alterTable('tracks').addColumn('media_digested_ms', 'bigint').execute();
  // The VERIFY_MEDIA job (verifyMedia): the window it checks and what it found, as JSON.
  await db.schema.alterTable('jobs').addColumn('parameters', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('result', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').dropColumn('result').execute();
  await db.schema.alterTable('jobs').dropColumn('parameters').execute();
  await db.schema.alterTable('tracks').dropColumn('media_digested_ms').execute();
  await db.schema.alterTable('tracks').dropColumn('media_bytes').execute();
  await db.schema.alterTable('tracks').dropColumn('media_sha256').execute();
}
