import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopAll } from '../support/processes.js';
import { sessionsQuery } from '../support/session-api.js';
import { runSippToEnd } from '../support/sipp-process.js';
import { refused503Scenario } from '../support/sipp-scenarios.js';
import { startServer, type RunningServer } from '../support/verbatim-server.js';

/**
 * Issue 4 point 7, issue 13: while the media disk is critically full in retention priority,
 * INVITEs get 503 with Retry-After so that the controller records on another node.
 * `--storage-critical-percent 100` makes any real disk critical (CRITICAL from 0 % used), so the
 * storage agent is exercised on the real file system; sipp plays the call controller and must see
 * the 503. (In recording priority, the default, calls are still taken at CRITICAL: pruning makes
 * room; see test/e2e/storage-retention.test.ts.)
 */

describe('storage critical', () => {
  let server: RunningServer;
  let work: string;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'verbatim-storage-'));
    server = await startServer({ extraArgs: ['--storage-critical-percent', '100'] });
    const set = await server.api('/ora/storageService/storage/setStoragePolicy', {
      requestParameters: { mode: 'RETENTION_PRIORITY' },
    });
    assert.equal(set.responseCode, 2000, JSON.stringify(set));
  });

  after(async () => {
    await server.stop();
    await stopAll();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses INVITEs with 503 and Retry-After, records nothing, and says why in the event log', async () => {
    // sipp expects 503 with a Retry-After and ACKs it (test/fixtures/sipp/refused-503.xml).
    const { code, run } = await runSippToEnd('sipp storage', server, refused503Scenario(), {
      work,
      timeoutSeconds: 20,
      exitWithinMs: 25_000,
    });
    assert.equal(code, 0, run.sipp.output());

    const answer = await server.api('/ora/queryService/query/getSessions', sessionsQuery());
    assert.deepEqual(answer.responseBody?.sessions ?? [], []);
    const log = server.process.output();
    assert.match(log, /STORAGE_THRESHOLD_EVENT ENTER_CRITICAL_STORAGE_SPACE/);
    assert.match(log, /RECORDING_EVENT REJECTED/);
    assert.match(log, /storage critically full/);
  });
});
