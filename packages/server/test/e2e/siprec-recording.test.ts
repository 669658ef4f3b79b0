import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capture } from '../support/cucm-calls.js';
import { pcmuTone, streamToneWithFfmpeg } from '../support/ffmpeg-tone.js';
import {
  assertBetween,
  assertInterruptedTone,
  assertInterruption,
  LATE_MS,
  stereoChannels,
  systemTags,
  type SessionWithTags,
} from '../support/midcall-checks.js';
import { freeSippMediaPort } from '../support/ports.js';
import { failWithOutputs, outputsOf, waitExit, type Spawned } from '../support/processes.js';
import { findSessionBy, sessionsWhere } from '../support/session-api.js';
import {
  runSippToEnd,
  startSipp,
  unlessSippExits,
  waitForLogged,
  waitForLoggedPort,
} from '../support/sipp-process.js';
import {
  LOG_SECOND_AUDIO_PORT,
  LOG_SIPREC_RESUMED,
  malformedMetadataScenario,
} from '../support/sipp-scenarios.js';
import { randomMetadataId, siprecRecordingScenario, type SiprecParty } from '../support/siprec-calls.js';
import { assertInRtpRange, serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * SIPp plays a session recording client (RFC 7866) shaped like a Cisco CUBE SRC against
 * `verbatim serve`: a multipart/mixed INVITE of SDP (two labelled sendonly m=audio lines) and
 * RFC 7865 metadata, with no `Require: siprec`, so Verbatim has to recognise SIPREC by the body.
 * SIPp replays the caller's stream, ffmpeg sends the callee's from the port the SDP names. Mid
 * call: a pause (both lines a=inactive), a resume whose metadata says the callee transferred the
 * call (a new participant sends stream 2), and a metadata-only UPDATE adding a supervisor to
 * stream 2. Checked through the MediaSense API (participants, Pause/Resume tags) and the WAV.
 */

/** Short enough that the pause (longer) would end the call if it were not recognised as one. */
const MEDIA_TIMEOUT_SECONDS = 3;
const CALLER_HZ = 500;
const CALLER_RESUMED_HZ = 700;
const CALLEE_HZ = 1300;
const TRANSFER_TARGET_HZ = 1900;
const TONE_SECONDS = 2;
/** Room for ffmpeg's start-up after the answer: its 2 s tone must be over before the pause. */
const BEFORE_PAUSE_MS = 4000;
const PAUSED_MS = 4000;
const BEFORE_UPDATE_MS = 2500;
const AFTER_UPDATE_MS = 1500;

const CALLER_AOR = 'sip:+14085550142@198.51.100.15';

function party(aor: string, name?: string): SiprecParty {
  return { id: randomMetadataId(), aor, ...(name === undefined ? {} : { name }) };
}

describe(
  'SIPREC recorded end to end (sipp as a CUBE-style SRC, ffmpeg, verbatim serve)',
  { timeout: 240_000 },
  () => {
    let server: RunningServer;
    let work: string;

    serverForSuite('siprec', { mediaTimeoutSeconds: MEDIA_TIMEOUT_SECONDS }, (suite) => {
      ({ server, work } = suite);
    });

    it('a multipart INVITE whose metadata part is not XML gets 400 and starts no session', async () => {
      const sessionId = randomMetadataId();
      const callIdTag = `siprec-bad-${Date.now()}`;
      const sessionsBefore = (await sessionsWhere(server)).length;
      const { code, run } = await runSippToEnd(
        'sipp siprec malformed',
        server,
        malformedMetadataScenario(sessionId),
        {
          work,
          callIdFormat: `${callIdTag}-%u@%s`,
          timeoutSeconds: 15,
          exitWithinMs: 30_000,
        },
      );
      // The scenario accepts nothing but a final 400 (a 200 would fail it).
      assert.equal(code, 0, `sipp expected 400:\n${run.sipp.output()}`);
      assert.match(
        server.process.output(),
        /VERBATIM_ERR_SIPREC_METADATA_SYNTAX/,
        'the node logs why the INVITE was refused',
      );
      const sessions = await sessionsWhere(server);
      assert.deepEqual(
        sessions.filter((s) => s.ccid === sessionId || s.ccid.startsWith(callIdTag)).map((s) => s.sessionId),
        [],
        'no session for the refused INVITE',
      );
      assert.equal(sessions.length, sessionsBefore, 'no session at all was added');
    });

    it('pause, resume with a transfer and a metadata-only UPDATE: one SIPREC session, participants per stream, Pause/Resume tags, silence while paused', async () => {
      const metadataSessionId = randomMetadataId();
      const caller = party(CALLER_AOR);
      const callee = party('sip:4001@203.0.113.8', 'Agent 4001');
      const transferTarget = party('sip:4002@203.0.113.8', 'Billing Desk');
      const supervisor = party('sip:4090@203.0.113.8', 'Supervisor Lee');
      const secondLinePort = await freeSippMediaPort();
      const senders: Spawned[] = [];
      const { run, first: secondPort } = await startSipp(
        'sipp siprec',
        server,
        siprecRecordingScenario({
          sessionId: metadataSessionId,
          streamIds: [randomMetadataId(), randomMetadataId()],
          caller,
          callee,
          transferTarget,
          supervisor,
          secondLinePort,
          pcapBeforePause: capture(work, 'siprec-caller', 'PCMU', CALLER_HZ, TONE_SECONDS),
          pcapAfterResume: capture(work, 'siprec-caller-resumed', 'PCMU', CALLER_RESUMED_HZ, TONE_SECONDS),
          beforePauseMs: BEFORE_PAUSE_MS,
          pausedMs: PAUSED_MS,
          beforeUpdateMs: BEFORE_UPDATE_MS,
          afterUpdateMs: AFTER_UPDATE_MS,
          requireSiprec: false,
        }),
        { work },
        (r) => waitForLoggedPort(r, LOG_SECOND_AUDIO_PORT),
      );
      const outputs = (): string => outputsOf([run.sipp, ...senders]);
      /** One run of the second stream's sender, from the port the SDP names for it. */
      const streamSecondLine = async (name: string, frequencyHz: number): Promise<void> => {
        const sender = streamToneWithFfmpeg(name, secondPort, {
          ...pcmuTone(frequencyHz, TONE_SECONDS),
          fromPort: secondLinePort,
        });
        senders.push(sender);
        assert.equal(await waitExit(sender, 30_000), 0, `${name} exits 0`);
      };
      let calleeToneEndedAt = 0;
      await failWithOutputs(
        () => [run.sipp, ...senders],
        async () => {
          assertInRtpRange(server, secondPort, 'the second m=audio port');
          await streamSecondLine('ffmpeg (callee)', CALLEE_HZ);
          calleeToneEndedAt = Date.now();
          await unlessSippExits(run, waitForLogged(run, LOG_SIPREC_RESUMED, 30_000));
          await streamSecondLine('ffmpeg (transfer target)', TRANSFER_TARGET_HZ);
          assert.equal(await waitExit(run.sipp, 60_000), 0, 'sipp exits 0');
        },
      );

      const session = (await findSessionBy(
        server,
        'ccid',
        metadataSessionId,
        (s) => s.sessionState !== 'ACTIVE',
      )) as SessionWithTags;
      const context = `\n${server.process.output().slice(-4000)}`;
      assert.equal(session.sessionState, 'CLOSED_NORMAL', `the pause did not end the call${context}`);
      assert.equal(session.callControllerType, 'SIPREC');
      assert.equal(session.callControllerIP, '127.0.0.1');
      assert.equal(session.ccid, metadataSessionId, 'the ccid is the metadata session id (no group sent)');
      assert.deepEqual(
        (await sessionsWhere(server, 'ccid', metadataSessionId)).map((s) => s.sessionId),
        [session.sessionId],
        'pause, resume and the metadata updates keep one session',
      );

      // Pause and Resume: session tags without a track, at the re-INVITEs.
      const pause = assertInterruption(
        session,
        { start: 'Pause', end: 'Resume', what: 'pause' },
        { startMs: BEFORE_PAUSE_MS, lengthMs: PAUSED_MS },
      );
      const resumeMs = pause.toMs;
      const pauseTag = systemTags(session).find((t) => t.tagName === 'Pause');
      assert.ok(
        pauseTag !== undefined && calleeToneEndedAt <= pauseTag.tagCreateDate,
        'the test premise: the callee tone was over before the pause (machine too slow otherwise)',
      );

      // Participants per track: who sent the stream, and when.
      const [track0, track1] = session.tracks;
      assert.ok(track0 !== undefined && track1 !== undefined && session.tracks.length === 2);
      assert.deepEqual(
        session.tracks.map((t) => [t.trackNumber, t.codec]),
        [
          [0, 'PCMU'],
          [1, 'PCMU'],
        ],
      );
      // 2 s of 20 ms packets before and after the pause on each line, none lost, none refused.
      assert.deepEqual(
        session.tracks.map((t) => [t.stats.packets, t.stats.lost, t.stats.dropped]),
        [
          [200, 0, 0],
          [200, 0, 0],
        ],
      );
      const who = (
        t: typeof track0,
      ): [string, string | undefined, string | undefined, string | undefined][] =>
        t.participants.map((p) => [p.deviceRef, p.deviceId, p.xRefCi, p.name]);
      assert.deepEqual(
        who(track0),
        [['+14085550142', CALLER_AOR, caller.id, undefined]],
        'track 0: the caller',
      );
      assert.deepEqual(
        who(track1),
        [
          ['4001', 'sip:4001@203.0.113.8', callee.id, 'Agent 4001'],
          ['4002', 'sip:4002@203.0.113.8', transferTarget.id, 'Billing Desk'],
          ['4090', 'sip:4090@203.0.113.8', supervisor.id, 'Supervisor Lee'],
        ],
        'track 1: the callee until the transfer, then the transfer target, joined by the supervisor',
      );
      const [calleeP, targetP, supervisorP] = track1.participants;
      assert.ok(calleeP !== undefined && targetP !== undefined && supervisorP !== undefined);
      const start = session.sessionStartDate;
      assert.ok(calleeP.participantStartDate !== undefined && calleeP.participantDuration !== undefined);
      assertBetween(
        calleeP.participantStartDate + calleeP.participantDuration - start,
        resumeMs - 300,
        resumeMs + 300,
        'the callee left (ms into the session; the resume re-INVITE carried the transfer)',
      );
      assert.equal(
        targetP.participantStartDate,
        calleeP.participantStartDate + calleeP.participantDuration,
        'the transfer target starts when the callee left',
      );
      assert.ok(supervisorP.participantStartDate !== undefined);
      assertBetween(
        supervisorP.participantStartDate - start,
        resumeMs + BEFORE_UPDATE_MS,
        resumeMs + BEFORE_UPDATE_MS + LATE_MS,
        'the supervisor joined (ms into the session; the UPDATE came then)',
      );
      assert.ok(session.sessionDuration !== undefined);
      const endMs = start + session.sessionDuration;
      for (const p of [track0.participants[0], targetP, supervisorP]) {
        assert.ok(p?.participantStartDate !== undefined && p.participantDuration !== undefined);
        assertBetween(
          p.participantStartDate + p.participantDuration,
          endMs - 1000,
          endMs,
          `${p.deviceRef} stays until the end of the call`,
        );
      }

      // The WAV: each party on its own channel, before and after the pause, silence in between.
      const { left, right, endMs: wavMs } = await stereoChannels(server, session);
      const label = (what: string): string => `${what}\n${outputs()}`;
      const span = { ...pause, endMs: wavMs };
      assertInterruptedTone(
        left,
        span,
        { beforeHz: CALLER_HZ, afterHz: CALLER_RESUMED_HZ, seconds: TONE_SECONDS },
        {
          before: label('left (caller) before the pause'),
          during: 'left during the pause',
          after: label('left after the resume'),
        },
      );
      assertInterruptedTone(
        right,
        span,
        { beforeHz: CALLEE_HZ, afterHz: TRANSFER_TARGET_HZ, seconds: TONE_SECONDS },
        {
          before: label('right (callee) before the pause'),
          during: 'right during the pause',
          after: label('right (transfer target) after the resume'),
        },
      );
    });
  },
);
