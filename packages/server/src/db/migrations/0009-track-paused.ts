import type { Kysely } from 'kysely';

/**
 * Issue 10: the packets a track received while its recording was paused (pauseRecording) and did
 * not store, kept with the track like the other counters (0 for the tracks recorded before).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('tracks')
    .addColumn('stat_paused', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tracks').dropColumn('stat_paused').execute();
}
