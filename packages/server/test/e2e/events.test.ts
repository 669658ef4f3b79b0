import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { certificatePaths, ensureCertificate } from '../../src/transport/tls-certificate.js';
import { capture } from '../support/cucm-calls.js';
import { EventReceiver, signatureVerifies, type ReceivedEvent } from '../support/event-receiver.js';
import { genericSipScenario } from '../support/generic-calls.js';
import { metricsText, metricValue } from '../support/health-calls.js';
import { failWithOutputs, stopAll, waitExit } from '../support/processes.js';
import { findSessionBy, type SessionJson } from '../support/session-api.js';
import { startSipp } from '../support/sipp-process.js';
import { startServer, type ApiResponse, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Event subscriptions end to end (issue 11): a real node records a sipp call while two webhook
 * receivers (plain HTTP and HTTPS, the latter trusted through `--events-ca`) take its events.
 * Order, signatures, tagNameRegEx, the 1.0 calls, and durability: the receiver is down and the
 * node restarted while events happen, and afterwards everything arrives once, in order. /metrics
 * shows the deliveries and the outbox backlog move.
 */

const EVENT = '/ora/eventService/event';
const SECRET = 'a-webhook-secret-of-32-characters';
const TONE_MS = 5000;
const HZ = 600;

let work: string;
let server: RunningServer;
let plain: EventReceiver;
let secure: EventReceiver;
let certPath: string;
let subscriptionAll: string;
let subscriptionTags: string;
let subscription10: string;
let session: SessionJson;

function start(dataDir: string): Promise<RunningServer> {
  return startServer({ dataDir, mediaTimeoutSeconds: 3, extraArgs: ['--events-ca', certPath] });
}

function subscribe(
  requestParameters: Record<string, unknown>,
  api = 'subscribeToEvents',
): Promise<ApiResponse> {
  return server.api(`${EVENT}/${api}`, { requestParameters });
}

/** Events about `sessionId`: SESSION events naming it, tag events on it, batched events listing it. */
function about(events: readonly ReceivedEvent[], sessionId: string): ReceivedEvent[] {
  return events.filter((event) => {
    const body = event.json.eventBody;
    return (
      body['sessionId'] === sessionId ||
      (Array.isArray(body['sessionIds']) && body['sessionIds'].includes(sessionId))
    );
  });
}

function kinds(events: readonly ReceivedEvent[]): string[] {
  return events.map((event) => `${event.json.eventType}/${event.json.eventAction}`);
}

/** The event-delivery samples of the node's /metrics. */
async function eventMetrics(): Promise<{
  delivered: number;
  failed: number;
  pending: number;
  oldestAgeSeconds: number;
  failing: number;
}> {
  const text = await metricsText(server);
  const read = (name: string, labels = ''): number => {
    const value = metricValue(text, name, labels);
    assert.ok(value !== undefined, `${name}{${labels}} in /metrics`);
    return value;
  };
  return {
    delivered: read('verbatim_event_deliveries_total', 'outcome="delivered"'),
    failed: read('verbatim_event_deliveries_total', 'outcome="failed"'),
    pending: read('verbatim_event_outbox_pending'),
    oldestAgeSeconds: read('verbatim_event_outbox_oldest_age_seconds'),
    failing: read('verbatim_event_subscriptions_failing'),
  };
}

/** A TAG_EVENT as [action, tagName, tagOffset], anything else as its kind. */
function tagged(event: ReceivedEvent): unknown[] {
  const body = event.json.eventBody;
  return event.json.eventType === 'TAG_EVENT'
    ? [event.json.eventAction, body['tagName'], body['tagOffset']]
    : [`${event.json.eventType}/${event.json.eventAction}`];
}

function eventIds(events: readonly ReceivedEvent[]): number[] {
  return events.map((event) => Number(event.headers['x-verbatim-event-id']));
}

describe(
  'event subscriptions delivered to webhook receivers (sipp, verbatim serve)',
  { timeout: 180_000 },
  () => {
    before(async () => {
      work = await mkdtemp(join(tmpdir(), 'verbatim-events-'));
      const certificate = await ensureCertificate(join(work, 'receiver'), pino({ level: 'silent' }), {
        commonName: 'localhost',
        ipAddresses: ['127.0.0.1'],
      });
      certPath = certificatePaths(join(work, 'receiver')).certPath;
      plain = await EventReceiver.start();
      secure = await EventReceiver.start(certificate);
      server = await start(join(work, 'node'));
    });

    after(async () => {
      await stopAll([server.process]);
      const code = await server.stop();
      await plain.stop();
      await secure.stop();
      await rm(work, { recursive: true, force: true });
      assert.equal(code, 0, `verbatim serve did not shut down cleanly:\n${server.process.output()}`);
    });

    it('subscribes with the 1.1 and 1.0 calls: ids, 2005 for the same filters, refusals of bad input', async () => {
      const all = await subscribe({
        subscriptionType: 'http',
        subscriptionUri: plain.url('/all'),
        subscriptionFilters: ['RECORDING_EVENTS', 'TAG_EVENTS', 'CLEANUP_EVENTS'],
        secret: SECRET,
      });
      assert.equal(all.responseCode, 2000, JSON.stringify(all));
      subscriptionAll = String(all.responseBody?.['subscriptionId']);
      assert.match(subscriptionAll, /^[A-Za-z0-9]{16}$/);
      assert.equal((all as ApiResponse & { subscriptionId?: string }).subscriptionId, subscriptionAll);
      assert.deepEqual(all.responseBody?.['subscriptionFilters'], [
        'SESSION_STARTED_EVENT',
        'SESSION_UPDATED_EVENT',
        'SESSION_ENDED_EVENT',
        'SESSION_DELETED_EVENT',
        'SESSION_PRUNED_EVENT',
        'TAG_ADDED_EVENT',
        'TAG_UPDATED_EVENT',
        'TAG_DELETED_EVENT',
      ]);
      const again = await subscribe({
        subscriptionType: 'http',
        subscriptionUri: plain.url('/all'),
        subscriptionFilters: ['CLEANUP_EVENTS', 'RECORDING_EVENTS', 'TAG_EVENTS'],
        secret: SECRET,
      });
      assert.equal(again.responseCode, 2005);
      assert.equal(again.responseBody?.['subscriptionId'], subscriptionAll);

      const tags = await subscribe({
        subscriptionType: 'http',
        subscriptionUri: secure.url('/tags'),
        subscriptionFilters: ['TAG_EVENTS'],
        tagNameRegEx: '(?i)keep.*',
      });
      assert.equal(tags.responseCode, 2000, JSON.stringify(tags));
      subscriptionTags = String(tags.responseBody?.['subscriptionId']);

      for (const [bad, what] of [
        [{ subscriptionUri: plain.url('/x'), subscriptionFilters: ['NOPE'] }, 'an unknown filter'],
        [{ subscriptionUri: 'ftp://127.0.0.1/x' }, 'a URL that is not http(s)'],
        [{ subscriptionUri: plain.url('/x'), tagNameRegEx: '(a+)+$' }, 'a backtracking regex'],
        [{ subscriptionUri: plain.url('/x'), tagNameRegEx: '([' }, 'no regex at all'],
      ] as const) {
        const answer = await subscribe(bad);
        assert.equal(answer.responseCode, 4001, `${what}: ${JSON.stringify(answer)}`);
      }
      assert.equal((await subscribe({ subscriptionFilters: ['TAG_EVENTS'] })).responseCode, 4002, 'no URI');

      const v10 = await subscribe(
        { subscriptionType: 'http', subscriptionUri: plain.url('/v10') },
        'subscribeRecordingEvent',
      );
      assert.equal(v10.responseCode, 2000, JSON.stringify(v10));
      subscription10 = String((v10 as ApiResponse & { subscriptionId?: string }).subscriptionId);
      const v10again = await subscribe(
        { subscriptionType: 'http', subscriptionUri: plain.url('/v10') },
        'subscribeRecordingEvent',
      );
      assert.equal(v10again.responseCode, 4043);
      assert.equal((v10again as ApiResponse & { subscriptionId?: string }).subscriptionId, subscription10);
      const verified = (await server.api(`${EVENT}/verifyRecordingSubscription`, {
        requestParameters: { subscriptionId: subscription10 },
      })) as ApiResponse & { subscriptionStatus?: string };
      assert.equal(verified.subscriptionStatus, 'ACTIVE');

      // The 1.1 verify: the subscription in responseBody, its status at the top level too.
      const verify = (subscriptionId: string): Promise<ApiResponse & { subscriptionStatus?: string }> =>
        server.api(`${EVENT}/verifySubscription`, { requestParameters: { subscriptionId } });
      const live = await verify(subscriptionAll);
      assert.equal(live.responseCode, 2000, JSON.stringify(live));
      assert.equal(live.subscriptionStatus, 'ACTIVE');
      assert.equal(live.responseBody?.['subscriptionStatus'], 'ACTIVE');
      assert.equal(live.responseBody['subscriptionId'], subscriptionAll);
      assert.equal(live.responseBody['signed'], true);
      const unknown = await verify('0123456789abcdef');
      assert.equal(unknown.responseCode, 2000, JSON.stringify(unknown));
      assert.equal(unknown.subscriptionStatus, 'INACTIVE');
      assert.deepEqual(unknown.responseBody, { subscriptionStatus: 'INACTIVE' });
    });

    it('a recorded call: STARTED, UPDATED for a tag and a pause, ENDED, in order and signed; tagNameRegEx filters', async () => {
      const callIdPrefix = `events-${Date.now()}`;
      const { run } = await startSipp(
        'sipp generic',
        server,
        genericSipScenario({
          fromUser: '2101',
          toUser: '3101',
          audioLines: 1,
          pcapPath: capture(work, 'events', 'PCMU', HZ, TONE_MS / 1000),
          holdMs: TONE_MS + 500,
        }),
        { work, callIdFormat: `${callIdPrefix}-%u@%s` },
        () => Promise.resolve(),
      );
      const ccid = `${callIdPrefix}-1@127.0.0.1`;
      await failWithOutputs(
        () => [run.sipp],
        async () => {
          const active = await findSessionBy(server, 'ccid', ccid, (s) => s.sessionState === 'ACTIVE');
          const tag = (
            tagName: string,
            more: { tagOffset?: number } = {},
            api = 'addSessionTag',
          ): Promise<ApiResponse> =>
            server.api(`/ora/managementService/manage/${api}`, {
              requestParameters: { sessionId: active.sessionId, tagName, ...more },
            });
          assert.equal((await tag('keepThis')).responseCode, 2000);
          assert.equal((await tag('dropThis')).responseCode, 2000);
          // The whole-session tag given an offset moves there (TAG_EVENT UPDATED); one is deleted.
          assert.equal((await tag('keepThis', { tagOffset: 1000 })).responseCode, 2000);
          assert.equal((await tag('dropThis', {}, 'deleteSessionTag')).responseCode, 2000);
          const control = (api: string): Promise<ApiResponse> =>
            server.api(`/ora/controlService/control/${api}`, {
              requestParameters: { sessionId: active.sessionId },
            });
          assert.equal((await control('pauseRecording')).responseCode, 2000);
          assert.equal((await control('resumeRecording')).responseCode, 2000);
          assert.equal(await waitExit(run.sipp, 30_000), 0, 'sipp exits 0');
        },
      );
      session = await findSessionBy(server, 'ccid', ccid, (s) => s.sessionState !== 'ACTIVE');

      const events = about(
        await plain.waitFor(
          '/all',
          (received) => kinds(about(received, session.sessionId)).includes('SESSION_EVENT/ENDED'),
          'SESSION_EVENT ENDED at the receiver',
        ),
        session.sessionId,
      );
      const sessionKinds = kinds(events).filter((kind) => kind.startsWith('SESSION_EVENT'));
      assert.equal(sessionKinds[0], 'SESSION_EVENT/STARTED', kinds(events).join(' '));
      assert.equal(sessionKinds.at(-1), 'SESSION_EVENT/ENDED');
      assert.ok(
        sessionKinds.filter((kind) => kind === 'SESSION_EVENT/UPDATED').length >= 2,
        'UPDATED for tags and the pause',
      );
      // Each tag event is followed by the UPDATED of the session it changed, in the order made.
      const tagEvents = events.filter((e) => e.json.eventType === 'TAG_EVENT');
      assert.deepEqual(tagEvents.map(tagged), [
        ['ADDED', 'keepThis', undefined],
        ['ADDED', 'dropThis', undefined],
        ['UPDATED', 'keepThis', 1000],
        ['DELETED', 'dropThis', undefined],
        ['ADDED', 'Pause', tagEvents[4]?.json.eventBody['tagOffset']],
        ['ADDED', 'Resume', tagEvents[5]?.json.eventBody['tagOffset']],
      ]);
      for (const tagEvent of tagEvents) {
        const next = events[events.indexOf(tagEvent) + 1];
        assert.equal(
          next === undefined ? '' : kinds([next])[0],
          'SESSION_EVENT/UPDATED',
          `after ${tagged(tagEvent).join(' ')}`,
        );
      }
      // The UPDATED of the pause carries the session with its Pause tag.
      const pause = tagEvents[4];
      assert.ok(pause !== undefined);
      const pauseUpdated = events[events.indexOf(pause) + 1]?.json.eventBody['tags'] as { tagName: string }[];
      assert.deepEqual(
        pauseUpdated.map((t) => t.tagName),
        ['keepThis', 'Pause'],
        'the session as it was after the pause',
      );
      const ended = events.find((e) => e.json.eventAction === 'ENDED');
      assert.ok(ended !== undefined);
      assert.equal(ended.json.eventBody['sessionState'], 'CLOSED_NORMAL');
      const tracks = ended.json.eventBody['tracks'] as { downloadUrl?: string }[];
      assert.ok(
        tracks.length > 0 && tracks.every((t) => typeof t.downloadUrl === 'string'),
        'ENDED carries downloadUrls',
      );
      for (const event of events) {
        assert.equal(event.json.forwardedEvent, 'FALSE');
        assert.ok(signatureVerifies(event, SECRET), `signature of ${kinds([event]).join('')}`);
      }
      const ids = eventIds(plain.on('/all'));
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'delivered in order',
      );

      // Only the tag the regex matches reaches the HTTPS receiver, unsigned.
      await secure.waitFor('/tags', (received) => received.length >= 2, 'the keepThis UPDATED over HTTPS');
      assert.deepEqual(
        secure.on('/tags').map((e) => [e.json.eventType, e.json.eventAction, e.json.eventBody['tagName']]),
        [
          ['TAG_EVENT', 'ADDED', 'keepThis'],
          ['TAG_EVENT', 'UPDATED', 'keepThis'],
        ],
      );
      assert.equal(secure.on('/tags')[0]?.headers['x-verbatim-signature'], undefined);

      // The 1.0 subscription has the session events only.
      const v10 = await plain.waitFor(
        '/v10',
        (received) => kinds(about(received, session.sessionId)).includes('SESSION_EVENT/ENDED'),
        'ENDED on the 1.0 subscription',
      );
      assert.ok(kinds(about(v10, session.sessionId)).every((kind) => kind.startsWith('SESSION_EVENT/')));
    });

    it('the receiver is down and the node restarts meanwhile: afterwards every event arrives once, in order', async () => {
      // Everything so far is delivered: the counter covers what the receivers took, nothing waits.
      const received = (): number =>
        plain.on('/all').length + plain.on('/v10').length + secure.on('/tags').length;
      let before = await eventMetrics();
      await waitFor(
        async () => {
          before = await eventMetrics();
          return before.pending === 0 && before.delivered >= received();
        },
        { timeoutMs: 10_000, what: 'an empty outbox and the deliveries counted' },
      );
      assert.equal(before.oldestAgeSeconds, 0);
      assert.equal(before.failing, 0);
      const beforeCount = plain.on('/all').length;
      await plain.stop();
      for (const tagOffset of [undefined, 2000]) {
        const tagged = await server.api('/ora/managementService/manage/addSessionTag', {
          requestParameters: { sessionId: session.sessionId, tagName: 'afterStop', tagOffset },
        });
        assert.equal(tagged.responseCode, 2000);
      }
      const job = await server.api('/ora/managementService/manage/deleteSessions', {
        requestParameters: { sessionIds: [session.sessionId] },
      });
      assert.equal(job.responseCode, 2000, JSON.stringify(job));
      const jobId = Number(job.responseBody?.['jobId']);
      await waitFor(
        async () => {
          const answer = await server.api(`/ora/queryService/query/getJobById?jobId=${jobId}`);
          const jobs = answer.responseBody?.['jobs'] as { jobState: string }[] | undefined;
          return jobs?.[0]?.jobState === 'COMPLETED';
        },
        { timeoutMs: 30_000, what: 'the deletion job to complete' },
      );
      // At least one attempt has failed against the stopped receiver before the restart.
      await waitFor(
        async () => {
          const log = await server.api(`${EVENT}/getDeliveryLog?subscriptionId=${subscriptionAll}`);
          const attempts = (log.responseBody?.['attempts'] ?? []) as { error?: string }[];
          return attempts.some((attempt) => attempt.error !== undefined);
        },
        { timeoutMs: 30_000, what: 'a failed delivery attempt in the log' },
      );
      // The outage shows in /metrics: failed attempts, and its events waiting and aging in the
      // outbox (a row per subscription: 5 for /all, the 2 session UPDATEDs for /v10).
      let during = before;
      await waitFor(
        async () => {
          during = await eventMetrics();
          return during.failed > before.failed && during.pending >= 7 && during.oldestAgeSeconds > 0;
        },
        { timeoutMs: 10_000, what: 'failed deliveries and a backlog in /metrics' },
      );
      assert.equal(during.pending, 7, JSON.stringify(during));

      assert.equal(await server.stop({ keepData: true }), 0, `clean stop:\n${server.process.output()}`);
      server = await start(join(work, 'node'));
      await plain.listen();

      const all = await plain.waitFor(
        '/all',
        (received) => kinds(about(received, session.sessionId)).includes('SESSION_EVENT/DELETED'),
        'SESSION_EVENT DELETED after the restart',
        60_000,
      );
      // Exactly the outage's events, each once, in the order they happened.
      const late = all.slice(beforeCount);
      assert.deepEqual(late.map(tagged), [
        ['ADDED', 'afterStop', undefined],
        ['SESSION_EVENT/UPDATED'],
        ['UPDATED', 'afterStop', 2000],
        ['SESSION_EVENT/UPDATED'],
        ['SESSION_EVENT/DELETED'],
      ]);
      assert.deepEqual(late[4]?.json.eventBody['sessionIds'], [session.sessionId]);
      const updated = late[3]?.json.eventBody['tags'] as { tagName: string; tagOffset?: number }[];
      assert.deepEqual(
        updated.filter((t) => t.tagName === 'afterStop').map((t) => t.tagOffset),
        [2000],
        'the UPDATED after the move shows one afterStop tag, at its offset',
      );
      const ids = eventIds(all);
      assert.equal(new Set(ids).size, ids.length, 'no event delivered twice');
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'in order across the restart',
      );
      assert.ok(all.every((event) => signatureVerifies(event, SECRET)));
      // The restarted node counts what it delivered, and its outbox drains.
      await waitFor(
        async () => {
          const drained = await eventMetrics();
          return drained.pending === 0 && drained.oldestAgeSeconds === 0 && drained.delivered >= late.length;
        },
        { timeoutMs: 10_000, what: 'the outbox drained after the restart' },
      );

      // getDeliveryLog pages newest first with beforeId; the outage's refused attempts have no
      // status and say why, the deliveries after it a 200 and no error; each has its time and latency.
      type Attempt = { id: number; at: number; httpStatus?: number; latencyMs: number; error?: string };
      const page = async (beforeId?: number): Promise<Attempt[]> =>
        (
          await server.api(
            `${EVENT}/getDeliveryLog?subscriptionId=${subscriptionAll}&limit=5${beforeId === undefined ? '' : `&beforeId=${beforeId}`}`,
          )
        ).responseBody?.['attempts'] as Attempt[];
      const newest = await page();
      const older = await page(newest.at(-1)?.id);
      const attempts = [...newest, ...older];
      assert.equal(attempts.length, 10);
      assert.ok(
        attempts.every((a, i) => i === 0 || a.id < (attempts[i - 1]?.id ?? 0)),
        'ids fall across the pages',
      );
      assert.ok(attempts.every((a) => typeof a.at === 'number' && a.latencyMs >= 0));
      assert.deepEqual(
        newest.map((a) => [a.httpStatus, a.error]),
        newest.map(() => [200, undefined]),
        'the last five deliveries after the restart',
      );
      assert.equal(older[0]?.httpStatus, undefined, 'the attempt before them met the stopped receiver');
      assert.match(older[0]?.error ?? '', /ECONNREFUSED|refused/i);

      const listed = await server.api(`${EVENT}/getSubscriptions`);
      const subscriptions = listed.responseBody?.['subscriptions'] as {
        subscriptionId: string;
        backlog: number;
      }[];
      assert.deepEqual(
        subscriptions.map((s) => s.subscriptionId).sort(),
        [subscriptionAll, subscriptionTags, subscription10].sort(),
      );
    });

    it('unsubscribes partly and whole, with the 1.1, 1.0 and admin calls', async () => {
      const partial = await server.api(`${EVENT}/unsubscribeFromEvents`, {
        requestParameters: { subscriptionId: subscriptionAll, subscriptionFilters: ['CLEANUP_EVENTS'] },
      });
      assert.deepEqual(partial.responseBody?.['subscriptionFilters'], [
        'SESSION_STARTED_EVENT',
        'SESSION_UPDATED_EVENT',
        'SESSION_ENDED_EVENT',
        'TAG_ADDED_EVENT',
        'TAG_UPDATED_EVENT',
        'TAG_DELETED_EVENT',
      ]);
      assert.equal(
        (
          await server.api(`${EVENT}/unsubscribeRecordingEvent`, {
            requestParameters: { subscriptionId: subscription10 },
          })
        ).responseCode,
        2000,
      );
      const verified = (await server.api(`${EVENT}/verifyRecordingSubscription`, {
        requestParameters: { subscriptionId: subscription10 },
      })) as ApiResponse & { subscriptionStatus?: string };
      assert.equal(verified.subscriptionStatus, 'INACTIVE');
      assert.equal(
        (
          await server.api(`${EVENT}/removeSubscription`, {
            requestParameters: { subscriptionId: subscriptionTags },
          })
        ).responseCode,
        2000,
      );
      const unknown = await server.api(`${EVENT}/unsubscribeFromEvents`, {
        requestParameters: { subscriptionId: subscriptionTags },
      });
      assert.equal(unknown.responseCode, 4041);
      const listed = await server.api(`${EVENT}/getSubscriptions`);
      assert.deepEqual(
        (listed.responseBody?.['subscriptions'] as { subscriptionId: string }[]).map((s) => s.subscriptionId),
        [subscriptionAll],
      );
    });
  },
);
