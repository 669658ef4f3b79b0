import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSdp } from '../../../src/protocol/sdp/sdp.js';
import type { SipBody } from '../../../src/sip/types.js';
import { cubeFixture } from '../../support/cube-fixtures.js';
import {
  ack,
  answered,
  answerPorts,
  FakeInvite,
  invite,
  sendInDialog,
  setUp as setUpService,
  type RecordingSetUp,
} from '../../support/recording-fakes.js';
import { waitFor } from '../../support/wait.js';

/**
 * What happens during a call (issue 4 point 1): hold and resume by re-INVITE, a codec change,
 * and codecs Verbatim records without decoding them.
 */

const LINE_1 = 'm=audio 16386 RTP/AVP 8 101 19\nc=IN IP4 198.51.100.20';

const setUp = (): RecordingSetUp => setUpService({ startMs: 1_795_597_925_000, sessionIdPrefix: 's' });

function reInvite(
  call: FakeInvite,
  replace: Readonly<Record<string, string>>,
): Promise<{ status: number; body?: SipBody }> {
  return sendInDialog(
    call,
    cubeFixture('cube-nbr-invite.sip', { 'CSeq: 101 INVITE': 'CSeq: 102 INVITE', ...replace }),
  );
}

describe('RecordingService: CUBE hold and resume', () => {
  it('keeps the session and tags the held track (in its own tags) TrackInactive then TrackActive, with offsets (c=0.0.0.0 and a=inactive)', async () => {
    const { service, repository, clock } = setUp();
    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    service.onInvite(call);
    await answered(call);
    const firstPorts = answerPorts(call.answer);

    clock.nowMs += 12_000;
    const hold = await reInvite(call, { [LINE_1]: 'm=audio 16386 RTP/AVP 8 101 19\nc=IN IP4 0.0.0.0' });
    assert.equal(hold.status, 200);
    assert.deepEqual(answerPorts(hold.body), firstPorts);

    clock.nowMs += 8_000;
    const resume = await reInvite(call, {});
    assert.equal(resume.status, 200);

    clock.nowMs += 5_000;
    const inactive = await reInvite(call, { 'a=sendonly': 'a=inactive' });
    assert.equal(inactive.status, 200);
    await service.settled();

    const session = repository.sessions.get('s1')!;
    assert.equal(session.sessionState, 'ACTIVE');
    assert.equal(repository.sessions.size, 1);
    // Track-level system tags go in the track's own list (reference §5.2), not the session's.
    assert.deepEqual(session.tags, []);
    assert.deepEqual(
      session.tracks.map((track) =>
        track.tags.map((t) => [t.tagName, t.tagType, t.trackNumber, t.tagOffset]),
      ),
      [
        [['TrackInactive', 'SYSTEM_DEFINED', 0, 25_000]],
        [
          ['TrackInactive', 'SYSTEM_DEFINED', 1, 12_000],
          ['TrackActive', 'SYSTEM_DEFINED', 1, 20_000],
          ['TrackInactive', 'SYSTEM_DEFINED', 1, 25_000],
        ],
      ],
    );
  });

  it('does not end a held call for lack of media, but does once it is resumed and silent', async () => {
    const { service, repository, media, clock } = setUp();
    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    service.onInvite(call);
    await answered(call);
    clock.nowMs += 1_000;
    await reInvite(call, { 'a=sendonly': 'a=inactive' });
    const streams = [...media.open.keys()];
    for (const streamId of streams) {
      media.emit({ type: 'media-timeout', streamId, lastPacketAt: clock.nowMs - 1 });
    }
    await service.settled();
    assert.equal(repository.sessions.get('s1')!.sessionState, 'ACTIVE');
    assert.equal(call.byes, 0);

    await reInvite(call, {});
    assert.deepEqual(media.rearmed, streams, 'the resumed lines must send again within the timeout');
    // The hold's silence is no gap in the recording's health; the count starts again at the resume.
    assert.deepEqual(media.holds, [
      ...streams.map((id) => [id, true] as const),
      ...streams.map((id) => [id, false] as const),
    ]);
    media.emit({ type: 'media-timeout', streamId: streams[0]!, lastPacketAt: clock.nowMs });
    await waitFor(() => repository.sessions.get('s1')!.sessionState !== 'ACTIVE');
    assert.equal(repository.sessions.get('s1')!.sessionState, 'CLOSED_ERROR');
  });
});

describe('RecordingService: media that moves', () => {
  it('learns the sending port again when a re-offer moves the line to another port, not on a refresh', async () => {
    const { service, media } = setUp();
    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    service.onInvite(call);
    await answered(call);
    assert.deepEqual(media.expected.get('s1-1'), { address: '198.51.100.20', port: 0 });
    await reInvite(call, {});
    assert.deepEqual(media.expected.get('s1-1'), { address: '198.51.100.20', port: 0 });
    await reInvite(call, { 'm=audio 16386 ': 'm=audio 16390 ' });
    assert.deepEqual(media.expected.get('s1-1'), { address: '198.51.100.20', port: 0, relearn: true });
    assert.deepEqual(media.expected.get('s1-0'), { address: '198.51.100.20', port: 0 });
  });
});

describe('RecordingService: mid-call codec change', () => {
  it('ends the session and records on in a new one with the same ccid and participants, on new ports', async () => {
    const { service, repository, media, clock } = setUp();
    const call = new FakeInvite(cubeFixture('cube-nbr-invite.sip'));
    service.onInvite(call);
    await answered(call);
    const firstPorts = answerPorts(call.answer);
    clock.nowMs += 30_000;
    const change = await reInvite(call, {
      'RTP/AVP 8 101 19': 'RTP/AVP 0 101 19',
      'a=rtpmap:8 PCMA/8000': 'a=rtpmap:0 PCMU/8000',
    });
    assert.equal(change.status, 200);
    const newPorts = answerPorts(change.body);
    assert.equal(newPorts.length, 2);
    assert.ok(
      newPorts.every((p) => !firstPorts.includes(p)),
      'the new session records on new ports',
    );
    await waitFor(() => repository.sessions.get('s1')?.sessionState === 'CLOSED_NORMAL');
    await service.settled();
    const [first, second] = [repository.sessions.get('s1')!, repository.sessions.get('s2')!];
    assert.equal(first.sessionDuration, 30_000);
    assert.equal(second.sessionState, 'ACTIVE');
    assert.equal(second.ccid, first.ccid);
    assert.equal(second.sessionStartDate, clock.nowMs);
    assert.deepEqual(
      second.tracks.map((t) => [t.codec, t.payloadType]),
      [
        ['PCMU', 0],
        ['PCMU', 0],
      ],
    );
    assert.deepEqual(
      second.tracks.map((t) => t.participants.map((p) => [p.deviceRef, p.xRefCi])),
      first.tracks.map((t) => t.participants.map((p) => [p.deviceRef, p.xRefCi])),
    );
    assert.equal(service.counters.codecChanges, 1);
    assert.equal(media.open.size, 2, 'the old streams are closed');

    // The dialog now belongs to the new session: its BYE closes it.
    clock.nowMs += 10_000;
    call.delegate!.onBye!(ack(''));
    await waitFor(() => repository.sessions.get('s2')!.sessionState !== 'ACTIVE');
    assert.equal(repository.sessions.get('s2')!.sessionState, 'CLOSED_NORMAL');
    assert.equal(repository.sessions.get('s2')!.sessionDuration, 10_000);
  });
});

describe('RecordingService: codecs', () => {
  const offer = (mLine: string, rtpmaps: string[]): { type: string; content: string } => ({
    type: 'application/sdp',
    content: [
      'v=0',
      'o=- 1 1 IN IP4 10.0.0.9',
      's=-',
      'c=IN IP4 10.0.0.9',
      't=0 0',
      mLine,
      ...rtpmaps,
      'a=sendonly',
      '',
    ].join('\r\n'),
  });

  it('records a codec it cannot decode raw, with its name and rate on the track, and says so in an event', async () => {
    const { service, repository, events } = setUp();
    const call = invite(
      '<sip:alice@10.0.0.9>;tag=a',
      offer('m=audio 7000 RTP/AVP 97', ['a=rtpmap:97 AMR-WB/16000']),
    );
    service.onInvite(call);
    await answered(call);
    await service.settled();
    assert.equal(call.rejection, undefined);
    const track = repository.sessions.get('s1')!.tracks[0]!;
    assert.deepEqual([track.codec, track.payloadType, track.clockRateHz], ['AMR-WB', 97, 16000]);
    assert.match(call.answer!.content, /a=rtpmap:97 AMR-WB\/16000\r\n/);
    assert.deepEqual(
      events.map((e) => [e.eventType, e.eventAction]),
      [
        ['RECORDING_EVENT', 'UNDECODABLE'],
        ['SESSION_EVENT', 'STARTED'],
      ],
    );
    const undecodable = events[0];
    assert.ok(undecodable?.eventAction === 'UNDECODABLE');
    assert.deepEqual(undecodable.tracks, [{ trackNumber: 0, codec: 'AMR-WB', clockRateHz: 16000 }]);
  });

  it('records G.722, G.729 and Opus with their payload types', async () => {
    const { service, repository } = setUp();
    for (const [mLine, rtpmaps] of [
      ['m=audio 7000 RTP/AVP 9', []],
      ['m=audio 7000 RTP/AVP 18', ['a=fmtp:18 annexb=yes']],
      ['m=audio 7000 RTP/AVP 111', ['a=rtpmap:111 opus/48000/2']],
    ] as const) {
      const call = invite('<sip:alice@10.0.0.9>;tag=a', offer(mLine, [...rtpmaps]));
      service.onInvite(call);
      await answered(call);
    }
    await service.settled();
    assert.deepEqual(
      [...repository.sessions.values()].map((s) => [s.tracks[0]!.codec, s.tracks[0]!.clockRateHz]),
      [
        ['G722', 8000],
        ['G729', 8000],
        ['OPUS', 48000],
      ],
    );
  });

  it('refuses with 488, a Warning and an event a line that carries only telephone-event', async () => {
    const { service, events } = setUp();
    const call = invite(
      '<sip:alice@10.0.0.9>;tag=a',
      offer('m=audio 7000 RTP/AVP 101', ['a=rtpmap:101 telephone-event/8000']),
    );
    service.onInvite(call);
    await answered(call);
    assert.equal(call.rejection?.status, 488);
    assert.match(call.rejection.headers.find((h) => h.name === 'Warning')?.value ?? '', /^399 /);
    const [event] = events;
    assert.ok(event?.eventType === 'RECORDING_EVENT' && event.eventAction === 'REJECTED');
    assert.equal(event.sipStatus, 488);
    assert.match(event.reason, /TELEPHONE-EVENT/);
  });

  it('answers 415 to a body that is neither SDP nor SIPREC', async () => {
    const { service } = setUp();
    const call = invite('<sip:alice@10.0.0.9>;tag=a', { type: 'text/plain', content: 'hello' });
    service.onInvite(call);
    await answered(call);
    assert.equal(call.rejection?.status, 415);
  });

  it('records an SDES-SRTP line: decrypts with the offered key and answers RTP/SAVP with a key of its own', async () => {
    const { service, repository, media } = setUp();
    const key = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz';
    const call = invite(
      '<sip:alice@10.0.0.9>;tag=a',
      offer('m=audio 7000 RTP/SAVP 0 101', [
        'a=rtpmap:101 telephone-event/8000',
        'a=crypto:1 AES_CM_999 inline:AAAA',
        `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${key}`,
      ]),
    );
    service.onInvite(call);
    await answered(call);
    await service.settled();
    const spec = media.specs.get('s1-0');
    assert.ok(spec?.srtp !== undefined && spec.srtp !== 'pending');
    assert.equal(spec.srtp.suite, 'AES_CM_128_HMAC_SHA1_32');
    assert.equal(Buffer.from([...spec.srtp.masterKey, ...spec.srtp.masterSalt]).toString('base64'), key);
    const answer = parseSdp(call.answer!.content);
    assert.ok(answer.ok);
    const line = answer.value.media[0]!;
    assert.equal(line.protocol, 'RTP/SAVP');
    assert.equal(line.crypto.length, 1);
    assert.match(line.crypto[0]!, /^2 AES_CM_128_HMAC_SHA1_32 inline:[A-Za-z0-9+/]{40}$/);
    assert.ok(!line.crypto[0]!.includes(key), 'the answer carries our key, not theirs');
    assert.equal(media.telephoneEvents.get('s1-0'), 101);
    assert.equal(repository.sessions.get('s1')!.tracks[0]!.codec, 'PCMU');
  });

  it('refuses an SRTP line without a usable key (488) rather than store ciphertext', async () => {
    const { service } = setUp();
    const call = invite('<sip:alice@10.0.0.9>;tag=a', offer('m=audio 7000 RTP/SAVP 0', []));
    service.onInvite(call);
    await answered(call);
    assert.equal(call.rejection?.status, 488);
  });

  it('turns a burst of DTMF key presses into one system tag of its track, at the first digit, when the track ends', async () => {
    const { service, repository, media, clock, events } = setUp();
    const call = invite(
      '<sip:alice@10.0.0.9>;tag=a',
      offer('m=audio 7000 RTP/AVP 8 101', ['a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16']),
    );
    const startMs = clock.nowMs;
    service.onInvite(call);
    await answered(call);
    media.emit({ type: 'dtmf', streamId: 's1-0', digit: '5', at: startMs + 3_250, durationMs: 120 });
    media.emit({ type: 'dtmf', streamId: 's1-0', digit: '#', at: startMs + 4_000, durationMs: 100 });
    await service.settled();
    assert.deepEqual(repository.sessions.get('s1')!.tracks[0]!.tags, [], 'the burst is still open');
    call.delegate!.onBye!(ack(''));
    await waitFor(() => repository.sessions.get('s1')!.sessionState !== 'ACTIVE');
    const session = repository.sessions.get('s1')!;
    assert.deepEqual(session.tags, []);
    assert.deepEqual(
      session.tracks[0]!.tags.map((t) => [t.tagName, t.tagType, t.trackNumber, t.tagOffset]),
      [['DTMF:5#', 'SYSTEM_DEFINED', 0, 3_250]],
    );
    // Announced before the session's end.
    assert.deepEqual(
      events.flatMap((e) =>
        e.eventType === 'TAG_EVENT'
          ? [e.tag.tagName]
          : e.eventType === 'SESSION_EVENT'
            ? [e.eventAction]
            : [],
      ),
      ['STARTED', 'DTMF:5#', 'UPDATED', 'ENDED'],
    );
  });

  it('refuses a new call with 503 and Retry-After while storage is critical', async () => {
    let critical = true;
    const { service, media } = setUpService({ storageCritical: () => critical });
    const refused = invite('<sip:alice@10.0.0.9>;tag=a', offer('m=audio 7000 RTP/AVP 0', []));
    service.onInvite(refused);
    await answered(refused);
    assert.equal(refused.rejection?.status, 503);
    assert.ok(refused.rejection.headers.some((h) => h.name === 'Retry-After'));
    assert.equal(media.specs.size, 0);
    assert.equal(service.counters.storageRefused, 1);

    critical = false;
    const accepted = invite('<sip:alice@10.0.0.9>;tag=b', offer('m=audio 7000 RTP/AVP 0', []));
    service.onInvite(accepted);
    await answered(accepted);
    assert.equal(accepted.rejection, undefined);
  });
});
