import { randomInt } from 'node:crypto';

import type {
  DeliveryAttempt,
  DeliveryLogQuery,
  EventSubscription,
  EventSubscriptions,
  EventSubscriptionStore,
  EventTypeName,
  StoredEventSubscription,
  SubscribeOutcome,
  SubscriptionRequest,
  UnsubscribeOutcome,
} from '../model/event-subscription.js';
import type { VerbatimEvent } from '../model/events.js';
import { parseTagNameRegEx } from './tag-name-regex.js';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 16;

/** 16 characters of [A-Za-z0-9], uniformly from the crypto generator (as MediaSense's `sN7DASoAArHmDfI1`). */
export function newSubscriptionId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) {
    id += ID_ALPHABET.charAt(randomInt(ID_ALPHABET.length));
  }
  return id;
}

/** What the outbox writer checks for each event, synchronously: no database read on the bus. */
interface Filter {
  readonly subscriptionId: string;
  readonly types: ReadonlySet<EventTypeName>;
  /** Tag events only; absent: every tag name. */
  readonly tagName?: (name: string) => boolean;
}

export interface SubscriptionServiceOptions {
  readonly store: EventSubscriptionStore;
  readonly now?: () => number;
  /** Called after any change made through this service (the delivery syncs its workers). */
  readonly onChange?: () => void;
}

/**
 * The subscriptions (EventSubscriptions, for the API and the CLI) over the database, and the
 * in-memory copy of their filters the outbox writer checks every event against. The copy is
 * reloaded after each change made here and by `refresh()` (the delivery calls it on its poll),
 * so a subscription made through another node of a cluster is seen within that period.
 */
export class SubscriptionService implements EventSubscriptions {
  readonly #store: EventSubscriptionStore;
  readonly #now: () => number;
  readonly #onChange: () => void;
  #filters: readonly Filter[] = [];
  /** Bumped by each reload, so an older reload that finishes last does not win. */
  #generation = 0;

  constructor(options: SubscriptionServiceOptions) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#onChange = options.onChange ?? (() => undefined);
  }

  async subscribe(request: SubscriptionRequest): Promise<SubscribeOutcome> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.#store.findSubscriptionByUri(request.subscriptionUri);
      if (existing !== undefined) {
        if (sameFilters(existing, request)) {
          return { kind: 'exists', subscription: publicView(existing) };
        }
        // Another node may have removed it meanwhile: then subscribe anew.
        const updated = await this.#store.updateSubscription({
          ...request,
          subscriptionId: existing.subscriptionId,
          createdAt: existing.createdAt,
          createdBy: existing.createdBy,
        });
        const replaced = updated ? await this.#store.getSubscription(existing.subscriptionId) : undefined;
        if (replaced !== undefined) {
          await this.#changed();
          return { kind: 'replaced', subscription: publicView(replaced) };
        }
        continue;
      }
      const subscriptionId = newSubscriptionId();
      // false: the same URI was subscribed meanwhile (another request, another node): look again.
      if (await this.#store.insertSubscription({ ...request, subscriptionId, createdAt: this.#now() })) {
        const created = await this.#store.getSubscription(subscriptionId);
        if (created !== undefined) {
          await this.#changed();
          return { kind: 'created', subscription: publicView(created) };
        }
      }
    }
    throw new Error(`subscription of ${request.subscriptionUri} kept changing under concurrent requests`);
  }

  async unsubscribe(
    subscriptionId: string,
    eventTypes?: readonly EventTypeName[],
  ): Promise<UnsubscribeOutcome> {
    const existing = await this.#store.getSubscription(subscriptionId);
    if (existing === undefined) {
      return { kind: 'not-found' };
    }
    const remove = new Set(eventTypes ?? []);
    const remaining = existing.eventTypes.filter((type) => !remove.has(type));
    if (remove.size === 0 || remaining.length === 0) {
      const deleted = await this.#store.deleteSubscription(subscriptionId);
      await this.#changed();
      return deleted ? { kind: 'removed' } : { kind: 'not-found' };
    }
    if (remaining.length === existing.eventTypes.length) {
      return { kind: 'narrowed', subscription: publicView(existing) };
    }
    const updated = await this.#store.updateSubscription({ ...existing, eventTypes: remaining });
    const narrowed = updated ? await this.#store.getSubscription(subscriptionId) : undefined;
    await this.#changed();
    return narrowed === undefined
      ? { kind: 'not-found' }
      : { kind: 'narrowed', subscription: publicView(narrowed) };
  }

  async get(subscriptionId: string): Promise<EventSubscription | undefined> {
    const found = await this.#store.getSubscription(subscriptionId);
    return found === undefined ? undefined : publicView(found);
  }

  async findByUri(subscriptionUri: string): Promise<EventSubscription | undefined> {
    const found = await this.#store.findSubscriptionByUri(subscriptionUri);
    return found === undefined ? undefined : publicView(found);
  }

  async list(): Promise<EventSubscription[]> {
    return (await this.#store.listSubscriptions()).map(publicView);
  }

  deliveryLog(query: DeliveryLogQuery): Promise<DeliveryAttempt[]> {
    return this.#store.queryDeliveryLog(query);
  }

  /** Reloads the filters from the database; returns the subscriptions read. */
  async refresh(): Promise<StoredEventSubscription[]> {
    const generation = ++this.#generation;
    const subscriptions = await this.#store.listSubscriptions();
    if (generation === this.#generation) {
      this.#filters = subscriptions.map(filterOf);
    }
    return subscriptions;
  }

  /** The subscriptions that want this event (its filter type name given); synchronous and cheap. */
  matching(event: VerbatimEvent, type: EventTypeName): string[] {
    const ids: string[] = [];
    for (const filter of this.#filters) {
      if (!filter.types.has(type)) {
        continue;
      }
      if (
        event.eventType === 'TAG_EVENT' &&
        filter.tagName !== undefined &&
        !filter.tagName(event.tag.tagName)
      ) {
        continue;
      }
      ids.push(filter.subscriptionId);
    }
    return ids;
  }

  async #changed(): Promise<void> {
    await this.refresh();
    this.#onChange();
  }
}

function sameFilters(existing: StoredEventSubscription, request: SubscriptionRequest): boolean {
  return (
    existing.eventTypes.length === new Set(request.eventTypes).size &&
    existing.eventTypes.every((type) => request.eventTypes.includes(type)) &&
    (existing.tagNameRegEx ?? '') === (request.tagNameRegEx ?? '') &&
    // A new secret is a change the caller means: it replaces the old one.
    (existing.secret ?? '') === (request.secret ?? '')
  );
}

/** The subscription without its secret (EventSubscription says whether it is signed). */
function publicView(subscription: StoredEventSubscription): EventSubscription {
  return {
    subscriptionId: subscription.subscriptionId,
    subscriptionUri: subscription.subscriptionUri,
    eventTypes: subscription.eventTypes,
    ...(subscription.tagNameRegEx === undefined ? {} : { tagNameRegEx: subscription.tagNameRegEx }),
    signed: subscription.signed,
    apiVersion: subscription.apiVersion,
    createdAt: subscription.createdAt,
    createdBy: subscription.createdBy,
    state: subscription.state,
    ...(subscription.failingSince === undefined ? {} : { failingSince: subscription.failingSince }),
    backlog: subscription.backlog,
  };
}

function filterOf(subscription: StoredEventSubscription): Filter {
  const parsed =
    subscription.tagNameRegEx === undefined ? undefined : parseTagNameRegEx(subscription.tagNameRegEx);
  return {
    subscriptionId: subscription.subscriptionId,
    types: new Set(subscription.eventTypes),
    // A stored pattern the parser refuses (none should be: the API validates) matches nothing.
    ...(parsed === undefined ? {} : { tagName: parsed.ok ? parsed.matches : () => false }),
  };
}
