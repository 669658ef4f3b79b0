import type { Kysely } from 'kysely';

/**
 * Issue 13 (full disks and I/O errors): why a session ended CLOSED_ERROR (`disk-full`,
 * `write-failed: EIO`, a media timeout, a shutdown), so that the API tells a session cut short by
 * the disk from one whose call simply went wrong. NULL for CLOSED_NORMAL and for the sessions
 * closed before this migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('close_reason', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('close_reason').execute();
}
