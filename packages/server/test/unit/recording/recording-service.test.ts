import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, it } from 'node:test';
import type { SipBody } from '../../../src/sip/types.js';
import { parseSdp } from '../../../src/protocol/sdp/sdp.js';
import type { SipRequest } from '../../../src/protocol/sip/message.js';
import { waitFor } from '../../support/wait.js';
import { cubeXRefCi } from '../../../src/recording/cube-intake.js';
import { cubeFixture, trackLayout, videoForkLayout } from '../../support/cube-fixtures.js';
import {
  ACK_SDP,
  ack,
  answered,
  answerPorts,
  cucmFrom,
  invite,
  offerCucmCall,
  setUp,
  FakeInvite,
  type RecordingSetUp,
} from '../../support/recording-fakes.js';

/**
 * The recording domain on its own: the SIP layer and the media engine are replaced by recording
 * fakes, the repository by the in-memory one, so each intake decision can be checked exactly.
 */

describe('RecordingService', () => {
  it('pairs the two INVITEs of a CUCM call, even when they race, into one session: track 0 near end, track 1 far end', async () => {
    const { service, repository } = setUp();
    const { near, far } = await offerCucmCall(service, ['x-farend', 'x-nearend']);
    await service.settled();
    assert.equal(repository.sessions.size, 1);
    const session = [...repository.sessions.values()][0]!;
    assert.equal(session.callControllerType, 'Cisco-CUCM');
    assert.equal(session.callControllerIP, '10.48.38.5');
    assert.equal(session.ccid, '19301625');
    assert.deepEqual(
      session.tracks.map((t) => [t.trackNumber, t.participants[0]?.deviceRef, t.participants[0]?.xRefCi]),
      [
        [0, '1001', '19301625'],
        [1, '1000', '19301624'],
      ],
    );
    // Delayed offer: Verbatim's answer is a recvonly offer on a port of its own for each leg.
    const offers = [near, far].map((i) => parseSdp(i.answer!.content));
    assert.ok(offers.every((o) => o.ok && o.value.media[0]?.direction === 'recvonly'));
    assert.notEqual(
      offers[0]!.ok && offers[0]!.value.media[0]?.port,
      offers[1]!.ok && offers[1]!.value.media[0]?.port,
    );
  });

  it('takes the codec and the media source from the SDP answer in the ACK', async () => {
    const { service, media, repository } = setUp();
    const near = invite(cucmFrom('x-nearend'));
    service.onInvite(near);
    await answered(near);
    near.delegate!.onAck!(ack(ACK_SDP));
    await service.settled();
    const track = repository.sessions.get('session1')!.tracks[0]!;
    assert.equal(track.codec, 'PCMA');
    assert.equal(track.payloadType, 8);
    assert.deepEqual(media.expected.get('session1-0'), { address: '10.48.38.107', port: 0 });
  });

  it('closes the session CLOSED_NORMAL when both legs have sent BYE, with track durations and statistics', async () => {
    const { service, media, repository } = setUp();
    const { near, far } = await offerCucmCall(service);
    near.delegate!.onBye!(ack(''));
    await service.settled();
    assert.equal(repository.sessions.get('session1')!.sessionState, 'ACTIVE');
    far.delegate!.onBye!(ack(''));
    await waitFor(() => repository.sessions.get('session1')!.sessionState !== 'ACTIVE');
    const session = repository.sessions.get('session1')!;
    assert.equal(session.sessionState, 'CLOSED_NORMAL');
    assert.ok(session.sessionDuration !== undefined);
    assert.ok(session.tracks.every((t) => t.stats.packets === 100 && t.trackDuration !== undefined));
    assert.deepEqual(media.closed.sort(), ['session1-0', 'session1-1']);
  });

  it('ends the whole session as CLOSED_ERROR, sending BYE on the other leg, when one leg times out', async () => {
    const { service, media, repository } = setUp();
    const { near, far } = await offerCucmCall(service);
    media.emit({ type: 'media-timeout', streamId: 'session1-1' });
    await waitFor(() => repository.sessions.get('session1')!.sessionState !== 'ACTIVE');
    assert.equal(repository.sessions.get('session1')!.sessionState, 'CLOSED_ERROR');
    assert.equal(near.byes + far.byes, 2, 'BYE sent on both dialogs');
  });

  it('answers an early offer recvonly with the offered payload type and records one track per audio line (generic SIP)', async () => {
    const { service, media, repository } = setUp();
    const offer =
      'v=0\r\no=- 1 1 IN IP4 10.0.0.7\r\ns=-\r\nc=IN IP4 10.0.0.7\r\nt=0 0\r\n' +
      'm=audio 5000 RTP/AVP 0\r\na=sendonly\r\nm=audio 5002 RTP/AVP 8\r\na=sendonly\r\n';
    const call = invite('"Alice" <sip:2001@10.0.0.7>;tag=a', { type: 'application/sdp', content: offer });
    service.onInvite(call);
    await answered(call);
    await service.settled();
    const answer = parseSdp(call.answer!.content);
    assert.ok(answer.ok);
    assert.deepEqual(
      answer.value.media.map((m) => [m.direction, m.codecs[0]?.payloadType]),
      [
        ['recvonly', 0],
        ['recvonly', 8],
      ],
    );
    const session = repository.sessions.get('session1')!;
    assert.equal(session.callControllerType, 'SIP');
    assert.deepEqual(
      session.tracks.map((t) => [t.trackNumber, t.codec, t.participants.map((p) => p.deviceRef)]),
      [
        [0, 'PCMU', ['2001']],
        [1, 'PCMA', ['7878']],
      ],
    );
    assert.equal(media.expected.get('session1-0')?.address, '10.0.0.7');
  });

  it('refuses an offer with nothing recordable with 488 and a Warning, and opens no media', async () => {
    const { service, media, repository } = setUp();
    const offer =
      'v=0\r\no=- 1 1 IN IP4 10.0.0.7\r\ns=-\r\nc=IN IP4 10.0.0.7\r\nt=0 0\r\nm=audio 5000 RTP/AVP 13\r\nm=video 5002 RTP/AVP 34\r\n';
    const call = invite('<sip:2001@10.0.0.7>;tag=a', { type: 'application/sdp', content: offer });
    service.onInvite(call);
    await answered(call);
    assert.equal(call.rejection?.status, 488);
    assert.match(
      call.rejection.headers.find((h) => h.name === 'Warning')?.value ?? '',
      /^399 192\.0\.2\.10 ".*audio:CN, video:H263/,
    );
    assert.equal(media.open.size, 0);
    assert.equal(repository.sessions.size, 0);
  });

  it('refuses a body that is not SDP with 415 and malformed SDP with 488', async () => {
    const { service } = setUp();
    const multipart = invite('<sip:a@b>;tag=1', { type: 'multipart/mixed;boundary=x', content: '--x--' });
    const broken = invite('<sip:a@b>;tag=1', { type: 'application/sdp', content: 'not sdp' });
    service.onInvite(multipart);
    service.onInvite(broken);
    await Promise.all([answered(multipart), answered(broken)]);
    assert.equal(multipart.rejection?.status, 415);
    assert.equal(broken.rejection?.status, 488);
  });

  it('gives back the media port and creates no session when the INVITE is cancelled before the answer', async () => {
    const { service, media, repository } = setUp();
    const call = invite(cucmFrom('x-nearend'));
    service.onInvite(call);
    call.cancelled = true;
    await waitFor(() => media.closed.length === 1);
    await service.settled();
    assert.equal(call.answer, undefined);
    assert.equal(repository.sessions.size, 0);
    assert.equal(service.activeSessionCount, 0);
  });

  it('on close, ends active sessions as CLOSED_ERROR and answers later INVITEs with 503', async () => {
    const { service, repository } = setUp();
    const near = invite(cucmFrom('x-nearend'));
    service.onInvite(near);
    await answered(near);
    await service.close();
    assert.equal(repository.sessions.get('session1')!.sessionState, 'CLOSED_ERROR');
    assert.equal(near.byes, 1);
    const late = invite(cucmFrom('x-nearend', '999'));
    service.onInvite(late);
    await answered(late);
    assert.equal(late.rejection?.status, 503);
    assert.ok(late.rejection.headers.some((h) => h.name === 'Retry-After'));
  });
  it('applies a CUCM UPDATE that names a new far end (remote transfer) and marks a conference bridge', async () => {
    const { service, repository } = setUp();
    const { near, far } = await offerCucmCall(service);
    const update: SipRequest = {
      type: 'request',
      method: 'UPDATE',
      requestUri: 'sip:7878@10.48.38.30',
      headers: [
        {
          name: 'From',
          value: cucmFrom('x-farend').replace(
            'x-farenddevice=SEP38ED18552A12;x-farendaddr=1000',
            'x-farenddevice=CFB_2;x-farendaddr=3100',
          ),
        },
      ],
      body: new Uint8Array(0),
    };
    let answer: number | undefined;
    far.delegate!.onRequest!(update, (status) => {
      answer = status;
    });
    near.delegate!.onRequest!({ ...update }, () => undefined);
    await service.settled();
    assert.equal(answer, 200);
    const track = repository.sessions.get('session1')!.tracks[1]!;
    assert.deepEqual(
      track.participants.map((p) => [
        p.deviceRef,
        p.deviceId,
        p.isConference,
        p.participantDuration === undefined,
      ]),
      [
        ['1000', 'SEP38ED18552A12', false, false],
        ['3100', 'CFB_2', true, true],
      ],
    );
    assert.equal(
      repository.sessions.get('session1')!.tracks[0]!.participants.length,
      1,
      'the near end did not change',
    );
    assert.equal(repository.sessions.get('session1')!.sessionState, 'ACTIVE', 'the session goes on');
  });

  it('at --max-sessions refuses a new call with 503 and Retry-After but lets the second leg of a recorded call in', async () => {
    const { service, media, repository } = setUp({ maxSessions: 1 });
    const near = invite(cucmFrom('x-nearend'));
    service.onInvite(near);
    await answered(near);
    const other = invite(cucmFrom('x-nearend', '424242'));
    service.onInvite(other);
    await answered(other);
    assert.equal(other.rejection?.status, 503);
    assert.ok(other.rejection.headers.some((h) => h.name === 'Retry-After'));
    const far = invite(cucmFrom('x-farend'));
    service.onInvite(far);
    await answered(far);
    assert.ok(far.answer, 'the far-end leg of the session being recorded is answered');
    await service.settled();
    assert.equal(repository.sessions.size, 1);
    assert.equal(media.open.size, 2);
    assert.equal(service.counters.overloaded, 1);
  });
});

describe('RecordingService: CUBE dial-peer forking', () => {
  const GUID = '0522196224-0000065536-0000000042-3405803530';

  const cubeSetUp = (): RecordingSetUp => setUp({ startMs: 1_795_597_925_000, sessionIdPrefix: 'cube' });

  it('records one INVITE as one Cisco-SIPGateway session: two tracks in m-line order, participants per media-index, ccid = Cisco-Guid', async () => {
    const { service, repository, clock } = cubeSetUp();
    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    service.onInvite(call);
    await answered(call);
    await service.settled();
    assert.equal(repository.sessions.size, 1);
    const session = repository.sessions.get('cube1')!;
    assert.equal(session.callControllerType, 'Cisco-SIPGateway');
    assert.equal(session.callControllerIP, '10.48.38.5');
    assert.equal(session.ccid, GUID);
    assert.deepEqual(
      session.tracks.map((t) => [t.trackNumber, t.codec, t.payloadType, t.participants]),
      [
        [
          0,
          'PCMA',
          8,
          [
            {
              deviceRef: '4155550123',
              xRefCi: cubeXRefCi(GUID, 0, 'sip:4155550123@198.51.100.7'),
              isConference: false,
              participantStartDate: clock.nowMs,
            },
          ],
        ],
        [
          1,
          'PCMA',
          8,
          [
            {
              deviceRef: '20417',
              xRefCi: cubeXRefCi(GUID, 1, 'sip:20417@198.51.100.40'),
              isConference: false,
              participantStartDate: clock.nowMs,
            },
          ],
        ],
      ],
    );
    const answer = parseSdp(call.answer!.content);
    assert.ok(answer.ok);
    assert.deepEqual(
      answer.value.media.map((m) => m.direction),
      ['recvonly', 'recvonly'],
    );
  });

  it('logs malformed participant values of many INVITEs in one line a second, with the count', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const { service, clock } = setUp({
      startMs: 1_795_597_925_000,
      sessionIdPrefix: 'cube',
      logger: pino({ level: 'info' }, sink),
    });
    const name = 'cube-nbr-invite-video-malformed.sip';
    const callId = new FakeInvite(cubeFixture(name)).callId;
    const calls = [1, 2, 3].map((n) => {
      const call = new FakeInvite(cubeFixture(name, { [callId]: `${callId}-${n}` }));
      service.onInvite(call);
      return call;
    });
    await Promise.all(calls.map((call) => answered(call)));
    await service.settled();
    const malformed = (): Record<string, unknown>[] =>
      lines.filter((l) => l.msg === 'malformed X-Cisco-Recording-Participant values ignored');
    assert.equal(malformed().length, 1, 'one line for three INVITEs');
    assert.equal(malformed()[0]?.level, 40);
    assert.equal(service.counters.cubeParticipantsDropped, 12);
    clock.nowMs += 1000;
    await service.close();
    assert.deepEqual(
      malformed().map((l) => l.count),
      [1, 2],
      'the line held back says how many INVITEs it stands for',
    );
  });

  it('records a video fork as two audio tracks then two VIDEO tracks, maps "0 2" / "1 3" media-indexes to them, counting dropped values', async () => {
    const { service, repository, media } = cubeSetUp();
    const call = new FakeInvite(cubeFixture('cube-nbr-invite-video-malformed.sip'));
    service.onInvite(call);
    await answered(call);
    await service.settled();
    const session = repository.sessions.get('cube1')!;
    assert.equal(session.callControllerType, 'Cisco-SIPGateway');
    assert.deepEqual(trackLayout(session.tracks), videoForkLayout('6001', '6002'));
    assert.equal(service.counters.cubeParticipantsDropped, 4);
    // Video that never comes (one-way video, camera off) neither times the call out nor fails it.
    media.packetsByStream.set('cube1-2', 0);
    media.packetsByStream.set('cube1-3', 0);
    media.emit({ type: 'media-timeout', streamId: 'cube1-2' });
    call.delegate!.onBye!(ack(''));
    await waitFor(() => repository.sessions.get('cube1')!.sessionState !== 'ACTIVE');
    assert.equal(repository.sessions.get('cube1')!.sessionState, 'CLOSED_NORMAL');
    // H.264 is stored, not decoded: it does not make the session undecodable (that is for audio).
    const answer = parseSdp(call.answer!.content);
    assert.ok(answer.ok);
    assert.deepEqual(
      answer.value.media.map((m) => [m.type, m.port > 0, m.direction]),
      [
        ['audio', true, 'recvonly'],
        ['audio', true, 'recvonly'],
        ['video', true, 'recvonly'],
        ['video', true, 'recvonly'],
      ],
    );
  });

  it('recognises a CUBE fork without participant headers by Cisco-Guid and user agent, and never uses To as a participant', async () => {
    const { service, repository } = cubeSetUp();
    const call = new FakeInvite(cubeFixture('cube-nbr-invite-no-participant-header.sip'));
    service.onInvite(call);
    await answered(call);
    await service.settled();
    const session = repository.sessions.get('cube1')!;
    assert.equal(session.callControllerType, 'Cisco-SIPGateway');
    assert.equal(session.ccid, '0131359744-0000065536-0000000001-0745980426');
    assert.deepEqual(
      session.tracks.map((t) => t.participants.length),
      [0, 0],
    );
  });

  it('on a transfer re-INVITE updates the changed side only, answers 200 with the same ports, and ends the old participant', async () => {
    const { service, repository, clock } = cubeSetUp();
    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    const startMs = clock.nowMs;
    service.onInvite(call);
    await answered(call);
    const firstPorts = answerPorts(call.answer);
    clock.nowMs += 30_000;
    let response: { status: number; body?: SipBody } | undefined;
    call.delegate!.onRequest!(cubeFixture('cube-nbr-reinvite-transfer.sip'), (status, _reason, body) => {
      response = body === undefined ? { status } : { status, body };
    });
    assert.equal(response?.status, 200);
    assert.deepEqual(answerPorts(response.body), firstPorts);
    await service.settled();
    const transferredAt = clock.nowMs;
    const tracks = repository.sessions.get('cube1')!.tracks;
    assert.deepEqual(
      tracks[0]!.participants.map((p) => [p.deviceRef, p.participantStartDate, p.participantDuration]),
      [['4155550123', startMs, undefined]],
    );
    assert.deepEqual(
      tracks[1]!.participants.map((p) => [
        p.deviceRef,
        p.xRefCi,
        p.participantStartDate,
        p.participantDuration,
      ]),
      [
        ['20417', cubeXRefCi(GUID, 1, 'sip:20417@198.51.100.40'), startMs, 30_000],
        ['20988', cubeXRefCi(GUID, 1, 'sip:20988@198.51.100.40'), transferredAt, undefined],
      ],
    );

    // BYE: the participant that left keeps its duration, the others run to the end of the call.
    clock.nowMs += 10_000;
    call.delegate!.onBye!(ack(''));
    await waitFor(() => repository.sessions.get('cube1')!.sessionState !== 'ACTIVE');
    const closed = repository.sessions.get('cube1')!;
    assert.equal(closed.sessionState, 'CLOSED_NORMAL');
    assert.deepEqual(
      closed.tracks.map((t) => t.participants.map((p) => [p.deviceRef, p.participantDuration])),
      [
        [['4155550123', 40_000]],
        [
          ['20417', 30_000],
          ['20988', 10_000],
        ],
      ],
    );
  });

  it('leaves the participants alone on a re-INVITE without participant headers (session refresh)', async () => {
    const { service, repository } = cubeSetUp();
    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    service.onInvite(call);
    await answered(call);
    await service.settled();
    const before = repository.sessions.get('cube1')!.tracks.map((t) => t.participants);
    const refresh = cubeFixture('cube-nbr-reinvite-transfer.sip');
    let status: number | undefined;
    call.delegate!.onRequest!(
      { ...refresh, headers: refresh.headers.filter((h) => h.name !== 'X-Cisco-Recording-Participant') },
      (s) => {
        status = s;
      },
    );
    await service.settled();
    assert.equal(status, 200);
    assert.deepEqual(
      repository.sessions.get('cube1')!.tracks.map((t) => t.participants),
      before,
    );
  });
});
