import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutboundConfig } from '../../../src/config/config.js';
import type { SipResponse } from '../../../src/protocol/sip/message.js';
import { encodeUtf8 } from '../../../src/protocol/text.js';
import type {
  OutboundCall,
  OutboundCallOutcome,
  OutboundCaller,
  OutboundCallRequest,
} from '../../../src/sip/outbound-types.js';
import type { ServerDialog } from '../../../src/sip/types.js';
import { setUp } from '../../support/recording-fakes.js';

/**
 * Direct outbound recording in the recording domain: the SIP client side is a fake caller whose
 * calls the test answers or fails, the media engine and the repository are the recording fakes.
 */

const CONFIG: OutboundConfig = {
  proxy: { uri: 'sip:10.0.0.5:5070;transport=tcp', protocol: 'tcp', host: '10.0.0.5', port: 5070 },
  credentials: { username: 'recorder', password: 'pw' },
  answerTimeoutMs: 30_000,
};

const DEVICE_ANSWER =
  'v=0\r\no=- 1 1 IN IP4 10.0.0.77\r\ns=-\r\nc=IN IP4 10.0.0.77\r\nt=0 0\r\nm=audio 24000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n';

class FakeDialog implements ServerDialog {
  readonly callId = 'c';
  readonly localTag = 'l';
  readonly remoteTag = 'r';
  byes = 0;
  terminated = false;
  bye(): void {
    this.byes++;
    this.terminated = true;
  }
}

interface PlacedCall {
  readonly request: OutboundCallRequest;
  cancelled: boolean;
  settle(outcome: OutboundCallOutcome): void;
}

class FakeCaller implements OutboundCaller {
  readonly calls: PlacedCall[] = [];

  call(request: OutboundCallRequest): OutboundCall {
    let settle!: (outcome: OutboundCallOutcome) => void;
    const outcome = new Promise<OutboundCallOutcome>((resolve) => {
      settle = resolve;
    });
    const placed: PlacedCall = { request, cancelled: false, settle };
    this.calls.push(placed);
    return {
      callId: request.callId ?? 'generated',
      outcome,
      cancel: () => {
        placed.cancelled = true;
        settle({ kind: 'failed', reason: 'cancelled', detail: 'cancelled before the device answered' });
      },
    };
  }

  async placed(): Promise<PlacedCall> {
    for (let i = 0; i < 50 && this.calls.length === 0; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const last = this.calls.at(-1);
    assert.ok(last !== undefined, 'a call was placed');
    return last;
  }
}

function ok200(sdp: string): SipResponse {
  return { type: 'response', status: 200, reason: 'OK', headers: [], body: encodeUtf8(sdp) };
}

/** `config: undefined` is a node without --outbound-proxy. */
function outboundSetUp(options: { config: OutboundConfig | undefined } = { config: CONFIG }) {
  const { config } = options;
  const base = setUp({ startMs: 1_700_000_000_000 });
  const caller = new FakeCaller();
  const recorder = base.service.outboundRecorder(caller, config);
  return { ...base, caller, recorder };
}

void describe('OutboundRecorder (startRecording / stopRecording)', () => {
  void it('calls sip:<deviceRef>@<proxy> with a recvonly offer, records from the answer, and stops with BYE', async () => {
    const { recorder, caller, repository, media, clock, events } = outboundSetUp();
    const starting = recorder.start('1000');
    const call = await caller.placed();
    assert.equal(call.request.requestUri, 'sip:1000@10.0.0.5:5070');
    assert.deepEqual(call.request.proxy, CONFIG.proxy);
    assert.deepEqual(call.request.credentials, CONFIG.credentials);
    assert.match(call.request.offer.content, /m=audio \d+ RTP\/AVP 0 8 9 18 101/);
    assert.match(call.request.offer.content, /a=recvonly/);
    clock.nowMs += 4000; // four seconds of ringing
    const dialog = new FakeDialog();
    call.settle({ kind: 'answered', dialog, response: ok200(DEVICE_ANSWER) });
    const started = await starting;
    assert.ok(started.ok);
    const session = repository.sessions.get(started.sessionId);
    assert.ok(session !== undefined);
    assert.equal(session.sessionState, 'ACTIVE');
    assert.equal(session.callControllerType, 'Cisco-CUCM');
    assert.equal(session.callControllerIP, '10.0.0.5');
    assert.equal(session.ccid, call.request.callId, 'the Call-ID of the INVITE');
    assert.equal(
      session.sessionStartDate,
      clock.nowMs,
      'the session starts at the answer, not at the INVITE',
    );
    assert.deepEqual(
      session.tracks.map((t) => [
        t.trackNumber,
        t.codec,
        t.trackStartDate,
        t.participants.map((p) => p.deviceRef),
      ]),
      [[0, 'PCMU', clock.nowMs, ['1000']]],
    );
    const streamId = `${started.sessionId}-0`;
    assert.equal(media.expected.get(streamId)?.address, '10.0.0.77', 'media from the device');
    assert.deepEqual(
      events.map((e) => `${e.eventType} ${e.eventAction}`),
      ['SESSION_EVENT STARTED'],
    );

    const again = await recorder.start('1000');
    assert.ok(!again.ok);
    assert.equal(again.failure.kind, 'already-recording');

    clock.nowMs += 10_000;
    const stopped = await recorder.stop({ deviceRef: '1000' });
    assert.deepEqual(stopped, { ok: true, deviceRef: '1000', sessionId: started.sessionId });
    assert.equal(dialog.byes, 1);
    const closed = repository.sessions.get(started.sessionId);
    assert.equal(closed?.sessionState, 'CLOSED_NORMAL');
    assert.equal(closed.sessionDuration, 10_000);
    assert.deepEqual(media.closed, [streamId]);
    assert.deepEqual(
      events.map((e) => `${e.eventType} ${e.eventAction}`),
      ['SESSION_EVENT STARTED', 'SESSION_EVENT ENDED'],
    );
    const none = await recorder.stop({ deviceRef: '1000' });
    assert.ok(!none.ok);
    assert.equal(none.failure.kind, 'not-found');
  });

  void it('ends the session when the device hangs up, and frees the device', async () => {
    const { recorder, caller, repository, service } = outboundSetUp();
    const starting = recorder.start('2000');
    const call = await caller.placed();
    call.settle({ kind: 'answered', dialog: new FakeDialog(), response: ok200(DEVICE_ANSWER) });
    const started = await starting;
    assert.ok(started.ok);
    call.request.delegate.onBye?.({
      type: 'request',
      method: 'BYE',
      requestUri: 'sip:x',
      headers: [],
      body: new Uint8Array(0),
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await service.settled();
    assert.equal(repository.sessions.get(started.sessionId)?.sessionState, 'CLOSED_NORMAL');
    const stop = await recorder.stop({ sessionId: started.sessionId });
    assert.ok(!stop.ok);
    assert.equal(stop.failure.kind, 'not-found');
  });

  void it('reports a failed call with its reason and SIP status, publishes OUTBOUND_FAILED and gives the port back', async () => {
    const { recorder, caller, repository, media, events } = outboundSetUp();
    const starting = recorder.start('3000');
    const call = await caller.placed();
    call.settle({
      kind: 'failed',
      reason: 'busy',
      sipStatus: 486,
      detail: 'the call controller answered 486 Busy Here',
    });
    const result = await starting;
    assert.deepEqual(result, {
      ok: false,
      failure: {
        kind: 'busy',
        detail: 'the call controller answered 486 Busy Here',
        callId: call.request.callId,
        sipStatus: 486,
      },
    });
    assert.equal(repository.sessions.size, 0, 'nothing stored for a call that never started');
    assert.equal(media.open.size, 0, 'the stream opened for the offer is closed');
    assert.deepEqual(events, [
      {
        eventType: 'RECORDING_EVENT',
        eventAction: 'OUTBOUND_FAILED',
        deviceRef: '3000',
        callId: call.request.callId,
        reason: 'busy',
        sipStatus: 486,
        detail: 'the call controller answered 486 Busy Here',
        at: events[0]?.at,
      },
    ]);
    // The device is free again: a new startRecording places a new call.
    const again = recorder.start('3000');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(caller.calls.length, 2);
    caller.calls[1]?.settle({ kind: 'failed', reason: 'no-answer', detail: 'not answered within 30 s' });
    assert.equal((await again).ok, false);
  });

  void it('hangs up an answer without usable audio and reports it', async () => {
    const { recorder, caller, repository } = outboundSetUp();
    const starting = recorder.start('4000');
    const dialog = new FakeDialog();
    (await caller.placed()).settle({
      kind: 'answered',
      dialog,
      response: ok200(
        'v=0\r\no=- 1 1 IN IP4 10.0.0.77\r\ns=-\r\nc=IN IP4 10.0.0.77\r\nt=0 0\r\nm=video 24000 RTP/AVP 96\r\n',
      ),
    });
    const result = await starting;
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, 'bad-answer');
    assert.equal(dialog.byes, 1);
    assert.equal(repository.sessions.size, 0);
  });

  void it('cancels a ringing call on stopRecording', async () => {
    const { recorder, caller } = outboundSetUp();
    const starting = recorder.start('5000');
    const call = await caller.placed();
    const stopped = await recorder.stop({ deviceRef: '5000' });
    assert.deepEqual(stopped, { ok: true, deviceRef: '5000' });
    assert.equal(call.cancelled, true);
    const result = await starting;
    assert.ok(!result.ok);
    assert.equal(result.failure.kind, 'cancelled');
  });

  void it('refuses without --outbound-proxy, a device reference that is not a dial string, and on shutdown', async () => {
    const off = outboundSetUp({ config: undefined });
    const notConfigured = await off.recorder.start('1000');
    assert.ok(!notConfigured.ok);
    assert.equal(notConfigured.failure.kind, 'not-configured');
    assert.match(notConfigured.failure.detail, /--outbound-proxy/);
    const { recorder, service, caller } = outboundSetUp();
    for (const bad of ['', '10 00', 'a@b', '<sip:x>', 'x'.repeat(65)]) {
      const result = await recorder.start(bad);
      assert.ok(!result.ok);
      assert.equal(result.failure.kind, 'invalid-device', bad);
    }
    await service.close();
    const closed = await recorder.start('1000');
    assert.ok(!closed.ok);
    assert.equal(closed.failure.kind, 'unavailable');
    assert.equal(caller.calls.length, 0);
  });
});
