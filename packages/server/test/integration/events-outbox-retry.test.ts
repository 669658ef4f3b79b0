import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { pino } from 'pino';

import { openRepository } from '../../src/db/index.js';
import { OutboxWriter } from '../../src/events/outbox-writer.js';
import { SubscriptionService } from '../../src/events/subscriptions.js';
import type { NewOutboxEntry } from '../../src/model/event-subscription.js';
import { useTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13: an outbox write that fails because the disk is full (SQLITE_FULL) is retried until it
 * is stored, in order, rather than lost: the STORAGE_THRESHOLD_EVENT of a full partition is the
 * one event an operator must not miss. Another database error still loses the event, counted.
 */

const NODE = 'node-1';

void describe('the event outbox on a failing disk', () => {
  const dir = useTempDir('verbatim-outbox-retry-');

  void it('retries a write that failed for the disk, keeps the order, and gives up other errors', async () => {
    const repository = await openRepository({ kind: 'sqlite', path: join(dir.path, 'verbatim.db') });
    await repository.migrate();
    const failures: string[] = [];
    const append = repository.appendOutbox.bind(repository);
    repository.appendOutbox = (entries: readonly NewOutboxEntry[]) => {
      const code = failures.shift();
      return code === undefined ? append(entries) : Promise.reject(Object.assign(new Error(code), { code }));
    };
    const subscriptions = new SubscriptionService({ store: repository });
    const created = await subscriptions.subscribe({
      subscriptionUri: 'http://127.0.0.1:9/events',
      eventTypes: ['STORAGE_THRESHOLD_EVENT'],
      apiVersion: '1.1',
      createdBy: 'admin',
    });
    const subscriptionId = created.subscription.subscriptionId;
    const writer = new OutboxWriter({
      store: repository,
      subscriptions,
      payload: { formatSession: () => ({}), nodeIpAddress: '10.0.0.9' },
      nodeId: NODE,
      onWritten: () => undefined,
      logger: pino({ level: 'silent' }),
      retryDelayMs: { first: 5, max: 20 },
    });
    const event = (percentageUtilization: number) =>
      ({
        eventType: 'STORAGE_THRESHOLD_EVENT',
        eventAction: 'ENTER_EMERGENCY_STORAGE_SPACE',
        nodeId: NODE,
        partition: '/data/media',
        percentageUtilization,
        at: Date.now(),
      }) as const;

    failures.push('SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_FULL');
    writer.handle(event(99));
    writer.handle(event(100));
    await writer.flush();
    assert.equal(writer.failed, 0);
    const stored = await repository.pendingOutbox(subscriptionId, NODE, 10);
    assert.deepEqual(
      stored.map(
        (entry) =>
          (JSON.parse(entry.payload) as { eventBody: { percentageUtilization: number } }).eventBody
            .percentageUtilization,
      ),
      [99, 100],
    );

    failures.push('SQLITE_CONSTRAINT_CHECK');
    writer.handle(event(98));
    await waitFor(() => writer.failed === 1, { what: 'the other error to lose the event' });
    assert.equal((await repository.pendingOutbox(subscriptionId, NODE, 10)).length, 2);

    // Stopped (shutdown): a write failing for the disk is given up.
    writer.stop();
    failures.push('SQLITE_FULL');
    writer.handle(event(97));
    await writer.flush();
    assert.equal(writer.failed, 2);
    await repository.close();
  });
});
