import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cubeFixture } from '../../support/cube-fixtures.js';
import {
  ack,
  ACK_SDP,
  answered,
  cucmFrom,
  FakeInvite,
  invite,
  offerCucmCall,
  sendInDialog,
  setUp as setUpService,
  type RecordingSetUp,
} from '../../support/recording-fakes.js';
import { siprecFixture } from '../../support/siprec-fixtures.js';
import { waitFor } from '../../support/wait.js';

/**
 * pauseRecording / resumeRecording in the recording domain (issue 10 point 4): which streams the
 * media engine is told to drop, streams opened while paused, the Pause / Resume tags and their
 * events, the refusals, and the interplay with a SIPREC hold (which also writes Pause / Resume).
 */

const START_MS = 1_796_000_000_000;
const setUp = (): RecordingSetUp => setUpService({ startMs: START_MS, sessionIdPrefix: 's' });

type Context = RecordingSetUp;

/** The session's tags as [name, offset, track], in the order written. */
function tags(context: Context, sessionId = 's1'): (string | number | undefined)[][] {
  return context.repository.sessions.get(sessionId)!.tags.map((t) => [t.tagName, t.tagOffset, t.trackNumber]);
}

/** The TAG_EVENT ADDED events published, as [session, tag name, offset]. */
function tagEvents(context: Context): (string | number | undefined)[][] {
  return context.events.flatMap((e) =>
    e.eventType === 'TAG_EVENT' ? [[e.sessionId, e.tag.tagName, e.tag.tagOffset]] : [],
  );
}

async function startSiprec(context: Context, fixture: string): Promise<FakeInvite> {
  const call = new FakeInvite(siprecFixture(fixture));
  context.service.onInvite(call);
  await answered(call);
  await context.service.settled();
  return call;
}

describe('RecordingService: pauseRecording / resumeRecording', () => {
  it('pauses every stream of a CUBE call, tags Pause and Resume at the times the media took them, publishes both', async () => {
    const context = setUp();
    const { service, media, clock } = context;
    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    service.onInvite(call);
    await answered(call);
    await service.settled();

    clock.nowMs += 12_000;
    // The workers report when the pause took effect: 3 ms after it was asked.
    media.pausedAt = () => clock.nowMs + 3;
    const pause = await service.pauseRecording('s1');
    assert.deepEqual(pause, {
      ok: true,
      tag: {
        tagName: 'Pause',
        tagType: 'SYSTEM_DEFINED',
        tagCreateDate: START_MS + 12_003,
        tagOffset: 12_003,
      },
    });
    assert.deepEqual(media.pauses, [
      ['s1-0', true],
      ['s1-1', true],
    ]);

    clock.nowMs += 40_000;
    const resume = await service.resumeRecording('s1');
    assert.equal(resume.ok, true);
    assert.deepEqual(media.pauses.slice(2), [
      ['s1-0', false],
      ['s1-1', false],
    ]);
    await service.settled();
    assert.deepEqual(tags(context), [
      ['Pause', 12_003, undefined],
      ['Resume', 52_003, undefined],
    ]);
    assert.deepEqual(tagEvents(context), [
      ['s1', 'Pause', 12_003],
      ['s1', 'Resume', 52_003],
    ]);
  });

  it('refuses: an unknown or huge id (not-found), a pause of a paused recording, a resume of one not paused, a closed session (not-active)', async () => {
    const context = setUp();
    const { service, repository } = context;
    assert.deepEqual(await service.pauseRecording('nope'), { ok: false, refusal: 'not-found' });
    assert.deepEqual(await service.resumeRecording('x'.repeat(100_000)), { ok: false, refusal: 'not-found' });

    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    service.onInvite(call);
    await answered(call);
    assert.deepEqual(await service.resumeRecording('s1'), { ok: false, refusal: 'not-paused' });
    assert.equal((await service.pauseRecording('s1')).ok, true);
    assert.deepEqual(await service.pauseRecording('s1'), { ok: false, refusal: 'already-paused' });

    call.delegate!.onBye!(ack(''));
    // Closing (BYE received, tracks draining) is no longer ACTIVE, nor is closed.
    assert.deepEqual(await service.resumeRecording('s1'), { ok: false, refusal: 'not-active' });
    await waitFor(() => repository.sessions.get('s1')?.sessionState === 'CLOSED_NORMAL');
    assert.deepEqual(await service.pauseRecording('s1'), { ok: false, refusal: 'not-active' });
    assert.deepEqual(await service.resumeRecording('s1'), { ok: false, refusal: 'not-active' });
    await service.settled();
    assert.deepEqual(
      tags(context).map(([name]) => name),
      ['Pause'],
      'only the pause that was taken is tagged',
    );
  });

  it('CUCM: the second leg arriving after the pause opens paused, and the resume reaches both legs', async () => {
    const context = setUp();
    const { service, media, clock } = context;
    const near = invite(cucmFrom('x-nearend'));
    service.onInvite(near);
    await answered(near);
    near.delegate!.onAck!(ack(ACK_SDP));
    await service.settled();

    clock.nowMs += 2_000;
    assert.equal((await service.pauseRecording('s1')).ok, true);
    const far = invite(cucmFrom('x-farend'));
    service.onInvite(far);
    await answered(far);
    assert.equal(far.rejection, undefined);
    assert.equal(media.specs.get('s1-1')?.paused, true, 'the far leg opened paused');
    assert.equal(media.specs.get('s1-0')?.paused, undefined, 'the near leg opened before the pause');
    assert.ok(media.isPaused('s1-0') && media.isPaused('s1-1'));

    clock.nowMs += 30_000;
    assert.equal((await service.resumeRecording('s1')).ok, true);
    assert.ok(!media.isPaused('s1-0') && !media.isPaused('s1-1'));
    await service.settled();
    assert.deepEqual(
      tags(context).map(([name]) => name),
      ['Pause', 'Resume'],
    );
  });

  it('a pause asked while a leg is still opening reaches that leg once it is open', async () => {
    const context = setUp();
    const { service, media } = context;
    const near = invite(cucmFrom('x-nearend'));
    service.onInvite(near);
    await answered(near);
    // The far leg's stream opens only when the test lets it.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const openStream = media.openStream.bind(media);
    media.openStream = async (spec) => {
      await gate;
      return openStream(spec);
    };
    const far = invite(cucmFrom('x-farend'));
    service.onInvite(far);
    await waitFor(() => true);
    assert.equal((await service.pauseRecording('s1')).ok, true);
    release();
    await answered(far);
    assert.equal(media.specs.get('s1-1')?.paused, undefined, 'asked to open before the pause');
    await waitFor(() => media.isPaused('s1-1'), { timeoutMs: 2000 });
    assert.ok(media.isPaused('s1-0'));
  });

  it('SIPREC: a stream a re-INVITE adds while paused opens paused', async () => {
    const context = setUp();
    const { service, media, clock } = context;
    const call = await startSiprec(context, 'oracle-sbc-invite-early.sip');
    assert.equal((await service.pauseRecording('s1')).ok, true);
    clock.nowMs += 9_000;
    const reinvite = await sendInDialog(call, siprecFixture('oracle-sbc-reinvite-answered.sip'));
    assert.equal(reinvite.status, 200);
    assert.equal(media.specs.get('s1-1')?.paused, true);
    assert.ok(media.isPaused('s1-0') && media.isPaused('s1-1'));
  });

  it('SIPREC: a hold inside an API pause adds no tag and its end does not resume the recording', async () => {
    const context = setUp();
    const { service, media, clock } = context;
    const call = await startSiprec(context, 'cube-siprec-invite.sip');
    clock.nowMs += 10_000;
    media.pausedAt = () => clock.nowMs;
    assert.equal((await service.pauseRecording('s1')).ok, true);
    clock.nowMs += 5_000;
    assert.equal((await sendInDialog(call, siprecFixture('cube-siprec-reinvite-hold.sip'))).status, 200);
    clock.nowMs += 5_000;
    assert.equal((await sendInDialog(call, siprecFixture('cube-siprec-invite.sip'))).status, 200);
    assert.ok(media.isPaused('s1-0') && media.isPaused('s1-1'), 'still paused after the hold ended');
    assert.deepEqual(await service.pauseRecording('s1'), { ok: false, refusal: 'already-paused' });
    clock.nowMs += 5_000;
    assert.equal((await service.resumeRecording('s1')).ok, true);
    assert.ok(!media.isPaused('s1-0') && !media.isPaused('s1-1'));
    await service.settled();
    assert.deepEqual(tags(context), [
      ['Pause', 10_000, undefined],
      ['Resume', 25_000, undefined],
    ]);
  });

  it('SIPREC: an API pause and resume inside a hold add no tag; the end of the hold writes Resume', async () => {
    const context = setUp();
    const { service, media, clock } = context;
    const call = await startSiprec(context, 'cube-siprec-invite.sip');
    clock.nowMs += 10_000;
    assert.equal((await sendInDialog(call, siprecFixture('cube-siprec-reinvite-hold.sip'))).status, 200);
    clock.nowMs += 5_000;
    assert.deepEqual(await service.pauseRecording('s1'), { ok: true });
    clock.nowMs += 5_000;
    assert.deepEqual(await service.resumeRecording('s1'), { ok: true });
    clock.nowMs += 5_000;
    assert.equal((await sendInDialog(call, siprecFixture('cube-siprec-invite.sip'))).status, 200);
    assert.ok(!media.isPaused('s1-0'));
    await service.settled();
    assert.deepEqual(tags(context), [
      ['Pause', 10_000, undefined],
      ['Resume', 25_000, undefined],
    ]);
  });

  /** A CUCM hold: CUCM ends both legs (BYE); the session closes. */
  async function holdCucmCall(
    context: Context,
    call: { near: FakeInvite; far: FakeInvite },
    sessionId: string,
  ): Promise<void> {
    call.near.delegate!.onBye!(ack(''));
    call.far.delegate!.onBye!(ack(''));
    await waitFor(() => context.repository.sessions.get(sessionId)?.sessionState === 'CLOSED_NORMAL');
  }

  it('CUCM hold while paused: the pair of INVITEs after the hold starts a session paused (Pause at 0), and resuming the old session resumes it', async () => {
    const context = setUp();
    const { service, media, clock } = context;
    media.pausedAt = () => clock.nowMs;
    const first = await offerCucmCall(service);
    assert.equal((await service.pauseRecording('s1')).ok, true);
    clock.nowMs += 10_000;
    await holdCucmCall(context, first, 's1');
    clock.nowMs += 30_000;
    await offerCucmCall(service);
    assert.equal(media.specs.get('s2-0')?.paused, true);
    assert.equal(media.specs.get('s2-1')?.paused, true);
    await service.settled();
    assert.deepEqual(tags(context, 's2'), [['Pause', 0, undefined]]);

    clock.nowMs += 5_000;
    // The client knows the session it paused: resuming it resumes the call where it goes on.
    assert.equal((await service.resumeRecording('s1')).ok, true);
    assert.ok(!media.isPaused('s2-0') && !media.isPaused('s2-1'));
    await service.settled();
    assert.deepEqual(tags(context, 's2'), [
      ['Pause', 0, undefined],
      ['Resume', 5_000, undefined],
    ]);
    assert.deepEqual(await service.resumeRecording('s1'), { ok: false, refusal: 'not-active' });
  });

  it('CUCM hold while paused, resumed during the hold: the session after it records unpaused', async () => {
    const context = setUp();
    const { service, media } = context;
    const first = await offerCucmCall(service);
    assert.equal((await service.pauseRecording('s1')).ok, true);
    await holdCucmCall(context, first, 's1');
    assert.deepEqual(await service.resumeRecording('s1'), { ok: true });
    await offerCucmCall(service);
    assert.equal(media.specs.get('s2-0')?.paused, undefined);
    assert.ok(!media.isPaused('s2-0') && !media.isPaused('s2-1'));
    await service.settled();
    assert.deepEqual(tags(context, 's2'), []);
  });

  it('a codec change while paused: the new session records on paused, with a Pause tag at its start', async () => {
    const context = setUp();
    const { service, media, clock } = context;
    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    service.onInvite(call);
    await answered(call);
    assert.equal((await service.pauseRecording('s1')).ok, true);
    clock.nowMs += 30_000;
    const change = await sendInDialog(
      call,
      cubeFixture('cube-nbr-invite.sip', {
        'CSeq: 101 INVITE': 'CSeq: 102 INVITE',
        'RTP/AVP 8 101 19': 'RTP/AVP 0 101 19',
        'a=rtpmap:8 PCMA/8000': 'a=rtpmap:0 PCMU/8000',
      }),
    );
    assert.equal(change.status, 200);
    assert.equal(media.specs.get('s2-0')?.paused, true);
    assert.equal(media.specs.get('s2-1')?.paused, true);
    await service.settled();
    assert.deepEqual(tags(context, 's2'), [['Pause', 0, undefined]]);
    assert.equal((await service.resumeRecording('s2')).ok, true);
    assert.ok(!media.isPaused('s2-0') && !media.isPaused('s2-1'));
  });
});
