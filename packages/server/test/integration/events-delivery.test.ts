import { createHmac } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { pino, type Logger } from 'pino';

import { sessionJson } from '../../src/api/session-json.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import { EventDelivery } from '../../src/events/delivery.js';
import { EventBus } from '../../src/events/event-bus.js';
import { OutboxWriter } from '../../src/events/outbox-writer.js';
import { SubscriptionService } from '../../src/events/subscriptions.js';
import {
  CATEGORY_TYPES,
  EVENT_TYPE_NAMES,
  type DeliveryAttempt,
  type DeliveryResult,
  type EventTypeName,
} from '../../src/model/event-subscription.js';
import type { VerbatimEvent } from '../../src/model/events.js';
import type { Tag } from '../../src/model/session.js';
import { ensureCertificate } from '../../src/transport/tls-certificate.js';
import { sampleSession } from '../support/fake-repository.js';
import { EventReceiver, type EventEnvelope as Body } from '../support/event-receiver.js';
import { useTempDir } from '../support/temp-dir.js';

/**
 * Durable event delivery end to end over real sockets and a real SQLite file: the subscription
 * service, the outbox writer on the bus, and the delivery POSTing to a Node HTTP and HTTPS
 * receiver. Back-off is shortened through the delivery's options; every wait is for a condition.
 */

const NODE = 'node-a';

/** Polls a condition (for database state); never a fixed sleep. */
async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Services {
  readonly repository: Repository;
  readonly bus: EventBus;
  readonly subscriptions: SubscriptionService;
  readonly delivery: EventDelivery;
  close(): Promise<void>;
}

async function openServices(
  path: string,
  options: { logger?: Logger; extraCa?: string; failingAfterMs?: number } = {},
): Promise<Services> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const repository = await openRepository({ kind: 'sqlite', path });
  await repository.migrate();
  const bus = new EventBus(logger);
  // eslint-disable-next-line prefer-const -- the service and the delivery refer to each other.
  let delivery: EventDelivery;
  const subscriptions = new SubscriptionService({ store: repository, onChange: () => void delivery.sync() });
  delivery = new EventDelivery({
    store: repository,
    nodeId: NODE,
    logger,
    failingAfterMs: options.failingAfterMs ?? 300_000,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    pollMs: 100,
    timeoutMs: 2000,
    loadSubscriptions: () => subscriptions.refresh(),
    ...(options.extraCa === undefined ? {} : { extraCa: options.extraCa }),
  });
  const writer = new OutboxWriter({
    store: repository,
    subscriptions,
    payload: {
      formatSession: (session) =>
        sessionJson(session, { advertise: '10.0.0.9', httpPort: 8440, rtspPort: 8554, tls: true }),
      nodeIpAddress: '10.0.0.9',
    },
    nodeId: NODE,
    onWritten: (ids) => delivery.wake(ids),
    logger,
  });
  await subscriptions.refresh();
  bus.subscribe(writer.handle);
  await delivery.start();
  return {
    repository,
    bus,
    subscriptions,
    delivery,
    async close() {
      await writer.flush();
      await delivery.stop();
      await repository.close();
    },
  };
}

function tag(tagName: string, at: number, extra: Partial<Tag> = {}): Tag {
  return { tagName, tagType: 'USER_DEFINED', tagCreateDate: at, ...extra };
}

const ALL_TYPES: readonly EventTypeName[] = EVENT_TYPE_NAMES;

void describe('event delivery (real receivers, real SQLite)', () => {
  const dir = useTempDir('verbatim-events-');
  let services: Services;
  let receiver: EventReceiver;

  before(async () => {
    services = await openServices(join(dir.path, 'verbatim.db'));
    receiver = await EventReceiver.start();
  });

  after(async () => {
    await services.close();
    await receiver.stop();
  });

  void it('answers created, exists and replaced by URI, with 16-character ids', async () => {
    const request = {
      subscriptionUri: 'http://127.0.0.1:1/nobody',
      eventTypes: CATEGORY_TYPES.CLEANUP_EVENTS,
      apiVersion: '1.1' as const,
      createdBy: 'admin',
    };
    const created = await services.subscriptions.subscribe(request);
    assert.equal(created.kind, 'created');
    assert.match(created.subscription.subscriptionId, /^[A-Za-z0-9]{16}$/);
    const again = await services.subscriptions.subscribe(request);
    assert.equal(again.kind, 'exists');
    assert.equal(again.subscription.subscriptionId, created.subscription.subscriptionId);
    const replaced = await services.subscriptions.subscribe({ ...request, eventTypes: ALL_TYPES });
    assert.equal(replaced.kind, 'replaced');
    assert.equal(replaced.subscription.subscriptionId, created.subscription.subscriptionId);
    assert.deepEqual(replaced.subscription.eventTypes, ALL_TYPES);
    const narrowed = await services.subscriptions.unsubscribe(created.subscription.subscriptionId, [
      ...CATEGORY_TYPES.CLEANUP_EVENTS,
      ...CATEGORY_TYPES.TAG_EVENTS,
      ...CATEGORY_TYPES.STORAGE_EVENTS,
    ]);
    assert.ok(narrowed.kind === 'narrowed');
    assert.deepEqual(narrowed.subscription.eventTypes, CATEGORY_TYPES.RECORDING_EVENTS);
    const removed = await services.subscriptions.unsubscribe(
      created.subscription.subscriptionId,
      CATEGORY_TYPES.RECORDING_EVENTS,
    );
    assert.equal(removed.kind, 'removed');
    assert.equal(await services.subscriptions.get(created.subscription.subscriptionId), undefined);
    assert.deepEqual(await services.subscriptions.unsubscribe(created.subscription.subscriptionId), {
      kind: 'not-found',
    });
  });

  void it('delivers a call’s events once each, in order, in the MediaSense envelope', async () => {
    const { subscriptions, bus, repository } = services;
    const outcome = await subscriptions.subscribe({
      subscriptionUri: receiver.url('/events'),
      eventTypes: ALL_TYPES,
      apiVersion: '1.1',
      createdBy: 'admin',
    });
    const at = 1_750_000_000_000;
    await repository.createSession(
      sampleSession({ sessionId: 'call-1', sessionState: 'ACTIVE', sessionStartDate: at }),
    );
    bus.publish({ eventType: 'SESSION_EVENT', eventAction: 'STARTED', sessionId: 'call-1', at });
    const pause: Tag = {
      tagName: 'Pause',
      tagType: 'SYSTEM_DEFINED',
      tagCreateDate: at + 5000,
      tagOffset: 5000,
    };
    await repository.addSessionTag('call-1', pause);
    bus.publish({
      eventType: 'TAG_EVENT',
      eventAction: 'ADDED',
      sessionId: 'call-1',
      tag: pause,
      at: at + 5000,
    });
    bus.publish({
      eventType: 'SESSION_EVENT',
      eventAction: 'UPDATED',
      sessionId: 'call-1',
      change: 'tags',
      at,
    });
    await repository.closeSession('call-1', 'CLOSED_NORMAL', 60_000);
    bus.publish({ eventType: 'SESSION_EVENT', eventAction: 'ENDED', sessionId: 'call-1', at: at + 60_000 });
    bus.publish({
      eventType: 'SESSION_EVENT',
      eventAction: 'DELETED',
      sessionIds: ['call-1', 'call-0'],
      jobId: 1,
      at,
    });
    // Never delivered: Verbatim's own RECORDING_EVENT has no subscription type.
    bus.publish({
      eventType: 'RECORDING_EVENT',
      eventAction: 'REJECTED',
      callId: 'x',
      controllerIp: '10.0.0.1',
      sipStatus: 403,
      reason: 'untrusted',
      at,
    });
    bus.publish({
      eventType: 'STORAGE_THRESHOLD_EVENT',
      eventAction: 'ENTER_CRITICAL_STORAGE_SPACE',
      nodeId: 'node-a',
      partition: '/data/media',
      percentageUtilization: 96,
      at,
    });
    await receiver.waitForCount(6);
    await until('an empty outbox', async () => (await repository.outboxBacklog(NODE)).pending === 0);
    assert.equal(receiver.received.length, 6);
    const bodies = receiver.bodies();
    assert.deepEqual(
      bodies.map((b) => `${b.eventType}/${b.eventAction}`),
      [
        'SESSION_EVENT/STARTED',
        'TAG_EVENT/ADDED',
        'SESSION_EVENT/UPDATED',
        'SESSION_EVENT/ENDED',
        'SESSION_EVENT/DELETED',
        'STORAGE_THRESHOLD_EVENT/ENTER_CRITICAL_STORAGE_SPACE',
      ],
    );
    const ids = receiver.received.map((r) => Number(r.headers['x-verbatim-event-id']));
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      ids,
      'event ids increase',
    );
    assert.equal(new Set(ids).size, ids.length);
    for (const r of receiver.received) {
      assert.equal(r.headers['x-verbatim-subscription-id'], outcome.subscription.subscriptionId);
      assert.equal(r.headers['x-verbatim-signature'], undefined, 'no secret, no signature');
      assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    }
    // The envelope's keys, in MediaSense's order.
    assert.deepEqual(Object.keys(JSON.parse(receiver.received[0]?.body ?? '{}') as object), [
      'eventType',
      'eventAction',
      'forwardedEvent',
      'eventBody',
    ]);
    const [started, tagAdded, updated, ended, deleted, storage] = bodies as [
      Body,
      Body,
      Body,
      Body,
      Body,
      Body,
    ];
    assert.equal(started.eventBody.sessionId, 'call-1');
    assert.equal(started.eventBody.sessionState, 'ACTIVE');
    const startedTracks = started.eventBody.tracks as { downloadUrl?: string }[];
    assert.ok(
      startedTracks.every((t) => t.downloadUrl === undefined),
      'no downloadUrl before ENDED',
    );
    assert.deepEqual(tagAdded.eventBody, {
      sessionId: 'call-1',
      tagName: 'Pause',
      tagType: 'SYSTEM_DEFINED',
      tagCreateDate: at + 5000,
      tagOffset: 5000,
    });
    assert.deepEqual(
      (updated.eventBody.tags as { tagName: string }[]).map((t) => t.tagName),
      ['Pause'],
    );
    assert.equal(ended.eventBody.sessionState, 'CLOSED_NORMAL');
    const endedTracks = ended.eventBody.tracks as { downloadUrl?: string }[];
    assert.ok(
      endedTracks.length > 0 &&
        endedTracks.every((t) => t.downloadUrl?.includes('/mma/ExportRaw?recording=call-1-TRACK')),
    );
    assert.deepEqual(deleted.eventBody, { sessionIds: ['call-1', 'call-0'] });
    assert.deepEqual(storage.eventBody, {
      nodeId: 'node-a',
      nodeIPAddress: '10.0.0.9',
      partition: '/data/media',
      percentageUtilization: 96,
    });
    const log = await subscriptions.deliveryLog({
      subscriptionId: outcome.subscription.subscriptionId,
      limit: 100,
    });
    assert.equal(log.length, 6);
    assert.ok(log.every((attempt) => attempt.httpStatus === 200 && attempt.error === undefined));
    await subscriptions.unsubscribe(outcome.subscription.subscriptionId);
  });

  void it('delivers only matching tag events under tagNameRegEx, and stops after unsubscribe', async () => {
    const { subscriptions, bus } = services;
    const filtered = await EventReceiver.start();
    const sentinel = await EventReceiver.start();
    try {
      const regexSubscription = await subscriptions.subscribe({
        subscriptionUri: filtered.url('/events'),
        eventTypes: CATEGORY_TYPES.TAG_EVENTS,
        tagNameRegEx: '(?i)agent-[0-9]+',
        apiVersion: '1.1',
        createdBy: 'admin',
      });
      await subscriptions.subscribe({
        subscriptionUri: sentinel.url('/events'),
        eventTypes: CATEGORY_TYPES.TAG_EVENTS,
        apiVersion: '1.1',
        createdBy: 'admin',
      });
      const names = ['Agent-12', 'agent-x', 'AGENT-7', 'my agent-3', 'agent-3 ok'];
      for (const [i, name] of names.entries()) {
        bus.publish({
          eventType: 'TAG_EVENT',
          eventAction: 'ADDED',
          sessionId: 's',
          tag: tag(name, i),
          at: i,
        });
      }
      await sentinel.waitForCount(names.length);
      await filtered.waitForCount(2);
      await until(
        'an empty outbox',
        async () => (await services.repository.outboxBacklog(NODE)).pending === 0,
      );
      assert.deepEqual(
        filtered.bodies().map((b) => b.eventBody.tagName),
        ['Agent-12', 'AGENT-7'],
      );

      await subscriptions.unsubscribe(regexSubscription.subscription.subscriptionId);
      bus.publish({
        eventType: 'TAG_EVENT',
        eventAction: 'ADDED',
        sessionId: 's',
        tag: tag('agent-99', 9),
        at: 9,
      });
      await sentinel.waitForCount(names.length + 1);
      await until(
        'an empty outbox',
        async () => (await services.repository.outboxBacklog(NODE)).pending === 0,
      );
      assert.equal(filtered.received.length, 2, 'nothing after unsubscribe');
    } finally {
      for (const s of await subscriptions.list()) {
        await subscriptions.unsubscribe(s.subscriptionId);
      }
      await filtered.stop();
      await sentinel.stop();
    }
  });
});

void describe('event delivery across a receiver outage and a restart', () => {
  const dir = useTempDir('verbatim-events-restart-');

  void it('loses nothing and repeats nothing, in order', async () => {
    const path = join(dir.path, 'verbatim.db');
    const receiver = await EventReceiver.start();
    let services = await openServices(path);
    try {
      await services.subscriptions.subscribe({
        subscriptionUri: receiver.url('/events'),
        eventTypes: CATEGORY_TYPES.TAG_EVENTS,
        apiVersion: '1.1',
        createdBy: 'admin',
      });
      const publish = (n: number): void => {
        services.bus.publish({
          eventType: 'TAG_EVENT',
          eventAction: 'ADDED',
          sessionId: 'restart',
          tag: tag(`t${n}`, n),
          at: n,
        });
      };
      publish(0);
      await receiver.waitForCount(1);
      // The receiver goes away: events queue up, attempts fail.
      await receiver.stop();
      for (let n = 1; n <= 10; n++) {
        publish(n);
      }
      await until('failed attempts', async () =>
        (await services.subscriptions.deliveryLog({ limit: 10 })).some((a) => a.error !== undefined),
      );
      // The node restarts while the receiver is down.
      await services.close();
      services = await openServices(path);
      for (let n = 11; n <= 15; n++) {
        publish(n);
      }
      await until(
        'the new events in the outbox',
        async () => (await services.repository.outboxBacklog(NODE)).pending >= 15,
      );
      await receiver.listen();
      await receiver.waitForCount(16);
      await until(
        'an empty outbox',
        async () => (await services.repository.outboxBacklog(NODE)).pending === 0,
      );
      assert.deepEqual(
        receiver.bodies().map((b) => b.eventBody.tagName),
        Array.from({ length: 16 }, (_, n) => `t${n}`),
      );
      const log = await services.subscriptions.deliveryLog({ limit: 1000 });
      assert.ok(
        log.some((a) => a.httpStatus === undefined && a.error !== undefined),
        'refused attempts logged',
      );
    } finally {
      await services.close();
      await receiver.stop().catch(() => undefined);
    }
  });
});

void describe('event delivery over HTTPS, signed, and the FAILING state', () => {
  const dir = useTempDir('verbatim-events-https-');

  void it('signs each delivery so the receiver can verify it with node:crypto', async () => {
    const certificate = await ensureCertificate(dir.path, pino({ level: 'silent' }));
    const caFile = join(dir.path, 'receiver-ca.pem');
    await writeFile(caFile, certificate.cert);
    const receiver = await EventReceiver.start({ key: certificate.key, cert: certificate.cert });
    const services = await openServices(join(dir.path, 'verbatim.db'), { extraCa: certificate.cert });
    try {
      const secret = 's3cret-key';
      await services.subscriptions.subscribe({
        subscriptionUri: receiver.url('/events'),
        eventTypes: CATEGORY_TYPES.STORAGE_EVENTS,
        secret,
        apiVersion: '1.1',
        createdBy: 'admin',
      });
      for (const action of ['ENTER_CRITICAL_STORAGE_SPACE', 'EXIT_CRITICAL_STORAGE_SPACE'] as const) {
        services.bus.publish({
          eventType: 'STORAGE_THRESHOLD_EVENT',
          eventAction: action,
          nodeId: NODE,
          partition: '/m',
          percentageUtilization: 90,
          at: 1,
        });
      }
      await receiver.waitForCount(2);
      for (const { body, headers } of receiver.received) {
        const header = String(headers['x-verbatim-signature']);
        const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
        assert.ok(match !== null, header);
        const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`).digest('hex');
        assert.equal(match[2], expected);
        assert.ok(Math.abs(Date.now() - Number(match[1])) < 60_000);
      }
    } finally {
      await services.close();
      await receiver.stop();
    }
  });

  void it('refuses an HTTPS receiver whose certificate is not trusted', async () => {
    const certificate = await ensureCertificate(dir.path, pino({ level: 'silent' }));
    const receiver = await EventReceiver.start({ key: certificate.key, cert: certificate.cert });
    const services = await openServices(join(dir.path, 'untrusted.db'));
    try {
      await services.subscriptions.subscribe({
        subscriptionUri: receiver.url('/events'),
        eventTypes: CATEGORY_TYPES.STORAGE_EVENTS,
        apiVersion: '1.1',
        createdBy: 'admin',
      });
      services.bus.publish({
        eventType: 'STORAGE_THRESHOLD_EVENT',
        eventAction: 'ENTER_CRITICAL_STORAGE_SPACE',
        nodeId: NODE,
        partition: '/m',
        percentageUtilization: 90,
        at: 1,
      });
      await until('a failed TLS attempt', async () =>
        (await services.subscriptions.deliveryLog({ limit: 1 })).some((a) => a.error !== undefined),
      );
      const [attempt] = await services.subscriptions.deliveryLog({ limit: 1 });
      assert.match(attempt?.error ?? '', /certificate/i);
      assert.equal(receiver.received.length, 0);
    } finally {
      await services.close();
      await receiver.stop();
    }
  });

  void it('marks a failing subscription FAILING with one warn line, and ACTIVE again on success', async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
    );
    const receiver = await EventReceiver.start();
    receiver.status = 503;
    const services = await openServices(join(dir.path, 'failing.db'), { logger, failingAfterMs: 150 });
    try {
      const { subscription } = await services.subscriptions.subscribe({
        subscriptionUri: receiver.url('/events'),
        eventTypes: CATEGORY_TYPES.TAG_EVENTS,
        apiVersion: '1.1',
        createdBy: 'admin',
      });
      const event: VerbatimEvent = {
        eventType: 'TAG_EVENT',
        eventAction: 'ADDED',
        sessionId: 'f',
        tag: tag('x', 1),
        at: 1,
      };
      services.bus.publish(event);
      await until(
        'FAILING',
        async () => (await services.subscriptions.get(subscription.subscriptionId))?.state === 'FAILING',
      );
      const failing = await services.subscriptions.get(subscription.subscriptionId);
      assert.ok(failing?.failingSince !== undefined);
      assert.equal(failing.backlog, 1);
      // What verbatim_event_subscriptions_failing reads.
      assert.equal(services.delivery.failingSubscriptions, 1);
      const failedLog = await services.subscriptions.deliveryLog({ limit: 5 });
      assert.ok(failedLog.every((a) => a.httpStatus === 503 && a.error?.startsWith('HTTP 503')));
      receiver.status = 200;
      await receiver.waitForCount(1);
      await until(
        'ACTIVE',
        async () => (await services.subscriptions.get(subscription.subscriptionId))?.state === 'ACTIVE',
      );
      const after = await services.subscriptions.get(subscription.subscriptionId);
      assert.equal(after?.failingSince, undefined);
      assert.equal(after?.backlog, 0);
      assert.equal(services.delivery.failingSubscriptions, 0);
      await until('the ACTIVE line', () => lines.some((l) => l.msg.includes('ACTIVE again')));
      assert.equal(lines.filter((l) => l.level === 40 && l.msg.includes('FAILING')).length, 1);
    } finally {
      await services.close();
      await receiver.stop();
    }
  });
});

void describe('the delivery log: kept bounded, paged newest first', () => {
  const dir = useTempDir('verbatim-events-log-');

  void it('keeps the newest 1000 attempts per subscription and nothing older than 7 days, pruned at start; beforeId pages', async () => {
    const path = join(dir.path, 'log.db');
    const first = await openServices(path);
    const now = Date.now();
    let busy: string;
    let quiet: string;
    try {
      const subscribe = async (uri: string): Promise<string> =>
        (
          await first.subscriptions.subscribe({
            subscriptionUri: uri,
            eventTypes: CATEGORY_TYPES.STORAGE_EVENTS,
            apiVersion: '1.1',
            createdBy: 'admin',
          })
        ).subscription.subscriptionId;
      // Nothing listens there: no event is published, the attempts below are written directly.
      busy = await subscribe('http://127.0.0.1:9/busy');
      quiet = await subscribe('http://127.0.0.1:9/quiet');
      const attempt = (subscriptionId: string, at: number, i: number): DeliveryResult =>
        i % 3 === 0
          ? {
              subscriptionId,
              eventId: i,
              event: 'SESSION_EVENT/STARTED',
              at,
              httpStatus: 200,
              latencyMs: 1,
            }
          : i % 3 === 1
            ? {
                subscriptionId,
                eventId: i,
                event: 'SESSION_EVENT/STARTED',
                at,
                httpStatus: 503,
                latencyMs: 2,
                error: 'HTTP 503: down',
              }
            : {
                subscriptionId,
                eventId: i,
                event: 'SESSION_EVENT/STARTED',
                at,
                latencyMs: 3000,
                error: 'timeout',
              };
      // 1005 recent attempts on one, oldest first; on the other 3 from 8 days ago, then 2 recent.
      for (let i = 0; i < 1005; i++) {
        await first.repository.recordDelivery(attempt(busy, now - 60_000 + i, i));
      }
      for (let i = 0; i < 5; i++) {
        await first.repository.recordDelivery(attempt(quiet, i < 3 ? now - 8 * 24 * 3600_000 : now - i, i));
      }
      assert.equal(
        (await first.subscriptions.deliveryLog({ subscriptionId: busy, limit: 2000 })).length,
        1005,
      );
    } finally {
      await first.close();
    }

    // A node starting prunes the log.
    const second = await openServices(path);
    try {
      const pages: DeliveryAttempt[][] = [];
      let beforeId: number | undefined;
      for (;;) {
        const page = await second.subscriptions.deliveryLog({
          subscriptionId: busy,
          limit: 400,
          ...(beforeId === undefined ? {} : { beforeId }),
        });
        if (page.length === 0) {
          break;
        }
        pages.push(page);
        beforeId = page.at(-1)?.id;
      }
      assert.deepEqual(
        pages.map((page) => page.length),
        [400, 400, 200],
      );
      const kept = pages.flat();
      const ids = kept.map((a) => a.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => b - a),
        'newest first, no overlap between pages',
      );
      assert.equal(new Set(ids).size, 1000);
      // The 5 oldest went: the oldest kept is attempt 5.
      assert.deepEqual([kept.at(-1)?.eventId, kept[0]?.eventId], [5, 1004]);
      // Each attempt as written: time, status (absent when no answer came), latency (whole ms), error.
      const byEvent = new Map(kept.map((a) => [a.eventId, a]));
      assert.deepEqual(
        [6, 7, 8].map((eventId) => {
          const { at, httpStatus, latencyMs, error } =
            byEvent.get(eventId) ?? ({} as Partial<DeliveryAttempt>);
          return { at, httpStatus, latencyMs, error };
        }),
        [
          { at: now - 60_000 + 6, httpStatus: 200, latencyMs: 1, error: undefined },
          { at: now - 60_000 + 7, httpStatus: 503, latencyMs: 2, error: 'HTTP 503: down' },
          { at: now - 60_000 + 8, httpStatus: undefined, latencyMs: 3000, error: 'timeout' },
        ],
      );
      // Older than 7 days: gone, whatever the count.
      assert.deepEqual(
        (await second.subscriptions.deliveryLog({ subscriptionId: quiet, limit: 10 })).map((a) => a.eventId),
        [4, 3],
      );
    } finally {
      await second.close();
    }
  });
});
