import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import BetterSqlite3 from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { Kysely, SqliteDialect } from 'kysely';

import type { NodeStatusJson, TrustedPeersJson } from '../../src/api/node-admin-json.js';
import { ActiveCallsHistory, nodeStatusRoutes } from '../../src/api/node-status-routes.js';
import { hashPassword } from '../../src/api/passwords.js';
import { peerRoutes } from '../../src/api/peer-routes.js';
import { TrustedPeers } from '../../src/api/trusted-peers.js';
import { openRepository } from '../../src/db/index.js';
import { hourlyActivitySql } from '../../src/db/node-admin-queries.js';
import type { Repository } from '../../src/db/repository.js';
import type { Database } from '../../src/db/schema.js';
import { HOUR_MS } from '../../src/model/node-activity.js';
import { EMPTY_TRACK_STATS, type Session } from '../../src/model/session.js';
import { sampleSession } from '../support/fake-repository.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';

/**
 * Administration's server side (issue 14) over a real socket and a real SQLite database:
 * getNodeStatus's live figures and hours, the plans of its per-hour query, and the trusted peers
 * changed through the API, applied at once to what the SIP intake asks, audited and stored.
 */

const PASSWORD = 'correct horse battery';
const INFO = '/ora/infoService/info';
const SIP = '/ora/sipService/sip';
// Half past an hour, so "the current hour" is not ambiguous.
const NOW = 1_760_000_000_000 - (1_760_000_000_000 % HOUR_MS) + HOUR_MS / 2;
const CURRENT_HOUR = NOW - (NOW % HOUR_MS);

interface Answer<T> {
  responseCode: number;
  responseMessage: string;
  responseBody?: T;
  detail?: string;
}

function withStats(session: Session, packets: number, lost: number): Session {
  return {
    ...session,
    tracks: session.tracks.map((track) => ({ ...track, stats: { ...EMPTY_TRACK_STATS, packets, lost } })),
  };
}

void describe('node status and trusted peers (integration)', () => {
  let dir: string;
  let repository: Repository;
  let app: FastifyInstance;
  let base: string;
  let peers: TrustedPeers;
  const cookies = new Map<string, string>();

  const call = async <T>(
    role: string,
    method: 'GET' | 'POST',
    path: string,
    params: Record<string, unknown> = {},
  ): Promise<Answer<T>> => {
    const cookie = cookies.get(role) ?? '';
    const response =
      method === 'GET'
        ? await fetch(`${base}${path}?${new URLSearchParams(params as Record<string, string>).toString()}`, {
            headers: { cookie },
          })
        : await fetch(`${base}${path}`, {
            method: 'POST',
            headers: { cookie, 'content-type': 'application/json' },
            body: JSON.stringify({ requestParameters: params }),
          });
    return (await response.json()) as Answer<T>;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-node-admin-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    for (const role of ['admin', 'auditor', 'supervisor'] as const) {
      await repository.createUser({
        username: role,
        role,
        passwordHash: await hashPassword(PASSWORD),
        createdAt: 0,
      });
    }
    // Two calls in the current hour, one three hours ago, one just before the day asked.
    await repository.createSession(
      withStats(sampleSession({ sessionId: 'now-1', sessionStartDate: CURRENT_HOUR + 5 }), 1000, 10),
    );
    await repository.createSession(
      withStats(sampleSession({ sessionId: 'now-2', sessionStartDate: NOW - 1 }), 500, 0),
    );
    await repository.createSession(
      withStats(
        sampleSession({ sessionId: 'earlier', sessionStartDate: CURRENT_HOUR - 3 * HOUR_MS }),
        2000,
        40,
      ),
    );
    await repository.createSession(
      sampleSession({ sessionId: 'too-old', sessionStartDate: CURRENT_HOUR - 24 * HOUR_MS }),
    );

    peers = new TrustedPeers({ configured: ['10.0.0.0/8'], store: repository, now: () => NOW });
    await peers.load();
    let active = 3;
    const history = new ActiveCallsHistory(
      () => active,
      () => NOW,
    );
    app = await buildTestHttpApi({
      repository,
      now: () => NOW,
      extraRoutes: [
        () =>
          nodeStatusRoutes({
            nodeId: 'node-a',
            productVersion: '9.8.7',
            startedAt: NOW - 90_000,
            now: () => NOW,
            activeSessions: () => active,
            maxSessions: 1000,
            admission: () => ({
              enabled: true,
              level: 'open',
              storageRefusing: false,
              refusals: { untrusted: 2 },
            }),
            ports: () => ({ sipUdp: 5060, sipTcp: 5060, http: 8440, rtpMin: 32768, rtpMax: 61000 }),
            bind: '0.0.0.0',
            advertise: '192.0.2.1',
            tls: false,
            activity: repository,
            history,
          }),
        () =>
          peerRoutes({
            peers,
            settings: () => ({
              sipUdpPort: 5060,
              sipTcpPort: 5060,
              advertise: '192.0.2.1',
              bind: '0.0.0.0',
              sipInviteRate: 500,
              maxSessions: 1000,
              mediaTimeoutSeconds: 30,
              rtpPortMin: 32768,
              rtpPortMax: 61000,
              admission: true,
            }),
          }),
      ],
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    for (const role of ['admin', 'auditor', 'supervisor']) {
      const signIn = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
        method: 'POST',
        body: JSON.stringify({ requestParameters: { username: role, password: PASSWORD } }),
      });
      cookies.set(role, /JSESSIONID=[0-9a-f]+/.exec(signIn.headers.get('set-cookie') ?? '')?.[0] ?? '');
      await signIn.arrayBuffer();
    }
    active = 4;
  });

  after(async () => {
    await app.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('answers the live figures and every hour of the day, the current one last', async () => {
    const answer = await call<NodeStatusJson>('auditor', 'GET', `${INFO}/getNodeStatus`);
    assert.equal(answer.responseCode, 2000);
    const status = answer.responseBody;
    assert.ok(status !== undefined);
    assert.equal(status.productVersion, '9.8.7');
    assert.equal(status.nodeId, 'node-a');
    assert.equal(status.uptimeSeconds, 90);
    assert.equal(status.activeSessions, 4);
    assert.deepEqual(status.admission.refusals, { untrusted: 2 });
    assert.equal(status.ports?.sipUdp, 5060);
    assert.deepEqual(status.activeByMinute, [{ minute: NOW - (NOW % 60_000), peak: 4 }]);
    assert.equal(status.hours.length, 24);
    assert.equal(status.hours.at(-1)?.hourStart, CURRENT_HOUR);
    assert.equal(status.hours[0]?.hourStart, CURRENT_HOUR - 23 * HOUR_MS);
    // Two tracks per session: packets twice each session's.
    assert.deepEqual(status.hours.at(-1), {
      hourStart: CURRENT_HOUR,
      sessions: 2,
      packetsReceived: 3000,
      packetsLost: 20,
    });
    assert.deepEqual(status.hours.at(-4), {
      hourStart: CURRENT_HOUR - 3 * HOUR_MS,
      sessions: 1,
      packetsReceived: 4000,
      packetsLost: 80,
    });
    assert.equal(
      status.hours.reduce((sum, hour) => sum + hour.sessions, 0),
      3,
      'the session of 24 hours ago is outside',
    );
  });

  void it('answers a week and a day, or the live figures only', async () => {
    const week = await call<NodeStatusJson>('admin', 'GET', `${INFO}/getNodeStatus`, { hours: '192' });
    assert.equal(week.responseBody?.hours.length, 192);
    assert.equal(
      week.responseBody.hours.reduce((sum, hour) => sum + hour.sessions, 0),
      4,
    );
    const live = await call<NodeStatusJson>('admin', 'GET', `${INFO}/getNodeStatus`, { hours: '0' });
    assert.deepEqual(live.responseBody?.hours, []);
    const tooMany = await call('admin', 'GET', `${INFO}/getNodeStatus`, { hours: '193' });
    assert.equal(tooMany.responseCode, 4001);
  });

  void it('refuses node status and peers to a supervisor', async () => {
    assert.equal((await call('supervisor', 'GET', `${INFO}/getNodeStatus`)).responseCode, 4022);
    assert.equal((await call('supervisor', 'GET', `${SIP}/getTrustedPeers`)).responseCode, 4022);
    assert.equal((await call('supervisor', 'GET', `${SIP}/getCallControllerSettings`)).responseCode, 4022);
  });

  void it('reads the hours from covering indexes, never scanning sessions or tracks', () => {
    const raw = new BetterSqlite3(join(dir, 'verbatim.db'), { readonly: true });
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
    try {
      const compiled = hourlyActivitySql(CURRENT_HOUR - 191 * HOUR_MS, CURRENT_HOUR + HOUR_MS).compile(db);
      const plan = raw
        .prepare(`explain query plan ${compiled.sql}`)
        .all(...compiled.parameters)
        .map((row) => (row as { detail: string }).detail)
        .join('\n');
      assert.match(plan, /SEARCH sessions USING COVERING INDEX sessions_start_idx/);
      assert.match(plan, /SEARCH tracks USING COVERING INDEX tracks_start_stats_idx/);
      assert.doesNotMatch(plan, /SCAN (sessions|tracks)/);
      // Only the generated hours are sorted (at most 192 rows), never the sessions or the tracks.
      assert.doesNotMatch(plan, /TEMP B-TREE FOR GROUP BY/);
    } finally {
      raw.close();
    }
  });

  void it('shows the call-controller settings read-only, with the codecs', async () => {
    const answer = await call<{ sipUdpPort: number; codecs: { offered: string[] } }>(
      'auditor',
      'GET',
      `${SIP}/getCallControllerSettings`,
    );
    assert.equal(answer.responseCode, 2000);
    assert.equal(answer.responseBody?.sipUdpPort, 5060);
    assert.ok(answer.responseBody.codecs.offered.some((codec) => codec.startsWith('PCMU')));
  });

  void it('trusts an added block at once, audits it, keeps it, and stops at its removal', async () => {
    assert.equal(peers.isTrusted('127.0.0.1'), false);
    assert.equal(peers.isTrusted('10.1.2.3'), true, 'from --trusted-peers');

    const added = await call<TrustedPeersJson>('admin', 'POST', `${SIP}/addTrustedPeer`, {
      cidr: ' 127.0.0.0/8 ',
      note: 'the lab CUCM',
    });
    assert.equal(added.responseCode, 2000);
    assert.deepEqual(added.responseBody?.configured, ['10.0.0.0/8']);
    assert.deepEqual(added.responseBody.stored, [
      { cidr: '127.0.0.0/8', note: 'the lab CUCM', addedAt: NOW, addedBy: 'admin' },
    ]);
    assert.equal(peers.isTrusted('127.0.0.1'), true, 'the intake sees it at once');
    assert.equal(peers.isTrusted('::ffff:127.0.0.1'), true, 'also as a dual-stack socket reports it');

    const again = await call('admin', 'POST', `${SIP}/addTrustedPeer`, { cidr: '127.0.0.0/8' });
    assert.equal(again.responseCode, 4043);

    // Stored: a node started anew (another TrustedPeers on the same database) trusts it too.
    const restarted = new TrustedPeers({ configured: [], store: repository, now: () => NOW });
    await restarted.load();
    assert.equal(restarted.isTrusted('127.0.0.9'), true);

    const listed = await call<TrustedPeersJson>('auditor', 'GET', `${SIP}/getTrustedPeers`);
    assert.equal(listed.responseBody?.stored[0]?.cidr, '127.0.0.0/8');
    assert.equal(
      (await call('auditor', 'POST', `${SIP}/addTrustedPeer`, { cidr: '192.0.2.0/24' })).responseCode,
      4022,
    );

    const removed = await call<TrustedPeersJson>('admin', 'POST', `${SIP}/removeTrustedPeer`, {
      cidr: '127.0.0.0/8',
    });
    assert.equal(removed.responseCode, 2000);
    assert.deepEqual(removed.responseBody?.stored, []);
    assert.equal(peers.isTrusted('127.0.0.1'), false);

    const audit = await repository.queryAudit({ action: 'addTrustedPeer', username: 'admin', limit: 10 });
    assert.deepEqual(
      audit.map((record) => record.outcome),
      [4043, 2000],
      'the add and the refused duplicate, newest first',
    );
    assert.equal(audit.at(-1)?.target, '127.0.0.0/8');
    assert.equal(audit.at(-1)?.username, 'admin');
    assert.deepEqual(audit.at(-1)?.detail, { cidr: '127.0.0.0/8', note: 'the lab CUCM' });
    const removal = await repository.queryAudit({ action: 'removeTrustedPeer', limit: 10 });
    assert.equal(removal[0]?.target, '127.0.0.0/8');
    assert.equal(removal[0].outcome, 2000);
  });

  void it('refuses bad blocks with a sentence that says what is wrong', async () => {
    const cases: [string, number, RegExp][] = [
      ['10.0.0.300/8', 4001, /is not a CIDR block/],
      ['10.1.2.3/8', 4001, /the block is 10\.0\.0\.0\/8/],
      ['2001:db8::1/32', 4001, /the block is 2001:db8::\/32/],
      ['0.0.0.0/0', 4001, /every address/],
      ['192.0.2.0/33', 4001, /is not a CIDR block/],
    ];
    for (const [cidr, code, detail] of cases) {
      const answer = await call('admin', 'POST', `${SIP}/addTrustedPeer`, { cidr });
      assert.equal(answer.responseCode, code, cidr);
      assert.match(answer.detail ?? '', detail, cidr);
    }
    assert.equal((await call('admin', 'POST', `${SIP}/addTrustedPeer`, {})).responseCode, 4002);
    const configured = await call('admin', 'POST', `${SIP}/removeTrustedPeer`, { cidr: '10.0.0.0/8' });
    assert.equal(configured.responseCode, 4041);
    assert.match(configured.detail ?? '', /--trusted-peers/);
    const absent = await call('admin', 'POST', `${SIP}/removeTrustedPeer`, { cidr: '198.51.100.0/24' });
    assert.equal(absent.responseCode, 4041);
    assert.equal(peers.stored.length, 0);
  });
});
