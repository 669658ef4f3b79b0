import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { EventBus } from '../../../src/events/event-bus.js';
import type { VerbatimEvent } from '../../../src/model/events.js';

const started = (sessionId: string): VerbatimEvent => ({
  eventType: 'SESSION_EVENT',
  eventAction: 'STARTED',
  sessionId,
  at: 1,
});

describe('EventBus', () => {
  it('delivers each event to every subscriber in order, until it unsubscribes', () => {
    const bus = new EventBus(pino({ level: 'silent' }));
    const a: string[] = [];
    const b: string[] = [];
    const unsubscribeA = bus.subscribe((e) => a.push('sessionId' in e ? e.sessionId : ''));
    bus.subscribe((e) => b.push('sessionId' in e ? e.sessionId : ''));
    bus.publish(started('s1'));
    unsubscribeA();
    bus.publish(started('s2'));
    assert.deepEqual(a, ['s1']);
    assert.deepEqual(b, ['s1', 's2']);
  });

  it('keeps delivering to the others when a subscriber throws, and never throws to the publisher', () => {
    const bus = new EventBus(pino({ level: 'silent' }));
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('broken consumer');
    });
    bus.subscribe((e) => seen.push(e.eventAction));
    assert.doesNotThrow(() => {
      bus.publish(started('s1'));
    });
    assert.deepEqual(seen, ['STARTED']);
  });
});
