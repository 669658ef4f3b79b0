import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { EMPTY_TRACK_STATS, type Session, type TrackStats } from '../../src/model/session.js';
import { idsOf, startApiOverSqlite, type ApiOverSqlite } from '../support/api-client.js';
import { sampleSession } from '../support/fake-repository.js';

/**
 * The healthProblem field of getSessions (Verbatim extension, docs/api.md "Fields and
 * operators") over real HTTP on SQLite: sessions stored with the track counters that make each
 * problem, found by the kinds the repository stored when they closed.
 */

const T0 = 1_771_000_000_000;
const MINUTE = 60_000;
const GET_SESSIONS = '/ora/queryService/query/getSessions';

const HEARD: TrackStats = { ...EMPTY_TRACK_STATS, packets: 500, bytes: 80_000 };

/** Session `h<n>`, started `n` minutes after T0 (newest first is h5 … h1), its two tracks' stats. */
function seeded(n: number, stats: [TrackStats, TrackStats], state?: Session['sessionState']): Session {
  const base = sampleSession({
    sessionId: `h${n}`,
    sessionStartDate: T0 + n * MINUTE,
    ...(state === undefined ? {} : { sessionState: state }),
  });
  return { ...base, tracks: base.tracks.map((track, i) => ({ ...track, stats: stats[i]! })) };
}

const SESSIONS: readonly Session[] = [
  // h1: ok.
  seeded(1, [HEARD, HEARD]),
  // h2: track 0 lost 10 % of its packets.
  seeded(2, [{ ...HEARD, lost: 50 }, HEARD]),
  // h3: track 1 stored nothing, so one party was never heard.
  seeded(3, [HEARD, EMPTY_TRACK_STATS]),
  // h4: ACTIVE, whose health is not stored yet: no healthProblem condition matches it.
  seeded(4, [{ ...HEARD, lost: 50 }, EMPTY_TRACK_STATS], 'ACTIVE'),
  // h5: both lossy and one-sided.
  seeded(5, [{ ...HEARD, lost: 100 }, EMPTY_TRACK_STATS]),
];

const WINDOW = {
  fieldName: 'sessionStartDate',
  fieldConditions: [{ fieldOperator: 'between', fieldValues: [T0, T0 + 10 * MINUTE] }],
  paramConnector: 'AND',
};

function problem(fieldOperator: string, value: string, paramConnector = 'AND'): object {
  return {
    fieldName: 'healthProblem',
    fieldConditions: [{ fieldOperator, fieldValues: [value] }],
    paramConnector,
  };
}

void describe('getSessions by recording health (healthProblem)', () => {
  let api: ApiOverSqlite;

  before(async () => {
    api = await startApiOverSqlite('verbatim-api-query-health-');
    for (const session of SESSIONS) {
      await api.repository.createSession(session);
    }
  });

  after(async () => {
    await api.close();
  });

  async function ids(...clauses: object[]): Promise<string[] | number> {
    return idsOf(await api.post(GET_SESSIONS, { requestParameters: [...clauses, WINDOW] }));
  }

  void it('finds the closed sessions that had a kind of problem, and those that did not', async () => {
    assert.deepEqual(await ids(problem('equals', 'packet-loss')), ['h5', 'h2']);
    assert.deepEqual(await ids(problem('equals', 'one-sided')), ['h5', 'h3']);
    assert.deepEqual(await ids(problem('equals', 'no-packets')), ['h5', 'h3']);
    assert.deepEqual(await ids(problem('equals', 'gap')), 2001);
    assert.deepEqual(await ids(problem('notEquals', 'packet-loss')), ['h3', 'h1']);
  });

  void it('takes `any` for any problem, and its negation for the sessions that were ok', async () => {
    assert.deepEqual(await ids(problem('equals', 'any')), ['h5', 'h3', 'h2']);
    assert.deepEqual(await ids(problem('notEquals', 'ANY')), ['h1']);
  });

  void it('combines with OR within the field and with AND with other fields', async () => {
    assert.deepEqual(await ids(problem('equals', 'packet-loss', 'OR'), problem('equals', 'one-sided')), [
      'h5',
      'h3',
      'h2',
    ]);
    assert.deepEqual(
      await ids(problem('equals', 'packet-loss'), {
        fieldName: 'ccid',
        fieldConditions: [{ fieldOperator: 'notEquals', fieldValues: ['nothing'] }],
      }),
      ['h5', 'h2'],
    );
  });

  void it('refuses an unknown kind with 4034 and a detail listing the kinds', async () => {
    const answer = await api.post(GET_SESSIONS, { requestParameters: [problem('equals', 'echo'), WINDOW] });
    assert.equal(answer.responseCode, 4034);
    assert.match(
      answer.detail ?? '',
      /healthProblem needs one of packet-loss, gap, no-packets, silent-track, one-sided, any/,
    );
  });
});
