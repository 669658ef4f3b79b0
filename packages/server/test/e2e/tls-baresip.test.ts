import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBaresipCall, writeToneWav, type BaresipCallResult } from '../support/baresip.js';
import { analyseChannel, assertTone } from '../support/cucm-calls.js';
import { freeTcpPort } from '../support/ports.js';
import { downloadWav, findSessionBy, type SessionJson } from '../support/session-api.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * baresip (Debian's, a user agent nobody here wrote) calls `verbatim serve` over SIP/TLS with the
 * certificate the server generated on first start, as a generic SIP endpoint would: one INVITE
 * with an early offer. The recording is found through the MediaSense API by its ccid (the Call-ID
 * of a generic call) and the WAV must carry baresip's tone for the length of the call.
 */

const TONE_HZ = 700;
const HOLD_MS = 3000;

let server: RunningServer;
let tlsPort: number;
let work: string;
let toneWav: string;

function describeCall(call: BaresipCallResult): string {
  return `baresip events: ${JSON.stringify(call.events.map((e) => [e.type, e.param]))}\n${call.output}`;
}

/** The SDP of Verbatim's 200 OK as baresip's SIP trace (-s) shows it. */
function answerSdp(call: BaresipCallResult): string {
  const output = call.output.replace(/\r/g, '');
  const start = output.search(/SIP\/2\.0 200 OK\n(?:[^\n]+\n)*CSeq: \d+ INVITE/);
  // The body ends where the trace's colour escape sequence (ESC [;m) closes the message.
  const body = start < 0 ? '' : (output.slice(start).split('\n\n')[1] ?? '');
  return body.split('\u001b')[0] ?? '';
}

async function recordedCall(call: BaresipCallResult): Promise<SessionJson> {
  assert.ok(call.callId !== undefined, `baresip set up no call:\n${describeCall(call)}`);
  return findSessionBy(server, 'ccid', call.callId, (s) => s.sessionState !== 'ACTIVE');
}

function assertRecordedTone(session: SessionJson, call: BaresipCallResult, wav: Int16Array): void {
  assert.ok(call.establishedAtMs !== undefined && call.closedAtMs !== undefined);
  const callSeconds = (call.closedAtMs - call.establishedAtMs) / 1000;
  assertTone(wav, TONE_HZ, callSeconds, `track 0 of ${session.sessionId}`);
}

describe('baresip calls Verbatim over SIP/TLS (generic SIP, early offer)', { timeout: 120_000 }, () => {
  serverForSuite(
    'baresip',
    async () => {
      tlsPort = await freeTcpPort();
      // The harness starts the node with TLS off; the later flag wins (commander keeps the last).
      return { extraArgs: ['--sip-tls-port', String(tlsPort)] };
    },
    (suite) => {
      ({ server, work } = suite);
      toneWav = join(work, 'tone.wav');
      // Longer than any call: aufile sends silence-free audio for the whole call.
      writeToneWav(toneWav, TONE_HZ, 30);
    },
  );

  it('plain RTP (G.711 µ-law): one SIP session with one track holding the tone for the length of the call', async () => {
    const call = await runBaresipCall({
      work,
      name: 'plain',
      tlsPort,
      toneWavPath: toneWav,
      holdMs: HOLD_MS,
      codec: 'PCMU',
      user: 'agent',
      target: 'record',
    });
    assert.ok(call.established, `the call was not established:\n${describeCall(call)}`);
    assert.ok(
      call.hungUpByBaresip,
      `Verbatim ended the call (${call.closeReason ?? ''}):\n${describeCall(call)}`,
    );
    assert.equal(call.exitCode, 0);
    // baresip's SIP trace names the transport of each message: the INVITE went over TLS, to the
    // TLS port, with the certificate the node generated in its data dir on first start.
    assert.match(
      call.output.replace(/\r/g, ''),
      new RegExp(`^TLS 127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${tlsPort}\n+INVITE sip:record@`, 'm'),
    );
    assert.ok(existsSync(join(server.dataDir, 'tls', 'server.crt')), 'the node generated its certificate');
    const answer = answerSdp(call);
    assert.match(answer, /^m=audio \d+ RTP\/AVP 0\b/m, `answer:\n${answer}`);
    assert.match(answer, /^a=recvonly$/m);

    const session = await recordedCall(call);
    assert.equal(session.sessionState, 'CLOSED_NORMAL');
    assert.equal(session.callControllerType, 'SIP');
    assert.equal(session.callControllerIP, '127.0.0.1');
    assert.equal(session.tracks.length, 1);
    const [track] = session.tracks;
    assert.ok(track);
    assert.equal(track.trackNumber, 0);
    assert.equal(track.codec, 'PCMU');
    assert.deepEqual(
      track.participants.map((p) => [p.deviceRef, p.isConference]),
      [
        ['agent', false],
        ['record', false],
      ],
    );
    assert.ok(track.stats.packets >= 100, `packets recorded: ${track.stats.packets}`);
    assert.equal(track.stats.lost, 0);

    const { wav } = await downloadWav(server, session);
    assert.equal(wav.sampleRateHz, 8000);
    assertRecordedTone(session, call, wav.channelSamples[0]!);
    assert.equal(analyseChannel(wav.channelSamples[1]!).firstMs, -100, 'the unused right channel is silent');
  });

  it('SRTP (RTP/SAVP, a=crypto AES_CM_128_HMAC_SHA1_80): the answer keeps SRTP and the recorded WAV has the tone', async () => {
    const call = await runBaresipCall({
      work,
      name: 'srtp',
      tlsPort,
      toneWavPath: toneWav,
      holdMs: HOLD_MS,
      codec: 'PCMU',
      mediaenc: 'srtp-mand',
    });
    assert.ok(call.established, `the call was not established:\n${describeCall(call)}`);
    // RFC 3264 §6 / RFC 4568 §7.1.2: the answer keeps the offered RTP/SAVP and carries our key.
    const answer = answerSdp(call);
    assert.match(answer, /^m=audio \d+ RTP\/SAVP 0\b/m, `answer:\n${answer}`);
    assert.match(answer, /^a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:/m, `answer:\n${answer}`);
    assert.ok(
      call.hungUpByBaresip,
      `Verbatim ended the call (${call.closeReason ?? ''}):\n${describeCall(call)}`,
    );

    const session = await recordedCall(call);
    assert.equal(session.sessionState, 'CLOSED_NORMAL');
    assert.equal(session.callControllerType, 'SIP');
    assert.equal(session.tracks.length, 1);
    assert.equal(session.tracks[0]?.codec, 'PCMU');
    const { wav } = await downloadWav(server, session);
    assertRecordedTone(session, call, wav.channelSamples[0]!);
  });
});
