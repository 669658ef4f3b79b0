import { sql, type Kysely } from 'kysely';

import { HOUR_MS, type HourActivity } from '../model/node-activity.js';
import type { TrustedPeer } from '../model/trusted-peer.js';
import type { Database } from './schema.js';

/**
 * Administration's queries (issue 14, migration 0019): activity per hour for the node status, and
 * the trusted peers added from the web app; and the secrets shared by the nodes (migration 0021).
 */

type Count = number | string | bigint | null;

/**
 * Per hour: the sessions that started in it (sessions_start_idx) and the packets received and lost
 * by the tracks that started in it (tracks_start_stats_idx). One range count per hour of a
 * generated list of hours, each a search of a covering index: a GROUP BY over the hour expression
 * costs a temporary B-tree over every row of the window, three to four times slower (on SQLite,
 * 1,000,000 sessions over 30 days: 192 hours in about 45 ms, against 170 ms grouped;
 * test/bench/db-node-activity.ts). The casts type the parameters for PostgreSQL.
 */
export async function hourlyActivity(
  db: Kysely<Database>,
  fromHour: number,
  toHour: number,
): Promise<HourActivity[]> {
  if (toHour <= fromHour) {
    return [];
  }
  const { rows } = await hourlyActivitySql(fromHour, toHour).execute(db);
  return rows.map((row) => ({
    hourStart: Number(row.hour),
    sessions: Number(row.n ?? 0),
    packetsReceived: Number(row.received ?? 0),
    packetsLost: Number(row.lost ?? 0),
  }));
}

/** The query of hourlyActivity, apart so that a test can read its plan. */
export function hourlyActivitySql(fromHour: number, toHour: number) {
  const hour = sql.lit(HOUR_MS);
  return sql<{ hour: Count; n: Count; received: Count; lost: Count }>`
    with recursive hours(hour) as (
      select cast(${fromHour} as bigint)
      union all
      select hour + ${hour} from hours where hour + ${hour} < cast(${toHour} as bigint)
    )
    select hour,
      (select count(*) from sessions where start_ms >= hour and start_ms < hour + ${hour}) as n,
      (select sum(stat_packets) from tracks where start_ms >= hour and start_ms < hour + ${hour}) as received,
      (select sum(stat_lost) from tracks where start_ms >= hour and start_ms < hour + ${hour}) as lost
    from hours
    order by hour`;
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

/** The secret stored under `name`, storing `created` first when there is none (see SharedSecretStore). */
export async function sharedSecret(
  db: Kysely<Database>,
  name: string,
  created: string,
  at: number,
): Promise<string> {
  await db
    .insertInto('shared_secrets')
    .values({ name, value: created, created_ms: at })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db
    .selectFrom('shared_secrets')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return row.value;
}
