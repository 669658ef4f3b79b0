import type { Clock, TimerHandle } from '../../../../src/sip/timers.js';

interface FakeTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly callback: () => void;
}

/** A clock whose time moves only when the test calls `advance`; timers fire in due order. */
export class FakeClock implements Clock {
  #nowMs = 0;
  #nextId = 1;
  readonly #timers = new Map<number, FakeTimer>();

  now(): number {
    return this.#nowMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, dueMs: this.#nowMs + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const targetMs = this.#nowMs + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const timer of this.#timers.values()) {
        if (
          timer.dueMs <= targetMs &&
          (next === undefined ||
            timer.dueMs < next.dueMs ||
            (timer.dueMs === next.dueMs && timer.id < next.id))
        ) {
          next = timer;
        }
      }
      if (next === undefined) {
        break;
      }
      this.#timers.delete(next.id);
      this.#nowMs = next.dueMs;
      next.callback();
    }
    this.#nowMs = targetMs;
  }
}
