import type { Logger } from 'pino';
import type { EventSink, VerbatimEvent } from '../model/events.js';

/**
 * The node's typed in-process event bus (DESIGN.md §2 `events/`): services publish, subscribers
 * (today the event log; later the event-subscription API and the webhook outbox) receive each
 * event synchronously, in order. A subscriber that throws is logged and never stops the others
 * or the publisher: an event consumer must not be able to break recording.
 */
export class EventBus implements EventSink {
  readonly #subscribers = new Set<(event: VerbatimEvent) => void>();
  readonly #log: Logger;

  constructor(logger: Logger) {
    this.#log = logger.child({ component: 'events' });
  }

  publish(event: VerbatimEvent): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber(event);
      } catch (error) {
        this.#log.error({ err: error, eventType: event.eventType }, 'event subscriber failed');
      }
    }
  }

  /** Returns the function that unsubscribes. */
  subscribe(subscriber: (event: VerbatimEvent) => void): () => void {
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }
}
