import type { Kysely } from 'kysely';

/**
 * Issue 14 (Administration). `trusted_peers`: the CIDR blocks an admin trusted from the web app
 * (model/trusted-peer.ts), besides `--trusted-peers`. `tracks_start_stats_idx`: the node status
 * sums packets received and lost per hour of track start; with the two counts in the index the
 * sum over a day is a range scan of the index alone, never a read of the tracks' rows (the
 * sessions per hour are already answered by sessions_start_idx).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('trusted_peers')
    .addColumn('cidr', 'text', (c) => c.primaryKey())
    .addColumn('note', 'text', (c) => c.notNull())
    .addColumn('added_ms', 'bigint', (c) => c.notNull())
    .addColumn('added_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('tracks_start_stats_idx')
    .on('tracks')
    .columns(['start_ms', 'stat_packets', 'stat_lost'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('tracks_start_stats_idx').execute();
  await db.schema.dropTable('trusted_peers').execute();
}
