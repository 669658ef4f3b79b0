import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { idsOf, startApiOverSqlite, type ApiOverSqlite, type SessionOut } from '../support/api-client.js';
import { sampleSession } from '../support/fake-repository.js';

/**
 * addSessionTag and deleteSessionTag over real HTTP on SQLite (issue 10): user tags on ACTIVE and
 * closed sessions, never DELETED ones; names without regard to case; time-bound tags; the
 * refusals; and the TAG_EVENTs published for each change.
 */

const T0 = 1_770_000_000_000;
const MANAGE = '/ora/managementService/manage';
const QUERY = '/ora/queryService/query';

void describe('session tags over HTTP and SQLite (issue 10)', () => {
  let api: ApiOverSqlite;

  before(async () => {
    api = await startApiOverSqlite('verbatim-api-tags-');
    await api.repository.createSession(
      sampleSession({ sessionId: 'active', sessionState: 'ACTIVE', sessionStartDate: T0 }),
    );
    await api.repository.createSession(
      sampleSession({
        sessionId: 'closed',
        sessionStartDate: T0 + 1000,
        tags: [{ tagName: 'Pause', tagType: 'SYSTEM_DEFINED', tagCreateDate: T0, tagOffset: 400 }],
      }),
    );
    await api.repository.addTrackTag('closed', 0, {
      tagName: 'TrackInactive',
      tagType: 'SYSTEM_DEFINED',
      tagCreateDate: T0,
      tagOffset: 300,
    });
    await api.repository.createSession(sampleSession({ sessionId: 'deleted', sessionState: 'DELETED' }));
  });

  after(async () => {
    await api.close();
  });

  const add = (requestParameters: unknown) => api.post(`${MANAGE}/addSessionTag`, { requestParameters });
  const remove = (requestParameters: unknown) =>
    api.post(`${MANAGE}/deleteSessionTag`, { requestParameters });
  async function session(sessionId: string): Promise<SessionOut> {
    const answer = await api.get(`${QUERY}/getSessionBySessionId`, { value: sessionId });
    const found = answer.responseBody?.sessions[0];
    assert.ok(found !== undefined, sessionId);
    return found;
  }

  void it('adds user tags to an ACTIVE and a closed session, answered "Successful" and announced', async () => {
    api.events.length = 0;
    for (const [sessionId, body] of [
      ['active', { sessionId: 'active', tagName: 'CCX:Escalate' }],
      ['active', { sessionId: 'active', tagName: 'CCX:Note', tagOffset: 1500 }],
      ['closed', { SessionId: 'closed', TAGNAME: 'Reviewed', tagoffset: '20' }],
    ] as const) {
      const answer = await add(body);
      assert.deepEqual(answer, { responseCode: 2000, responseMessage: 'Successful' }, sessionId);
    }
    const active = await session('active');
    assert.equal(active.sessionState, 'ACTIVE');
    assert.deepEqual(
      active.tags.map((t) => [t.tagName, t.tagType, t.tagOffset]),
      [
        ['CCX:Escalate', 'USER_DEFINED', undefined],
        ['CCX:Note', 'USER_DEFINED', 1500],
      ],
    );
    assert.ok(active.tags.every((t) => typeof t.tagCreateDate === 'number' && !('trackNumber' in t)));
    assert.deepEqual(
      api.events.map((e) =>
        e.eventType === 'TAG_EVENT' ? [e.eventAction, e.sessionId, e.tag.tagName] : [e.eventAction],
      ),
      [
        ['ADDED', 'active', 'CCX:Escalate'],
        ['UPDATED'],
        ['ADDED', 'active', 'CCX:Note'],
        ['UPDATED'],
        ['ADDED', 'closed', 'Reviewed'],
        ['UPDATED'],
      ],
    );
    assert.deepEqual(idsOf(await api.get(`${QUERY}/getSessionsByTag`, { value: 'ccx:escalate' })), [
      'active',
    ]);
  });

  void it('adding a tag that exists (same name in any case, same offset) succeeds without a copy or an event', async () => {
    api.events.length = 0;
    assert.equal((await add({ sessionId: 'active', tagName: 'ccx:escalate' })).responseCode, 2000);
    assert.equal(
      (await add({ sessionId: 'active', tagName: 'CCX:NOTE', tagOffset: 1500 })).responseCode,
      2000,
    );
    assert.deepEqual(api.events, []);
    assert.equal((await session('active')).tags.length, 2);
    // Another offset is another tag.
    assert.equal(
      (await add({ sessionId: 'active', tagName: 'CCX:Note', tagOffset: 1501 })).responseCode,
      2000,
    );
    assert.equal((await session('active')).tags.length, 3);
  });

  void it('giving a whole-session tag an offset moves it there: TAG_EVENT UPDATED, no second tag', async () => {
    await api.repository.createSession(sampleSession({ sessionId: 'moving', sessionStartDate: T0 }));
    assert.equal((await add({ sessionId: 'moving', tagName: 'CCX:Flag' })).responseCode, 2000);
    const created = (await session('moving')).tags[0]?.tagCreateDate;
    api.events.length = 0;
    assert.equal(
      (await add({ sessionId: 'moving', tagName: 'ccx:flag', tagOffset: 4200 })).responseCode,
      2000,
    );
    assert.deepEqual(
      (await session('moving')).tags.map((t) => [t.tagName, t.tagOffset, t.tagCreateDate]),
      [['CCX:Flag', 4200, created]],
    );
    assert.deepEqual(
      api.events.map((e) =>
        e.eventType === 'TAG_EVENT'
          ? [e.eventType, e.eventAction, e.tag.tagName, e.tag.tagOffset]
          : [e.eventType, e.eventAction],
      ),
      [
        ['TAG_EVENT', 'UPDATED', 'CCX:Flag', 4200],
        ['SESSION_EVENT', 'UPDATED'],
      ],
    );
    // Time-bound now: another offset is another tag, and the same one is a retry.
    api.events.length = 0;
    assert.equal(
      (await add({ sessionId: 'moving', tagName: 'CCX:Flag', tagOffset: 4200 })).responseCode,
      2000,
    );
    assert.equal(api.events.length, 0, 'a retry publishes nothing');
    assert.equal(
      (await add({ sessionId: 'moving', tagName: 'CCX:Flag', tagOffset: 9000 })).responseCode,
      2000,
    );
    assert.deepEqual(
      api.events.map((e) => [e.eventType, e.eventAction]),
      [
        ['TAG_EVENT', 'ADDED'],
        ['SESSION_EVENT', 'UPDATED'],
      ],
    );
    assert.equal((await session('moving')).tags.length, 2);
  });

  void it('refuses a bad tag, an unknown session and a DELETED one, each with a detail', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ sessionId: 'active' }, 4002, /tagName/],
      [{ tagName: 'x' }, 4002, /sessionId/],
      [{ sessionId: 'active', tagName: '' }, 4001, /tagName/],
      [{ sessionId: 'active', tagName: '  ' }, 4001, /must not be blank/],
      [{ sessionId: 'active', tagName: 'x'.repeat(256) }, 4001, /tagName/],
      [{ sessionId: 'active', tagName: 'x', tagOffset: 0 }, 4001, /tagOffset 0 is not allowed/],
      [{ sessionId: 'active', tagName: 'x', tagOffset: -5 }, 4001, /tagOffset/],
      [{ sessionId: 'nope', tagName: 'x' }, 4041, /no session "nope"/],
      [{ sessionId: 'deleted', tagName: 'x' }, 4042, /DELETED/],
    ];
    for (const [params, code, detail] of cases) {
      const answer = await add(params);
      assert.equal(answer.responseCode, code, JSON.stringify(params));
      assert.match(answer.detail ?? '', detail);
    }
    assert.equal((await add({ sessionId: 'active', tagName: 'y'.repeat(255) })).responseCode, 2000);
    assert.equal((await api.post(`${MANAGE}/addSessionTag`, 'text')).responseCode, 4000);
  });

  void it('deletes by name without regard to case, only the one at an offset when one is given', async () => {
    api.events.length = 0;
    const atOffset = await remove({ sessionId: 'active', tagName: 'ccx:note', tagOffset: 1501 });
    assert.deepEqual(atOffset, { responseCode: 2000, responseMessage: 'Successful' });
    assert.deepEqual(
      (await session('active')).tags.map((t) => [t.tagName, t.tagOffset]).filter(([n]) => n === 'CCX:Note'),
      [['CCX:Note', 1500]],
    );
    assert.equal((await remove({ sessionId: 'active', tagName: 'CCX:NOTE' })).responseCode, 2000);
    assert.equal(
      (await remove({ sessionId: 'closed', tagName: 'reviewed', tagOffset: 20 })).responseCode,
      2000,
    );
    assert.deepEqual(
      api.events.map((e) =>
        e.eventType === 'TAG_EVENT'
          ? [e.eventAction, e.sessionId, e.tag.tagName, e.tag.tagOffset]
          : [e.eventAction, e.eventType === 'SESSION_EVENT' && 'sessionId' in e ? e.sessionId : ''],
      ),
      [
        ['DELETED', 'active', 'CCX:Note', 1501],
        ['UPDATED', 'active'],
        ['DELETED', 'active', 'CCX:Note', 1500],
        ['UPDATED', 'active'],
        ['DELETED', 'closed', 'Reviewed', 20],
        ['UPDATED', 'closed'],
      ],
    );
    assert.equal(idsOf(await api.get(`${QUERY}/getSessionsByTag`, { value: 'reviewed' })), 2001);
  });

  void it('refuses to delete a system tag (4042), a tag the session lacks (4041), on a DELETED session (4042)', async () => {
    api.events.length = 0;
    const system = await remove({ sessionId: 'closed', tagName: 'pause' });
    assert.equal(system.responseCode, 4042);
    assert.match(system.detail ?? '', /is SYSTEM_DEFINED; only USER_DEFINED tags can be deleted/);
    assert.equal((await remove({ sessionId: 'closed', tagName: 'TrackInactive' })).responseCode, 4042);
    const missing = await remove({ sessionId: 'closed', tagName: 'never-added' });
    assert.equal(missing.responseCode, 4041);
    assert.match(missing.detail ?? '', /no user tag "never-added"/);
    assert.equal((await remove({ sessionId: 'deleted', tagName: 'x' })).responseCode, 4042);
    assert.equal((await remove({ sessionId: 'nope', tagName: 'x' })).responseCode, 4041);
    assert.deepEqual(api.events, []);
    const closed = await session('closed');
    assert.deepEqual(
      [closed.tags.map((t) => t.tagName), closed.tracks[0]?.tags.map((t) => t.tagName)],
      [['Pause'], ['TrackInactive']],
    );
  });

  void it('lets admin, api and supervisor change tags and refuses the auditor (4022)', async () => {
    for (const role of ['admin', 'supervisor'] as const) {
      const added = await api.postAs(role, `${MANAGE}/addSessionTag`, {
        requestParameters: { sessionId: 'closed', tagName: `by-${role}` },
      });
      assert.equal(added.responseCode, 2000, role);
      const deleted = await api.postAs(role, `${MANAGE}/deleteSessionTag`, {
        requestParameters: { sessionId: 'closed', tagName: `by-${role}` },
      });
      assert.equal(deleted.responseCode, 2000, role);
    }
    for (const name of ['addSessionTag', 'deleteSessionTag']) {
      const refused = await api.postAs('auditor', `${MANAGE}/${name}`, {
        requestParameters: { sessionId: 'closed', tagName: 'x' },
      });
      assert.equal(refused.responseCode, 4022, name);
    }
    assert.equal(idsOf(await api.get(`${QUERY}/getSessionsByTag`, { value: 'by-admin' })), 2001);
  });

  void it('answers 4021 without a session', async () => {
    for (const name of ['addSessionTag', 'deleteSessionTag']) {
      const answer = await api.anonymous(`${MANAGE}/${name}`, {
        method: 'POST',
        body: JSON.stringify({ requestParameters: { sessionId: 'active', tagName: 'x' } }),
      });
      assert.equal(answer.responseCode, 4021, name);
    }
  });
});
