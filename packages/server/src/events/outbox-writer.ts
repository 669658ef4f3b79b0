import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';

import type { EventSubscriptionStore, NewOutboxEntry } from '../model/event-subscription.js';
import type { VerbatimEvent } from '../model/events.js';
import { isStorageFailure } from '../model/storage-failure.js';
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
  /** Retry delays of an outbox write that failed for the disk: the first, doubled up to the last (ms). */
  readonly retryDelayMs?: { readonly first: number; readonly max: number };
}

const DEFAULT_RETRY_DELAY_MS = { first: 100, max: 5000 };

/**
 * Turns bus events into outbox rows. The bus is synchronous and the database is not: `handle`
 * only checks the in-memory filters (an event nobody wants costs that check and nothing else) and
 * queues the write; writes run one at a time in publish order, so the outbox ids, and with them
 * every subscription's delivery order, follow the order the events happened in. A payload is
 * rendered once, here (reading the session for STARTED, UPDATED and ENDED), and stored as bytes.
 *
 * A write that fails because the disk is full or failing (SQLITE_FULL, SQLITE_IOERR, …; issue 13)
 * is retried with a growing delay until it is stored, the later events waiting behind it: the
 * storage events of a full disk are the ones an operator must not miss. `stop` (shutdown) ends
 * the retries; any other failure loses the event, counted and logged.
 */
export class OutboxWriter {
  readonly #options: OutboxWriterOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #tail: Promise<void> = Promise.resolve();
  #queued = 0;
  #failed = 0;
  readonly #stopping = new AbortController();

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

  /** Shutdown: a write failing for the disk is not retried any more. */
  stop(): void {
    this.#stopping.abort();
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
    await this.#append(entries);
    this.#options.onWritten(subscriptionIds);
  }

  async #append(entries: readonly NewOutboxEntry[]): Promise<void> {
    const { first, max } = this.#options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    for (let delayMs = first, attempt = 1; ; delayMs = Math.min(max, delayMs * 2), attempt++) {
      try {
        await this.#options.store.appendOutbox(entries);
        return;
      } catch (error: unknown) {
        if (!isStorageFailure(error) || this.#stopping.signal.aborted) {
          throw error;
        }
        if (attempt === 1) {
          this.#log.warn({ err: error }, 'outbox write failed for the disk: retrying');
        }
        try {
          await delay(delayMs, undefined, { signal: this.#stopping.signal });
        } catch {
          throw error; // Stopped while waiting.
        }
      }
    }
  }
}
