import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Leg } from '../../../src/recording/live-session.js';
import type { SessionObserver } from '../../../src/recording/session-registry.js';
import { ack, answered, cucmFrom, invite, offerCucmCall, setUp } from '../../support/recording-fakes.js';
import { waitFor } from '../../support/wait.js';

/**
 * RecordingService.watchSession, what the live feed stands on: the legs of an ACTIVE session, the
 * legs that join later, and `closed()` exactly once on every way a session ends (BYE, a media
 * timeout, a failed track or a worker crash, shutdown).
 */

function observer(): { observer: SessionObserver; attached: number[]; closed: number } {
  const seen = { attached: [] as number[], closed: 0 };
  return {
    get attached() {
      return seen.attached;
    },
    get closed() {
      return seen.closed;
    },
    observer: {
      legAttached(leg: Leg) {
        seen.attached.push(leg.trackNumber);
      },
      legDetached() {
        // Not reached in these calls.
      },
      closed() {
        seen.closed++;
      },
    },
  };
}

describe('RecordingService.watchSession', () => {
  it('gives the legs there are, then the one that joins, and nothing for a session not recorded', async () => {
    const { service } = setUp();
    assert.equal(service.watchSession('session1', observer().observer), undefined);
    const near = invite(cucmFrom('x-nearend'));
    service.onInvite(near);
    await answered(near);
    const watching = observer();
    const watch = service.watchSession('session1', watching.observer);
    assert.ok(watch !== undefined);
    assert.deepEqual(
      watch.legs.map((l) => [l.trackNumber, l.streamId]),
      [[0, 'session1-0']],
    );
    const far = invite(cucmFrom('x-farend'));
    service.onInvite(far);
    await answered(far);
    assert.deepEqual(watching.attached, [1]);
    watch.unwatch();
    near.delegate!.onBye!(ack(''));
    far.delegate!.onBye!(ack(''));
    await service.settled();
    assert.equal(watching.closed, 0, 'an observer that stopped hears nothing more');
  });

  it('closes once when both legs hang up', async () => {
    const { service } = setUp();
    const { near, far } = await offerCucmCall(service);
    const watching = observer();
    service.watchSession('session1', watching.observer);
    near.delegate!.onBye!(ack(''));
    await service.settled();
    assert.equal(watching.closed, 0, 'one leg left: still ACTIVE');
    far.delegate!.onBye!(ack(''));
    await service.settled();
    assert.equal(watching.closed, 1);
    assert.equal(service.watchSession('session1', observer().observer), undefined);
  });

  for (const ending of ['media-timeout', 'stream-error'] as const) {
    it(`closes once when a ${ending} fails the session`, async () => {
      const { service, media } = setUp();
      await offerCucmCall(service);
      const watching = observer();
      service.watchSession('session1', watching.observer);
      media.emit(
        ending === 'media-timeout'
          ? { type: 'media-timeout', streamId: 'session1-1' }
          : { type: 'stream-error', streamId: 'session1-0', message: 'media worker 0 exited with 1' },
      );
      await waitFor(() => watching.closed > 0);
      await service.settled();
      assert.equal(watching.closed, 1);
    });
  }

  it('closes once on shutdown', async () => {
    const { service } = setUp();
    await offerCucmCall(service);
    const watching = observer();
    service.watchSession('session1', watching.observer);
    await service.close();
    assert.equal(watching.closed, 1);
  });

  it('keeps an observer that throws away from the recording', async () => {
    const { service, repository } = setUp();
    const near = invite(cucmFrom('x-nearend'));
    service.onInvite(near);
    await answered(near);
    service.watchSession('session1', {
      legAttached() {
        throw new Error('observer bug');
      },
      legDetached() {
        throw new Error('observer bug');
      },
      closed() {
        throw new Error('observer bug');
      },
    });
    const far = invite(cucmFrom('x-farend'));
    service.onInvite(far);
    await answered(far);
    near.delegate!.onBye!(ack(''));
    far.delegate!.onBye!(ack(''));
    await waitFor(() => repository.sessions.get('session1')?.sessionState === 'CLOSED_NORMAL');
  });
});
