import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SipRequest } from '../../../src/protocol/sip/message.js';
import {
  CubeErrorCode,
  cubeXRefCi,
  isCubeForkingInvite,
  parseRecordingParticipant,
  participantsOfLine,
  readCubeIntake,
} from '../../../src/recording/cube-intake.js';
import { cubeFixture } from '../../support/cube-fixtures.js';

function withHeaders(
  request: SipRequest,
  drop: readonly string[],
  add: { name: string; value: string }[] = [],
): SipRequest {
  const lower = drop.map((d) => d.toLowerCase());
  return {
    ...request,
    headers: [...request.headers.filter((h) => !lower.includes(h.name.toLowerCase())), ...add],
  };
}

describe('cube-intake', () => {
  it('reads the Cisco-Guid, the Session-ID and one participant per media-index from a CUBE NBR INVITE', () => {
    const intake = readCubeIntake(cubeFixture('cube-nbr-invite.sip'));
    assert.equal(intake.ciscoGuid, '0522196224-0000065536-0000000042-3405803530');
    assert.equal(
      intake.sipSessionId,
      '5b1f0e8c7d2a4e6f9a3b2c1d0e9f8a7b;remote=00000000000000000000000000000000',
    );
    assert.deepEqual(intake.dropped, []);
    assert.deepEqual(intake.participants, [
      { mediaIndexes: [0], deviceRef: '4155550123', uri: 'sip:4155550123@198.51.100.7' },
      { mediaIndexes: [1], deviceRef: '20417', uri: 'sip:20417@198.51.100.40' },
    ]);
    assert.deepEqual(
      participantsOfLine(intake.participants, 1).map((p) => p.deviceRef),
      ['20417'],
    );
  });

  it('recognises CUBE forking by the participant header, or by Cisco-Guid + Cisco user agent + two audio lines', () => {
    const invite = cubeFixture('cube-nbr-invite.sip');
    assert.equal(isCubeForkingInvite(invite, 2), true);
    const bare = cubeFixture('cube-nbr-invite-no-participant-header.sip');
    assert.equal(isCubeForkingInvite(bare, 2), true);
    assert.equal(isCubeForkingInvite(bare, 1), false);
    assert.equal(
      isCubeForkingInvite(
        withHeaders(bare, ['User-Agent'], [{ name: 'User-Agent', value: 'FreeSWITCH' }]),
        2,
      ),
      false,
    );
    assert.equal(isCubeForkingInvite(withHeaders(bare, ['Cisco-Guid']), 2), false);
    // The participant header alone is enough, whatever the user agent and line count.
    assert.equal(isCubeForkingInvite(withHeaders(invite, ['User-Agent', 'Cisco-Guid']), 1), true);
  });

  it('keeps the well-formed values of a malformed set: comma lists, name-addr, video indexes, stray spaces', () => {
    const intake = readCubeIntake(cubeFixture('cube-nbr-invite-video-malformed.sip'));
    assert.deepEqual(intake.participants, [
      { mediaIndexes: [0, 2], deviceRef: '6001', uri: 'sip:6001@198.51.100.7' },
      { mediaIndexes: [1, 3], deviceRef: '6002', uri: 'sip:6002@198.51.100.40' },
    ]);
    assert.deepEqual(
      intake.dropped.map((e) => e.code),
      [
        CubeErrorCode.Participant,
        CubeErrorCode.MediaIndex,
        CubeErrorCode.MediaIndex,
        CubeErrorCode.Participant,
      ],
    );
    assert.equal(intake.sipSessionId, undefined);
  });

  it('accepts media-index as a URI parameter, unquoted', () => {
    const parsed = parseRecordingParticipant('<sip:7001@198.51.100.9;media-index=1>');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.mediaIndexes, [1]);
    assert.equal(parsed.value.deviceRef, '7001');
  });

  it('returns typed errors for hostile values instead of throwing', () => {
    for (const value of [
      '',
      '<>',
      'garbage',
      'sip:@;media-index="0"',
      'sip:1@h;media-index=""',
      'sip:1@h;media-index="99999"',
      '"unterminated <sip:1@h>',
    ]) {
      const parsed = parseRecordingParticipant(value);
      if (parsed.ok) {
        assert.fail(`"${value}" was accepted`);
      }
      assert.match(parsed.error.code, /^VERBATIM_ERR_CUBE_/);
    }
  });

  it('derives a stable 16-hex-digit xRefCi that changes with the party, the side and the call', () => {
    const guid = '0522196224-0000065536-0000000042-3405803530';
    const a = cubeXRefCi(guid, 1, 'sip:20417@198.51.100.40');
    assert.match(a, /^[0-9a-f]{16}$/);
    assert.equal(cubeXRefCi(guid, 1, 'sip:20417@198.51.100.40'), a);
    assert.notEqual(cubeXRefCi(guid, 1, 'sip:20988@198.51.100.40'), a);
    assert.notEqual(cubeXRefCi(guid, 0, 'sip:20417@198.51.100.40'), a);
    assert.notEqual(cubeXRefCi('1-2-3-4', 1, 'sip:20417@198.51.100.40'), a);
    // Pinned against an independent FNV-1a 64 computation, so the stored ids never drift.
    assert.equal(a, 'ce62e578d632043f');
  });
});
