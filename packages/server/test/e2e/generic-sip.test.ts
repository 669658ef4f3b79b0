import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyseChannel, assertChannelTones, assertTone, capture } from '../support/cucm-calls.js';
import { pcmuTone, streamToneWithFfmpeg } from '../support/ffmpeg-tone.js';
import { genericSipScenario, runGenericCall, type GenericSipScenario } from '../support/generic-calls.js';
import { waitExit, type Spawned } from '../support/processes.js';
import { assertStoredPackets, downloadWav, findSessionBy, type SessionJson } from '../support/session-api.js';
import { assertInRtpRange, serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * SIPp plays a plain SIP endpoint (not CUCM, not CUBE, not SIPREC): one INVITE with an early SDP
 * offer and RTP replayed from a capture. Verbatim must record it as a `SIP` session with one
 * track per audio m= line and the From / To users as participants (DESIGN.md §1.2, generic SIP).
 */

const SIPP_HZ = 600;
const FFMPEG_HZ = 1500;
const TONE_SECONDS = 3;

let server: RunningServer;
let work: string;
let callCounter = 0;

/** A number nobody else's session carries, so searching by it finds this call only. */
function uniqueNumber(prefix: string): string {
  return `${prefix}${String(Date.now() % 1_000_000).padStart(6, '0')}${callCounter}`;
}

/** Runs the call to its end and gives its Call-ID; `whileUp` gets the answer's second port. */
async function runSoftphoneCall(
  scenario: GenericSipScenario,
  whileUp?: (secondPort: number) => Promise<Spawned>,
): Promise<string> {
  callCounter++;
  const { callId } = await runGenericCall(server, work, {
    name: `generic-${callCounter}`,
    scenario: genericSipScenario(scenario),
    holdMs: scenario.holdMs,
    ...(whileUp === undefined ? {} : { answerLog: 'second-audio' as const, whileUp }),
  });
  return callId;
}

function assertGenericSession(session: SessionJson, callId: string): void {
  assert.equal(session.sessionState, 'CLOSED_NORMAL');
  assert.equal(session.callControllerType, 'SIP');
  assert.equal(session.callControllerIP, '127.0.0.1');
  assert.equal(session.ccid, callId, 'a generic call is identified by its Call-ID');
}

describe(
  'a generic SIP call recorded end to end (sipp as a plain SIP endpoint, verbatim serve)',
  { timeout: 120_000 },
  () => {
    // The second test's first line falls silent after its capture while ffmpeg (started later)
    // still streams the second; the media timeout must outlast that silence.
    serverForSuite('generic', { mediaTimeoutSeconds: 10 }, (suite) => {
      ({ server, work } = suite);
    });

    it('one m=audio line: a SIP session of one track with the From and To users as participants and the tone in the WAV', async () => {
      const fromUser = uniqueNumber('2');
      const toUser = uniqueNumber('3');
      const callId = await runSoftphoneCall({
        fromUser,
        toUser,
        audioLines: 1,
        pcapPath: capture(work, 'generic-one', 'PCMU', SIPP_HZ, TONE_SECONDS),
        holdMs: 3300,
      });
      const session = await findSessionBy(server, 'ccid', callId, (s) => s.sessionState !== 'ACTIVE');
      assertGenericSession(session, callId);
      assert.deepEqual(
        session.tracks.map((t) => [
          t.trackNumber,
          t.codec,
          t.participants.map((p) => [p.deviceRef, p.isConference]),
        ]),
        [
          [
            0,
            'PCMU',
            [
              [fromUser, false],
              [toUser, false],
            ],
          ],
        ],
      );
      assert.deepEqual(
        session.tracks.map((t) => [t.stats.packets, t.stats.lost]),
        [[(TONE_SECONDS * 1000) / 20, 0]],
      );
      const byNumber = await findSessionBy(server, 'deviceRef', toUser, () => true);
      assert.equal(byNumber.sessionId, session.sessionId, 'the session is found by the dialled number');

      const { wav } = await downloadWav(server, session);
      assert.equal(wav.sampleRateHz, 8000);
      assertTone(wav.channelSamples[0]!, SIPP_HZ, TONE_SECONDS, 'left (track 0)');
      assert.equal(
        analyseChannel(wav.channelSamples[1]!).firstMs,
        -100,
        'the right channel (no track) is silent',
      );
    });

    it('two m=audio lines: one track per line, From user on track 0 and To user on track 1, each line its own channel', async () => {
      const fromUser = uniqueNumber('4');
      const toUser = uniqueNumber('5');
      let ffmpeg: Spawned | undefined;
      const callId = await runSoftphoneCall(
        {
          fromUser,
          toUser,
          audioLines: 2,
          pcapPath: capture(work, 'generic-two', 'PCMU', SIPP_HZ, TONE_SECONDS),
          // ffmpeg starts only once the answer is known and may lag SIPp's capture on a loaded
          // machine; the hold leaves room for its whole tone (as in cube-recording.test.ts).
          holdMs: 6000,
        },
        async (secondPort) => {
          assertInRtpRange(server, secondPort, 'the second m=audio port');
          const sender = streamToneWithFfmpeg('ffmpeg line 1', secondPort, pcmuTone(FFMPEG_HZ, TONE_SECONDS));
          ffmpeg = sender;
          const code = await waitExit(sender, 30_000);
          assert.equal(code, 0, `ffmpeg exits 0:\n${sender.output()}`);
          return sender;
        },
      );
      const session = await findSessionBy(server, 'ccid', callId, (s) => s.sessionState !== 'ACTIVE');
      assertGenericSession(session, callId);
      assert.deepEqual(
        session.tracks.map((t) => [t.trackNumber, t.codec, t.participants.map((p) => p.deviceRef)]),
        [
          [0, 'PCMU', [fromUser]],
          [1, 'PCMU', [toUser]],
        ],
      );
      assertStoredPackets(session, [150, 150]);
      // ffmpeg starts after SIPp's capture, so each channel is checked on its own timeline.
      await assertChannelTones(server, session, [
        { hz: SIPP_HZ, seconds: TONE_SECONDS, label: 'left (track 0, sipp)' },
        { hz: FFMPEG_HZ, seconds: TONE_SECONDS, label: `right (track 1, ffmpeg)\n${ffmpeg?.output() ?? ''}` },
      ]);
    });
  },
);
