import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ControlInbox } from '../../../src/media/control-inbox.js';

/** A clock each handled message advances by `costMs`, and turns the test runs by hand. */
function harness(costMs: number, sliceMs: number) {
  let nowMs = 0;
  const turns: (() => void)[] = [];
  const handled: number[] = [];
  const inbox = new ControlInbox<number>(
    (message) => {
      handled.push(message);
      nowMs += costMs;
    },
    { sliceMs, now: () => nowMs, schedule: (run) => turns.push(run) },
  );
  const runTurn = (): number => {
    const before = handled.length;
    const turn = turns.shift();
    assert.ok(turn !== undefined, 'a turn is scheduled');
    turn();
    return handled.length - before;
  };
  return { inbox, handled, turns, runTurn };
}

void describe('ControlInbox', () => {
  void it('handles a burst in order, a slice of time per turn, yielding between slices', () => {
    const { inbox, handled, turns, runTurn } = harness(1, 20);
    for (let i = 0; i < 1000; i++) {
      inbox.push(i);
    }
    // Nothing is handled inside push: the burst waits for the next turn.
    assert.equal(handled.length, 0);
    assert.deepEqual(turns.length, 1, 'one turn scheduled for the whole burst');
    const perTurn: number[] = [];
    while (inbox.length > 0) {
      perTurn.push(runTurn());
    }
    assert.equal(turns.length, 0, 'nothing scheduled once empty');
    assert.deepEqual(
      handled,
      Array.from({ length: 1000 }, (_, i) => i),
    );
    // 20 ms slices of 1 ms messages: 20 a turn, in 50 turns.
    assert.deepEqual(perTurn, Array<number>(50).fill(20));
    assert.equal(inbox.length, 0);
  });

  void it('handles at least one message per turn, however slow, and schedules again after it empties', () => {
    const { inbox, handled, turns, runTurn } = harness(50, 2);
    inbox.push(1);
    inbox.push(2);
    assert.equal(runTurn(), 1);
    assert.equal(inbox.length, 1);
    assert.equal(runTurn(), 1);
    assert.equal(turns.length, 0, 'nothing scheduled once empty');
    inbox.push(3);
    assert.equal(turns.length, 1);
    runTurn();
    assert.deepEqual(handled, [1, 2, 3]);
  });

  void it('takes messages pushed while it drains in the same order, after the earlier ones', () => {
    let inbox: ControlInbox<string> | undefined = undefined;
    const handled: string[] = [];
    const turns: (() => void)[] = [];
    inbox = new ControlInbox<string>(
      (message) => {
        handled.push(message);
        if (message === 'a') {
          inbox?.push('c');
        }
      },
      { sliceMs: 1000, now: () => 0, schedule: (run) => turns.push(run) },
    );
    inbox.push('a');
    inbox.push('b');
    turns.shift()?.();
    assert.deepEqual(handled, ['a', 'b', 'c']);
    assert.equal(turns.length, 0);
  });
});
