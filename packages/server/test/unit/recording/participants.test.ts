import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Participant } from '../../../src/model/session.js';
import { readCucmLeg } from '../../../src/recording/cucm-leg.js';
import {
  byEveryField,
  byReference,
  changedParticipants,
  cucmParticipants,
} from '../../../src/recording/participants.js';

/** Who is on a track, and how a track's participants move when the controller names new ones. */

const alice: Participant = {
  deviceRef: '2001',
  xRefCi: 'a',
  isConference: false,
  participantStartDate: 1000,
};
const bob: Participant = { deviceRef: '2002', xRefCi: 'b', isConference: false, participantStartDate: 1000 };

describe('participants', () => {
  it('ends the participant who left at `now` and adds the new one, starting now', () => {
    const carol: Participant = { ...bob, deviceRef: '2003', xRefCi: 'c', participantStartDate: 5000 };
    const change = changedParticipants([alice, bob], [alice, carol], 5000, byReference);
    assert.deepEqual(change?.left, [bob]);
    assert.deepEqual(change.joined, [carol]);
    assert.deepEqual(change.participants, [alice, { ...bob, participantDuration: 4000 }, carol]);
  });

  it('changes nothing when the same parties are named again, and leaves past participants alone', () => {
    const past: Participant = { ...bob, participantDuration: 10 };
    assert.equal(changedParticipants([past, alice], [alice], 5000, byReference), undefined);
  });

  it('renames a participant in place (SIPREC metadata may add or change a name)', () => {
    const change = changedParticipants(
      [alice],
      [{ ...alice, name: 'Alice', participantStartDate: 5000 }],
      5000,
      byReference,
    );
    assert.deepEqual(change?.left, []);
    assert.deepEqual(change.joined, []);
    assert.deepEqual(change.participants, [{ ...alice, name: 'Alice' }]);
  });

  it('CUCM: the same call-leg id with another number is a new party; CUBE and SIPREC compare the id alone', () => {
    const moved: Participant = { ...alice, deviceRef: '3001', participantStartDate: 5000 };
    assert.equal(changedParticipants([alice], [moved], 5000, byReference), undefined);
    const change = changedParticipants([alice], [moved], 5000, byEveryField);
    assert.deepEqual(change?.participants, [{ ...alice, participantDuration: 4000 }, moved]);
  });

  it('CUCM: the From user stands in for a missing x-nearendaddr, and a CFB device is a conference bridge', () => {
    const params = new Map<string, string | null>([
      ['x-nearend', null],
      ['x-refci', '11'],
      ['x-farendrefci', '12'],
      ['x-farenddevice', 'CFB_2'],
      ['x-farendaddr', 'b0029901001'],
    ]);
    const leg = readCucmLeg(params);
    assert.ok(leg !== undefined);
    assert.deepEqual(cucmParticipants(leg, true, '1001', 7), [
      { deviceRef: '1001', xRefCi: '11', isConference: false, participantStartDate: 7 },
    ]);
    assert.deepEqual(cucmParticipants(leg, false, '1001', 7), [
      {
        deviceRef: 'b0029901001',
        deviceId: 'CFB_2',
        xRefCi: '12',
        isConference: true,
        participantStartDate: 7,
      },
    ]);
  });
});
