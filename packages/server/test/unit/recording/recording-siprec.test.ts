import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSdp } from '../../../src/protocol/sdp/sdp.js';
import { encodeUtf8 } from '../../../src/protocol/text.js';
import {
  answered,
  FakeInvite,
  sendInDialog,
  setUp as setUpService,
  type RecordingSetUp,
} from '../../support/recording-fakes.js';
import {
  CUBE_SIPREC_SESSION_IDS,
  sessionIds,
  siprecFixture,
  siprecFixtureNames,
} from '../../support/siprec-fixtures.js';
import { waitFor } from '../../support/wait.js';

/**
 * SIPREC intake in the recording domain (issue 4 point 3): the vendor fixtures of
 * test/fixtures/siprec go through the real SIP parser into the recording service.
 */

const setUp = (): RecordingSetUp =>
  setUpService({ startMs: 1_773_224_042_000, sessionIdPrefix: 's', advertise: '192.0.2.50' });

async function start(name: string): Promise<RecordingSetUp & { call: FakeInvite }> {
  const context = setUp();
  const call = new FakeInvite(siprecFixture(name));
  context.service.onInvite(call);
  await answered(call);
  await context.service.settled();
  return { ...context, call };
}

describe('RecordingService: SIPREC', () => {
  it('records a CUBE SIPREC INVITE as one SIPREC session: a track per labelled stream, participants from the metadata', async () => {
    const { repository, call } = await start('cube-siprec-invite.sip');
    assert.equal(call.rejection, undefined);
    const session = repository.sessions.get('s1')!;
    assert.equal(session.callControllerType, 'SIPREC');
    assert.equal(session.ccid, 'HWa34c9av1/JqgdPy1A1CA==');
    // The ids the SRC gave are kept with the session, as sent.
    assert.deepEqual(sessionIds(session.correlation), CUBE_SIPREC_SESSION_IDS);
    assert.deepEqual(
      session.tracks.map((t) => [
        t.trackNumber,
        t.codec,
        t.participants.map((p) => [p.deviceRef, p.deviceId, p.xRefCi, p.name]),
      ]),
      [
        [0, 'PCMA', [['4085550142', 'sip:4085550142@198.51.100.15', 'IVleqWBJYooHV7Ki3GP9JQ==', undefined]]],
        [1, 'PCMA', [['6502', 'sip:6502@203.0.113.8', 'SbAoRzxsl0eoFOqX560W8w==', 'Front Desk']]],
      ],
    );
    // The answer is plain SDP, recvonly, keeping the labels (RFC 7866 §8.1.1).
    const answer = parseSdp(call.answer!.content);
    assert.ok(answer.ok);
    assert.equal(call.answer!.contentType, 'application/sdp');
    assert.deepEqual(
      answer.value.media.map((m) => [m.label, m.direction, m.port > 0]),
      [
        ['1', 'recvonly', true],
        ['2', 'recvonly', true],
      ],
    );
  });

  it('marks a pause of every stream with Pause and Resume tags and keeps the session (CUBE a=inactive re-INVITE)', async () => {
    const { service, repository, call, clock } = await start('cube-siprec-invite.sip');
    const startMs = clock.nowMs;
    clock.nowMs += 60_000;
    const hold = await sendInDialog(call, siprecFixture('cube-siprec-reinvite-hold.sip'));
    assert.equal(hold.status, 200);
    clock.nowMs += 15_000;
    const resume = await sendInDialog(call, siprecFixture('cube-siprec-invite.sip'));
    assert.equal(resume.status, 200);
    await service.settled();
    const session = repository.sessions.get('s1')!;
    assert.equal(session.sessionState, 'ACTIVE');
    assert.deepEqual(
      session.tags.map((t) => [t.tagName, t.tagOffset, t.trackNumber]),
      [
        ['Pause', 60_000, undefined],
        ['Resume', 75_000, undefined],
      ],
    );
    assert.equal(session.sessionStartDate, startMs);
  });

  it('applies the metadata of a BYE, and closes the session normally', async () => {
    const { repository, call, clock } = await start('cube-siprec-invite.sip');
    clock.nowMs += 30_000;
    call.delegate!.onBye!(siprecFixture('cube-siprec-bye.sip'));
    await waitFor(() => repository.sessions.get('s1')!.sessionState !== 'ACTIVE');
    const session = repository.sessions.get('s1')!;
    assert.equal(session.sessionState, 'CLOSED_NORMAL');
    assert.deepEqual(
      session.tracks.map((t) => t.participants.map((p) => [p.deviceRef, p.participantDuration])),
      [[['4085550142', 30_000]], [['6502', 30_000]]],
    );
  });

  it('replaces a placeholder participant from a metadata-only UPDATE and answers it 200 without a body (Avaya SBCE)', async () => {
    const { service, repository, call, clock } = await start('avaya-sbce-invite.sip');
    const before = repository.sessions.get('s1')!;
    assert.equal(before.callControllerType, 'SIPREC');
    assert.equal(before.ccid, '00FA080018A2C90665F1B3');
    assert.deepEqual(
      before.tracks.map((t) => t.participants.map((p) => p.deviceRef)),
      [['13035550117']],
      'the sip:ASBCE@asbce.com dummy is not a participant',
    );
    clock.nowMs += 6_000;
    const update = await sendInDialog(call, siprecFixture('avaya-sbce-update.sip'));
    assert.equal(update.status, 200);
    assert.equal(update.body, undefined);
    await service.settled();
    // Track 0 records label 10, sent by the agent desk only, as before: nothing changed for it.
    assert.deepEqual(
      repository.sessions.get('s1')!.tracks.map((t) => t.participants.map((p) => p.deviceRef)),
      [['13035550117']],
    );
  });

  it('adds a track when a re-INVITE adds a stream (Oracle offers the callee once answered)', async () => {
    const { service, repository, call, media, clock } = await start('oracle-sbc-invite-early.sip');
    assert.deepEqual(
      repository.sessions.get('s1')!.tracks.map((t) => t.participants.map((p) => p.deviceRef)),
      [['+442075550199']],
    );
    clock.nowMs += 9_000;
    const reinvite = await sendInDialog(call, siprecFixture('oracle-sbc-reinvite-answered.sip'));
    assert.equal(reinvite.status, 200);
    await service.settled();
    const answer = parseSdp(reinvite.body!.content);
    assert.ok(answer.ok);
    assert.deepEqual(
      answer.value.media.map((m) => m.label),
      ['553700301', '553700302'],
    );
    assert.ok(answer.value.media.every((m) => m.port > 0));
    const tracks = repository.sessions.get('s1')!.tracks;
    assert.deepEqual(
      tracks.map((t) => [
        t.trackNumber,
        t.trackStartDate - tracks[0]!.trackStartDate,
        t.participants.map((p) => p.deviceRef),
      ]),
      [
        [0, 0, ['+442075550199']],
        [1, 9_000, ['4123']],
      ],
    );
    assert.equal(media.open.size, 2);
    // The added stream's jitter statistic gets its codec's clock rate, as the first one did.
    assert.deepEqual(
      [...media.specs.values()].map((spec) => spec.clockRateHz),
      tracks.map((t) => t.clockRateHz),
    );
    assert.equal(repository.sessions.get('s1')!.correlation?.ucid, '00FA08200A41C2E3B4D5F6;encoding=hex');
  });

  it('treats c=0.0.0.0 on every stream as a pause (BroadWorks)', async () => {
    const { service, repository, call } = await start('broadworks-webex-invite.sip');
    const pause = await sendInDialog(call, siprecFixture('broadworks-reinvite-pause.sip'));
    assert.equal(pause.status, 200);
    await service.settled();
    assert.deepEqual(
      repository.sessions.get('s1')!.tags.map((t) => t.tagName),
      ['Pause'],
    );
  });

  it('records every vendor INVITE of the corpus as a SIPREC session with at least one track', async () => {
    for (const name of siprecFixtureNames().filter(
      (n) => n.endsWith('-invite.sip') || n.endsWith('-invite-early.sip'),
    )) {
      const { repository, call } = await start(name);
      assert.equal(call.rejection, undefined, `${name}: ${call.rejection?.status} ${call.rejection?.reason}`);
      const session = repository.sessions.get('s1');
      assert.equal(session?.callControllerType, 'SIPREC', name);
      assert.ok(session.tracks.length >= 1, name);
    }
  });

  it('answers 400 to a SIPREC INVITE whose metadata is not XML, recording nothing', async () => {
    const { service, repository, media } = setUp();
    const request = siprecFixture('cube-siprec-invite.sip');
    const text = new TextDecoder().decode(request.body).replace('<datamode>', '<datamode<<');
    const call = new FakeInvite({ ...request, body: encodeUtf8(text) });
    service.onInvite(call);
    await answered(call);
    assert.equal(call.rejection?.status, 400);
    assert.equal(repository.sessions.size, 0);
    assert.equal(media.specs.size, 0);
    assert.equal(service.counters.siprecBodyErrors, 1);
  });

  it('renames a participant in place when an update only changes its name', async () => {
    const { service, repository, call, clock } = await start('cube-siprec-invite.sip');
    const startMs = clock.nowMs;
    clock.nowMs += 5_000;
    const request = siprecFixture('cube-siprec-invite.sip');
    const text = new TextDecoder().decode(request.body).replace('Front Desk', 'Reception');
    const response = await sendInDialog(call, { ...request, body: encodeUtf8(text) });
    assert.equal(response.status, 200);
    await service.settled();
    assert.deepEqual(
      repository.sessions
        .get('s1')!
        .tracks[1]!.participants.map((p) => [p.deviceRef, p.name, p.participantStartDate]),
      [['6502', 'Reception', startMs]],
    );
  });
});
