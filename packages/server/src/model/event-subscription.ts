import type { Session } from './session.js';

/**
 * MediaSense event subscriptions (reference §8, addendum §5) and Verbatim's durable delivery of
 * them. A subscription names a receiver URL and the event types it wants; every matching event is
 * written to a per-subscription outbox in the database before delivery, so a restart or a
 * receiver that is down loses nothing, and is POSTed in order, retried with back-off, and signed
 * with HMAC-SHA256 when the subscription has a secret. Every time is epoch milliseconds.
 */

/** The filter categories of subscribeToEvents (BLOG852). */
export const EVENT_CATEGORIES = [
  'RECORDING_EVENTS',
  'CLEANUP_EVENTS',
  'TAG_EVENTS',
  'STORAGE_EVENTS',
] as const;
export type EventCategory = (typeof EVENT_CATEGORIES)[number];

/**
 * The type-level filter names. SESSION_STARTED/UPDATED/ENDED_EVENT are MediaSense's (DG90-p51);
 * the others follow the same pattern (addendum §5, **Choice**, docs/api.md).
 */
export const EVENT_TYPE_NAMES = [
  'SESSION_STARTED_EVENT',
  'SESSION_UPDATED_EVENT',
  'SESSION_ENDED_EVENT',
  'SESSION_DELETED_EVENT',
  'SESSION_PRUNED_EVENT',
  'TAG_ADDED_EVENT',
  'TAG_UPDATED_EVENT',
  'TAG_DELETED_EVENT',
  'STORAGE_THRESHOLD_EVENT',
] as const;
export type EventTypeName = (typeof EVENT_TYPE_NAMES)[number];

/** What each category stands for; subscriptions store types, so a partial unsubscribe works. */
export const CATEGORY_TYPES: Readonly<Record<EventCategory, readonly EventTypeName[]>> = {
  RECORDING_EVENTS: ['SESSION_STARTED_EVENT', 'SESSION_UPDATED_EVENT', 'SESSION_ENDED_EVENT'],
  CLEANUP_EVENTS: ['SESSION_DELETED_EVENT', 'SESSION_PRUNED_EVENT'],
  TAG_EVENTS: ['TAG_ADDED_EVENT', 'TAG_UPDATED_EVENT', 'TAG_DELETED_EVENT'],
  STORAGE_EVENTS: ['STORAGE_THRESHOLD_EVENT'],
};

/**
 * Which API created the subscription: the 1.0 calls (subscribeRecordingEvent) or the 1.1 ones
 * (subscribeToEvents). Kept so that verify and errors answer in the caller's dialect.
 */
export type SubscriptionApiVersion = '1.0' | '1.1';

/** ACTIVE, or FAILING once its receiver has refused or been unreachable for too long. */
export type SubscriptionState = 'ACTIVE' | 'FAILING';

export interface EventSubscription {
  /** 16 characters of [A-Za-z0-9] (MediaSense's looked like `sN7DASoAArHmDfI1`). */
  readonly subscriptionId: string;
  /** The receiver: an http:// or https:// URL. One subscription per URL (BLOG852). */
  readonly subscriptionUri: string;
  /** The event types delivered, in EVENT_TYPE_NAMES order, never empty. */
  readonly eventTypes: readonly EventTypeName[];
  /** Tag events are delivered only when the tag name matches (DG90-p37); absent: all. */
  readonly tagNameRegEx?: string;
  /** Whether deliveries carry an HMAC-SHA256 signature; the secret itself is never shown. */
  readonly signed: boolean;
  readonly apiVersion: SubscriptionApiVersion;
  readonly createdAt: number;
  /** The user who subscribed (or `cli`). */
  readonly createdBy: string;
  readonly state: SubscriptionState;
  /** Since when every delivery attempt has failed (absent while the last attempt succeeded). */
  readonly failingSince?: number;
  /** Events written for it and not yet delivered. */
  readonly backlog: number;
}

/** A subscription as subscribeToEvents asks for it. */
export interface SubscriptionRequest {
  readonly subscriptionUri: string;
  readonly eventTypes: readonly EventTypeName[];
  readonly tagNameRegEx?: string;
  /** The HMAC-SHA256 key (a Verbatim extension); absent: deliveries are not signed. */
  readonly secret?: string;
  readonly apiVersion: SubscriptionApiVersion;
  readonly createdBy: string;
}

export type SubscribeOutcome =
  /** A new subscription. */
  | { readonly kind: 'created'; readonly subscription: EventSubscription }
  /** The URI had a subscription with other filters: they are replaced (DG90-p46). */
  | { readonly kind: 'replaced'; readonly subscription: EventSubscription }
  /** The URI had a subscription with the same filters: nothing changes (2005, DG90-p46). */
  | { readonly kind: 'exists'; readonly subscription: EventSubscription };

export type UnsubscribeOutcome =
  | { readonly kind: 'not-found' }
  /** The subscription is gone (all of its types were removed, or none were named). */
  | { readonly kind: 'removed' }
  /** Some types remain (a partial unsubscribe, DG90-p51). */
  | { readonly kind: 'narrowed'; readonly subscription: EventSubscription };

/** One attempt to deliver one event to one subscription (the delivery log). */
export interface DeliveryAttempt {
  /** Increasing; the paging key. */
  readonly id: number;
  readonly subscriptionId: string;
  /** The outbox entry delivered. */
  readonly eventId: number;
  /** `SESSION_EVENT/STARTED`, … */
  readonly event: string;
  readonly at: number;
  /** The receiver's HTTP status; absent when no answer came (refused, timeout, TLS error). */
  readonly httpStatus?: number;
  readonly latencyMs: number;
  /** Why it failed; absent on success (a 2xx). */
  readonly error?: string;
}

export interface DeliveryLogQuery {
  readonly subscriptionId?: string;
  /** Only attempts with an id below this one: the next page, newest first. */
  readonly beforeId?: number;
  readonly limit: number;
}

/**
 * What the API and the CLI use (events/ implements it over the repository). Every call is safe to
 * make from any node of a cluster: the state is in the database.
 */
export interface EventSubscriptions {
  subscribe(request: SubscriptionRequest): Promise<SubscribeOutcome>;
  /** Removes the given types (categories already expanded), or the whole subscription when none. */
  unsubscribe(subscriptionId: string, eventTypes?: readonly EventTypeName[]): Promise<UnsubscribeOutcome>;
  get(subscriptionId: string): Promise<EventSubscription | undefined>;
  findByUri(subscriptionUri: string): Promise<EventSubscription | undefined>;
  list(): Promise<EventSubscription[]>;
  deliveryLog(query: DeliveryLogQuery): Promise<DeliveryAttempt[]>;
}

/** Expands categories and type names (case-insensitive) into sorted unique types; undefined names are returned apart. */
export function expandEventFilters(filters: readonly string[]): {
  readonly types: EventTypeName[];
  readonly unknown: string[];
} {
  const wanted = new Set<EventTypeName>();
  const unknown: string[] = [];
  for (const raw of filters) {
    const name = raw.trim().toUpperCase();
    const category = (EVENT_CATEGORIES as readonly string[]).includes(name)
      ? (name as EventCategory)
      : undefined;
    if (category !== undefined) {
      for (const type of CATEGORY_TYPES[category]) {
        wanted.add(type);
      }
    } else if ((EVENT_TYPE_NAMES as readonly string[]).includes(name)) {
      wanted.add(name as EventTypeName);
    } else {
      unknown.push(raw);
    }
  }
  return { types: EVENT_TYPE_NAMES.filter((type) => wanted.has(type)), unknown };
}

// Storage and delivery (events/, migration 0010). Added by the delivery side; the API uses the above.

/** A subscription as the delivery reads it: with its HMAC key. */
export interface StoredEventSubscription extends EventSubscription {
  readonly secret?: string;
}

/** A subscription row to write (subscribe, replace, narrow). */
export interface SubscriptionRecord {
  readonly subscriptionId: string;
  readonly subscriptionUri: string;
  readonly eventTypes: readonly EventTypeName[];
  readonly tagNameRegEx?: string;
  readonly secret?: string;
  readonly apiVersion: SubscriptionApiVersion;
  readonly createdAt: number;
  readonly createdBy: string;
}

/** One rendered event waiting for delivery to one subscription (the outbox). */
export interface OutboxEntry {
  /** Increasing over the whole outbox: the delivery order, and the X-Verbatim-Event-Id. */
  readonly id: number;
  readonly subscriptionId: string;
  /** The node that wrote it and delivers it. */
  readonly nodeId: string;
  /** `SESSION_EVENT/STARTED`, … */
  readonly event: string;
  /** The JSON body, rendered once when the event happened: every retry sends the same bytes. */
  readonly payload: string;
  readonly createdAt: number;
}

export type NewOutboxEntry = Omit<OutboxEntry, 'id'>;

/** The result of one delivery attempt, as the delivery records it. */
export interface DeliveryResult {
  readonly subscriptionId: string;
  readonly eventId: number;
  readonly event: string;
  readonly at: number;
  readonly httpStatus?: number;
  readonly latencyMs: number;
  /** Absent: delivered (a 2xx); the outbox row goes in the same transaction. */
  readonly error?: string;
}

/**
 * The event tables (migration 0010) as events/ uses them: the repository implements it and app.ts
 * hands it over, so events/ does not depend on db/. Every method is safe from several nodes at
 * once: nothing is cached in the store.
 */
export interface EventSubscriptionStore {
  getSession(sessionId: string): Promise<Session | undefined>;
  /** false when the URI already has a subscription (unique). */
  insertSubscription(record: SubscriptionRecord): Promise<boolean>;
  /** Rewrites the filters, the secret and the API version of a subscription; false when gone. */
  updateSubscription(record: SubscriptionRecord): Promise<boolean>;
  /** Deletes a subscription and its undelivered outbox rows; false when there was none. */
  deleteSubscription(subscriptionId: string): Promise<boolean>;
  getSubscription(subscriptionId: string): Promise<StoredEventSubscription | undefined>;
  findSubscriptionByUri(subscriptionUri: string): Promise<StoredEventSubscription | undefined>;
  /** Oldest first. */
  listSubscriptions(): Promise<StoredEventSubscription[]>;
  /** Inserts the rows of one event in one transaction, in order. */
  appendOutbox(entries: readonly NewOutboxEntry[]): Promise<void>;
  /** The oldest undelivered rows of a subscription written by `nodeId`, in order. */
  pendingOutbox(subscriptionId: string, nodeId: string, limit: number): Promise<OutboxEntry[]>;
  /**
   * Logs an attempt; on success deletes the outbox row and clears failingSince and FAILING, on
   * failure sets failingSince (unless set). Returns the subscription's state after it, or
   * undefined when the subscription is gone.
   */
  recordDelivery(
    result: DeliveryResult,
  ): Promise<{ readonly state: SubscriptionState; readonly failingSince?: number } | undefined>;
  /** Marks a subscription FAILING; false when it was already, or is gone. */
  markSubscriptionFailing(subscriptionId: string): Promise<boolean>;
  /** Newest first. */
  queryDeliveryLog(query: DeliveryLogQuery): Promise<DeliveryAttempt[]>;
  /** Deletes attempts older than `olderThan` and, per subscription, beyond the newest `keep`. */
  pruneDeliveryLog(olderThan: number, keep: number): Promise<number>;
  /** Undelivered rows written by `nodeId`, and the creation time of the oldest. */
  outboxBacklog(nodeId: string): Promise<{ readonly pending: number; readonly oldestCreatedAt?: number }>;
}
