import assert from 'node:assert/strict';
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PcapReader } from '../../src/protocol/container/pcap.js';
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

/** What a track file holds, read the way a tool would read it: whole records, their last time. */
interface StoredTrack {
  readonly packets: number;
  /** Arrival of the last stored packet, epoch ms (as the statistics round it). */
  readonly lastPacketAt: number | undefined;
}

/** Reads the track files of a session straight from the data directory of a node. */
async function readTrackFiles(dataDir: string, sessionId: string): Promise<Map<number, StoredTrack>> {
  const mediaDir = join(dataDir, 'media');
  const files = (await readdir(mediaDir, { recursive: true })).filter((path) =>
    new RegExp(`(^|/)${sessionId}/track\\d+\\.pcap$`).test(path),
  );
  const tracks = new Map<number, StoredTrack>();
  for (const file of files) {
    const reader = new PcapReader();
    const packets = reader.push(await readFile(join(mediaDir, file)));
    assert.equal(reader.error, undefined, `${file} is a readable capture`);
    const last = packets.at(-1);
    tracks.set(Number(/track(\d+)\.pcap$/.exec(file)?.[1]), {
      packets: packets.length,
      lastPacketAt: last === undefined ? undefined : Math.floor(last.timestampUs / 1000),
    });
  }
  return tracks;
}

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

interface InterruptedCall {
  /** The session as the restarted node reports it. */
  readonly session: SessionJson;
  /** How long each party is audible in the WAV after the restart. */
  readonly heardMs: number[];
  /** The track files once the WAV of the ACTIVE session was served (which flushes them). */
  readonly storedBeforeStop: Map<number, StoredTrack>;
  /** The track files as the stopped node left them, before the restart touched them. */
  readonly storedAtStop: Map<number, StoredTrack>;
}

async function interruptedCall(signal: 'SIGTERM' | 'SIGKILL'): Promise<InterruptedCall> {
  const dataDir = await mkdtemp(join(tmpdir(), 'verbatim-restart-'));
  const near = capture(work, `near-${signal}`, 'PCMU', NEAR_HZ, 6);
  const far = capture(work, `far-${signal}`, 'PCMU', FAR_HZ, 6);
  const first = await startServer({ dataDir, mediaTimeoutSeconds: 30 });
  let stoppedWith: number | string = '';
  let sessionId = '';
  let storedBeforeStop = new Map<number, StoredTrack>();
  const refCi = await runCucmCall(first, work, {
    // SIGTERM: the node sends BYE on both legs, which SIPp answers; kill -9: SIPp is left waiting.
    near: { pcapPath: near, holdMs: signal === 'SIGTERM' ? 20_000 : 8_000, ending: 'await-bye' },
    far: { pcapPath: far, holdMs: signal === 'SIGTERM' ? 20_000 : 8_000, ending: 'await-bye' },
    legsMayFail: signal === 'SIGKILL',
    duringCall: async (ref) => {
      const active = await waitUntilAudible(first, ref, 1500);
      sessionId = active.sessionId;
      // The WAV is measured in 100 ms windows, and a window with a millisecond of tone already
      // counts as audible: "audible for 1.5 s" may be as little as 1.3 s of packets. The packets
      // themselves are counted in the files instead: 75 of 20 ms each, 1.5 s, on both tracks.
      storedBeforeStop = await waitFor(
        async () => {
          const tracks = await readTrackFiles(dataDir, active.sessionId);
          return tracks.size === 2 && [...tracks.values()].every((track) => track.packets >= 75) && tracks;
        },
        { timeoutMs: 10_000, what: 'both track files holding 1.5 s of packets' },
      );
      stoppedWith = await first.stop({ keepData: true, signal });
    },
  });
  if (signal === 'SIGTERM') {
    assert.equal(stoppedWith, 0, `SIGTERM must shut the node down cleanly:\n${first.process.output()}`);
    assert.match(first.process.output(), /shut down cleanly/);
  }
  const storedAtStop = await readTrackFiles(dataDir, sessionId);
  const second = await startServer({ dataDir, mediaTimeoutSeconds: 30 });
  try {
    const session = await findSessionByRefCi(second, refCi, () => true);
    const { wav } = await downloadWav(second, session);
    const heardMs = wav.channelSamples.map((samples) => {
      const heard = analyseChannel(samples);
      assert.deepEqual(heard.gaps, [], 'no gap inside what was recorded');
      return heard.lastMs - heard.firstMs;
    });
    return { session, heardMs, storedBeforeStop, storedAtStop };
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
    const { session, heardMs, storedBeforeStop } = await interruptedCall('SIGTERM');
    assert.equal(session.sessionState, 'CLOSED_ERROR');
    assert.equal(session.closeReason, 'recorder shut down');
    assert.ok(session.sessionDuration !== undefined);
    for (const track of session.tracks) {
      assert.ok(track.trackDuration !== undefined, `track ${track.trackNumber} was closed`);
      assert.ok(track.stats.packets > 0, `track ${track.trackNumber} statistics were stored`);
      assert.ok(
        track.stats.packets >= (storedBeforeStop.get(track.trackNumber)?.packets ?? Infinity),
        `track ${track.trackNumber} counts the packets its file held before the shutdown`,
      );
    }
    for (const ms of heardMs) {
      assert.ok(ms >= 1500, `the audio up to the shutdown is kept (${ms} ms)`);
    }
  });

  it('kill -9 loses at most a second per track: on restart the session is recovered as CLOSED_ERROR', async () => {
    const { session, heardMs, storedBeforeStop, storedAtStop } = await interruptedCall('SIGKILL');
    assert.equal(session.sessionState, 'CLOSED_ERROR');
    assert.equal(session.closeReason, 'recovered: the node stopped while recording');
    assert.ok(
      // Both files held 75 packets before the kill: the last one 1.48 s after the first.
      session.sessionDuration !== undefined && session.sessionDuration >= 1400,
      `the session lasts until its last stored packet: ${JSON.stringify(session)}`,
    );
    const lastStoredAt = Math.max(...[...storedAtStop.values()].map((track) => track.lastPacketAt ?? 0));
    assert.equal(
      session.sessionDuration,
      lastStoredAt - session.sessionStartDate,
      'the session ends at the last packet of its files',
    );
    assert.equal(storedAtStop.size, session.tracks.length, 'every track has its file');
    for (const track of session.tracks) {
      const before = storedBeforeStop.get(track.trackNumber);
      const atKill = storedAtStop.get(track.trackNumber);
      assert.ok(before !== undefined && atKill !== undefined, `track ${track.trackNumber} has its file`);
      assert.ok(track.stats.packets >= 75, `track ${track.trackNumber} statistics recovered from its file`);
      assert.ok(
        before.packets <= atKill.packets,
        `track ${track.trackNumber}: the kill took no packet out of the file`,
      );
      assert.equal(
        track.stats.packets,
        atKill.packets,
        `track ${track.trackNumber} counts every packet its file held at the kill`,
      );
      // SessionJson names only the statistics most tests read; the API returns them all.
      const stats = track.stats as typeof track.stats & { lastPacketAt?: number };
      assert.equal(
        stats.lastPacketAt,
        atKill.lastPacketAt,
        `track ${track.trackNumber} ends at its last packet`,
      );
    }
    for (const ms of heardMs) {
      // Both files held 1.5 s of packets before the kill.
      assert.ok(ms >= 1400, `the audio written before the kill is kept (${ms} ms)`);
    }
  });
});
