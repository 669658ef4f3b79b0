import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { Session, Track } from '../../src/model/session.js';
import { idsOf, startApiOverSqlite, type ApiOverSqlite } from '../support/api-client.js';
import { sampleSession } from '../support/fake-repository.js';

/**
 * getSessions over real HTTP on SQLite, field by field (docs/api.md "Fields and operators"): the
 * fields and operators api-queries.test.ts leaves out, each asserted by the exact sessions that
 * come back; the query errors 4030, 4031, 4033 and 4036 as HTTP answers; and the 1,000-row cap on
 * more than 1,000 matching sessions.
 */

const T0 = 1_770_000_000_000;
const MINUTE = 60_000;
const GET_SESSIONS = '/ora/queryService/query/getSessions';

interface Shape {
  state?: Session['sessionState'];
  duration?: number;
  ip: string;
  type: Session['callControllerType'];
  /** The deviceId of track 0's and track 1's participant. */
  deviceIds: [string, string];
  /** Both tracks' media type and codec. */
  media?: { trackMediaType: Track['trackMediaType']; codec: string };
}

/** Session `f<n>`, started `n` minutes after T0, so newest first is f5 … f1. */
function seeded(n: number, shape: Shape): Session {
  const base = sampleSession({
    sessionId: `f${n}`,
    sessionStartDate: T0 + n * MINUTE,
    ...(shape.state === undefined ? {} : { sessionState: shape.state }),
    callControllerIP: shape.ip,
    callControllerType: shape.type,
    ccid: `c${n}`,
  });
  const tracks = base.tracks.map((track, i): Track => ({
    ...track,
    ...(shape.media ?? {}),
    participants: track.participants.map((p) => ({ ...p, deviceId: shape.deviceIds[i]! })),
  }));
  return { ...base, ...(shape.duration === undefined ? {} : { sessionDuration: shape.duration }), tracks };
}

const SESSIONS: readonly Session[] = [
  seeded(1, {
    duration: 30_000,
    ip: '10.0.0.5',
    type: 'Cisco-CUCM',
    deviceIds: ['SEP000000000010', 'SEP000000000011'],
  }),
  seeded(2, {
    duration: 60_000,
    ip: '10.0.0.6',
    type: 'Cisco-SIPGateway',
    deviceIds: ['SEP000000000020', 'SEPSHARED'],
  }),
  seeded(3, {
    duration: 120_000,
    ip: '192.168.1.20',
    type: 'Cisco-CUCM',
    deviceIds: ['SEP000000000030', 'SEPSHARED'],
    media: { trackMediaType: 'VIDEO', codec: 'H264' },
  }),
  // ACTIVE: no duration yet, so no sessionDuration comparison may match it.
  seeded(4, {
    state: 'ACTIVE',
    ip: '10.0.0.5',
    type: 'Cisco-SIPGateway',
    deviceIds: ['SEP000000000040', 'SEP000000000041'],
  }),
  seeded(5, {
    state: 'CLOSED_ERROR',
    duration: 600_000,
    ip: '10.1.0.5',
    type: 'Cisco-CUCM',
    deviceIds: ['SEP000000000050', 'SEP000000000051'],
    media: { trackMediaType: 'AUDIO', codec: 'G722' },
  }),
];

const WINDOW = {
  fieldName: 'sessionStartDate',
  fieldConditions: [{ fieldOperator: 'between', fieldValues: [T0, T0 + 10 * MINUTE] }],
  paramConnector: 'AND',
};

function where(fieldName: string, fieldOperator: string, ...fieldValues: unknown[]): object {
  return { fieldName, fieldConditions: [{ fieldOperator, fieldValues }], paramConnector: 'AND' };
}

void describe('getSessions fields, operators, errors and the row cap over HTTP (issue 10)', () => {
  let api: ApiOverSqlite;

  before(async () => {
    api = await startApiOverSqlite('verbatim-api-query-fields-');
    for (const session of SESSIONS) {
      await api.repository.createSession(session);
    }
  });

  after(async () => {
    await api.close();
  });

  /** The ids getSessions answers for `clause` within the window (2001 when none). */
  async function ids(clause: object): Promise<string[] | number> {
    return idsOf(await api.post(GET_SESSIONS, { requestParameters: [clause, WINDOW] }));
  }

  void it('sessionDuration: greaterThan, lessThan, between (inclusive), equals, notEquals; never an ACTIVE session', async () => {
    assert.deepEqual(await ids(where('sessionDuration', 'greaterThan', 60_000)), ['f5', 'f3']);
    assert.deepEqual(await ids(where('sessionDuration', 'lessThan', '60000')), ['f1']);
    assert.deepEqual(await ids(where('sessionDuration', 'between', 60_000, 120_000)), ['f3', 'f2']);
    assert.deepEqual(await ids(where('sessionDuration', 'equals', 60_000)), ['f2']);
    assert.deepEqual(await ids(where('sessionDuration', 'notEquals', 60_000)), ['f5', 'f3', 'f1']);
    assert.deepEqual(await ids(where('sessionDuration', 'greaterThan', 0)), ['f5', 'f3', 'f2', 'f1']);
  });

  void it('callControllerIP: equals, notEquals, contains, startsWith', async () => {
    assert.deepEqual(await ids(where('callControllerIP', 'equals', '10.0.0.5')), ['f4', 'f1']);
    assert.deepEqual(await ids(where('callControllerIP', 'notEquals', '10.0.0.5')), ['f5', 'f3', 'f2']);
    assert.deepEqual(await ids(where('callControllerIP', 'contains', '10.0.0.')), ['f4', 'f2', 'f1']);
    assert.deepEqual(await ids(where('callControllerIP', 'startsWith', '192.')), ['f3']);
  });

  void it('callControllerType: equals, notEquals, contains; compared case-sensitively', async () => {
    assert.deepEqual(await ids(where('callControllerType', 'equals', 'Cisco-SIPGateway')), ['f4', 'f2']);
    assert.deepEqual(await ids(where('callControllerType', 'notEquals', 'Cisco-SIPGateway')), [
      'f5',
      'f3',
      'f1',
    ]);
    assert.deepEqual(await ids(where('callControllerType', 'contains', 'CUCM')), ['f5', 'f3', 'f1']);
    assert.equal(await ids(where('callControllerType', 'equals', 'cisco-cucm')), 2001);
  });

  void it('deviceId: any participant matches; notEquals means no participant has it', async () => {
    assert.deepEqual(await ids(where('deviceId', 'equals', 'SEP000000000041')), ['f4']);
    assert.deepEqual(await ids(where('deviceId', 'equals', 'SEPSHARED')), ['f3', 'f2']);
    assert.deepEqual(await ids(where('deviceId', 'contains', '00000003')), ['f3']);
    assert.deepEqual(await ids(where('deviceId', 'notEquals', 'SEPSHARED')), ['f5', 'f4', 'f1']);
    assert.equal(await ids(where('deviceId', 'equals', 'sepshared')), 2001);
  });

  void it('codec: any track matches; notEquals means no track has it', async () => {
    assert.deepEqual(await ids(where('codec', 'equals', 'G722')), ['f5']);
    assert.deepEqual(await ids(where('codec', 'contains', '26')), ['f3']);
    assert.deepEqual(await ids(where('codec', 'notEquals', 'PCMU')), ['f5', 'f3']);
  });

  void it('trackMediaType by its own name: equals and notEquals, values in any case', async () => {
    assert.deepEqual(await ids(where('trackMediaType', 'equals', 'VIDEO')), ['f3']);
    assert.deepEqual(await ids(where('trackMediaType', 'equals', 'audio')), ['f5', 'f4', 'f2', 'f1']);
    assert.deepEqual(await ids(where('trackMediaType', 'notEquals', 'AUDIO')), ['f3']);
    assert.deepEqual(await ids(where('trackMediaType', 'notEquals', 'video')), ['f5', 'f4', 'f2', 'f1']);
  });

  void it('answers 4030, 4031, 4033 and 4036 with HTTP 200, their messages and a detail naming the element', async () => {
    const cases: [number, string, string, unknown[]][] = [
      [
        4030,
        'Failure: The query names an unknown or unsearchable field.',
        'requestParameters[0].fieldName "colour" is not a searchable field',
        [where('colour', 'equals', 'red'), WINDOW],
      ],
      [
        4031,
        'Failure: The query uses an unknown operator.',
        'requestParameters[0].fieldConditions[0].fieldOperator "like" is not an operator',
        [where('ccid', 'like', 'c1'), WINDOW],
      ],
      [
        4033,
        'Failure: The query gives the wrong number of values for its operator.',
        'requestParameters[0].fieldConditions[0]: equals takes 1 value, got 2',
        [where('ccid', 'equals', 'c1', 'c2'), WINDOW],
      ],
      [
        4033,
        'Failure: The query gives the wrong number of values for its operator.',
        'requestParameters[0].fieldConditions[0]: between takes 2 values, got 1',
        [where('sessionDuration', 'between', 1), WINDOW],
      ],
      [
        4036,
        'Failure: The query uses an unknown connector.',
        'requestParameters[0].paramConnector must be "AND" or "OR", got "XOR"',
        [{ ...where('ccid', 'equals', 'c1'), paramConnector: 'XOR' }, WINDOW],
      ],
      [
        4036,
        'Failure: The query uses an unknown connector.',
        'requestParameters[0].fieldConditions[0].fieldConnector must be "AND" or "OR", got "NOR"',
        [
          {
            fieldName: 'ccid',
            fieldConditions: [
              { fieldOperator: 'equals', fieldValues: ['c1'], fieldConnector: 'NOR' },
              { fieldOperator: 'equals', fieldValues: ['c2'] },
            ],
          },
          WINDOW,
        ],
      ],
    ];
    for (const [code, message, detail, requestParameters] of cases) {
      // api.post asserts HTTP 200 (the envelope carries the failure, as MediaSense's did).
      const answer = await api.post(GET_SESSIONS, { requestParameters });
      assert.deepEqual(
        { responseCode: answer.responseCode, responseMessage: answer.responseMessage, detail: answer.detail },
        { responseCode: code, responseMessage: message, detail },
      );
      assert.equal(answer.responseBody, undefined);
    }
  });

  void it('answers 1,000 rows of more than 1,000 matching, a limit over 1,000 included, and pages on to the rest', async () => {
    const T1 = T0 + 24 * 60 * MINUTE;
    const COUNT = 1_050;
    for (let i = 0; i < COUNT; i++) {
      await api.repository.createSession(
        sampleSession({ sessionId: `bulk${String(i).padStart(4, '0')}`, sessionStartDate: T1 + i * 1000 }),
      );
    }
    const bulkWindow = {
      fieldName: 'sessionStartDate',
      fieldConditions: [{ fieldOperator: 'between', fieldValues: [T1, T1 + COUNT * 1000] }],
    };
    const page = async (pageParameters?: object): Promise<string[]> => {
      const answer = await api.post(GET_SESSIONS, {
        requestParameters: [bulkWindow],
        ...(pageParameters === undefined ? {} : { pageParameters }),
      });
      assert.equal(answer.responseCode, 2000);
      return answer.responseBody?.sessions.map((s) => s.sessionId) ?? [];
    };
    const newest = Array.from({ length: COUNT }, (_, i) => `bulk${String(COUNT - 1 - i).padStart(4, '0')}`);
    for (const pageParameters of [undefined, { offset: 0, limit: 5000 }, { limit: 1001 }]) {
      assert.deepEqual(await page(pageParameters), newest.slice(0, 1000), JSON.stringify(pageParameters));
    }
    assert.deepEqual(await page({ offset: 1000, limit: 5000 }), newest.slice(1000));
  });
});
