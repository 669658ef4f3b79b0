import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cubeForkingScenario, findSessionByCcid, randomCiscoGuid } from '../support/cube-calls.js';
import { assertChannelTones, capture } from '../support/cucm-calls.js';
import { pcmuTone, streamToneWithFfmpeg } from '../support/ffmpeg-tone.js';
import { failWithOutputs, outputsOf, waitExit, type Spawned } from '../support/processes.js';
import { assertStoredPackets } from '../support/session-api.js';
import { startSipp, waitForLoggedPort } from '../support/sipp-process.js';
import { LOG_SECOND_AUDIO_PORT } from '../support/sipp-scenarios.js';
import { assertInRtpRange, serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * SIPp plays a Cisco CUBE forking one call to Verbatim with a dial-peer: one INVITE offering two
 * sendonly m=audio lines. SIPp replays a 500 Hz capture to the first line of the answer and
 * ffmpeg streams a 1300 Hz tone to the second, so both parties come from real, independent RTP
 * senders. The session is then found by its ccid (the Cisco-Guid) through the MediaSense API
 * and the WAV is analysed channel by channel.
 */

const SIPP_HZ = 500;
const FFMPEG_HZ = 1300;
const TONE_SECONDS = 3;
/**
 * SIPp holds the call this long after the ACK. ffmpeg starts only once the answer is known and
 * may lag SIPp's capture by up to a second or two on a loaded machine; the hold leaves room for
 * its whole tone, and the trailing silence of the first channel is not a gap inside the call.
 */
const HOLD_MS = 6000;

describe(
  'a CUBE dial-peer forked call recorded end to end (sipp as CUBE, ffmpeg, verbatim serve)',
  {
    timeout: 120_000,
  },
  () => {
    let server: RunningServer;
    let work: string;

    // The media timeout must exceed the silence of the first line between the end of the SIPp
    // capture and the BYE, or the session would end as CLOSED_ERROR.
    serverForSuite('cube', { mediaTimeoutSeconds: 10 }, (suite) => {
      ({ server, work } = suite);
    });

    it('one INVITE with two m=audio lines becomes one session of two tracks, each party on its own WAV channel', async () => {
      const ciscoGuid = randomCiscoGuid();
      const pcapPath = capture(work, 'cube-line0-pcmu', 'PCMU', SIPP_HZ, TONE_SECONDS);
      let ffmpeg: Spawned | undefined;
      const { run, first: secondPort } = await startSipp(
        'sipp cube',
        server,
        cubeForkingScenario({
          ciscoGuid,
          participants: ['4155550123', '20417'],
          pcapPath,
          holdMs: HOLD_MS,
        }),
        { work },
        (r) => waitForLoggedPort(r, LOG_SECOND_AUDIO_PORT),
      );
      const outputs = (): string => outputsOf([run.sipp, ffmpeg]);
      await failWithOutputs(
        () => [run.sipp, ffmpeg],
        async () => {
          assertInRtpRange(server, secondPort, 'the second m=audio port');
          // pcmuTone: 20 ms per RTP packet, as the offer's ptime says.
          ffmpeg = streamToneWithFfmpeg('ffmpeg line 1', secondPort, pcmuTone(FFMPEG_HZ, TONE_SECONDS));
          assert.equal(await waitExit(ffmpeg, 30_000), 0, 'ffmpeg exits 0');
          assert.equal(await waitExit(run.sipp, 45_000), 0, 'sipp exits 0');
        },
      );

      const session = await findSessionByCcid(server, ciscoGuid, (s) => s.sessionState !== 'ACTIVE');
      assert.equal(session.sessionState, 'CLOSED_NORMAL');
      assert.equal(session.callControllerType, 'Cisco-SIPGateway');
      assert.equal(session.callControllerIP, '127.0.0.1');
      assert.equal(session.ccid, ciscoGuid);
      assert.deepEqual(
        session.tracks.map((t) => [t.trackNumber, t.codec, t.participants.map((p) => p.deviceRef)]),
        [
          [0, 'PCMU', ['4155550123']],
          [1, 'PCMU', ['20417']],
        ],
      );

      // Both senders use 20 ms packets: 3 s of tone is 150 packets on each line, none lost.
      assertStoredPackets(session, [150, 150]);

      // ffmpeg starts after SIPp's capture, so each channel is checked on its own timeline.
      await assertChannelTones(server, session, [
        { hz: SIPP_HZ, seconds: TONE_SECONDS, label: `channel 0 (sipp)\n${outputs()}` },
        { hz: FFMPEG_HZ, seconds: TONE_SECONDS, label: `channel 1 (ffmpeg)\n${outputs()}` },
      ]);
    });
  },
);
