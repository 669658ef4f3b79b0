import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FAR_HZ,
  NEAR_HZ,
  assertPartyTones,
  capture,
  findSessionByRefCi,
  runCucmCall,
} from '../support/cucm-calls.js';
import { sessionsWhere, type SessionJson } from '../support/session-api.js';
import type { CucmFarEndUpdate } from '../support/sipp-scenarios.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * What CUCM does to the recorder in the middle of a recorded call (intake-samples §1.5, §1.6),
 * played by SIPp against `verbatim serve`: hold ends both recording dialogs with BYE and resume
 * sends a new pair of INVITEs with the same call-leg ids (two sessions); a remote-cluster transfer
 * or a conference sends an UPDATE on each dialog naming the new far end (the same session goes on,
 * with a new far-end participant).
 */

/** The tones of the call after resume, distinct from NEAR_HZ / FAR_HZ of the call before hold. */
const RESUMED_NEAR_HZ = 800;
const RESUMED_FAR_HZ = 1900;
const HOLD_MS = 3300;
const UPDATE_AFTER_MS = 1500;

let server: RunningServer;
let work: string;

/** Every session of the last ten minutes whose ccid is `ccid` (getSessions, as a client asks). */
function sessionsWithCcid(ccid: string): Promise<SessionJson[]> {
  return sessionsWhere(server, 'ccid', ccid);
}

function participantsOf(session: SessionJson): [string, string | undefined, string | undefined][][] {
  return session.tracks.map((t) => t.participants.map((p) => [p.deviceRef, p.deviceId, p.xRefCi]));
}

function assertTones(session: SessionJson, nearHz: number, farHz: number): Promise<void> {
  return assertPartyTones(server, session, { nearHz, farHz, label: `${session.sessionId} ` });
}

/**
 * Runs a call whose two legs send the UPDATE of `update`, and checks that the far-end track now
 * lists the first far end (ended at the UPDATE) followed by the new one (from the UPDATE on).
 */
async function assertFarEndChange(update: CucmFarEndUpdate, expectedConference: boolean): Promise<void> {
  const near = capture(work, `near-${update.farEndDevice}`, 'PCMU', NEAR_HZ, 3);
  const far = capture(work, `far-${update.farEndDevice}`, 'PCMU', FAR_HZ, 3);
  const refCi = await runCucmCall(server, work, {
    near: { pcapPath: near, holdMs: HOLD_MS },
    far: { pcapPath: far, holdMs: HOLD_MS },
    update,
  });
  const farEndRefCi = String(Number(refCi) - 1);
  const session = await findSessionByRefCi(server, refCi, (s) => s.sessionState !== 'ACTIVE');
  assert.equal(session.sessionState, 'CLOSED_NORMAL');
  assert.deepEqual(
    (await sessionsWithCcid(refCi)).map((s) => s.sessionId),
    [session.sessionId],
    'the UPDATE continues the same session',
  );
  assert.equal(session.tracks.length, 2);
  const [nearTrack, farTrack] = session.tracks;
  assert.ok(nearTrack && farTrack);
  assert.deepEqual(
    nearTrack.participants.map((p) => [p.deviceRef, p.deviceId, p.xRefCi, p.isConference]),
    [['1001', 'SEP6C416A369525', refCi, false]],
    'the near end did not change',
  );
  assert.deepEqual(
    farTrack.participants.map((p) => [p.deviceRef, p.deviceId, p.xRefCi, p.isConference]),
    [
      ['1000', 'SEP38ED18552A12', farEndRefCi, false],
      [update.farEndAddr, update.farEndDevice, farEndRefCi, expectedConference],
    ],
  );
  const [before, afterUpdate] = farTrack.participants;
  assert.ok(before && afterUpdate);
  assert.ok(before.participantStartDate !== undefined && afterUpdate.participantStartDate !== undefined);
  assert.ok(before.participantDuration !== undefined && afterUpdate.participantDuration !== undefined);
  // The UPDATE goes out UPDATE_AFTER_MS after the ACK; the first far end's time ends there.
  assert.ok(
    before.participantDuration >= UPDATE_AFTER_MS - 100 &&
      before.participantDuration <= UPDATE_AFTER_MS + 1500,
    `the first far end lasted ${before.participantDuration} ms, the UPDATE came after about ${UPDATE_AFTER_MS} ms`,
  );
  assert.equal(
    afterUpdate.participantStartDate,
    before.participantStartDate + before.participantDuration,
    'the new far end starts when the first one left',
  );
  assert.ok(
    afterUpdate.participantDuration >= HOLD_MS - UPDATE_AFTER_MS - 600 &&
      afterUpdate.participantDuration <= HOLD_MS - UPDATE_AFTER_MS + 1500,
    `the new far end lasted ${afterUpdate.participantDuration} ms, about ${HOLD_MS - UPDATE_AFTER_MS} ms expected`,
  );
  // The recording itself is not interrupted by the UPDATE.
  await assertTones(session, NEAR_HZ, FAR_HZ);
}

describe('CUCM mid-call events (sipp as CUCM, verbatim serve, MediaSense API)', { timeout: 240_000 }, () => {
  serverForSuite('midcall', { mediaTimeoutSeconds: 2 }, (suite) => {
    ({ server, work } = suite);
  });

  it('hold and resume: BYE on both dialogs, then a new INVITE pair with the same x-refci values, make two sessions with their own audio', async () => {
    const refCi = await runCucmCall(server, work, {
      near: { pcapPath: capture(work, 'held-near', 'PCMU', NEAR_HZ, 3), holdMs: HOLD_MS },
      far: { pcapPath: capture(work, 'held-far', 'PCMU', FAR_HZ, 3), holdMs: HOLD_MS },
    });
    const held = await findSessionByRefCi(server, refCi, (s) => s.sessionState !== 'ACTIVE');
    assert.equal(held.sessionState, 'CLOSED_NORMAL', 'hold ends the first recording normally');

    // Resume: CUCM sends two new INVITEs (new dialogs) naming the same call legs.
    await runCucmCall(server, work, {
      refCi,
      near: { pcapPath: capture(work, 'resumed-near', 'PCMU', RESUMED_NEAR_HZ, 3), holdMs: HOLD_MS },
      far: { pcapPath: capture(work, 'resumed-far', 'PCMU', RESUMED_FAR_HZ, 3), holdMs: HOLD_MS },
    });
    const resumed = await findSessionByRefCi(
      server,
      refCi,
      (s) => s.sessionId !== held.sessionId && s.sessionState !== 'ACTIVE',
    );
    assert.equal(resumed.sessionState, 'CLOSED_NORMAL');

    const all = await sessionsWithCcid(refCi);
    assert.deepEqual(
      all.map((s) => s.sessionId).sort(),
      [held.sessionId, resumed.sessionId].sort(),
      'exactly two sessions share the ccid',
    );
    const farEndRefCi = String(Number(refCi) - 1);
    for (const session of [held, resumed]) {
      assert.equal(session.callControllerType, 'Cisco-CUCM');
      assert.equal(session.ccid, refCi);
      assert.deepEqual(participantsOf(session), [
        [['1001', 'SEP6C416A369525', refCi]],
        [['1000', 'SEP38ED18552A12', farEndRefCi]],
      ]);
    }
    assert.ok(held.sessionDuration !== undefined);
    assert.ok(
      resumed.sessionStartDate >= held.sessionStartDate + held.sessionDuration,
      'the resumed recording starts after the held one ended',
    );
    await assertTones(held, NEAR_HZ, FAR_HZ);
    await assertTones(resumed, RESUMED_NEAR_HZ, RESUMED_FAR_HZ);
  });

  it('remote-cluster transfer: an UPDATE naming a new far end keeps the session and adds the far-end participant from then on', async () => {
    await assertFarEndChange(
      { afterMs: UPDATE_AFTER_MS, farEndDevice: 'SIPTrunkTocluster2', farEndAddr: '3100' },
      false,
    );
  });

  it('conference: an UPDATE naming a conference bridge (CFB) as far end marks the new participant isConference', async () => {
    await assertFarEndChange(
      { afterMs: UPDATE_AFTER_MS, farEndDevice: 'CFB_2', farEndAddr: 'b00105401002' },
      true,
    );
  });
});
