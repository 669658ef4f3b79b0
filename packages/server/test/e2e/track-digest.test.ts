import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRepositoryReadOnly } from '../../src/db/index.js';
import type { Session } from '../../src/model/session.js';
import { runCli } from '../support/cli-process.js';
import { capture, FAR_HZ, findSessionByRefCi, NEAR_HZ, runCucmCall } from '../support/cucm-calls.js';
import { stopAll } from '../support/processes.js';
import { startServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13: every finished track file gets a SHA-256 digest stored with its track, computed when
 * the file is final. A real SIPp call recorded by the built server: after the call, and after a
 * kill -9 in the middle of one and the recovery at the next start, the stored digests are those
 * of the files on disk, and `verbatim verify` finds the store intact.
 */

let work: string;

/** The session as the database holds it, read beside (or after) the node, as `verify` reads it. */
async function storedSession(dataDir: string, sessionId: string): Promise<Session> {
  const repository = await openRepositoryReadOnly({ kind: 'sqlite', path: join(dataDir, 'verbatim.db') });
  try {
    const session = await repository.getSession(sessionId);
    assert.ok(session !== undefined, `session ${sessionId} is stored`);
    return session;
  } finally {
    await repository.close();
  }
}

/** Each track's stored digest is the SHA-256 and length of its file as it is now. */
async function assertDigestsMatchFiles(dataDir: string, session: Session): Promise<void> {
  assert.equal(session.tracks.length, 2);
  for (const track of session.tracks) {
    const bytes = await readFile(join(dataDir, 'media', track.mediaPath));
    assert.ok(bytes.length > 24 + 16 * 50, `track ${track.trackNumber} holds packets`);
    assert.ok(track.mediaDigest !== undefined, `track ${track.trackNumber} was digested`);
    assert.equal(track.mediaDigest.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(track.mediaDigest.bytes, bytes.length);
  }
}

async function assertVerifyIntact(dataDir: string, tracks: number): Promise<void> {
  const run = await runCli(['verify', '--data-dir', dataDir], work);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(
    run.stdout,
    new RegExp(`verify: all intact: ${tracks} track\\(s\\) of \\d+ session\\(s\\) checked, ${tracks} intact`),
  );
}

void describe('track digests of real calls', { timeout: 180_000 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'verbatim-digest-'));
  });

  after(async () => {
    await stopAll();
    await rm(work, { recursive: true, force: true });
  });

  void it('a call that ends has the SHA-256 of each track file stored with the track', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'verbatim-digest-call-'));
    const server = await startServer({ dataDir });
    try {
      const refCi = await runCucmCall(server, work, {
        near: { pcapPath: capture(work, 'near-call', 'PCMU', NEAR_HZ, 2) },
        far: { pcapPath: capture(work, 'far-call', 'PCMU', FAR_HZ, 2) },
      });
      const closed = await findSessionByRefCi(server, refCi, (s) => s.sessionState === 'CLOSED_NORMAL');
      // Read beside the running node, as an auditor would.
      await assertDigestsMatchFiles(dataDir, await storedSession(dataDir, closed.sessionId));
      await assertVerifyIntact(dataDir, 2);
    } finally {
      await server.stop();
    }
  });

  void it('after a kill -9 the recovered tracks are digested as the recovery left them', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'verbatim-digest-kill-'));
    const first = await startServer({ dataDir, mediaTimeoutSeconds: 30 });
    let sessionId = '';
    const refCi = await runCucmCall(first, work, {
      near: { pcapPath: capture(work, 'near-kill', 'PCMU', NEAR_HZ, 6), holdMs: 8_000, ending: 'await-bye' },
      far: { pcapPath: capture(work, 'far-kill', 'PCMU', FAR_HZ, 6), holdMs: 8_000, ending: 'await-bye' },
      legsMayFail: true,
      duringCall: async (ref) => {
        const active = await findSessionByRefCi(
          first,
          ref,
          (s) => s.sessionState === 'ACTIVE' && s.tracks.length === 2,
        );
        sessionId = active.sessionId;
        // A second of packets in both files, then the kill.
        await waitFor(
          async () => {
            const files = (await readdir(join(dataDir, 'media'), { recursive: true })).filter((p) =>
              new RegExp(`${sessionId}/track\\d\\.pcap$`).test(p),
            );
            if (files.length < 2) {
              return false;
            }
            const sizes = await Promise.all(
              files.map(async (f) => (await readFile(join(dataDir, 'media', f))).length),
            );
            return sizes.every((size) => size > 24 + 50 * 188);
          },
          { timeoutMs: 10_000, what: 'both track files holding a second of packets' },
        );
        await first.stop({ keepData: true, signal: 'SIGKILL' });
      },
    });
    const before = await storedSession(dataDir, sessionId);
    assert.equal(before.sessionState, 'ACTIVE');
    assert.ok(
      before.tracks.every((t) => t.mediaDigest === undefined),
      'a track being written has no digest',
    );
    const second = await startServer({ dataDir, mediaTimeoutSeconds: 30 });
    try {
      await findSessionByRefCi(second, refCi, (s) => s.sessionState === 'CLOSED_ERROR');
      await assertDigestsMatchFiles(dataDir, await storedSession(dataDir, sessionId));
      await assertVerifyIntact(dataDir, 2);
    } finally {
      await second.stop();
    }
  });
});
