import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { openRepository } from '../../src/db/index.js';
import { SubscriptionService } from '../../src/events/subscriptions.js';
import { runCli } from '../support/cli-process.js';

// `verbatim subscriptions list | remove` as child processes on a temporary data dir, on
// subscriptions made through the same service the API uses; the rows are read back after.

void describe('verbatim subscriptions', () => {
  let dir = '';
  let subscriptionId = '';
  const dbPath = (): string => join(dir, 'data', 'verbatim.db');

  async function withService<T>(use: (service: SubscriptionService) => Promise<T>): Promise<T> {
    const repository = await openRepository({ kind: 'sqlite', path: dbPath() });
    try {
      await repository.migrate();
      return await use(new SubscriptionService({ store: repository }));
    } finally {
      await repository.close();
    }
  }

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-cli-subscriptions-'));
    assert.equal((await runCli(['migrate'], dir)).code, 0);
    const outcome = await withService((service) =>
      service.subscribe({
        subscriptionUri: 'http://127.0.0.1:9/sessionEvent',
        eventTypes: ['SESSION_STARTED_EVENT', 'SESSION_ENDED_EVENT'],
        apiVersion: '1.1',
        createdBy: 'api-user',
      }),
    );
    subscriptionId = outcome.subscription.subscriptionId;
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('lists each subscription with its state, backlog, receiver and types', async () => {
    const run = await runCli(['subscriptions', 'list'], dir);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID\s+STATE\s+BACKLOG\s+URI\s+EVENTS\s+CREATED$/);
    assert.equal(lines.length, 2);
    assert.match(
      lines[1] ?? '',
      new RegExp(
        `^${subscriptionId}\\s+ACTIVE\\s+0\\s+http://127\\.0\\.0\\.1:9/sessionEvent\\s+SESSION_STARTED_EVENT,SESSION_ENDED_EVENT\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z by api-user$`,
      ),
    );
  });

  void it('removes one, audited as the OS user from cli; an unknown id fails with exit 1', async () => {
    const run = await runCli(['subscriptions', 'remove', subscriptionId], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `removed subscription ${subscriptionId}\n`);
    assert.equal(await withService((service) => service.get(subscriptionId)), undefined);
    const again = await runCli(['subscriptions', 'remove', subscriptionId], dir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`no subscription '${subscriptionId}'`));
    const repository = await openRepository({ kind: 'sqlite', path: dbPath() });
    try {
      const records = await repository.queryAudit({ action: 'removeSubscription', limit: 10 });
      assert.deepEqual(
        records.map((r) => [r.target, r.source]),
        [[`subscription ${subscriptionId}`, 'cli']],
      );
    } finally {
      await repository.close();
    }
  });
});
