import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SipRequest } from '../../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../../src/protocol/sip/parse.js';
import { encodeUtf8 } from '../../../src/protocol/text.js';
import { cubeXRefCi } from '../../../src/recording/cube-intake.js';
import {
  MAX_MEDIA_LINES_PER_OFFER,
  planInvite,
  type InvitePlan,
  type InviteRefusal,
  type InviteToPlan,
} from '../../../src/recording/invite-planner.js';
import { cubeFixture } from '../../support/cube-fixtures.js';
import { cucmFrom, invite } from '../../support/recording-fakes.js';
import {
  CUBE_SIPREC_SESSION_IDS,
  sessionIds,
  siprecFixture,
  siprecFixtureNames,
} from '../../support/siprec-fixtures.js';

/**
 * The intake decision on its own: INVITEs from the intake samples (test/fixtures) in, plans or
 * refusals out. No media engine, no repository, no SIP layer: the planner is a function.
 */

const NOW = 1_773_224_042_000;
const CONTEXT = { advertise: '192.0.2.10', now: NOW };
const CONTROLLER = '10.48.38.5';

function toPlan(request: SipRequest): InviteToPlan {
  const callId = request.headers.find((h) => h.name.toLowerCase() === 'call-id')?.value ?? '';
  return { request, callId, source: { address: CONTROLLER } };
}

function plan(request: SipRequest): InvitePlan {
  const planning = planInvite(toPlan(request), CONTEXT);
  assert.ok(planning.ok, planning.ok ? '' : `refused: ${planning.refusal.status} ${planning.refusal.why}`);
  return planning.plan;
}

function refusal(request: SipRequest): InviteRefusal {
  const planning = planInvite(toPlan(request), CONTEXT);
  assert.ok(!planning.ok, 'the INVITE was planned, not refused');
  return planning.refusal;
}

function sdpInvite(content: string, from = '"Alice" <sip:2001@10.0.0.7>;tag=a'): SipRequest {
  return invite(from, { type: 'application/sdp', content }, 'call-1@10.0.0.7').request;
}

function withHeader(request: SipRequest, name: string, value: string): SipRequest {
  return { ...request, headers: [...request.headers, { name, value }] };
}

const SDP_HEAD = 'v=0\r\no=- 1 1 IN IP4 10.0.0.7\r\ns=-\r\nc=IN IP4 10.0.0.7\r\nt=0 0\r\n';
const TWO_AUDIO_LINES = `${SDP_HEAD}m=audio 5000 RTP/AVP 0\r\na=sendonly\r\nm=audio 5002 RTP/AVP 8\r\na=sendonly\r\n`;

describe('planInvite', () => {
  describe('CUCM', () => {
    it('plans a delayed-offer near-end leg from a CUCM 10 INVITE: one line of our own, the near end on it, ccid = x-refci', () => {
      const request = parseSipMessage(
        new Uint8Array(
          readFileSync(
            join(import.meta.dirname, '..', '..', 'fixtures', 'sip', 'cucm', 'cucm10-bib-invite-nearend.txt'),
          ),
        ),
      );
      assert.ok(request.ok && request.value.type === 'request');
      const p = plan(request.value);
      assert.equal(p.flavour, 'CUCM');
      assert.equal(p.controllerType, 'Cisco-CUCM');
      assert.equal(p.controllerIp, CONTROLLER);
      assert.equal(p.ccid, '38960750');
      assert.equal(p.offer, undefined);
      assert.equal(p.expectedLegs, 2);
      assert.equal(p.cucm?.preferredTrack, 0);
      assert.equal(p.cucm.key, `${CONTROLLER}|38960750|38960749`);
      assert.deepEqual(p.lines, [
        {
          mediaIndex: 0,
          onHold: false,
          participants: [
            {
              deviceRef: '9110001',
              deviceId: 'sep001795bdd16b',
              xRefCi: '38960750',
              isConference: false,
              participantStartDate: NOW,
            },
          ],
        },
      ]);
      // The two dialogs of a CUCM call form one session: no per-dialog Session-ID is kept.
      assert.equal(p.sipSessionId, undefined);
      assert.equal(p.correlation, undefined);
    });

    it('plans the far-end leg of the same call on track 1 with the far end, under the same key and ccid', () => {
      const near = plan(invite(cucmFrom('x-nearend')).request);
      const far = plan(invite(cucmFrom('x-farend')).request);
      assert.equal(far.cucm?.preferredTrack, 1);
      assert.equal(far.cucm.key, near.cucm?.key);
      assert.equal(far.ccid, '19301625');
      assert.deepEqual(
        far.lines.map((l) => l.participants.map((p) => [p.deviceRef, p.deviceId, p.xRefCi])),
        [[['1000', 'SEP38ED18552A12', '19301624']]],
      );
    });

    it('records only the first audio line of a CUCM early offer', () => {
      const request = invite(cucmFrom('x-nearend'), {
        type: 'application/sdp',
        content: TWO_AUDIO_LINES,
      }).request;
      const p = plan(request);
      assert.equal(p.flavour, 'CUCM');
      assert.deepEqual(
        p.lines.map((l) => [l.mediaIndex, l.codec?.encodingName]),
        [[0, 'PCMU']],
      );
    });
  });

  describe('CUBE', () => {
    it('plans a dial-peer forking INVITE: ccid = Cisco-Guid, a line per audio m= line, participants per media-index', () => {
      const guid = '0522196224-0000065536-0000000042-3405803530';
      const sessionId = '5b1f0e8c7d2a4e6f9a3b2c1d0e9f8a7b;remote=00000000000000000000000000000000';
      const p = plan(cubeFixture('cube-nbr-invite.sip'));
      assert.equal(p.flavour, 'CUBE');
      assert.equal(p.controllerType, 'Cisco-SIPGateway');
      assert.equal(p.ccid, guid);
      assert.equal(p.expectedLegs, 2);
      assert.equal(p.sipSessionId, sessionId);
      assert.deepEqual(p.correlation, { sipSessionId: sessionId });
      assert.deepEqual(p.cubeParticipantsDropped, []);
      assert.deepEqual(
        p.lines.map((l) => [l.mediaIndex, l.codec?.encodingName, l.onHold, l.participants]),
        [
          [
            0,
            'PCMA',
            false,
            [
              {
                deviceRef: '4155550123',
                xRefCi: cubeXRefCi(guid, 0, 'sip:4155550123@198.51.100.7'),
                isConference: false,
                participantStartDate: NOW,
              },
            ],
          ],
          [
            1,
            'PCMA',
            false,
            [
              {
                deviceRef: '20417',
                xRefCi: cubeXRefCi(guid, 1, 'sip:20417@198.51.100.40'),
                isConference: false,
                participantStartDate: NOW,
              },
            ],
          ],
        ],
      );
    });

    it('puts video lines after the audio ones, maps "0 2" / "1 3" to them, and reports the dropped participant values', () => {
      const p = plan(cubeFixture('cube-nbr-invite-video-malformed.sip'));
      assert.equal(p.flavour, 'CUBE');
      assert.deepEqual(
        p.lines.map((l) => [l.mediaIndex, l.media?.type, l.participants.map((x) => x.deviceRef)]),
        [
          [0, 'audio', ['6001']],
          [1, 'audio', ['6002']],
          [2, 'video', ['6001']],
          [3, 'video', ['6002']],
        ],
      );
      assert.equal(p.cubeParticipantsDropped.length, 4);
    });

    it('recognises a fork without participant headers by Cisco-Guid and user agent, with no participants', () => {
      const p = plan(cubeFixture('cube-nbr-invite-no-participant-header.sip'));
      assert.equal(p.flavour, 'CUBE');
      assert.equal(p.ccid, '0131359744-0000065536-0000000001-0745980426');
      assert.deepEqual(
        p.lines.map((l) => l.participants),
        [[], []],
      );
    });
  });

  describe('SIPREC', () => {
    it('plans a CUBE SIPREC INVITE: ccid and correlation from the metadata, a line per labelled stream with its senders', () => {
      const p = plan(siprecFixture('cube-siprec-invite.sip'));
      assert.equal(p.flavour, 'SIPREC');
      assert.equal(p.controllerType, 'SIPREC');
      assert.equal(p.ccid, 'HWa34c9av1/JqgdPy1A1CA==');
      assert.ok(p.siprecMetadata !== undefined);
      assert.deepEqual(sessionIds(p.correlation), CUBE_SIPREC_SESSION_IDS);
      assert.deepEqual(
        p.lines.map((l) => [
          l.media?.label,
          l.codec?.encodingName,
          l.participants.map((x) => [x.deviceRef, x.deviceId, x.xRefCi, x.name]),
        ]),
        [
          [
            '1',
            'PCMA',
            [['4085550142', 'sip:4085550142@198.51.100.15', 'IVleqWBJYooHV7Ki3GP9JQ==', undefined]],
          ],
          ['2', 'PCMA', [['6502', 'sip:6502@203.0.113.8', 'SbAoRzxsl0eoFOqX560W8w==', 'Front Desk']]],
        ],
      );
    });

    it('plans every vendor INVITE of the corpus as SIPREC with at least one line, never as CUCM or CUBE', () => {
      const names = siprecFixtureNames().filter(
        (n) => n.endsWith('-invite.sip') || n.endsWith('-invite-early.sip'),
      );
      assert.ok(names.length >= 10);
      for (const name of names) {
        const p = plan(siprecFixture(name));
        assert.equal(p.flavour, 'SIPREC', name);
        assert.ok(p.lines.length >= 1, name);
        assert.equal(p.expectedLegs, p.lines.length, name);
      }
    });

    it('marks the lines of an offer that starts on hold (CUBE SIPREC a=inactive)', () => {
      const p = plan(siprecFixture('cube-siprec-reinvite-hold.sip'));
      assert.equal(p.flavour, 'SIPREC');
      assert.ok(p.lines.length > 0);
      assert.ok(p.lines.every((l) => l.onHold));
    });
  });

  describe('generic SIP', () => {
    it('plans one line per audio m= line, the From user on track 0 and the To user on track 1, ccid = Call-ID', () => {
      const p = plan(sdpInvite(TWO_AUDIO_LINES));
      assert.equal(p.flavour, 'generic');
      assert.equal(p.controllerType, 'SIP');
      assert.equal(p.ccid, 'call-1@10.0.0.7');
      assert.equal(p.expectedLegs, 2);
      assert.deepEqual(
        p.lines.map((l) => [l.mediaIndex, l.codec?.payloadType, l.participants.map((x) => x.deviceRef)]),
        [
          [0, 0, ['2001']],
          [1, 8, ['7878']],
        ],
      );
    });

    it('puts both parties on a single line, and keeps a Session-ID and a Cisco-Guid', () => {
      const request = withHeader(
        withHeader(sdpInvite(`${SDP_HEAD}m=audio 5000 RTP/AVP 0\r\na=inactive\r\n`), 'Session-ID', 'abc'),
        'Cisco-Guid',
        'guid-1',
      );
      const p = plan(request);
      assert.equal(p.flavour, 'generic');
      assert.equal(p.ccid, 'guid-1');
      assert.equal(p.sipSessionId, 'abc');
      assert.deepEqual(p.correlation, { sipSessionId: 'abc' });
      assert.deepEqual(
        p.lines.map((l) => [l.onHold, l.participants.map((x) => x.deviceRef)]),
        [[true, ['2001', '7878']]],
      );
    });

    it('leaves out lines with nothing to record but keeps the recordable ones', () => {
      const p = plan(sdpInvite(`${SDP_HEAD}m=audio 0 RTP/AVP 0\r\nm=audio 5002 RTP/AVP 8\r\na=sendonly\r\n`));
      assert.deepEqual(
        p.lines.map((l) => l.mediaIndex),
        [1],
      );
    });

    it('is a function of its input: the same INVITE gives the same plan', () => {
      const request = cubeFixture('cube-nbr-invite.sip');
      assert.deepEqual(plan(request), plan(request));
    });
  });

  describe('refusals', () => {
    it('488 with a Warning naming what was offered when nothing is recordable', () => {
      const r = refusal(sdpInvite(`${SDP_HEAD}m=audio 5000 RTP/AVP 13\r\nm=video 5002 RTP/AVP 34\r\n`));
      assert.equal(r.status, 488);
      assert.equal(r.reasonPhrase, 'Not Acceptable Here');
      assert.equal(r.why, 'No recordable audio codec offered (audio:CN, video:H263)');
      assert.deepEqual(r.headers, [
        {
          name: 'Warning',
          value: '399 192.0.2.10 "No recordable audio codec offered (audio:CN, video:H263)"',
        },
      ]);
      assert.equal(r.siprecBodyError, false);
    });

    it('488 for video alone and for DTLS-SRTP (a call needs recordable audio)', () => {
      assert.equal(
        refusal(sdpInvite(`${SDP_HEAD}m=video 5002 RTP/AVP 126\r\na=rtpmap:126 H264/90000\r\n`)).status,
        488,
      );
      assert.equal(
        refusal(sdpInvite(`${SDP_HEAD}m=audio 5000 UDP/TLS/RTP/SAVP 0\r\na=fingerprint:sha-256 AB:CD\r\n`))
          .status,
        488,
      );
    });

    it('415 with Accept for a body that is neither SDP nor SIPREC, 488 for malformed SDP', () => {
      const notSdp = refusal(
        invite('<sip:a@b>;tag=1', { type: 'multipart/mixed;boundary=x', content: '--x--' }).request,
      );
      assert.equal(notSdp.status, 415);
      assert.deepEqual(notSdp.headers, [{ name: 'Accept', value: 'application/sdp, multipart/mixed' }]);
      const malformed = refusal(sdpInvite('not sdp'));
      assert.equal(malformed.status, 488);
      assert.match(malformed.why, /^Malformed SDP: /);
    });

    it('400 for SIPREC metadata that is not XML, counted as a SIPREC body error', () => {
      const request = siprecFixture('cube-siprec-invite.sip');
      const text = new TextDecoder().decode(request.body).replace('<datamode>', '<datamode<<');
      const r = refusal({ ...request, body: encodeUtf8(text) });
      assert.equal(r.status, 400);
      assert.equal(r.siprecBodyError, true);
      assert.match(r.headers[0]?.value ?? '', /^399 192\.0\.2\.10 "/);
    });

    it(`488 with a Warning for an offer of more than ${MAX_MEDIA_LINES_PER_OFFER} m= lines (issue 9: 1,000 lines took 1,000 port pairs)`, () => {
      const lines = (n: number): string =>
        SDP_HEAD + Array.from({ length: n }, (_, i) => `m=audio ${5000 + 2 * i} RTP/AVP 0\r\n`).join('');
      const r = refusal(sdpInvite(lines(1000)));
      assert.equal(r.status, 488);
      assert.equal(r.reasonPhrase, 'Not Acceptable Here');
      assert.deepEqual(r.headers, [
        { name: 'Warning', value: '399 192.0.2.10 "Too many media lines: 1000 m= lines, at most 16"' },
      ]);
      assert.equal(refusal(sdpInvite(lines(MAX_MEDIA_LINES_PER_OFFER + 1))).status, 488);
      assert.equal(plan(sdpInvite(lines(MAX_MEDIA_LINES_PER_OFFER))).lines.length, MAX_MEDIA_LINES_PER_OFFER);
      // Lines with nothing to record count too: the answer must repeat each one (RFC 3264 §6).
      const idle = `${SDP_HEAD}m=audio 5000 RTP/AVP 0\r\n${'m=audio 0 RTP/AVP 0\r\n'.repeat(MAX_MEDIA_LINES_PER_OFFER)}`;
      assert.equal(refusal(sdpInvite(idle)).status, 488);
    });

    it('488 for a SIPREC body with no SDP part', () => {
      const request = siprecFixture('avaya-sbce-update.sip');
      const r = refusal({ ...request, method: 'INVITE' });
      assert.equal(r.status, 488);
      assert.equal(r.why, 'SIPREC body has no application/sdp part');
    });
  });
});
