import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { openRepository } from '../../src/db/index.js';
import { SubscriptionService } from '../../src/events/subscriptions.js';
import { CATEGORY_TYPES } from '../../src/model/event-subscription.js';
import { capture } from '../support/cucm-calls.js';
import { Receiver, type Body } from '../support/event-receiver.js';
import { genericSipScenario, runGenericCall } from '../support/generic-calls.js';
import { control } from '../support/pause-checks.js';
import { stopAll } from '../support/processes.js';
import { startServer, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Subscribed events of a recorded call reach a real HTTP receiver from `verbatim serve` (issue
 * 11): SIPp places a call; while it is ACTIVE a client tags it, pauses and resumes it; the
 * receiver gets STARTED, the tag and pause events with an UPDATED after each, and ENDED with the
 * tracks' downloadUrl, in that order, once each. The subscription is written to the node's
 * database before it starts (the subscription API is not part of this test).
 */

const MANAGE = '/ora/managementService/manage';
const QUERY = '/ora/queryService/query';

describe('events of a recorded call to a subscriber (sipp, verbatim serve)', { timeout: 120_000 }, () => {
  let work: string;
  let server: RunningServer;
  const receiver = new Receiver();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'verbatim-events-e2e-'));
    await receiver.listen();
    const repository = await openRepository({ kind: 'sqlite', path: join(work, 'verbatim.db') });
    await repository.migrate();
    await new SubscriptionService({ store: repository }).subscribe({
      subscriptionUri: receiver.url,
      eventTypes: [...CATEGORY_TYPES.RECORDING_EVENTS, ...CATEGORY_TYPES.TAG_EVENTS],
      apiVersion: '1.1',
      createdBy: 'test',
    });
    await repository.close();
    server = await startServer({ dataDir: work, mediaTimeoutSeconds: 10 });
  });

  after(async () => {
    await stopAll();
    const code = await server.stop();
    await receiver.close();
    await rm(work, { recursive: true, force: true });
    assert.equal(code, 0, `verbatim serve did not shut down cleanly:\n${server.process.output()}`);
  });

  it('delivers STARTED, tags, UPDATED and ENDED in order, once each', async () => {
    const fromUser = `8${String(Date.now() % 1_000_000).padStart(6, '0')}`;
    const call = runGenericCall(server, work, {
      name: 'events',
      scenario: genericSipScenario({
        fromUser,
        toUser: '4000',
        audioLines: 1,
        pcapPath: capture(work, 'events', 'PCMU', 700, 6),
        holdMs: 6500,
      }),
      holdMs: 6500,
    });
    const started = await waitFor(
      () => receiver.bodies().find((b) => b.eventType === 'SESSION_EVENT' && b.eventAction === 'STARTED'),
      { timeoutMs: 15_000, what: 'the STARTED event' },
    );
    const sessionId = String(started.eventBody.sessionId);
    const sessions = await server.api(`${QUERY}/getSessionBySessionId?value=${sessionId}`);
    assert.equal(sessions.responseCode, 2000, 'the STARTED event names a stored session');
    const tag = await server.api(`${MANAGE}/addSessionTag`, {
      requestParameters: { sessionId, tagName: 'QM:Review' },
    });
    assert.equal(tag.responseCode, 2000);
    assert.equal(await control(server, 'pauseRecording', sessionId), 2000);
    assert.equal(await control(server, 'resumeRecording', sessionId), 2000);
    await call;
    await waitFor(
      () => receiver.bodies().some((b) => b.eventType === 'SESSION_EVENT' && b.eventAction === 'ENDED'),
      { timeoutMs: 20_000, what: 'the ENDED event' },
    );

    const ofCall = receiver.bodies().filter((b) => b.eventBody.sessionId === sessionId);
    const label = (b: Body): string =>
      b.eventType === 'TAG_EVENT' ? `TAG ${b.eventAction} ${String(b.eventBody.tagName)}` : b.eventAction;
    assert.deepEqual(ofCall.map(label), [
      'STARTED',
      'TAG ADDED QM:Review',
      'UPDATED',
      'TAG ADDED Pause',
      'UPDATED',
      'TAG ADDED Resume',
      'UPDATED',
      'ENDED',
    ]);
    const ids = receiver.received.map((r) => Number(r.headers['x-verbatim-event-id']));
    assert.equal(new Set(ids).size, ids.length, 'each event once');
    const [, , , , , , updatedLast, ended] = ofCall as [Body, Body, Body, Body, Body, Body, Body, Body];
    assert.deepEqual(
      (updatedLast.eventBody.tags as { tagName: string }[]).map((t) => t.tagName),
      ['QM:Review', 'Pause', 'Resume'],
    );
    assert.equal(ended.eventBody.sessionState, 'CLOSED_NORMAL');
    const tracks = ended.eventBody.tracks as { downloadUrl?: string }[];
    assert.ok(tracks.length > 0);
    for (const track of tracks) {
      assert.match(track.downloadUrl ?? '', new RegExp(`/mma/ExportRaw\\?recording=${sessionId}-TRACK\\d$`));
    }
  });
});
