import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findSessionByCcid, randomCiscoGuid } from '../support/cube-calls.js';
import { analyseChannel, assertTonesNear, capture } from '../support/cucm-calls.js';
import { pcmuTone, streamToneWithFfmpeg } from '../support/ffmpeg-tone.js';
import {
  assertInterruptedTone,
  assertInterruption,
  stereoChannels,
  type SessionWithTags,
} from '../support/midcall-checks.js';
import type { HealthJson } from '../support/health-calls.js';
import { failWithOutputs, waitExit, type Spawned } from '../support/processes.js';
import { sessionsWhere } from '../support/session-api.js';
import { startSipp, waitForLoggedPort } from '../support/sipp-process.js';
import { cubeHoldScenario, LOG_SECOND_AUDIO_PORT, type HoldEncoding } from '../support/sipp-scenarios.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * SIPp plays a Cisco CUBE forking a call to Verbatim (dial-peer media forking) and puts the first
 * party on hold in the middle of it: a re-INVITE leaves that party's line without media, a
 * second one makes it sendonly again. The node runs with a 2 s media timeout and the hold lasts
 * longer, so a held line that is (rightly) silent must not end the recording. ffmpeg streams the
 * other party without a break. Checked through the MediaSense API and the WAV.
 */

const MEDIA_TIMEOUT_SECONDS = 2;
const BEFORE_HOLD_HZ = 500;
const AFTER_RESUME_HZ = 800;
const OTHER_PARTY_HZ = 1300;
const TONE_SECONDS = 2;
const BEFORE_HOLD_MS = 2500;
/** Longer than the media timeout plus its check interval. */
const HELD_MS = 3500;
const AFTER_RESUME_MS = 2500;
/** The other party's sender runs until the call is over and is then stopped. */
const OTHER_PARTY_MAX_SECONDS = 40;

describe(
  'a CUBE forked call put on hold and resumed (sipp as CUBE, ffmpeg, verbatim serve --media-timeout 2)',
  { timeout: 240_000 },
  () => {
    let server: RunningServer;
    let work: string;

    serverForSuite('cube-hold', { mediaTimeoutSeconds: MEDIA_TIMEOUT_SECONDS }, (suite) => {
      ({ server, work } = suite);
    });

    /** Runs the held call and gives its session once it is closed. */
    async function holdAndResume(
      encoding: HoldEncoding,
    ): Promise<{ session: SessionWithTags; ccid: string }> {
      const ciscoGuid = randomCiscoGuid();
      let ffmpeg: Spawned | undefined;
      const { run, first: secondPort } = await startSipp(
        `sipp cube hold ${encoding}`,
        server,
        cubeHoldScenario({
          ciscoGuid,
          participants: ['4155550123', '20417'],
          holdEncoding: encoding,
          pcapBeforeHold: capture(work, `hold-${encoding}-before`, 'PCMU', BEFORE_HOLD_HZ, TONE_SECONDS),
          pcapAfterResume: capture(work, `hold-${encoding}-after`, 'PCMU', AFTER_RESUME_HZ, TONE_SECONDS),
          beforeHoldMs: BEFORE_HOLD_MS,
          heldMs: HELD_MS,
          afterResumeMs: AFTER_RESUME_MS,
        }),
        { work },
        (r) => waitForLoggedPort(r, LOG_SECOND_AUDIO_PORT),
      );
      await failWithOutputs(
        () => [run.sipp, ffmpeg],
        async () => {
          ffmpeg = streamToneWithFfmpeg(
            'ffmpeg line 1',
            secondPort,
            pcmuTone(OTHER_PARTY_HZ, OTHER_PARTY_MAX_SECONDS),
          );
          assert.equal(await waitExit(run.sipp, 60_000), 0, 'sipp exits 0');
          assert.equal(ffmpeg.child.exitCode, null, 'ffmpeg streamed until the end of the call');
          await ffmpeg.stop();
        },
      );
      const session = (await findSessionByCcid(
        server,
        ciscoGuid,
        (s) => s.sessionState !== 'ACTIVE',
      )) as SessionWithTags;
      return { session, ccid: ciscoGuid };
    }

    async function assertHeldCall(encoding: HoldEncoding): Promise<void> {
      const { session, ccid } = await holdAndResume(encoding);
      const context = `\n${server.process.output().slice(-4000)}`;
      assert.equal(session.sessionState, 'CLOSED_NORMAL', `the hold did not end the call${context}`);
      assert.equal(session.callControllerType, 'Cisco-SIPGateway');
      assert.deepEqual(
        (await sessionsWhere(server, 'ccid', ccid)).map((s) => s.sessionId),
        [session.sessionId],
        'hold and resume keep one session',
      );
      assert.deepEqual(
        session.tracks.map((t) => [t.trackNumber, t.codec, t.participants.map((p) => p.deviceRef)]),
        [
          [0, 'PCMU', ['4155550123']],
          [1, 'PCMU', ['20417']],
        ],
      );
      // Two captures of 2 s at 20 ms on the held line, nothing during the hold; nothing lost.
      assert.deepEqual(
        session.tracks.map((t) => [t.stats.packets > 0, t.stats.lost]),
        [
          [true, 0],
          [true, 0],
        ],
      );
      assert.equal(session.tracks[0]?.stats.packets, 2 * TONE_SECONDS * 50, 'packets on the held line');
      // The hold's silence is no gap in the recording's health (docs/media.md "Gaps and silence").
      const { health } = session as SessionWithTags & { health: HealthJson };
      assert.deepEqual(
        health.tracks.map((t) => [t.gaps, t.content]),
        [
          [0, 'audio'],
          [0, 'audio'],
        ],
        JSON.stringify(health),
      );
      assert.equal(health.status, 'ok', JSON.stringify(health));

      const hold = assertInterruption(
        session,
        { start: 'TrackInactive', end: 'TrackActive', trackNumber: 0, what: 'hold' },
        { startMs: BEFORE_HOLD_MS, lengthMs: HELD_MS },
      );
      const { fromMs: inactiveMs, toMs: activeMs } = hold;
      // Hold tags are tags of the held track, not of the session (reference §5.2).
      assert.deepEqual(
        session.tracks.map((t) => (t.tags ?? []).map((tag) => tag.tagName)),
        [['TrackInactive', 'TrackActive'], []],
      );
      assert.deepEqual(session.tags, []);

      const { left: held, right: other, endMs } = await stereoChannels(server, session);
      assertInterruptedTone(
        held,
        { ...hold, endMs },
        { beforeHz: BEFORE_HOLD_HZ, afterHz: AFTER_RESUME_HZ, seconds: TONE_SECONDS },
        {
          before: 'channel 0 before the hold',
          during: 'channel 0 during the hold',
          after: 'channel 0 after the resume',
        },
      );

      // The other party was never held: one unbroken tone from before the hold to after it.
      const channel = analyseChannel(other);
      assert.deepEqual(channel.gaps, [], `channel 1 is silent at ${channel.gaps.join(', ')} ms`);
      assert.ok(
        channel.firstMs >= 0 && channel.firstMs < inactiveMs,
        `channel 1 starts at ${channel.firstMs} ms`,
      );
      assert.ok(channel.lastMs > activeMs + 1000, `channel 1 ends at ${channel.lastMs} ms`);
      assertTonesNear(channel.tones, OTHER_PARTY_HZ, 'channel 1');
    }

    it('hold with a=inactive on one line, then resume: one session, TrackInactive/TrackActive on that track, tone before and after', async () => {
      await assertHeldCall('inactive');
    });

    it('hold with c=IN IP4 0.0.0.0 on one line (RFC 2543 style), then resume: the same', async () => {
      await assertHeldCall('zero-address');
    });
  },
);
