import assert from 'node:assert/strict';
import { mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRepositoryReadOnly } from '../../src/db/index.js';
import type { Session } from '../../src/model/session.js';
import {
  analyseChannel,
  assertPartyTones,
  assertTonesNear,
  capture,
  FAR_HZ,
  findSessionByRefCi,
  NEAR_HZ,
  runCucmCall,
} from '../support/cucm-calls.js';
import { stopAll } from '../support/processes.js';
import { downloadWav, type SessionJson } from '../support/session-api.js';
import { runSippToEnd } from '../support/sipp-process.js';
import { refused503Scenario } from '../support/sipp-scenarios.js';
import { mountExt4Image, type Ext4Image } from '../support/ext4-image.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { waitForPcmuOnDisk } from '../support/track-files.js';
import { startServer, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13 point 3, a disk that fills mid-call with the database on it: a 16 MiB tmpfs made for
 * the test is the node's whole data directory (database and media). A first call is recorded
 * cleanly; during a second, a filler file takes every block left. The node ends that call with
 * BYE, keeps what was written (it plays), refuses new INVITEs with 503 while it cannot write, and
 * once the filler is removed closes the session CLOSED_ERROR `disk-full` (its database writes were
 * retried, not lost), takes calls again by itself, and the first session is untouched.
 *
 * The storage agent samples only at start (`--storage-interval 3600`): at EMERGENCY the default
 * retention would prune the oldest session, and this test is about the failed writes themselves.
 * The second suite is the I/O error case: a media partition the kernel turns read-only mid-call.
 */

const SIZE = 16 * 1024 * 1024;
/** A second of each party on disk before the fill: the ended session must keep at least that. */
const KEPT_PACKETS = 50;

const mount = { tmpfs: undefined as Tmpfs | undefined, skip: '' };

interface StorageStatusJson {
  writable?: boolean;
  writeFailures?: { target: string; reason: string }[];
  refusingCalls?: boolean;
}

/** Writes a filler file until the partition refuses (ENOSPC), down to single pages. */
async function fillUp(path: string): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (const size of [1024 * 1024, 64 * 1024, 4096]) {
      const chunk = Buffer.alloc(size, 0x55);
      for (;;) {
        try {
          await file.write(chunk);
        } catch (error: unknown) {
          assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
          break;
        }
      }
    }
  } finally {
    await file.close();
  }
}

async function storageStatus(server: RunningServer): Promise<StorageStatusJson> {
  const answer = await server.api('/ora/storageService/storage/getStorageStatus');
  assert.equal(answer.responseCode, 2000, JSON.stringify(answer));
  return answer.responseBody as StorageStatusJson;
}

async function metrics(server: RunningServer): Promise<string> {
  const response = await fetch(`${server.baseUrl}/metrics`, {
    headers: { cookie: `JSESSIONID=${server.jsessionId}` },
  });
  assert.equal(response.status, 200);
  return response.text();
}

/**
 * The session the disk cut short: CLOSED_ERROR with `reason`, ended before its call did, each
 * track keeping at least the second that was on disk, and its WAV playing both tones without a gap.
 */
async function assertCutShort(server: RunningServer, session: SessionJson, reason: string): Promise<void> {
  assert.equal(session.sessionState, 'CLOSED_ERROR');
  assert.equal(session.closeReason, reason);
  assert.ok(
    (session.sessionDuration ?? 0) < 8000,
    `ended before the call did (${session.sessionDuration} ms)`,
  );
  for (const track of session.tracks) {
    assert.ok(
      track.stats.packets >= KEPT_PACKETS,
      `track ${track.trackNumber} kept ${track.stats.packets} packets, ${KEPT_PACKETS} were on disk`,
    );
  }
  const { wav } = await downloadWav(server, session);
  for (const [index, hz] of [NEAR_HZ, FAR_HZ].entries()) {
    const channel = analyseChannel(wav.channelSamples[index]!);
    const label = `channel ${index} of the session cut short (${reason})`;
    assert.ok(channel.firstMs >= 0, `${label}: no sound at all`);
    assert.deepEqual(channel.gaps, [], `${label}: silent windows at ${channel.gaps.join(', ')} ms`);
    assert.ok(
      channel.lastMs - channel.firstMs >= 900,
      `${label}: ${channel.lastMs - channel.firstMs} ms of sound`,
    );
    assertTonesNear(channel.tones, hz, label);
  }
}

/** While the node cannot write: it says why, and a new INVITE gets 503, counted by its reason. */
async function assertRefusing(
  server: RunningServer,
  work: string,
  target: string,
  reason: string,
): Promise<void> {
  await waitFor(async () => (await storageStatus(server)).writable === false, {
    what: 'the node to report it cannot write',
  });
  const status = await storageStatus(server);
  assert.equal(status.refusingCalls, true);
  assert.ok(
    status.writeFailures?.some((f) => f.target === target && f.reason === reason),
    JSON.stringify(status.writeFailures),
  );
  const refused = await runSippToEnd('sipp 503 while unwritable', server, refused503Scenario(), {
    work,
    timeoutSeconds: 20,
    exitWithinMs: 25_000,
  });
  assert.equal(refused.code, 0, refused.run.sipp.output());
  const scraped = await metrics(server);
  assert.match(scraped, /verbatim_invites_refused_total\{reason="storage-unwritable"\} [1-9]/);
  assert.match(scraped, /verbatim_storage_writable 0/);
}

/** A long call (8 s) during which `cut` runs once a second of each party is on disk. */
function callCutShort(
  server: RunningServer,
  work: string,
  mediaDir: string,
  cut: () => Promise<void>,
): Promise<{ refCi: string; sessionId: string }> {
  let sessionId = '';
  return runCucmCall(server, work, {
    near: { pcapPath: capture(work, 'near-long', 'PCMU', NEAR_HZ, 8), holdMs: 8300 },
    far: { pcapPath: capture(work, 'far-long', 'PCMU', FAR_HZ, 8), holdMs: 8300 },
    // The node ends the call with its own BYE: the legs' scenarios do not expect it.
    legsMayFail: true,
    duringCall: async (ci) => {
      const session = await findSessionByRefCi(server, ci, (s) => s.sessionState === 'ACTIVE');
      sessionId = session.sessionId;
      await waitForPcmuOnDisk(mediaDir, session, KEPT_PACKETS);
      await cut();
    },
  }).then((refCi) => ({ refCi, sessionId }));
}

describe('a disk that fills mid-call, with the database on it', { timeout: 120_000 }, () => {
  let dataDir: string;
  let work: string;
  let server: RunningServer | undefined;

  function node(): RunningServer {
    assert.ok(server !== undefined);
    return server;
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'verbatim-disk-full-'));
    work = await mkdtemp(join(tmpdir(), 'verbatim-disk-full-work-'));
    const mounted = await mountTmpfs(dataDir, SIZE);
    if (typeof mounted === 'string') {
      mount.skip = mounted;
      return;
    }
    mount.tmpfs = mounted;
    server = await startServer({ dataDir, extraArgs: ['--storage-interval', '3600'] });
  });

  after(async () => {
    await server?.stop({ keepData: true });
    await stopAll();
    await mount.tmpfs?.unmount();
    await rm(dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  async function storedSession(sessionId: string): Promise<Session> {
    const repository = await openRepositoryReadOnly({ kind: 'sqlite', path: join(dataDir, 'verbatim.db') });
    try {
      const session = await repository.getSession(sessionId);
      assert.ok(session !== undefined, `session ${sessionId} is stored`);
      return session;
    } finally {
      await repository.close();
    }
  }

  it('ends the call CLOSED_ERROR disk-full keeping what was written, refuses calls while full, recovers by itself', async (t) => {
    if (mount.tmpfs === undefined) {
      t.skip(mount.skip);
      return;
    }
    const near = capture(work, 'near', 'PCMU', NEAR_HZ, 3);
    const far = capture(work, 'far', 'PCMU', FAR_HZ, 3);
    const earlierRefCi = await runCucmCall(node(), work, {
      near: { pcapPath: near },
      far: { pcapPath: far },
    });
    const earlier = await findSessionByRefCi(node(), earlierRefCi, (s) => s.sessionState === 'CLOSED_NORMAL');

    const filler = join(dataDir, 'filler.bin');
    const { refCi, sessionId } = await callCutShort(node(), work, join(dataDir, 'media'), () =>
      fillUp(filler),
    );

    // While the disk is full: the node refuses new calls with 503 and says why; the API answers.
    await assertRefusing(node(), work, 'media', 'disk-full');
    const earlierWhileFull = await findSessionByRefCi(node(), earlierRefCi, () => true);
    assert.equal(earlierWhileFull.sessionState, 'CLOSED_NORMAL');

    // Space returns: the node probes, takes calls again, and the session's writes are stored
    // (the database shares the disk: its close may have waited for the space).
    await unlink(filler);
    await waitFor(async () => (await storageStatus(node())).writable === true, {
      what: 'the node to find it can write again',
      timeoutMs: 15_000,
    });
    const ended = await findSessionByRefCi(node(), refCi, (s) => s.sessionState !== 'ACTIVE');
    assert.equal(ended.sessionId, sessionId);
    await assertCutShort(node(), ended, 'disk-full');
    // Its statistics and digests are stored.
    const stored = await storedSession(sessionId);
    for (const track of stored.tracks) {
      assert.ok(track.mediaDigest !== undefined, `track ${track.trackNumber} was digested`);
    }

    // A new call is recorded cleanly, and the first session is as it was.
    const nextRefCi = await runCucmCall(node(), work, { near: { pcapPath: near }, far: { pcapPath: far } });
    const next = await findSessionByRefCi(node(), nextRefCi, (s) => s.sessionState !== 'ACTIVE');
    assert.equal(next.sessionState, 'CLOSED_NORMAL');
    await assertPartyTones(node(), next, { nearHz: NEAR_HZ, farHz: FAR_HZ, label: 'after recovery: ' });
    const earlierAfter = await findSessionByRefCi(node(), earlierRefCi, () => true);
    assert.equal(earlierAfter.sessionState, 'CLOSED_NORMAL');
    assert.deepEqual(
      earlierAfter.tracks.map((track) => track.stats.packets),
      earlier.tracks.map((track) => track.stats.packets),
    );
    await assertPartyTones(node(), earlierAfter, { nearHz: NEAR_HZ, farHz: FAR_HZ, label: 'earlier call: ' });
    assert.match(node().process.output(), /track write failed: ending the session/);
  });
});

/**
 * The media partition turning read-only mid-call (EROFS), as the kernel remounts an ext4 file
 * system after a disk error: a 32 MiB ext4 image loop-mounted with `errors=remount-ro` is the
 * media directory (the database is on the ordinary disk, so its writes go on). The call ends
 * CLOSED_ERROR `write-failed: EROFS` at once, keeping what was written, new calls get 503 as long
 * as the partition stays read-only (here, for good: ext4 stays read-only until it is unmounted and
 * checked), and the session recorded before is untouched.
 */
describe('a media partition that turns read-only mid-call', { timeout: 120_000 }, () => {
  let dataDir: string;
  let work: string;
  let server: RunningServer | undefined;
  const ext4 = { image: undefined as Ext4Image | undefined, skip: '' };

  function node(): RunningServer {
    assert.ok(server !== undefined);
    return server;
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'verbatim-read-only-'));
    work = await mkdtemp(join(tmpdir(), 'verbatim-read-only-work-'));
    const mounted = await mountExt4Image(join(dataDir, 'media'), join(work, 'media.ext4'), 32 * 1024 * 1024);
    if (typeof mounted === 'string') {
      ext4.skip = mounted;
      return;
    }
    ext4.image = mounted;
    server = await startServer({ dataDir, extraArgs: ['--storage-interval', '3600'] });
  });

  after(async () => {
    await server?.stop({ keepData: true });
    await stopAll();
    await ext4.image?.unmount();
    await rm(dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('ends the call CLOSED_ERROR write-failed: EROFS keeping what was written, and refuses calls', async (t) => {
    const image = ext4.image;
    if (image === undefined) {
      t.skip(ext4.skip);
      return;
    }
    const near = capture(work, 'near', 'PCMU', NEAR_HZ, 3);
    const far = capture(work, 'far', 'PCMU', FAR_HZ, 3);
    const earlierRefCi = await runCucmCall(node(), work, {
      near: { pcapPath: near },
      far: { pcapPath: far },
    });
    await findSessionByRefCi(node(), earlierRefCi, (s) => s.sessionState === 'CLOSED_NORMAL');

    const { refCi, sessionId } = await callCutShort(node(), work, join(dataDir, 'media'), () =>
      image.failToReadOnly(),
    );
    const ended = await findSessionByRefCi(node(), refCi, (s) => s.sessionState !== 'ACTIVE');
    assert.equal(ended.sessionId, sessionId);
    await assertCutShort(node(), ended, 'write-failed: EROFS');
    await assertRefusing(node(), work, 'media', 'write-failed: EROFS');

    const earlier = await findSessionByRefCi(node(), earlierRefCi, () => true);
    assert.equal(earlier.sessionState, 'CLOSED_NORMAL');
    await assertPartyTones(node(), earlier, { nearHz: NEAR_HZ, farHz: FAR_HZ, label: 'earlier call: ' });
  });
});
