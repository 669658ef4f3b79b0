import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  FAR_HZ,
  NEAR_HZ,
  analyseChannel,
  capture,
  findSessionByRefCi,
  runCucmCall,
} from '../support/cucm-calls.js';
import { stopAll } from '../support/processes.js';
import { downloadWav, type SessionJson } from '../support/session-api.js';
import { startServer, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * A node stopped in the middle of a call, politely (SIGTERM) or not (kill -9), keeps what it
 * recorded: after a restart on the same data directory the session is CLOSED_ERROR and its WAV
 * holds both parties up to the moment the node went away.
 */

let work: string;

/** Waits until both parties of the ACTIVE session are audible for at least `ms` in its WAV. */
async function waitUntilAudible(server: RunningServer, refCi: string, ms: number): Promise<SessionJson> {
  const active = await findSessionByRefCi(
    server,
    refCi,
    (s) => s.sessionState === 'ACTIVE' && s.tracks.length === 2,
  );
  await waitFor(
    async () => {
      const { wav } = await downloadWav(server, active);
      return wav.channelSamples.every((samples) => {
        const heard = analyseChannel(samples);
        return heard.firstMs >= 0 && heard.lastMs - heard.firstMs >= ms;
      });
    },
    { timeoutMs: 10_000, what: `both parties audible for ${ms} ms` },
  );
  return active;
}

async function interruptedCall(
  signal: 'SIGTERM' | 'SIGKILL',
): Promise<{ session: SessionJson; heardMs: number[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'verbatim-restart-'));
  const near = capture(work, `near-${signal}`, 'PCMU', NEAR_HZ, 6);
  const far = capture(work, `far-${signal}`, 'PCMU', FAR_HZ, 6);
  const first = await startServer({ dataDir, mediaTimeoutSeconds: 30 });
  let stoppedWith: number | string = '';
  const refCi = await runCucmCall(first, work, {
    transport: 'u1',
    offer: 'delayed',
    codec: 'PCMU',
    // SIGTERM: the node sends BYE on both legs, which SIPp answers; kill -9: SIPp is left waiting.
    near: { pcapPath: near, holdMs: signal === 'SIGTERM' ? 20_000 : 8_000, ending: 'await-bye' },
    far: { pcapPath: far, holdMs: signal === 'SIGTERM' ? 20_000 : 8_000, ending: 'await-bye' },
    legsMayFail: signal === 'SIGKILL',
    duringCall: async (ref) => {
      await waitUntilAudible(first, ref, 1500);
      stoppedWith = await first.stop({ keepData: true, signal });
    },
  });
  if (signal === 'SIGTERM') {
    assert.equal(stoppedWith, 0, `SIGTERM must shut the node down cleanly:\n${first.process.output()}`);
    assert.match(first.process.output(), /shut down cleanly/);
  }
  const second = await startServer({ dataDir, mediaTimeoutSeconds: 30 });
  try {
    const session = await findSessionByRefCi(second, refCi, () => true);
    const { wav } = await downloadWav(second, session);
    const heardMs = wav.channelSamples.map((samples) => {
      const heard = analyseChannel(samples);
      assert.deepEqual(heard.gaps, [], 'no gap inside what was recorded');
      return heard.lastMs - heard.firstMs;
    });
    return { session, heardMs };
  } finally {
    await second.stop();
  }
}

describe('a node stopped during a call keeps the recording', { timeout: 180_000 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'verbatim-stop-'));
  });

  after(async () => {
    await stopAll();
    await rm(work, { recursive: true, force: true });
  });

  it('SIGTERM ends the call with BYE, flushes and closes both tracks and closes the session as CLOSED_ERROR', async () => {
    const { session, heardMs } = await interruptedCall('SIGTERM');
    assert.equal(session.sessionState, 'CLOSED_ERROR');
    assert.ok(session.sessionDuration !== undefined);
    for (const track of session.tracks) {
      assert.ok(track.trackDuration !== undefined, `track ${track.trackNumber} was closed`);
      assert.ok(track.stats.packets > 0, `track ${track.trackNumber} statistics were stored`);
    }
    for (const ms of heardMs) {
      assert.ok(ms >= 1500, `the audio up to the shutdown is kept (${ms} ms)`);
    }
  });

  it('kill -9 loses at most a second per track: on restart the session is recovered as CLOSED_ERROR', async () => {
    const { session, heardMs } = await interruptedCall('SIGKILL');
    assert.equal(session.sessionState, 'CLOSED_ERROR');
    assert.ok(
      // 1.5 s of audio were heard before the kill: 75 packets, the last one 1.48 s after the first.
      session.sessionDuration !== undefined && session.sessionDuration >= 1400,
      `the session lasts until its last stored packet: ${JSON.stringify(session)}`,
    );
    for (const track of session.tracks) {
      assert.ok(track.stats.packets >= 75, `track ${track.trackNumber} statistics recovered from its file`);
    }
    for (const ms of heardMs) {
      // Both parties were audible for 1.5 s in the WAV of the ACTIVE session before the kill.
      assert.ok(ms >= 1400, `the audio written before the kill is kept (${ms} ms)`);
    }
  });
});
