import { sql, type Kysely } from 'kysely';

import { HOUR_MS, type HourActivity } from '../model/node-activity.js';
import type { TrustedPeer } from '../model/trusted-peer.js';
import type { Database } from './schema.js';

/**
 * Administration's queries (issue 14, migration 0019): activity per hour for the node status, and
 * the trusted peers added from the web app.
 */

type Count = number | string | bigint | null;

/**
 * Sessions per hour of their start (sessions_start_idx), and packets received and lost per hour
 * of their tracks' start (tracks_start_stats_idx): two range scans of covering indexes, grouped by
 * hour, so a week over a store of millions reads only that week's index entries.
 */
export async function hourlyActivity(
  db: Kysely<Database>,
  fromHour: number,
  toHour: number,
): Promise<HourActivity[]> {
  const sessions = await db
    .selectFrom('sessions')
    .select([
      sql<Count>`start_ms - (start_ms % ${sql.lit(HOUR_MS)})`.as('hour'),
      (eb) => eb.fn.countAll<number | string | bigint>().as('n'),
    ])
    .where('start_ms', '>=', fromHour)
    .where('start_ms', '<', toHour)
    .groupBy(sql`start_ms - (start_ms % ${sql.lit(HOUR_MS)})`)
    .execute();
  const tracks = await db
    .selectFrom('tracks')
    .select([
      sql<Count>`start_ms - (start_ms % ${sql.lit(HOUR_MS)})`.as('hour'),
      (eb) => eb.fn.sum<Count>('stat_packets').as('received'),
      (eb) => eb.fn.sum<Count>('stat_lost').as('lost'),
    ])
    .where('start_ms', '>=', fromHour)
    .where('start_ms', '<', toHour)
    .groupBy(sql`start_ms - (start_ms % ${sql.lit(HOUR_MS)})`)
    .execute();
  const hours = new Map<number, { sessions: number; packetsReceived: number; packetsLost: number }>();
  const hourOf = (hour: number) => {
    let entry = hours.get(hour);
    if (entry === undefined) {
      entry = { sessions: 0, packetsReceived: 0, packetsLost: 0 };
      hours.set(hour, entry);
    }
    return entry;
  };
  for (const row of sessions) {
    hourOf(Number(row.hour)).sessions = Number(row.n);
  }
  for (const row of tracks) {
    const entry = hourOf(Number(row.hour));
    entry.packetsReceived = Number(row.received ?? 0);
    entry.packetsLost = Number(row.lost ?? 0);
  }
  return [...hours.entries()]
    .sort(([a], [b]) => a - b)
    .map(([hourStart, entry]) => ({ hourStart, ...entry }));
}

export async function listTrustedPeers(db: Kysely<Database>): Promise<TrustedPeer[]> {
  const rows = await db
    .selectFrom('trusted_peers')
    .selectAll()
    .orderBy('added_ms', 'asc')
    .orderBy('cidr', 'asc')
    .execute();
  return rows.map((row) => ({
    cidr: row.cidr,
    note: row.note,
    addedAt: row.added_ms,
    addedBy: row.added_by,
  }));
}

export async function addTrustedPeer(db: Kysely<Database>, peer: TrustedPeer): Promise<boolean> {
  const result = await db
    .insertInto('trusted_peers')
    .values({ cidr: peer.cidr, note: peer.note, added_ms: peer.addedAt, added_by: peer.addedBy })
    .onConflict((oc) => oc.column('cidr').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function removeTrustedPeer(
  db: Kysely<Database>,
  cidr: string,
): Promise<TrustedPeer | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('trusted_peers').selectAll().where('cidr', '=', cidr).executeTakeFirst();
    if (row === undefined) {
      return undefined;
    }
    await trx.deleteFrom('trusted_peers').where('cidr', '=', cidr).execute();
    return { cidr: row.cidr, note: row.note, addedAt: row.added_ms, addedBy: row.added_by };
  });
}
