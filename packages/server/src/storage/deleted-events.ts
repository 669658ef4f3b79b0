import type { EventSink } from '../model/events.js';

/** Most session ids in one SESSION_EVENT DELETED. */
export const DELETED_EVENT_MAX_IDS = 100;
/** Longest a deleted session waits for its event. */
export const DELETED_EVENT_MAX_WAIT_MS = 1000;

/**
 * Batches the deletions of one job into `SESSION_EVENT` `DELETED` events (MediaSense reported
 * deletion progress in batches): an event when 100 ids are waiting, or a second after the first
 * one waiting, and on flush() when the job stops. A 10,000-session job makes about 100 events,
 * not 10,000.
 */
export class DeletedEventBatcher {
  readonly #events: EventSink;
  readonly #jobId: number;
  readonly #now: () => number;
  #waiting: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(events: EventSink, jobId: number, now: () => number) {
    this.#events = events;
    this.#jobId = jobId;
    this.#now = now;
  }

  add(sessionId: string): void {
    this.#waiting.push(sessionId);
    if (this.#waiting.length >= DELETED_EVENT_MAX_IDS) {
      this.flush();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.flush();
      }, DELETED_EVENT_MAX_WAIT_MS);
      // A pending batch never keeps the process alive; close() flushes it.
      this.#timer.unref();
    }
  }

  /** Publishes what is waiting, if anything. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiting.length === 0) {
      return;
    }
    const sessionIds = this.#waiting;
    this.#waiting = [];
    this.#events.publish({
      eventType: 'SESSION_EVENT',
      eventAction: 'DELETED',
      sessionIds,
      jobId: this.#jobId,
      at: this.#now(),
    });
  }
}
