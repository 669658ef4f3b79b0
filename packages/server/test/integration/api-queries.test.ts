import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { Session, Track } from '../../src/model/session.js';
import { idsOf, startApiOverSqlite, type ApiOverSqlite } from '../support/api-client.js';
import { sampleSession } from '../support/fake-repository.js';

/**
 * The query service of issue 10 over real HTTP on SQLite: getAllPrunedSessions,
 * getSessionsByDeviceRef / ByMediaType / ByTag with their keys, windows and pages, and every
 * getSessions leniency real clients need (docs/api.md "Leniencies").
 */

const T0 = 1_760_000_000_000;
const MINUTE = 60_000;
const QUERY = '/ora/queryService/query';

/** A session `n` minutes after T0 whose two tracks carry the given devices (xRefCi `x<device>`). */
function seeded(n: number, devices: [string, string], overrides: Partial<Session> = {}): Session {
  const base = sampleSession({
    sessionId: `q${n}`,
    sessionStartDate: T0 + n * MINUTE,
    ccid: `c-${n}00`,
    ...overrides,
  });
  const tracks = base.tracks.map((track, i): Track => ({
    ...track,
    participants: track.participants.map((p) => ({
      ...p,
      deviceRef: devices[i]!,
      xRefCi: `x${devices[i]!}`,
    })),
  }));
  return { ...base, tracks };
}

void describe('query service over HTTP and SQLite (issue 10)', () => {
  let api: ApiOverSqlite;

  before(async () => {
    api = await startApiOverSqlite('verbatim-api-queries-');
    const q3 = seeded(3, ['2000', '4000']);
    const sessions = [
      seeded(1, ['1000', '2000']),
      seeded(2, ['1000', '3000'], {
        sessionState: 'CLOSED_ERROR',
        tags: [{ tagName: 'CCX:Keep', tagType: 'USER_DEFINED', tagCreateDate: T0 }],
      }),
      {
        ...q3,
        tracks: [
          {
            ...q3.tracks[0]!,
            tags: [
              {
                tagName: 'TrackInactive',
                tagType: 'SYSTEM_DEFINED',
                tagCreateDate: T0,
                tagOffset: 5,
                trackNumber: 0,
              },
            ],
          },
          { ...q3.tracks[1]!, trackMediaType: 'VIDEO', codec: 'H264' },
        ],
      } satisfies Session,
      seeded(4, ['1000', '5000'], {
        sessionState: 'ACTIVE',
        tags: [{ tagName: 'ccx:KEEP', tagType: 'USER_DEFINED', tagCreateDate: T0, tagOffset: 9 }],
      }),
      seeded(5, ['6000', '7000']),
    ];
    for (const session of sessions) {
      await api.repository.createSession(session);
    }
    assert.equal(await api.repository.markSessionPruned('q2', T0 + 10 * MINUTE), true);
    assert.equal(await api.repository.markSessionPruned('q5', T0 + 10 * MINUTE), true);
  });

  after(async () => {
    await api.close();
  });

  void describe('getAllPrunedSessions', () => {
    void it('lists the pruned sessions newest first, in their CLOSED_* state, flagged pruned: true', async () => {
      const answer = await api.get(`${QUERY}/getAllPrunedSessions`);
      assert.equal(answer.responseCode, 2000);
      assert.deepEqual(
        answer.responseBody?.sessions.map((s) => [s.sessionId, s.sessionState, s.pruned]),
        [
          ['q5', 'CLOSED_NORMAL', true],
          ['q2', 'CLOSED_ERROR', true],
        ],
      );
      const kept = await api.get(`${QUERY}/getSessionBySessionId`, { value: 'q1' });
      assert.ok(kept.responseBody?.sessions[0] !== undefined && !('pruned' in kept.responseBody.sessions[0]));
    });

    void it('pages and windows like getAllActiveSessions; 2001 when none', async () => {
      assert.deepEqual(idsOf(await api.get(`${QUERY}/getAllPrunedSessions`, { limit: 1, offset: 1 })), [
        'q2',
      ]);
      assert.deepEqual(idsOf(await api.get(`${QUERY}/getAllPrunedSessions`, { LIMIT: 1, Offset: -1 })), [
        'q5',
      ]);
      assert.deepEqual(
        idsOf(
          await api.get(`${QUERY}/getAllPrunedSessions`, {
            minSessionStartDate: T0 + 2 * MINUTE,
            maxSessionStartDate: T0 + 4 * MINUTE,
          }),
        ),
        ['q2'],
      );
      assert.equal(idsOf(await api.get(`${QUERY}/getAllPrunedSessions`, { maxSessionStartDate: T0 })), 2001);
      assert.equal(idsOf(await api.get(`${QUERY}/getAllPrunedSessions`, { offset: 2 })), 2001);
      const refused = await api.get(`${QUERY}/getAllPrunedSessions`, { limit: 0 });
      assert.equal(refused.responseCode, 4001);
      assert.match(refused.detail ?? '', /limit must be an integer from 1 to 1000/);
    });
  });

  void describe('getSessionsByDeviceRef', () => {
    void it('finds every session with the device on any track, newest first, by value or deviceRef in any case', async () => {
      for (const query of [
        { value: '1000' },
        { deviceRef: '1000' },
        { DEVICEREF: 1000 },
        { VALUE: '1000' },
      ]) {
        assert.deepEqual(idsOf(await api.get(`${QUERY}/getSessionsByDeviceRef`, query)), ['q4', 'q2', 'q1']);
      }
    });

    void it('takes a window, limit and offset; a limit over 1000 is capped', async () => {
      const get = (query: Record<string, string | number>) =>
        api.get(`${QUERY}/getSessionsByDeviceRef`, { value: '1000', ...query });
      assert.deepEqual(idsOf(await get({ limit: 2 })), ['q4', 'q2']);
      assert.deepEqual(idsOf(await get({ limit: 2, offset: 2 })), ['q1']);
      assert.deepEqual(idsOf(await get({ limit: 5000 })), ['q4', 'q2', 'q1']);
      assert.deepEqual(
        idsOf(await get({ minSessionStartDate: T0 + 2 * MINUTE, maxSessionStartDate: T0 + 4 * MINUTE })),
        ['q4', 'q2'],
      );
      assert.equal(idsOf(await get({ offset: 3 })), 2001);
    });

    void it('answers 2001 for an unknown device, 4002 without one, 4001 for a bad parameter', async () => {
      assert.equal(idsOf(await api.get(`${QUERY}/getSessionsByDeviceRef`, { value: '9999' })), 2001);
      assert.equal((await api.get(`${QUERY}/getSessionsByDeviceRef`)).responseCode, 4002);
      const bad = await api.get(`${QUERY}/getSessionsByDeviceRef`, {
        value: '1000',
        minSessionStartDate: 'today',
      });
      assert.equal(bad.responseCode, 4001);
      assert.match(bad.detail ?? '', /minSessionStartDate/);
    });
  });

  void describe('getSessionsByMediaType', () => {
    void it('finds sessions with a track of the type, AUDIO or VIDEO in any case', async () => {
      assert.deepEqual(idsOf(await api.get(`${QUERY}/getSessionsByMediaType`, { value: 'VIDEO' })), ['q3']);
      assert.deepEqual(idsOf(await api.get(`${QUERY}/getSessionsByMediaType`, { mediaType: 'video' })), [
        'q3',
      ]);
      assert.deepEqual(
        idsOf(await api.get(`${QUERY}/getSessionsByMediaType`, { value: 'audio', limit: 3 })),
        ['q5', 'q4', 'q3'],
      );
      const bad = await api.get(`${QUERY}/getSessionsByMediaType`, { value: 'screen' });
      assert.equal(bad.responseCode, 4001);
      assert.match(bad.detail ?? '', /AUDIO or VIDEO/);
    });
  });

  void describe('getSessionsByTag', () => {
    void it('matches session and track tags without regard to case', async () => {
      assert.deepEqual(idsOf(await api.get(`${QUERY}/getSessionsByTag`, { value: 'CCX:KEEP' })), [
        'q4',
        'q2',
      ]);
      assert.deepEqual(idsOf(await api.get(`${QUERY}/getSessionsByTag`, { tagName: 'trackinactive' })), [
        'q3',
      ]);
      assert.equal(idsOf(await api.get(`${QUERY}/getSessionsByTag`, { TagName: 'none' })), 2001);
      assert.equal(
        (await api.get(`${QUERY}/getSessionsByTag`, { value: 'x'.repeat(256) })).responseCode,
        4001,
      );
    });
  });

  void it('answers 4021 to every new query without a session', async () => {
    for (const name of [
      'getAllPrunedSessions',
      'getSessionsByDeviceRef',
      'getSessionsByMediaType',
      'getSessionsByTag',
    ]) {
      assert.equal((await api.anonymous(`${QUERY}/${name}?value=1000`)).responseCode, 4021, name);
    }
  });

  void describe('getSessions leniencies', () => {
    const window = {
      fieldName: 'sessionStartDate',
      fieldConditions: [{ fieldOperator: 'between', fieldValues: [T0, T0 + 10 * MINUTE] }],
      paramConnector: 'AND',
    };
    const getSessions = (body: Record<string, unknown>) =>
      api.post(`${QUERY}/getSessions`, { requestParameters: [window], ...body });
    const where = (fieldName: string, fieldOperator: string, value: unknown) => ({
      fieldName,
      fieldConditions: [{ fieldOperator, fieldValues: [value] }],
      paramConnector: 'AND',
    });

    void it('takes sortParameters as one object or an array', async () => {
      const ascending = ['q1', 'q2', 'q3', 'q4', 'q5'];
      assert.deepEqual(
        idsOf(await getSessions({ sortParameters: { byFieldName: 'ccid', order: 'ASC' } })),
        ascending,
      );
      assert.deepEqual(
        idsOf(await getSessions({ sortParameters: [{ byFieldName: 'sessionStartDate', order: 'asc' }] })),
        ascending,
      );
    });

    void it('ignores a nonsense sort (unknown field, order "CLOSED_NORMAL"): newest first', async () => {
      for (const sortParameters of [
        { byFieldName: 'sessionState', order: 'CLOSED_NORMAL' },
        [{ byFieldName: 'CLOSED_NORMAL', order: 'CLOSED_NORMAL' }],
        'nonsense',
      ]) {
        const answer = await getSessions({ sortParameters });
        assert.equal(answer.responseCode, 2000, JSON.stringify(sortParameters));
      }
      assert.deepEqual(idsOf(await getSessions({ sortParameters: [{ byFieldName: 'agentId' }] })), [
        'q5',
        'q4',
        'q3',
        'q2',
        'q1',
      ]);
    });

    void it('compares ccid, xRefCi and deviceRef lexicographically with greaterThan and lessThan', async () => {
      const ids = async (...clauses: unknown[]) =>
        idsOf(await api.post(`${QUERY}/getSessions`, { requestParameters: [...clauses, window] }));
      assert.deepEqual(await ids(where('ccid', 'greaterThan', 'c-200'), where('ccid', 'lessThan', 'c-500')), [
        'q4',
        'q3',
      ]);
      assert.deepEqual(await ids(where('deviceRef', 'greaterThan', '5000')), ['q5']);
      assert.deepEqual(await ids(where('deviceRef', 'lessThan', 2000)), ['q4', 'q2', 'q1']);
      // As text "x6000" > "x5" and "x1000" < "x2".
      assert.deepEqual(await ids(where('xRefCi', 'greaterThan', 'x5')), ['q5', 'q4']);
      assert.deepEqual(await ids(where('XREFCI', 'lessThan', 'x2')), ['q4', 'q2', 'q1']);
    });

    void it('reads an OR of several equals on one field', async () => {
      const answer = await api.post(`${QUERY}/getSessions`, {
        requestParameters: [
          {
            fieldName: 'deviceRef',
            fieldConditions: [
              { fieldOperator: 'equals', fieldValues: ['3000'], fieldConnector: 'OR' },
              { fieldOperator: 'equals', fieldValues: [4000], fieldConnector: 'OR' },
              { fieldOperator: 'equals', fieldValues: ['6000'] },
            ],
            paramConnector: 'AND',
          },
          window,
        ],
      });
      assert.deepEqual(idsOf(answer), ['q5', 'q3', 'q2']);
    });

    void it('reads offset -1 as 0, caps a limit over 1000, takes numeric strings; limit 0 is still 4037', async () => {
      const all = ['q5', 'q4', 'q3', 'q2', 'q1'];
      assert.deepEqual(idsOf(await getSessions({ pageParameters: { offset: -1, limit: 5000 } })), all);
      assert.deepEqual(idsOf(await getSessions({ pageParameters: { offset: '1', limit: '2' } })), [
        'q4',
        'q3',
      ]);
      const zero = await getSessions({ pageParameters: { offset: 0, limit: 0 } });
      assert.equal(zero.responseCode, 4037);
      assert.match(zero.detail ?? '', /limit must be an integer from 1 to 1000, got 0/);
    });

    void it('takes mediaType as the old name of trackMediaType, and finds track tags by tagName', async () => {
      const ids = async (clause: unknown) =>
        idsOf(await api.post(`${QUERY}/getSessions`, { requestParameters: [clause, window] }));
      assert.deepEqual(await ids(where('mediaType', 'equals', 'video')), ['q3']);
      assert.deepEqual(await ids(where('tagName', 'equals', 'TRACKINACTIVE')), ['q3']);
      assert.deepEqual(await ids(where('tagName', 'startsWith', 'ccx:')), ['q4', 'q2']);
    });
  });
});
