import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAR_HZ, NEAR_HZ, capture, findSessionByRefCi, runCucmCall } from '../support/cucm-calls.js';
import { EventReceiver } from '../support/event-receiver.js';
import { stopAll } from '../support/processes.js';
import type { SessionJson } from '../support/session-api.js';
import { runSippToEnd } from '../support/sipp-process.js';
import { refused503Scenario } from '../support/sipp-scenarios.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { sessionFolder, waitForPcmuOnDisk } from '../support/track-files.js';
import { startServer, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13 point 2 with real calls on a real, small partition: a 1 MiB tmpfs made for the test is
 * the node's media directory. SIPp plays three CUCM calls (the oldest then put on legal hold);
 * a filler file takes the partition past CRITICAL, and in recording priority the node prunes the
 * oldest session not on hold, and only as much as it needs (one session of about 80 KB brings
 * 90.5 % under 85 %), with the PRUNED event at a webhook receiver and the session in
 * getAllPrunedSessions. Then in retention priority nothing is pruned and a new call gets 503.
 */

const SIZE = 1024 * 1024;
const PAGE = 4096;

interface StorageStatus {
  level: string;
  percentageUtilization?: number;
  sampledAt?: number;
  pruned: number;
  refusingCalls: boolean;
}

const mount = { tmpfs: undefined as Tmpfs | undefined, skip: '' };

/** Bytes a folder takes on tmpfs: each file rounded up to whole pages. */
/** A second of a party: on disk before the partition fills, so the ended session must keep it. */
const KEPT_PACKETS = 50;

async function footprint(folder: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    total += entry.isDirectory() ? await footprint(path) : Math.ceil((await stat(path)).size / PAGE) * PAGE;
  }
  return total;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('retention on a full partition with real calls', () => {
  let dataDir: string;
  let work: string;
  let server: RunningServer | undefined;
  let receiver: EventReceiver | undefined;
  const sessions: SessionJson[] = [];

  function node(): RunningServer {
    assert.ok(server !== undefined);
    return server;
  }

  function events(): EventReceiver {
    assert.ok(receiver !== undefined);
    return receiver;
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'verbatim-retention-e2e-'));
    work = await mkdtemp(join(tmpdir(), 'verbatim-retention-work-'));
    const mounted = await mountTmpfs(join(dataDir, 'media'), SIZE);
    if (typeof mounted === 'string') {
      mount.skip = mounted;
      return;
    }
    mount.tmpfs = mounted;
    server = await startServer({ dataDir, extraArgs: ['--storage-interval', '0.2'] });
    receiver = await EventReceiver.start();
    const subscribed = await node().api('/ora/eventService/event/subscribeToEvents', {
      requestParameters: {
        subscriptionUri: events().url('/cleanup'),
        subscriptionFilters: ['SESSION_PRUNED_EVENT', 'STORAGE_THRESHOLD_EVENT'],
      },
    });
    assert.equal(subscribed.responseCode, 2000, JSON.stringify(subscribed));
  });

  after(async () => {
    await server?.stop({ keepData: true });
    await receiver?.stop();
    await stopAll();
    await mount.tmpfs?.unmount();
    await rm(dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  async function status(): Promise<StorageStatus> {
    const answer = await node().api('/ora/storageService/storage/getStorageStatus');
    assert.equal(answer.responseCode, 2000, JSON.stringify(answer));
    return answer.responseBody as unknown as StorageStatus;
  }

  /** Grows the filler until the partition is `percent` used; answers the bytes added. */
  async function fillTo(percent: number): Promise<number> {
    const fs = await statfs(join(dataDir, 'media'));
    const total = fs.blocks * fs.bsize;
    const used = (fs.blocks - fs.bfree) * fs.bsize;
    const target = Math.ceil((total * percent) / 100 / PAGE) * PAGE;
    const add = Math.max(0, target - used);
    await appendFile(join(dataDir, 'media', 'filler.bin'), Buffer.alloc(add, 0x55));
    return add;
  }

  function folderOf(session: SessionJson): string {
    return sessionFolder(join(dataDir, 'media'), session);
  }

  it('records three calls, then prunes the oldest not on legal hold when the partition turns critical', async (t) => {
    if (mount.tmpfs === undefined) {
      t.skip(mount.skip);
      return;
    }
    const near = capture(work, 'near', 'PCMU', NEAR_HZ, 4);
    const far = capture(work, 'far', 'PCMU', FAR_HZ, 4);
    for (let i = 0; i < 3; i++) {
      const refCi = await runCucmCall(node(), work, {
        near: { pcapPath: near, holdMs: 4300 },
        far: { pcapPath: far, holdMs: 4300 },
      });
      sessions.push(await findSessionByRefCi(node(), refCi, (s) => s.sessionState === 'CLOSED_NORMAL'));
    }
    const [held, oldest, newest] = sessions;
    assert.ok(held !== undefined && oldest !== undefined && newest !== undefined);
    // Legal hold on the oldest call, in another case than the policy's `LegalHold`.
    const tagged = await node().api('/ora/managementService/manage/addSessionTag', {
      requestParameters: { sessionId: held.sessionId, tagName: 'legalhold' },
    });
    assert.equal(tagged.responseCode, 2000, JSON.stringify(tagged));

    // The oldest call is converted to MP4 first: pruning removes the cached MP4 with the tracks.
    const converted = await node().api('/ora/managementService/manage/convertSession', {
      requestParameters: { sessionId: oldest.sessionId, conversionFormat: 'mp4' },
    });
    assert.equal(converted.responseCode, 2000, JSON.stringify(converted));
    const mp4Files = async (): Promise<string[]> =>
      (await readdir(folderOf(oldest)).catch(() => [] as string[])).filter((name) => name.endsWith('.mp4'));
    assert.equal((await mp4Files()).length, 1, 'the MP4 is cached in the session folder');
    const mp4Url = oldest.urls.mp4Url;
    const mp4Before = await fetch(mp4Url, { headers: { cookie: `JSESSIONID=${node().jsessionId}` } });
    assert.equal(mp4Before.status, 200);
    await mp4Before.arrayBuffer();

    // One session's media must be enough to leave CRITICAL (85 %) from 90.5 %.
    const size = await footprint(folderOf(oldest));
    assert.ok(size > SIZE * 0.06, `a session takes ${size} bytes on the partition`);
    await fillTo(90.5);

    const pruned = await events().waitFor(
      '/cleanup',
      (received) => received.some((e) => e.json.eventAction === 'PRUNED'),
      'a PRUNED event',
    );
    const prunedEvents = pruned.filter((e) => e.json.eventAction === 'PRUNED');
    assert.deepEqual(
      prunedEvents.map((e) => e.json.eventBody.sessionIds),
      [[oldest.sessionId]],
    );
    await waitFor(async () => (await status()).level === 'LOW', { what: 'the level to fall to LOW' });
    assert.equal(await exists(folderOf(oldest)), false, 'the pruned session folder is gone');
    assert.deepEqual(await mp4Files(), [], 'its cached MP4 with it');
    const mp4After = await fetch(mp4Url, { headers: { cookie: `JSESSIONID=${node().jsessionId}` } });
    assert.equal(mp4After.status, 404, 'the MP4 of a pruned session is not served');
    assert.equal(await exists(folderOf(held)), true, 'the session on legal hold is kept');
    assert.equal(await exists(folderOf(newest)), true, 'the newer session is kept');

    const all = await node().api('/ora/queryService/query/getAllPrunedSessions');
    assert.equal(all.responseCode, 2000, JSON.stringify(all));
    const prunedSessions = (all.responseBody?.sessions ?? []) as (SessionJson & { pruned?: boolean })[];
    assert.deepEqual(
      prunedSessions.map((s) => [s.sessionId, s.sessionState, s.pruned]),
      [[oldest.sessionId, 'CLOSED_NORMAL', true]],
    );
    const thresholds = events()
      .on('/cleanup')
      .filter((e) => e.json.eventType === 'STORAGE_THRESHOLD_EVENT')
      .map((e) => e.json.eventAction);
    assert.deepEqual(thresholds, [
      'ENTER_LOW_STORAGE_SPACE',
      'ENTER_CRITICAL_STORAGE_SPACE',
      'EXIT_CRITICAL_STORAGE_SPACE',
    ]);
    assert.equal((await status()).pruned, 1);
    // A held session cannot be deleted either.
    const refused = await node().api('/ora/managementService/manage/deleteSessions', {
      requestParameters: { sessionIds: [held.sessionId] },
    });
    assert.equal(refused.responseCode, 4044, JSON.stringify(refused));
    assert.match(refused.detail ?? '', new RegExp(held.sessionId));
  });

  it('in retention priority prunes nothing at CRITICAL and answers new calls with 503', async (t) => {
    if (mount.tmpfs === undefined) {
      t.skip(mount.skip);
      return;
    }
    const set = await node().api('/ora/storageService/storage/setStoragePolicy', {
      requestParameters: { mode: 'RETENTION_PRIORITY' },
    });
    assert.equal(set.responseCode, 2000, JSON.stringify(set));
    await fillTo(92);
    await waitFor(async () => (await status()).level === 'CRITICAL', { what: 'the level to reach CRITICAL' });
    assert.equal((await status()).refusingCalls, true);
    const { code, run } = await runSippToEnd('sipp storage 503', node(), refused503Scenario(), {
      work,
      timeoutSeconds: 20,
      exitWithinMs: 25_000,
    });
    assert.equal(code, 0, run.sipp.output());
    // A few more samples at CRITICAL: still nothing pruned.
    const since = Date.now();
    await waitFor(async () => ((await status()).sampledAt ?? 0) > since + 500, { what: 'more samples' });
    assert.equal((await status()).pruned, 1);
    const newest = sessions[2];
    assert.ok(newest !== undefined);
    assert.equal(await exists(folderOf(newest)), true);
    assert.match(node().process.output(), /storage critically full/);
  });
});

/**
 * Retention priority at EMERGENCY with a call in progress, on an 8 MiB tmpfs (1 % of it is room
 * for a few seconds of the call's writes, so the end comes from the storage agent, not from a
 * failed write): the recording is ended cleanly, CLOSED_ERROR, with what was written kept and the
 * ENDED event sent.
 */
describe('retention priority ends recordings at EMERGENCY', () => {
  let dataDir: string;
  let work: string;
  let server: RunningServer | undefined;
  let receiver: EventReceiver | undefined;
  const emergencyMount = { tmpfs: undefined as Tmpfs | undefined, skip: '' };

  function node(): RunningServer {
    assert.ok(server !== undefined);
    return server;
  }

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'verbatim-emergency-e2e-'));
    work = await mkdtemp(join(tmpdir(), 'verbatim-emergency-work-'));
    const mounted = await mountTmpfs(join(dataDir, 'media'), 8 * SIZE);
    if (typeof mounted === 'string') {
      emergencyMount.skip = mounted;
      return;
    }
    emergencyMount.tmpfs = mounted;
    server = await startServer({ dataDir, extraArgs: ['--storage-interval', '0.2'] });
    receiver = await EventReceiver.start();
    const subscribed = await node().api('/ora/eventService/event/subscribeToEvents', {
      requestParameters: {
        subscriptionUri: receiver.url('/ended'),
        subscriptionFilters: ['SESSION_ENDED_EVENT'],
      },
    });
    assert.equal(subscribed.responseCode, 2000, JSON.stringify(subscribed));
    const set = await node().api('/ora/storageService/storage/setStoragePolicy', {
      requestParameters: { mode: 'RETENTION_PRIORITY' },
    });
    assert.equal(set.responseCode, 2000, JSON.stringify(set));
  });

  after(async () => {
    await server?.stop({ keepData: true });
    await receiver?.stop();
    await stopAll();
    await emergencyMount.tmpfs?.unmount();
    await rm(dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('ends the call being recorded as CLOSED_ERROR, keeps what was written and sends ENDED', async (t) => {
    if (emergencyMount.tmpfs === undefined) {
      t.skip(emergencyMount.skip);
      return;
    }
    let sessionId = '';
    const refCi = await runCucmCall(node(), work, {
      near: { pcapPath: capture(work, 'near-long', 'PCMU', NEAR_HZ, 8), holdMs: 8300 },
      far: { pcapPath: capture(work, 'far-long', 'PCMU', FAR_HZ, 8), holdMs: 8300 },
      // The node ends the call with its own BYE: the legs' scenarios do not expect it.
      legsMayFail: true,
      duringCall: async (ci) => {
        const active = await findSessionByRefCi(node(), ci, (s) => s.sessionState === 'ACTIVE');
        sessionId = active.sessionId;
        // A second of each party on disk (each track file, as the worker writes it in batches),
        // then the partition at 99.3 %.
        await waitForPcmuOnDisk(join(dataDir, 'media'), active, KEPT_PACKETS);
        const fs = await statfs(join(dataDir, 'media'));
        const used = (fs.blocks - fs.bfree) * fs.bsize;
        const target = Math.ceil((fs.blocks * fs.bsize * 0.993) / PAGE) * PAGE;
        await appendFile(
          join(dataDir, 'media', 'filler.bin'),
          Buffer.alloc(Math.max(0, target - used), 0x55),
        );
      },
    });
    const ended = await findSessionByRefCi(node(), refCi, (s) => s.sessionState !== 'ACTIVE');
    assert.equal(ended.sessionId, sessionId);
    assert.equal(ended.sessionState, 'CLOSED_ERROR');
    assert.ok((ended.sessionDuration ?? 0) < 8000, `ended before the call did (${ended.sessionDuration} ms)`);
    for (const track of ended.tracks) {
      assert.ok(
        track.stats.packets >= KEPT_PACKETS,
        `track ${track.trackNumber} kept ${track.stats.packets} packets, ${KEPT_PACKETS} were on disk`,
      );
    }
    const answer = await node().api('/ora/storageService/storage/getStorageStatus');
    const status = answer.responseBody as unknown as StorageStatus & { recordingsEnded: number };
    assert.equal(status.level, 'EMERGENCY');
    assert.equal(status.recordingsEnded, 1);
    assert.match(
      node().process.output(),
      /storage emergency: the media partition is full \(retention priority\)/,
    );
    assert.ok(receiver !== undefined);
    const endedEvents = await receiver.waitFor(
      '/ended',
      (received) => received.some((e) => e.json.eventBody.sessionId === sessionId),
      'the ENDED event',
    );
    const body = endedEvents.find((e) => e.json.eventBody.sessionId === sessionId)?.json.eventBody;
    assert.equal(body?.sessionState, 'CLOSED_ERROR');
  });
});
