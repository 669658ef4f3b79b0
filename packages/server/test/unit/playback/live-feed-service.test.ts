import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';

import type { TappedPacket } from '../../../src/media/media-engine.js';
import { LiveFeedService } from '../../../src/playback/live-feed-service.js';
import type { LiveFeedListener } from '../../../src/playback/live-feed.js';
import type { Leg } from '../../../src/recording/live-session.js';
import { SessionRegistry } from '../../../src/recording/session-registry.js';
import { waitFor } from '../../support/wait.js';

/** The live feed's fan-out over a real session registry and a fake media engine's taps. */

class FakeTaps {
  readonly taps = new Map<
    string,
    Set<{ onPackets: (p: readonly TappedPacket[]) => void; onEnd?: () => void }>
  >();

  tap = (
    streamId: string,
    onPackets: (packets: readonly TappedPacket[]) => void,
    onEnd?: () => void,
  ): (() => void) => {
    const set = this.taps.get(streamId) ?? new Set();
    this.taps.set(streamId, set);
    const own = { onPackets, ...(onEnd === undefined ? {} : { onEnd }) };
    set.add(own);
    return () => {
      set.delete(own);
    };
  };

  count(streamId: string): number {
    return this.taps.get(streamId)?.size ?? 0;
  }

  send(streamId: string, ...bytes: number[]): void {
    for (const tap of this.taps.get(streamId) ?? []) {
      tap.onPackets(bytes.map((b) => ({ arrivalMs: 1000 + b, rtp: new Uint8Array([b]) })));
    }
  }

  /** The stream closed: its taps hear of it and are gone. */
  end(streamId: string): void {
    const set = this.taps.get(streamId) ?? new Set();
    this.taps.delete(streamId);
    for (const tap of set) {
      tap.onEnd?.();
    }
  }
}

function leg(trackNumber: number): Leg {
  return {
    trackNumber,
    streamId: `s-${trackNumber}`,
    startMs: 0,
    mediaIndex: 0,
    port: 20000 + 2 * trackNumber,
    localSdp: '',
    codecKnown: true,
    inactive: false,
    ended: false,
    participants: [],
  };
}

interface Heard {
  readonly packets: [number, number[]][];
  ended: number;
}

function recorder(): { listener: LiveFeedListener; heard: Heard } {
  const heard: Heard = { packets: [], ended: 0 };
  return {
    heard,
    listener: {
      packets(trackNumber, packets) {
        heard.packets.push([trackNumber, packets.map((p) => p.rtp[0] ?? -1)]);
      },
      ended() {
        heard.ended++;
      },
    },
  };
}

function setup(endWaitMs?: number): {
  registry: SessionRegistry;
  taps: FakeTaps;
  feed: LiveFeedService;
  errors: unknown[];
} {
  const errors: unknown[] = [];
  const registry = new SessionRegistry(
    () => 'abc',
    (error) => errors.push(error),
  );
  const taps = new FakeTaps();
  const feed = new LiveFeedService({
    sessions: { watchSession: (id, observer) => registry.watch(id, observer) },
    media: { tap: taps.tap },
    log: pino({ level: 'silent' }),
    ...(endWaitMs === undefined ? {} : { endWaitMs }),
  });
  return { registry, taps, feed, errors };
}

function newSession(registry: SessionRegistry): ReturnType<SessionRegistry['create']> {
  return registry.create({
    controllerType: 'Cisco-SIPGateway',
    controllerIp: '192.0.2.1',
    ccid: '7',
    expectedLegs: 1,
    startMs: 0,
  });
}

void describe('LiveFeedService', () => {
  it('refuses a session that is not being recorded, or is closing', () => {
    const { registry, feed } = setup();
    assert.equal(feed.subscribe('abc', recorder().listener), undefined);
    const session = newSession(registry);
    session.closing = true;
    assert.equal(feed.subscribe('abc', recorder().listener), undefined);
  });

  it('delivers each leg under its track number, a leg attached later too, and ends once', () => {
    const { registry, taps, feed } = setup();
    const session = newSession(registry);
    registry.attach(session, leg(0));
    const a = recorder();
    const b = recorder();
    assert.ok(feed.subscribe('abc', a.listener));
    assert.ok(feed.subscribe('abc', b.listener));
    registry.attach(session, leg(2));
    taps.send('s-0', 1, 2);
    taps.send('s-2', 9);
    assert.deepEqual(a.heard.packets, [
      [0, [1, 2]],
      [2, [9]],
    ]);
    assert.deepEqual(b.heard.packets, a.heard.packets);
    registry.forget(session);
    registry.forget(session);
    // The streams drain what the phones sent before hanging up: delivered, then the end.
    assert.equal(a.heard.ended, 0, 'not before the streams ended');
    taps.send('s-2', 10);
    taps.end('s-0');
    assert.equal(a.heard.ended, 0);
    taps.end('s-2');
    assert.deepEqual(a.heard.packets.at(-1), [2, [10]]);
    assert.equal(a.heard.ended, 1);
    assert.equal(b.heard.ended, 1);
    assert.equal(taps.count('s-0') + taps.count('s-2'), 0, 'every tap stopped');
  });

  it('ends once after endWaitMs when a stream never says it ended, and at once with no stream', async () => {
    const { registry, taps, feed } = setup(20);
    const session = newSession(registry);
    registry.attach(session, leg(0));
    const a = recorder();
    feed.subscribe('abc', a.listener);
    registry.forget(session);
    await waitFor(() => a.heard.ended === 1);
    assert.equal(taps.count('s-0'), 0);
    taps.end('s-0');
    assert.equal(a.heard.ended, 1);

    const empty = setup();
    const bare = newSession(empty.registry);
    const b = recorder();
    empty.feed.subscribe('abc', b.listener);
    empty.registry.forget(bare);
    assert.equal(b.heard.ended, 1);
  });

  it('close() stops the copy without ending, and a detached leg is no longer tapped', () => {
    const { registry, taps, feed } = setup();
    const session = newSession(registry);
    const zero = leg(0);
    registry.attach(session, zero);
    registry.attach(session, leg(1));
    const a = recorder();
    const subscription = feed.subscribe('abc', a.listener);
    assert.ok(subscription);
    registry.detach(session, zero);
    assert.equal(taps.count('s-0'), 0);
    subscription.close();
    subscription.close();
    assert.equal(taps.count('s-1'), 0);
    taps.send('s-1', 5);
    registry.forget(session);
    assert.deepEqual(a.heard, { packets: [], ended: 0 });
  });

  it('keeps a throwing listener away from the registry and from the other listeners', () => {
    const { registry, taps, feed, errors } = setup();
    const session = newSession(registry);
    registry.attach(session, leg(0));
    const good = recorder();
    feed.subscribe('abc', {
      packets() {
        throw new Error('listener bug');
      },
      ended() {
        throw new Error('listener bug at the end');
      },
    });
    feed.subscribe('abc', good.listener);
    taps.send('s-0', 3);
    registry.forget(session);
    taps.end('s-0');
    assert.deepEqual(good.heard, { packets: [[0, [3]]], ended: 1 });
    assert.deepEqual(errors, [], 'the feed caught them itself');
  });
});
