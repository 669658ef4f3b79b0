import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { cubeForkingScenario, randomCiscoGuid } from '../support/cube-calls.js';
import { capture } from '../support/cucm-calls.js';
import { pcmuTone, streamToneWithFfmpeg } from '../support/ffmpeg-tone.js';
import { genericSipScenario } from '../support/generic-calls.js';
import { stereoChannels, type SessionWithTags } from '../support/midcall-checks.js';
import {
  assertNothingStoredWhilePaused,
  assertPausedChannel,
  control,
  pausedSpan,
  siprecCallScenario,
  type PausedSpan,
} from '../support/pause-checks.js';
import { failWithOutputs, waitExit, type Spawned } from '../support/processes.js';
import {
  downloadRawRecords,
  downloadWav,
  findSessionBy,
  type SessionField,
  type SessionJson,
} from '../support/session-api.js';
import { runSippToEnd, startSipp, waitForLoggedPort, type SippRun } from '../support/sipp-process.js';
import { cucmLegScenario, LOG_SECOND_AUDIO_PORT } from '../support/sipp-scenarios.js';
import { randomMetadataId } from '../support/siprec-calls.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * pauseRecording / resumeRecording during a call of each intake flavour (issue 10 point 4):
 * SIPp plays the call controller (CUCM's two delayed-offer legs, CUBE's fork, a SIPREC SRC, a
 * plain SIP endpoint) replaying a tone, ffmpeg sends CUBE's second line; mid-call the test pauses
 * the session through the MediaSense API and resumes it two seconds later. Then, through the API
 * as a client reads it: Pause and Resume tags; the WAV silent exactly over the paused span (its
 * edges within a 20 ms packet of the tags), the tone before and after it and in its place; no
 * packet of the paused span in the track captures (PCI: nothing received then reaches the disk).
 */

const TONE_MS = 6000;
/** BYE a little after the tone: the call ends on its own. */
const CALL_MS = TONE_MS + 600;
/** The pause starts this far into the session and lasts PAUSED_MS. */
const PAUSE_AT_MS = 1500;
const PAUSED_MS = 2000;
const HZ = 500;
const OTHER_HZ = 1300;

describe(
  'pauseRecording / resumeRecording during a call of each flavour (sipp, ffmpeg, verbatim serve)',
  { timeout: 300_000 },
  () => {
    let server: RunningServer;
    let work: string;

    serverForSuite('pause', { mediaTimeoutSeconds: 3 }, (suite) => {
      ({ server, work } = suite);
    });

    const tone = (name: string, hz: number, ms: number): string => capture(work, name, 'PCMU', hz, ms / 1000);

    /** The ACTIVE session whose `field` is `value`, once the API lists it. */
    function activeSession(field: SessionField, value: string): Promise<SessionJson> {
      return findSessionBy(server, field, value, (s) => s.sessionState === 'ACTIVE');
    }

    /**
     * Pauses the session PAUSE_AT_MS into it and resumes it PAUSED_MS later (the pause's length is
     * the scenario, not a wait for something), checking the refusals of a pause twice and a resume
     * twice on the way. `whilePaused` runs right after the pause.
     */
    async function pauseAndResume(session: SessionJson, whilePaused?: () => Promise<void>): Promise<void> {
      await delay(Math.max(0, session.sessionStartDate + PAUSE_AT_MS - Date.now()));
      assert.equal(await control(server, 'pauseRecording', session.sessionId), 2000, 'pauseRecording');
      const pausedAt = Date.now();
      assert.equal(
        await control(server, 'pauseRecording', session.sessionId),
        4042,
        'pause again: already paused',
      );
      await whilePaused?.();
      await delay(Math.max(0, pausedAt + PAUSED_MS - Date.now()));
      assert.equal(await control(server, 'resumeRecording', session.sessionId), 2000, 'resumeRecording');
      assert.equal(
        await control(server, 'resumeRecording', session.sessionId),
        4042,
        'resume again: not paused',
      );
    }

    /** The closed session, its paused span, and the checks every flavour shares. */
    async function closedSession(
      field: SessionField,
      value: string,
    ): Promise<{ session: SessionWithTags; span: PausedSpan }> {
      const session = (await findSessionBy(
        server,
        field,
        value,
        (s) => s.sessionState !== 'ACTIVE',
      )) as SessionWithTags;
      const context = `\n${server.process.output().slice(-3000)}`;
      assert.equal(session.sessionState, 'CLOSED_NORMAL', `the session closed normally${context}`);
      const span = pausedSpan(session);
      assert.ok(
        span.resumeMs - span.pauseMs >= PAUSED_MS && span.resumeMs - span.pauseMs < PAUSED_MS + 1000,
        `paused ${span.resumeMs - span.pauseMs} ms`,
      );
      // A pause is no loss: the packets dropped while paused leave no gap in the statistics.
      assert.deepEqual(
        session.tracks.map((t) => t.stats.lost),
        session.tracks.map(() => 0),
        'packets lost',
      );
      assert.equal(
        await control(server, 'pauseRecording', session.sessionId),
        4042,
        'a closed session cannot be paused',
      );
      // Each call is in the audit trail: who paused and resumed which session, and what came of it.
      const audit = await server.api(
        `/ora/auditService/audit/getAuditRecords?target=${session.sessionId}&action=pauseRecording`,
      );
      const records = (audit.responseBody?.records ?? []) as { username: string; outcome: number }[];
      assert.deepEqual(
        records.map((r) => [r.username, r.outcome]).sort(),
        [
          ['admin', 2000],
          ['admin', 4042],
          ['admin', 4042],
        ],
        'audit records of pauseRecording on the session',
      );
      // resumeRecording likewise: the resume with the tag it wrote, the second one refused.
      const resumes = await server.api(
        `/ora/auditService/audit/getAuditRecords?target=${session.sessionId}&action=resumeRecording`,
      );
      const resumeRecords = (resumes.responseBody?.records ?? []) as {
        username: string;
        outcome: number;
        detail?: Record<string, string>;
      }[];
      assert.deepEqual(
        resumeRecords
          .map((r) => `${r.username} ${r.outcome} ${r.detail?.tag ?? r.detail?.refused ?? '-'}`)
          .sort(),
        ['admin 2000 Resume', 'admin 4042 not-paused'],
        'audit records of resumeRecording on the session',
      );
      // The tags went out on the event bus, which the node logs (the events issue delivers them).
      for (const name of ['Pause', 'Resume']) {
        assert.match(
          server.process.output(),
          new RegExp(`"sessionId":"${session.sessionId}","tag":\\{"tagName":"${name}"`),
          `a TAG_EVENT for ${name} in the node's log`,
        );
      }
      return { session, span };
    }

    /** Every track's capture: nothing from inside the paused span. */
    async function assertCaptures(
      session: SessionWithTags,
      span: PausedSpan,
      sentThroughout: readonly boolean[],
    ): Promise<void> {
      for (const track of session.tracks) {
        const records = await downloadRawRecords(
          server,
          session,
          track.trackNumber,
          `track ${track.trackNumber}`,
        );
        assert.equal(
          records.length,
          track.stats.packets,
          `track ${track.trackNumber}: records and stored packets`,
        );
        assertNothingStoredWhilePaused(
          records,
          span,
          `track ${track.trackNumber}`,
          sentThroughout[track.trackNumber] ?? true,
        );
      }
    }

    it('generic SIP (one line): silent exactly while paused, the tone around it in place, nothing stored meanwhile; unknown and bad ids refused', async () => {
      assert.equal(await control(server, 'pauseRecording', 'ffffffffffffffff'), 4041, 'an unknown session');
      const huge = await server.api('/ora/controlService/control/pauseRecording', {
        requestParameters: { sessionId: 'f'.repeat(100_000) },
      });
      assert.equal(huge.responseCode, 4001, 'a huge id');
      const wrongType = await server.api('/ora/controlService/control/resumeRecording', {
        requestParameters: { sessionId: { $ne: null } },
      });
      assert.equal(wrongType.responseCode, 4001, 'an object for an id');

      const callIdPrefix = `pause-generic-${Date.now()}`;
      const { run } = await startSipp(
        'sipp generic',
        server,
        genericSipScenario({
          fromUser: '2001',
          toUser: '3001',
          audioLines: 1,
          pcapPath: tone('generic', HZ, TONE_MS),
          holdMs: CALL_MS,
        }),
        { work, callIdFormat: `${callIdPrefix}-%u@%s` },
        () => Promise.resolve(),
      );
      const ccid = `${callIdPrefix}-1@127.0.0.1`;
      await failWithOutputs(
        () => [run.sipp],
        async () => {
          await pauseAndResume(await activeSession('ccid', ccid));
          assert.equal(await waitExit(run.sipp, 30_000), 0, 'sipp exits 0');
        },
      );
      const { session, span } = await closedSession('ccid', ccid);
      assert.equal(session.callControllerType, 'SIP');
      const { wav } = await downloadWav(server, session);
      assertPausedChannel(wav.channelSamples[0]!, span, { hz: HZ, toneMs: TONE_MS }, 'the channel');
      await assertCaptures(session, span, [true]);
    });

    it('CUBE fork (two lines, one from ffmpeg): both channels silent exactly while paused', async () => {
      const ciscoGuid = randomCiscoGuid();
      let ffmpeg: Spawned | undefined;
      const { run, first: secondPort } = await startSipp(
        'sipp cube',
        server,
        cubeForkingScenario({
          ciscoGuid,
          participants: ['4155550123', '20417'],
          pcapPath: tone('cube', HZ, TONE_MS),
          holdMs: CALL_MS,
        }),
        { work },
        (r: SippRun) => waitForLoggedPort(r, LOG_SECOND_AUDIO_PORT),
      );
      await failWithOutputs(
        () => [run.sipp, ffmpeg],
        async () => {
          ffmpeg = streamToneWithFfmpeg('ffmpeg line 1', secondPort, pcmuTone(OTHER_HZ, 30));
          await pauseAndResume(await activeSession('ccid', ciscoGuid));
          assert.equal(await waitExit(run.sipp, 30_000), 0, 'sipp exits 0');
          await ffmpeg.stop();
        },
      );
      const { session, span } = await closedSession('ccid', ciscoGuid);
      assert.equal(session.callControllerType, 'Cisco-SIPGateway');
      const { left, right } = await stereoChannels(server, session);
      assertPausedChannel(left, span, { hz: HZ, toneMs: TONE_MS }, 'channel 0 (SIPp)');
      assertPausedChannel(right, span, { hz: OTHER_HZ }, 'channel 1 (ffmpeg)');
      await assertCaptures(session, span, [true, true]);
    });

    it('SIPREC (one labelled stream): silent exactly while paused', async () => {
      const sessionId = randomMetadataId();
      const { code, run } = await (async () => {
        const pending = runSippToEnd(
          'sipp siprec',
          server,
          siprecCallScenario({
            sessionId,
            streamId: randomMetadataId(),
            participantId: randomMetadataId(),
            aor: 'sip:+14085550142@198.51.100.15',
            pcapPath: tone('siprec', HZ, TONE_MS),
            holdMs: CALL_MS,
          }),
          { work },
        );
        await pauseAndResume(await activeSession('ccid', sessionId));
        return pending;
      })();
      assert.equal(code, 0, `sipp siprec:\n${run.sipp.output()}`);
      const { session, span } = await closedSession('ccid', sessionId);
      assert.equal(session.callControllerType, 'SIPREC');
      const { wav } = await downloadWav(server, session);
      assertPausedChannel(wav.channelSamples[0]!, span, { hz: HZ, toneMs: TONE_MS }, 'the channel');
      await assertCaptures(session, span, [true]);
    });

    it('CUCM (two delayed-offer legs): the far leg arrives while paused, opens paused, and is stored from the resume', async () => {
      const refCi = String(29301600 + Math.floor(Math.random() * 100_000) * 2);
      const leg = (stream: 'x-nearend' | 'x-farend', pcapPath: string, holdMs: number): string =>
        cucmLegScenario({
          stream,
          refCi,
          farEndRefCi: String(Number(refCi) - 1),
          nearEndDevice: 'SEP6C416A369525',
          nearEndAddr: '1001',
          farEndDevice: 'SEP38ED18552A12',
          farEndAddr: '1000',
          payloadType: 0,
          codecName: 'PCMU',
          offer: 'delayed',
          holdMs,
          ending: 'bye',
          ptimeMs: 20,
          pcapPath,
        });
      const nearTone = tone('cucm-near', HZ, TONE_MS);
      const farTone = tone('cucm-far', OTHER_HZ, 4000);
      let far: Promise<{ code: number | string; run: SippRun }> | undefined;
      const near = runSippToEnd('sipp x-nearend', server, leg('x-nearend', nearTone, CALL_MS), { work });
      await pauseAndResume(await activeSession('xRefCi', refCi), () => {
        // The far end's leg joins the session now, while it is paused.
        far = runSippToEnd('sipp x-farend', server, leg('x-farend', farTone, 4300), { work });
        return Promise.resolve();
      });
      for (const [name, run] of [
        ['near', await near],
        ['far', await far!],
      ] as const) {
        assert.equal(run.code, 0, `sipp ${name}:\n${run.run.sipp.output()}`);
      }
      const { session, span } = await closedSession('xRefCi', refCi);
      assert.equal(session.callControllerType, 'Cisco-CUCM');
      assert.equal(session.tracks.length, 2);
      const { left, right } = await stereoChannels(server, session);
      assertPausedChannel(left, span, { hz: HZ, toneMs: TONE_MS }, 'channel 0 (near end)');
      assertPausedChannel(
        right,
        span,
        { hz: OTHER_HZ, startsPaused: true },
        'channel 1 (far end, joined while paused)',
      );
      await assertCaptures(session, span, [true, false]);
      const farRecords = await downloadRawRecords(server, session, 1, 'track 1');
      assert.ok(
        farRecords.every((r) => Math.floor(r.timestampUs / 1000) >= span.resumeAt),
        'the far leg stored nothing before the resume',
      );
    });
  },
);
