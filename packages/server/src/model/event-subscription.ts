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
      for (const type of CATEGORY_TYPES[category]) {wanted.add(type);}
    } else if ((EVENT_TYPE_NAMES as readonly string[]).includes(name)) {
      wanted.add(name as EventTypeName);
    } else {
      unknown.push(raw);
    }
  }
  return { types: EVENT_TYPE_NAMES.filter((type) => wanted.has(type)), unknown };
}
