import type { Kysely } from 'kysely';

/**
 * Issue 8: a track's packets that reached the host but not the track file: datagrams the kernel
 * dropped on its RTP socket (receive buffer full) and datagrams still queued when it closed.
 * Both are additive counters, 0 for the tracks recorded before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('tracks')
    .addColumn('stat_kernel_dropped', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('tracks')
    .addColumn('stat_unread_at_close', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tracks').dropColumn('stat_unread_at_close').execute();
  await db.schema.alterTable('tracks').dropColumn('stat_kernel_dropped').execute();
}
