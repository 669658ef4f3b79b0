import type { Kysely, Selectable } from 'kysely';

import {
  EVENT_TYPE_NAMES,
  type DeliveryAttempt,
  type DeliveryLogQuery,
  type DeliveryResult,
  type EventTypeName,
  type NewOutboxEntry,
  type OutboxEntry,
  type StoredEventSubscription,
  type SubscriptionRecord,
  type SubscriptionState,
} from '../model/event-subscription.js';
import type { Database, EventDeliveriesTable, EventOutboxTable, EventSubscriptionsTable } from './schema.js';

/**
 * The event statements of the repository (migration 0010): subscriptions, the outbox and the
 * delivery log. Counts and bigint columns go through Number(): PostgreSQL hands them over as strings.
 */

/** Rows inserted per statement: 6 values a row stays far below SQLite's 32,766 variables. */
const OUTBOX_INSERT_CHUNK = 1000;

export async function insertSubscription(db: Kysely<Database>, record: SubscriptionRecord): Promise<boolean> {
  const result = await db
    .insertInto('event_subscriptions')
    .values({ ...subscriptionColumns(record), state: 'ACTIVE', failing_since_ms: null })
    .onConflict((oc) => oc.column('uri').doNothing())
    .executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

export async function updateSubscription(db: Kysely<Database>, record: SubscriptionRecord): Promise<boolean> {
  const columns = subscriptionColumns(record);
  const set = {
    uri: columns.uri,
    event_types: columns.event_types,
    tag_name_regex: columns.tag_name_regex,
    secret: columns.secret,
    api_version: columns.api_version,
  };
  const result = await db
    .updateTable('event_subscriptions')
    .set(set)
    .where('subscription_id', '=', record.subscriptionId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteSubscription(db: Kysely<Database>, subscriptionId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await trx.deleteFrom('event_outbox').where('subscription_id', '=', subscriptionId).execute();
    const result = await trx
      .deleteFrom('event_subscriptions')
      .where('subscription_id', '=', subscriptionId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  });
}

export async function selectSubscriptions(
  db: Kysely<Database>,
  where: { readonly subscriptionId?: string; readonly uri?: string },
): Promise<StoredEventSubscription[]> {
  let select = db
    .selectFrom('event_subscriptions as s')
    .selectAll('s')
    .select((eb) =>
      eb
        .selectFrom('event_outbox as o')
        .whereRef('o.subscription_id', '=', 's.subscription_id')
        .select((inner) => inner.fn.countAll<number | string | bigint>().as('n'))
        .as('backlog'),
    );
  if (where.subscriptionId !== undefined) {
    select = select.where('s.subscription_id', '=', where.subscriptionId);
  }
  if (where.uri !== undefined) {
    select = select.where('s.uri', '=', where.uri);
  }
  const rows = await select.orderBy('s.created_ms').orderBy('s.subscription_id').execute();
  return rows.map((row) => toSubscription(row, Number(row.backlog ?? 0)));
}

export async function appendOutbox(db: Kysely<Database>, entries: readonly NewOutboxEntry[]): Promise<void> {
  if (entries.length === 0) {
    return;
  }
  await db.transaction().execute(async (trx) => {
    // A subscription removed since the event was matched gets no row (it would never be delivered).
    const live = new Set(
      (
        await trx
          .selectFrom('event_subscriptions')
          .select('subscription_id')
          .where('subscription_id', 'in', [...new Set(entries.map((entry) => entry.subscriptionId))])
          .execute()
      ).map((row) => row.subscription_id),
    );
    const kept = entries.filter((entry) => live.has(entry.subscriptionId));
    for (let start = 0; start < kept.length; start += OUTBOX_INSERT_CHUNK) {
      await trx
        .insertInto('event_outbox')
        .values(
          kept.slice(start, start + OUTBOX_INSERT_CHUNK).map((entry) => ({
            subscription_id: entry.subscriptionId,
            node_id: entry.nodeId,
            event: entry.event,
            payload: entry.payload,
            created_ms: entry.createdAt,
          })),
        )
        .execute();
    }
  });
}

export async function pendingOutbox(
  db: Kysely<Database>,
  subscriptionId: string,
  nodeId: string,
  limit: number,
): Promise<OutboxEntry[]> {
  const rows = await db
    .selectFrom('event_outbox')
    .selectAll()
    .where('subscription_id', '=', subscriptionId)
    .where('node_id', '=', nodeId)
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(toOutboxEntry);
}

export async function recordDelivery(
  db: Kysely<Database>,
  result: DeliveryResult,
): Promise<{ state: SubscriptionState; failingSince?: number } | undefined> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('event_deliveries')
      .values({
        subscription_id: result.subscriptionId,
        event_id: result.eventId,
        event: result.event,
        at_ms: result.at,
        http_status: result.httpStatus ?? null,
        latency_ms: Math.max(0, Math.round(result.latencyMs)),
        error: result.error ?? null,
      })
      .execute();
    if (result.error === undefined) {
      await trx.deleteFrom('event_outbox').where('id', '=', result.eventId).execute();
      await trx
        .updateTable('event_subscriptions')
        .set({ state: 'ACTIVE', failing_since_ms: null })
        .where('subscription_id', '=', result.subscriptionId)
        .execute();
    } else {
      await trx
        .updateTable('event_subscriptions')
        .set({ failing_since_ms: result.at })
        .where('subscription_id', '=', result.subscriptionId)
        .where('failing_since_ms', 'is', null)
        .execute();
    }
    const row = await trx
      .selectFrom('event_subscriptions')
      .select(['state', 'failing_since_ms'])
      .where('subscription_id', '=', result.subscriptionId)
      .executeTakeFirst();
    if (row === undefined) {
      return undefined;
    }
    return {
      state: row.state,
      ...(row.failing_since_ms === null ? {} : { failingSince: row.failing_since_ms }),
    };
  });
}

export async function markSubscriptionFailing(
  db: Kysely<Database>,
  subscriptionId: string,
): Promise<boolean> {
  const result = await db
    .updateTable('event_subscriptions')
    .set({ state: 'FAILING' })
    .where('subscription_id', '=', subscriptionId)
    .where('state', '=', 'ACTIVE')
    .where('failing_since_ms', 'is not', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function queryDeliveryLog(
  db: Kysely<Database>,
  query: DeliveryLogQuery,
): Promise<DeliveryAttempt[]> {
  let select = db.selectFrom('event_deliveries').selectAll();
  if (query.subscriptionId !== undefined) {
    select = select.where('subscription_id', '=', query.subscriptionId);
  }
  if (query.beforeId !== undefined) {
    select = select.where('id', '<', query.beforeId);
  }
  const rows = await select.orderBy('id', 'desc').limit(query.limit).execute();
  return rows.map(toDeliveryAttempt);
}

export async function pruneDeliveryLog(
  db: Kysely<Database>,
  olderThan: number,
  keep: number,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    let deleted = Number(
      (await trx.deleteFrom('event_deliveries').where('at_ms', '<', olderThan).executeTakeFirst())
        .numDeletedRows,
    );
    const subscriptions = await trx
      .selectFrom('event_deliveries')
      .select('subscription_id')
      .distinct()
      .execute();
    for (const { subscription_id: subscriptionId } of subscriptions) {
      // The id of the newest attempt beyond `keep`: it and every older one go.
      const cut = await trx
        .selectFrom('event_deliveries')
        .select('id')
        .where('subscription_id', '=', subscriptionId)
        .orderBy('id', 'desc')
        .offset(keep)
        .limit(1)
        .executeTakeFirst();
      if (cut !== undefined) {
        deleted += Number(
          (
            await trx
              .deleteFrom('event_deliveries')
              .where('subscription_id', '=', subscriptionId)
              .where('id', '<=', cut.id)
              .executeTakeFirst()
          ).numDeletedRows,
        );
      }
    }
    return deleted;
  });
}

export async function outboxBacklog(
  db: Kysely<Database>,
  nodeId: string,
): Promise<{ pending: number; oldestCreatedAt?: number }> {
  const row = await db
    .selectFrom('event_outbox')
    .select((eb) => [
      eb.fn.countAll<number | string | bigint>().as('pending'),
      eb.fn.min<number | string | null>('created_ms').as('oldest'),
    ])
    .where('node_id', '=', nodeId)
    .executeTakeFirstOrThrow();
  return {
    pending: Number(row.pending),
    ...(row.oldest === null ? {} : { oldestCreatedAt: Number(row.oldest) }),
  };
}

function subscriptionColumns(
  record: SubscriptionRecord,
): Omit<EventSubscriptionsTable, 'state' | 'failing_since_ms'> {
  return {
    subscription_id: record.subscriptionId,
    uri: record.subscriptionUri,
    event_types: record.eventTypes.join(','),
    tag_name_regex: record.tagNameRegEx ?? null,
    secret: record.secret ?? null,
    api_version: record.apiVersion,
    created_ms: record.createdAt,
    created_by: record.createdBy,
  };
}

function toSubscription(row: EventSubscriptionsTable, backlog: number): StoredEventSubscription {
  const types = new Set(row.event_types.split(','));
  return {
    subscriptionId: row.subscription_id,
    subscriptionUri: row.uri,
    eventTypes: EVENT_TYPE_NAMES.filter((type): type is EventTypeName => types.has(type)),
    ...(row.tag_name_regex === null ? {} : { tagNameRegEx: row.tag_name_regex }),
    signed: row.secret !== null,
    ...(row.secret === null ? {} : { secret: row.secret }),
    apiVersion: row.api_version,
    createdAt: row.created_ms,
    createdBy: row.created_by,
    state: row.state,
    ...(row.failing_since_ms === null ? {} : { failingSince: row.failing_since_ms }),
    backlog,
  };
}

function toOutboxEntry(row: Selectable<EventOutboxTable>): OutboxEntry {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    nodeId: row.node_id,
    event: row.event,
    payload: row.payload,
    createdAt: row.created_ms,
  };
}

function toDeliveryAttempt(row: Selectable<EventDeliveriesTable>): DeliveryAttempt {
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    eventId: row.event_id,
    event: row.event,
    at: row.at_ms,
    ...(row.http_status === null ? {} : { httpStatus: row.http_status }),
    latencyMs: row.latency_ms,
    ...(row.error === null ? {} : { error: row.error }),
  };
}
