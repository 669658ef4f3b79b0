import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomCiscoGuid, waitForAudioPorts } from '../support/cube-calls.js';
import { assertChannelTones, capture } from '../support/cucm-calls.js';
import { pcmuTone, streamToneWithFfmpeg, type FfmpegToneSender } from '../support/ffmpeg-tone.js';
import { failWithOutputs, waitExit, type Spawned } from '../support/processes.js';
import { sessionsWhere, type SessionJson } from '../support/session-api.js';
import { startSipp } from '../support/sipp-process.js';
import {
  cubeCodecChangeScenario,
  LOG_AUDIO_PORTS,
  LOG_CHANGED_AUDIO_PORTS,
} from '../support/sipp-scenarios.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * SIPp plays a Cisco CUBE forking a call to Verbatim (dial-peer media forking) whose codec changes
 * in the middle: a re-INVITE in the same dialog re-offers both lines in PCMA instead of PCMU.
 * Verbatim ends the session and records on in a new one with the same ccid and participants, on
 * new ports (DESIGN.md §1.2, as MediaSense did: a track has one codec). SIPp replays line 0 and
 * ffmpeg streams line 1, to the first answer's ports in PCMU, then to the second's in PCMA, each
 * part a tone of its own. Checked through the MediaSense API and each session's WAV.
 */

const PARTICIPANTS = ['4155550123', '20417'] as const;
const BEFORE_HZ = { line0: 500, line1: 1300 };
const AFTER_HZ = { line0: 800, line1: 1700 };
const TONE_SECONDS = 2;
/** Longer than a tone, with room for ffmpeg to start on a loaded machine. */
const BEFORE_CHANGE_MS = 3500;
const AFTER_CHANGE_MS = 3500;

function pcmaTone(frequencyHz: number, seconds: number): FfmpegToneSender {
  return { ...pcmuTone(frequencyHz, seconds), encoder: 'pcm_alaw', payloadType: 8 };
}

describe(
  'a CUBE forked call whose codec changes mid-call (sipp as CUBE, ffmpeg, verbatim serve)',
  { timeout: 120_000 },
  () => {
    let server: RunningServer;
    let work: string;

    serverForSuite('cube-codec-change', {}, (suite) => {
      ({ server, work } = suite);
    });

    /** Runs the call; gives both answers' audio ports and the sessions of its ccid once closed. */
    async function changeCodecMidCall(ccid: string): Promise<{
      ports: { before: [number, number]; after: [number, number] };
      sessions: SessionJson[];
    }> {
      const senders: Spawned[] = [];
      const { run, first: before } = await startSipp(
        'sipp cube codec change',
        server,
        cubeCodecChangeScenario({
          ciscoGuid: ccid,
          participants: PARTICIPANTS,
          pcapBeforeChange: capture(work, 'codec-before', 'PCMU', BEFORE_HZ.line0, TONE_SECONDS),
          pcapAfterChange: capture(work, 'codec-after', 'PCMA', AFTER_HZ.line0, TONE_SECONDS),
          beforeChangeMs: BEFORE_CHANGE_MS,
          afterChangeMs: AFTER_CHANGE_MS,
        }),
        { work },
        (r) => waitForAudioPorts(r, LOG_AUDIO_PORTS),
      );
      const after = await failWithOutputs(
        () => [run.sipp, ...senders],
        async () => {
          senders.push(
            streamToneWithFfmpeg('ffmpeg line 1 PCMU', before[1], pcmuTone(BEFORE_HZ.line1, TONE_SECONDS)),
          );
          const changed = await waitForAudioPorts(run, LOG_CHANGED_AUDIO_PORTS);
          senders.push(
            streamToneWithFfmpeg('ffmpeg line 1 PCMA', changed[1], pcmaTone(AFTER_HZ.line1, TONE_SECONDS)),
          );
          assert.equal(await waitExit(run.sipp, 30_000), 0, 'sipp exits 0');
          for (const sender of senders) {
            assert.equal(await waitExit(sender, 10_000), 0, `${sender.name} exits 0`);
          }
          return changed;
        },
      );
      const sessions = await waitFor(
        async () => {
          const found = await sessionsWhere(server, 'ccid', ccid);
          return found.length >= 2 && found.every((s) => s.sessionState !== 'ACTIVE') && found;
        },
        { timeoutMs: 15_000, what: `two closed sessions with ccid ${ccid}` },
      );
      return {
        ports: { before, after },
        sessions: sessions.sort((a, b) => a.sessionStartDate - b.sessionStartDate),
      };
    }

    it('PCMU then PCMA by re-INVITE: two sessions with the same ccid, the second on new ports, each with its part of the tones', async () => {
      const ccid = randomCiscoGuid();
      const { ports, sessions } = await changeCodecMidCall(ccid);
      const context = `\n${server.process.output().slice(-4000)}`;
      assert.equal(sessions.length, 2, `one session before the change, one after${context}`);
      const [first, second] = sessions as [SessionJson, SessionJson];

      assert.ok(
        ports.after.every((p) => !ports.before.includes(p)),
        `the new session records on new ports: ${ports.before.join(',')} then ${ports.after.join(',')}`,
      );
      for (const [session, codec] of [
        [first, 'PCMU'],
        [second, 'PCMA'],
      ] as const) {
        assert.equal(session.sessionState, 'CLOSED_NORMAL', `${codec} session state${context}`);
        assert.equal(session.callControllerType, 'Cisco-SIPGateway');
        assert.equal(session.ccid, ccid);
        assert.deepEqual(
          session.tracks.map((t) => [t.trackNumber, t.codec, t.participants.map((p) => p.deviceRef)]),
          [
            [0, codec, [PARTICIPANTS[0]]],
            [1, codec, [PARTICIPANTS[1]]],
          ],
        );
        // SIPp's capture on line 0 is 2 s at 20 ms; ffmpeg's on line 1 about as long; nothing lost.
        assert.deepEqual(
          session.tracks.map((t) => [t.stats.packets > 0, t.stats.lost]),
          [
            [true, 0],
            [true, 0],
          ],
        );
        assert.equal(session.tracks[0]?.stats.packets, TONE_SECONDS * 50, `${codec} packets on line 0`);
      }

      await assertChannelTones(server, first, [
        { hz: BEFORE_HZ.line0, seconds: TONE_SECONDS, label: 'PCMU session, channel 0' },
        { hz: BEFORE_HZ.line1, seconds: TONE_SECONDS, label: 'PCMU session, channel 1' },
      ]);
      await assertChannelTones(server, second, [
        { hz: AFTER_HZ.line0, seconds: TONE_SECONDS, label: 'PCMA session, channel 0' },
        { hz: AFTER_HZ.line1, seconds: TONE_SECONDS, label: 'PCMA session, channel 1' },
      ]);
    });
  },
);
