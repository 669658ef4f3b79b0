import type { Logger } from 'pino';

import type { EventSubscriptionStore, NewOutboxEntry } from '../model/event-subscription.js';
import type { VerbatimEvent } from '../model/events.js';
import {
  eventLabelOf,
  eventTypeNameOf,
  renderEventPayload,
  sessionIdToRead,
  type DeliverableEvent,
  type PayloadContext,
} from './event-payloads.js';
import type { SubscriptionService } from './subscriptions.js';

export interface OutboxWriterOptions {
  readonly store: EventSubscriptionStore;
  readonly subscriptions: SubscriptionService;
  readonly payload: PayloadContext;
  /** Written into each row: the node that delivers it. */
  readonly nodeId: string;
  /** Told which subscriptions got new rows (the delivery wakes their workers). */
  readonly onWritten: (subscriptionIds: readonly string[]) => void;
  readonly logger: Logger;
  readonly now?: () => number;
}

/**
 * Turns bus events into outbox rows. The bus is synchronous and the database is not: `handle`
 * only checks the in-memory filters (an event nobody wants costs that check and nothing else) and
 * queues the write; writes run one at a time in publish order, so the outbox ids, and with them
 * every subscription's delivery order, follow the order the events happened in. A payload is
 * rendered once, here (reading the session for STARTED, UPDATED and ENDED), and stored as bytes.
 */
export class OutboxWriter {
  readonly #options: OutboxWriterOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;
  #failed = 0;

  constructor(options: OutboxWriterOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'event-outbox' });
    this.#now = options.now ?? Date.now;
  }

  /** The bus subscriber. */
  readonly handle = (event: VerbatimEvent): void => {
    const type = eventTypeNameOf(event);
    if (type === undefined || event.eventType === 'RECORDING_EVENT') {
      return;
    }
    const subscriptionIds = this.#options.subscriptions.matching(event, type);
    if (subscriptionIds.length === 0) {
      return;
    }
    this.#queued++;
    this.#tail = this.#tail
      .then(() => this.#write(event, subscriptionIds))
      .catch((error: unknown) => {
        this.#failed++;
        this.#log.error({ err: error, event: eventLabelOf(event) }, 'event not written to the outbox');
      })
      .finally(() => {
        this.#queued--;
      });
  };

  /** Events accepted and not yet written. */
  get queued(): number {
    return this.#queued;
  }

  /** Events that could not be written (a database error): lost, and logged. */
  get failed(): number {
    return this.#failed;
  }

  /** Resolves once every event handled so far is written (or failed). */
  async flush(): Promise<void> {
    await this.#tail;
  }

  async #write(event: DeliverableEvent, subscriptionIds: readonly string[]): Promise<void> {
    const sessionId = sessionIdToRead(event);
    const session = sessionId === undefined ? undefined : await this.#options.store.getSession(sessionId);
    const payload = renderEventPayload(event, this.#options.payload, session);
    const createdAt = this.#now();
    const entries: NewOutboxEntry[] = subscriptionIds.map((subscriptionId) => ({
      subscriptionId,
      nodeId: this.#options.nodeId,
      event: eventLabelOf(event),
      payload,
      createdAt,
    }));
    await this.#options.store.appendOutbox(entries);
    this.#options.onWritten(subscriptionIds);
  }
}
