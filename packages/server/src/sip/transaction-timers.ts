import type { Clock, TimerHandle } from './timers.js';

/**
 * The named timers of one transaction or dialog. Starting a timer that runs replaces it, and
 * `clearAll` on termination guarantees nothing fires for a forgotten transaction.
 */
export class NamedTimers<Name extends string> {
  readonly #clock: Clock;
  readonly #handles = new Map<Name, TimerHandle>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  start(name: Name, delayMs: number, callback: () => void): void {
    this.clear(name);
    const handle = this.#clock.setTimeout(() => {
      this.#handles.delete(name);
      callback();
    }, delayMs);
    this.#handles.set(name, handle);
  }

  clear(name: Name): void {
    const handle = this.#handles.get(name);
    if (handle !== undefined) {
      this.#clock.clearTimeout(handle);
      this.#handles.delete(name);
    }
  }

  clearAll(): void {
    for (const handle of this.#handles.values()) {
      this.#clock.clearTimeout(handle);
    }
    this.#handles.clear();
  }
}
