import { performance } from 'node:perf_hooks';

/**
 * A media worker's control messages (open, close, expect-source, …), handled a slice of time at a
 * time so that signalling never stalls the packets of the calls in progress (issue 9). Node hands
 * a worker every message waiting on its port in one go: after a burst of INVITEs, or after the
 * main thread was held up, that is hundreds of stream set-ups and tear-downs, each a few socket
 * and file system calls, and the worker would read no datagram until the last one was done. Here
 * they wait in order, and each turn of the event loop handles them for at most `sliceMs` before
 * it yields (setImmediate runs after the poll phase, where the sockets are read), so no datagram
 * waits more than about one slice for the control work.
 */
export class ControlInbox<T> {
  readonly #handle: (message: T) => void;
  readonly #sliceMs: number;
  readonly #now: () => number;
  readonly #schedule: (run: () => void) => void;
  #queue: (T | undefined)[] = [];
  #head = 0;
  #scheduled = false;

  constructor(
    handle: (message: T) => void,
    options: {
      /** How long one turn may handle messages (ms); at least one message is handled per turn. */
      readonly sliceMs: number;
      readonly now?: () => number;
      readonly schedule?: (run: () => void) => void;
    },
  ) {
    this.#handle = handle;
    this.#sliceMs = options.sliceMs;
    this.#now = options.now ?? (() => performance.now());
    this.#schedule =
      options.schedule ??
      ((run) => {
        setImmediate(run);
      });
  }

  /** Messages waiting to be handled. */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  push(message: T): void {
    this.#queue.push(message);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#drain);
    }
  }

  readonly #drain = (): void => {
    const until = this.#now() + this.#sliceMs;
    do {
      const message = this.#queue[this.#head] as T;
      // Released at once: a burst of messages is not held until the queue empties.
      this.#queue[this.#head] = undefined;
      this.#head++;
      this.#handle(message);
    } while (this.#head < this.#queue.length && this.#now() < until);
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      this.#scheduled = false;
      return;
    }
    this.#schedule(this.#drain);
  };
}
