import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { QueryCondition, SessionQuery } from '../../../src/db/repository.js';
import {
  MAX_CONDITIONS_PER_CLAUSE,
  MAX_QUERY_CLAUSES,
  MAX_QUERY_VALUE_LENGTH,
  MAX_TAG_NAME_LENGTH,
} from '../../../src/api/request-limits.js';
import { translateGetSessionsBody } from '../../../src/api/session-query.js';
import { CLOSED_STATES_CLAUSE, startedBetween } from '../../support/get-sessions-bodies.js';

const FROM = 1768771615694;
const TO = 1769376415694;

const dateClause = startedBetween(FROM, TO);
const dateCondition: QueryCondition = {
  kind: 'condition',
  field: 'sessionStartDate',
  operator: 'between',
  values: [FROM, TO],
};

function cond(
  field: QueryCondition['field'],
  value: string | number,
  operator: QueryCondition['operator'] = 'equals',
): QueryCondition {
  return { kind: 'condition', field, operator, values: [value] };
}

function clause(
  fieldName: string,
  value: unknown,
  paramConnector?: string,
  fieldOperator = 'equals',
): Record<string, unknown> {
  return {
    fieldName,
    fieldConditions: [{ fieldOperator, fieldValues: [value] }],
    ...(paramConnector === undefined ? {} : { paramConnector }),
  };
}

function translate(body: unknown): SessionQuery {
  const result = translateGetSessionsBody(body);
  if (!result.ok) {
    assert.fail(`unexpected error ${result.error.code}: ${result.error.message}`);
  }
  return result.value;
}

function translateError(body: unknown): { code: string; responseCode: number; message: string } {
  const result = translateGetSessionsBody(body);
  if (result.ok) {
    assert.fail(`expected an error, got ${JSON.stringify(result.value)}`);
  }
  return result.error;
}

void describe('getSessions body translation', () => {
  void it('translates the body the MediaSense 11.5 web UI sends', () => {
    const query = translate({
      requestParameters: [CLOSED_STATES_CLAUSE, dateClause],
    });
    assert.deepEqual(query, {
      where: {
        kind: 'and',
        items: [
          {
            kind: 'or',
            items: [cond('sessionState', 'CLOSED_NORMAL'), cond('sessionState', 'CLOSED_ERROR')],
          },
          dateCondition,
        ],
      },
      sort: [{ field: 'sessionStartDate', order: 'DESC' }],
      offset: 0,
      limit: 1000,
    });
  });

  void it('lets AND bind tighter than OR between fields (S1): a OR b AND c is a OR (b AND c)', () => {
    const query = translate({
      requestParameters: [clause('tagName', 't1', 'OR'), clause('deviceRef', '1000', 'AND'), dateClause],
    });
    assert.deepEqual(query.where, {
      kind: 'or',
      items: [cond('tagName', 't1'), { kind: 'and', items: [cond('deviceRef', '1000'), dateCondition] }],
    });
  });

  void it('groups conditions on the same field first (DG90 p.40 rule 1)', () => {
    // deviceRef=1000 OR deviceRef=2000 AND tagName=foo OR sessionState=ACTIVE, with the date ANDed.
    const query = translate({
      requestParameters: [
        {
          fieldName: 'deviceRef',
          fieldConditions: [
            { fieldOperator: 'equals', fieldValues: ['1000'], fieldConnector: 'OR' },
            { fieldOperator: 'equals', fieldValues: ['2000'] },
          ],
          paramConnector: 'AND',
        },
        clause('tagName', 'foo', 'OR'),
        clause('sessionState', 'ACTIVE', 'AND'),
        dateClause,
      ],
    });
    assert.deepEqual(query.where, {
      kind: 'or',
      items: [
        {
          kind: 'and',
          items: [
            { kind: 'or', items: [cond('deviceRef', '1000'), cond('deviceRef', '2000')] },
            cond('tagName', 'foo'),
          ],
        },
        { kind: 'and', items: [cond('sessionState', 'ACTIVE'), dateCondition] },
      ],
    });
  });

  void it('merges adjacent clauses on the same field into one group', () => {
    const query = translate({
      requestParameters: [clause('deviceRef', '1000', 'OR'), clause('deviceRef', '2000', 'AND'), dateClause],
    });
    assert.deepEqual(query.where, {
      kind: 'and',
      items: [{ kind: 'or', items: [cond('deviceRef', '1000'), cond('deviceRef', '2000')] }, dateCondition],
    });
  });

  void it('applies AND over OR inside one field too', () => {
    const query = translate({
      requestParameters: [
        {
          fieldName: 'sessionDuration',
          fieldConditions: [
            { fieldOperator: 'greaterThan', fieldValues: [0], fieldConnector: 'AND' },
            { fieldOperator: 'lessThan', fieldValues: ['540000'], fieldConnector: 'OR' },
            { fieldOperator: 'equals', fieldValues: [900000] },
          ],
        },
        dateClause,
      ],
    });
    assert.deepEqual(query.where, {
      kind: 'and',
      items: [
        {
          kind: 'or',
          items: [
            {
              kind: 'and',
              items: [cond('sessionDuration', 0, 'greaterThan'), cond('sessionDuration', 540000, 'lessThan')],
            },
            cond('sessionDuration', 900000),
          ],
        },
        dateCondition,
      ],
    });
  });

  void it('joins with AND when a connector is missing, and accepts connectors in any case', () => {
    const query = translate({
      requestParameters: [clause('ccid', 'x', 'or'), clause('xRefCi', 'y'), dateClause],
    });
    assert.deepEqual(query.where, {
      kind: 'or',
      items: [cond('ccid', 'x'), { kind: 'and', items: [cond('xRefCi', 'y'), dateCondition] }],
    });
  });

  void it('matches parameter names, field names and operators case-insensitively', () => {
    const query = translate({
      RequestParameters: [
        { FIELDNAME: 'DeviceRef', fieldconditions: [{ FieldOperator: 'Equals', FieldValues: [1000] }] },
        {
          fieldName: 'SESSIONSTARTDATE',
          fieldConditions: [{ fieldOperator: 'BETWEEN', fieldValues: [String(FROM), String(TO)] }],
        },
      ],
    });
    // A numeric deviceRef becomes a string; numeric-string dates become numbers.
    assert.deepEqual(query.where, { kind: 'and', items: [cond('deviceRef', '1000'), dateCondition] });
  });

  void it('upper-cases state and media type values and maps the old mediaType field', () => {
    const query = translate({
      requestParameters: [
        clause('sessionState', 'active', 'AND'),
        clause('mediaType', 'audio', 'AND'),
        dateClause,
      ],
    });
    assert.deepEqual(query.where, {
      kind: 'and',
      items: [cond('sessionState', 'ACTIVE'), cond('trackMediaType', 'AUDIO'), dateCondition],
    });
  });

  void it('lower-cases healthProblem values and refuses unknown kinds and other operators', () => {
    const query = translate({
      requestParameters: [clause('healthProblem', ' Packet-Loss ', 'AND'), dateClause],
    });
    assert.deepEqual(query.where, {
      kind: 'and',
      items: [cond('healthProblem', 'packet-loss'), dateCondition],
    });
    assert.deepEqual(
      translate({ requestParameters: [clause('HEALTHPROBLEM', 'any', 'AND', 'notEquals'), dateClause] })
        .where,
      { kind: 'and', items: [cond('healthProblem', 'any', 'notEquals'), dateCondition] },
    );
    const unknown = translateError({
      requestParameters: [clause('healthProblem', 'echo', 'AND'), dateClause],
    });
    assert.equal(unknown.responseCode, 4034);
    assert.match(
      unknown.message,
      /healthProblem needs one of packet-loss, gap, no-packets, silent-track, one-sided, any/,
    );
    const operator = translateError({
      requestParameters: [clause('healthProblem', 'gap', 'AND', 'contains'), dateClause],
    });
    assert.equal(operator.responseCode, 4032);
  });

  void it('accepts greaterThan and lessThan on every text field (compared lexicographically)', () => {
    for (const field of [
      'ccid',
      'xRefCi',
      'deviceRef',
      'deviceId',
      'callControllerIP',
      'callControllerType',
      'tagName',
      'codec',
    ] as const) {
      const query = translate({
        requestParameters: [
          { ...clause(field, 'm', 'AND', 'greaterThan') },
          { ...clause(field, 7, 'AND', 'lessThan') },
          dateClause,
        ],
      });
      assert.deepEqual(
        query.where,
        {
          kind: 'and',
          items: [
            { kind: 'and', items: [cond(field, 'm', 'greaterThan'), cond(field, '7', 'lessThan')] },
            dateCondition,
          ],
        },
        field,
      );
    }
  });

  void it('reads an OR of several equals on one field, in one clause or in adjacent clauses', () => {
    const oneClause = translate({
      requestParameters: [
        {
          fieldName: 'deviceRef',
          fieldConditions: [
            { fieldOperator: 'equals', fieldValues: ['1000'], fieldConnector: 'OR' },
            { fieldOperator: 'equals', fieldValues: ['2000'], fieldConnector: 'OR' },
            { fieldOperator: 'equals', fieldValues: [3000] },
          ],
          paramConnector: 'AND',
        },
        dateClause,
      ],
    });
    const expected = {
      kind: 'and',
      items: [
        {
          kind: 'or',
          items: [cond('deviceRef', '1000'), cond('deviceRef', '2000'), cond('deviceRef', '3000')],
        },
        dateCondition,
      ],
    };
    assert.deepEqual(oneClause.where, expected);
    const adjacent = translate({
      requestParameters: [
        clause('deviceRef', '1000', 'OR'),
        clause('deviceRef', '2000', 'OR'),
        clause('deviceRef', 3000, 'AND'),
        dateClause,
      ],
    });
    assert.deepEqual(adjacent.where, expected);
  });

  void it('accepts a single clause object as requestParameters', () => {
    const query = translate({ requestParameters: dateClause });
    assert.deepEqual(query.where, dateCondition);
  });

  void describe('paging and sorting', () => {
    void it('reads offset and limit as numbers or numeric strings', () => {
      assert.deepEqual(
        {
          ...translate({ requestParameters: [dateClause], pageParameters: { offset: '200', limit: 100 } }),
          where: null,
        },
        { where: null, sort: [{ field: 'sessionStartDate', order: 'DESC' }], offset: 200, limit: 100 },
      );
    });

    void it('defaults the limit to 1000 and the offset to 0 when one is missing', () => {
      const query = translate({ requestParameters: [dateClause], pageParameters: { limit: 5 } });
      assert.equal(query.offset, 0);
      assert.equal(query.limit, 5);
      assert.equal(translate({ requestParameters: [dateClause], pageParameters: { offset: 3 } }).limit, 1000);
    });

    // Leniency (issue 10): a limit over 1000 is capped, not refused; 0 is still refused (KB853).
    for (const limit of [0, -1, 1.5, 'ten', '']) {
      void it(`rejects limit ${JSON.stringify(limit)} with 4037`, () => {
        const error = translateError({
          requestParameters: [dateClause],
          pageParameters: { offset: 0, limit },
        });
        assert.equal(error.responseCode, 4037);
        assert.equal(error.code, 'VERBATIM_ERR_API_QUERY_PAGING');
        assert.match(error.message, /limit/);
      });
    }

    void it('caps a limit over 1000 at 1000, as a number or a numeric string', () => {
      for (const limit of [1001, '5000', Number.MAX_SAFE_INTEGER]) {
        const query = translate({ requestParameters: [dateClause], pageParameters: { offset: 0, limit } });
        assert.equal(query.limit, 1000, `limit ${limit}`);
      }
    });

    void it('reads a negative offset (a first page asked as -1) as 0', () => {
      for (const offset of [-1, '-1', -10]) {
        const query = translate({ requestParameters: [dateClause], pageParameters: { offset, limit: 10 } });
        assert.equal(query.offset, 0, `offset ${offset}`);
      }
    });

    void it('reads null offset and limit as absent', () => {
      const query = translate({
        requestParameters: [dateClause],
        pageParameters: { offset: null, limit: null },
      });
      assert.deepEqual([query.offset, query.limit], [0, 1000]);
    });

    void it('rejects an offset that is not an integer with 4037', () => {
      for (const offset of [1.5, 'first', true, '']) {
        const error = translateError({
          requestParameters: [dateClause],
          pageParameters: { offset, limit: 10 },
        });
        assert.equal(error.responseCode, 4037);
        assert.match(error.message, /offset/);
      }
    });

    void it('accepts sortParameters as an array or as a single object', () => {
      const asArray = translate({
        requestParameters: [dateClause],
        sortParameters: [
          { byFieldName: 'sessionDuration', order: 'ASC' },
          { byFieldName: 'ccid', order: 'desc' },
        ],
      });
      assert.deepEqual(asArray.sort, [
        { field: 'sessionDuration', order: 'ASC' },
        { field: 'ccid', order: 'DESC' },
      ]);
      const asObject = translate({
        requestParameters: [dateClause],
        sortParameters: { byFieldName: 'sessionState', order: 'asc' },
      });
      assert.deepEqual(asObject.sort, [{ field: 'sessionState', order: 'ASC' }]);
    });

    void it('falls back to DESC for an unknown order, as a client in the wild sends one', () => {
      const query = translate({
        requestParameters: [dateClause],
        sortParameters: { byFieldName: 'sessionStartDate', order: 'CLOSED_NORMAL' },
      });
      assert.deepEqual(query.sort, [{ field: 'sessionStartDate', order: 'DESC' }]);
    });

    void it('ignores a nonsense sort: unknown fields, entries that are no object, a sort that is no object', () => {
      const byDefault = [{ field: 'sessionStartDate', order: 'DESC' }];
      for (const sortParameters of [
        [{ byFieldName: 'deviceRef' }],
        { byFieldName: 'CLOSED_NORMAL', order: 'CLOSED_NORMAL' },
        { order: 'ASC' },
        'sessionStartDate',
        42,
        [null, 'x', []],
        [],
        {},
      ]) {
        assert.deepEqual(
          translate({ requestParameters: [dateClause], sortParameters }).sort,
          byDefault,
          JSON.stringify(sortParameters),
        );
      }
      // The usable keys of a partly nonsense sort are kept, in order.
      assert.deepEqual(
        translate({
          requestParameters: [dateClause],
          sortParameters: [{ byFieldName: 'agentId' }, 7, { byFieldName: ' ccid ', order: ' asc ' }],
        }).sort,
        [{ field: 'ccid', order: 'ASC' }],
      );
    });
  });

  void describe('rejections', () => {
    const cases: { name: string; body: unknown; responseCode: number; code: string; detail: RegExp }[] = [
      {
        name: 'a body that is not an object',
        body: [dateClause],
        responseCode: 4000,
        code: 'VERBATIM_ERR_API_QUERY_BODY',
        detail: /object/,
      },
      {
        name: 'a missing requestParameters',
        body: {},
        responseCode: 4002,
        code: 'VERBATIM_ERR_API_QUERY_MISSING_PARAMETERS',
        detail: /requestParameters/,
      },
      {
        name: 'an empty requestParameters',
        body: { requestParameters: [] },
        responseCode: 4035,
        code: 'VERBATIM_ERR_API_QUERY_NO_START_DATE',
        detail: /sessionStartDate/,
      },
      {
        name: 'a query without sessionStartDate',
        body: { requestParameters: [clause('deviceRef', '1000')] },
        responseCode: 4035,
        code: 'VERBATIM_ERR_API_QUERY_NO_START_DATE',
        detail: /sessionStartDate/,
      },
      {
        name: 'sessionStartDate with greaterThan',
        body: { requestParameters: [clause('sessionStartDate', FROM, undefined, 'greaterThan')] },
        responseCode: 4032,
        code: 'VERBATIM_ERR_API_QUERY_OPERATOR_NOT_ALLOWED',
        detail: /sessionStartDate accepts between, not greaterThan/,
      },
      {
        name: 'sessionId as a field',
        body: { requestParameters: [clause('sessionId', 'abc', 'AND'), dateClause] },
        responseCode: 4030,
        code: 'VERBATIM_ERR_API_QUERY_UNKNOWN_FIELD',
        detail: /getSessionBySessionId/,
      },
      {
        name: 'an unknown field',
        body: { requestParameters: [clause('colour', 'red', 'AND'), dateClause] },
        responseCode: 4030,
        code: 'VERBATIM_ERR_API_QUERY_UNKNOWN_FIELD',
        detail: /requestParameters\[0\]\.fieldName "colour"/,
      },
      {
        name: 'an unknown operator',
        body: { requestParameters: [dateClause, clause('deviceRef', '1', undefined, 'like')] },
        responseCode: 4031,
        code: 'VERBATIM_ERR_API_QUERY_UNKNOWN_OPERATOR',
        detail: /requestParameters\[1\]\.fieldConditions\[0\]\.fieldOperator "like"/,
      },
      {
        name: 'contains on sessionState',
        body: { requestParameters: [dateClause, clause('sessionState', 'CLOSED', undefined, 'contains')] },
        responseCode: 4032,
        code: 'VERBATIM_ERR_API_QUERY_OPERATOR_NOT_ALLOWED',
        detail: /sessionState/,
      },
      {
        name: 'between with one value',
        body: {
          requestParameters: [
            {
              fieldName: 'sessionStartDate',
              fieldConditions: [{ fieldOperator: 'between', fieldValues: [FROM] }],
            },
          ],
        },
        responseCode: 4033,
        code: 'VERBATIM_ERR_API_QUERY_VALUE_COUNT',
        detail: /between takes 2 values, got 1/,
      },
      {
        name: 'equals with two values',
        body: {
          requestParameters: [
            dateClause,
            { fieldName: 'ccid', fieldConditions: [{ fieldOperator: 'equals', fieldValues: ['a', 'b'] }] },
          ],
        },
        responseCode: 4033,
        code: 'VERBATIM_ERR_API_QUERY_VALUE_COUNT',
        detail: /equals takes 1 value, got 2/,
      },
      {
        name: 'a non-numeric date',
        body: {
          requestParameters: [
            {
              fieldName: 'sessionStartDate',
              fieldConditions: [{ fieldOperator: 'between', fieldValues: ['yesterday', TO] }],
            },
          ],
        },
        responseCode: 4034,
        code: 'VERBATIM_ERR_API_QUERY_VALUE',
        detail: /fieldValues\[0\]: sessionStartDate needs epoch milliseconds, got "yesterday"/,
      },
      {
        name: 'a reversed between',
        body: {
          requestParameters: [
            {
              fieldName: 'sessionStartDate',
              fieldConditions: [{ fieldOperator: 'between', fieldValues: [TO, FROM] }],
            },
          ],
        },
        responseCode: 4034,
        code: 'VERBATIM_ERR_API_QUERY_VALUE',
        detail: /smaller value first/,
      },
      {
        name: 'an unknown session state',
        body: { requestParameters: [dateClause, clause('sessionState', 'RUNNING')] },
        responseCode: 4034,
        code: 'VERBATIM_ERR_API_QUERY_VALUE',
        detail: /ACTIVE, CLOSED_NORMAL/,
      },
      {
        name: 'an object as a text value',
        body: { requestParameters: [dateClause, clause('deviceRef', { n: 1 })] },
        responseCode: 4034,
        code: 'VERBATIM_ERR_API_QUERY_VALUE',
        detail: /deviceRef needs a string/,
      },
      {
        name: 'an unknown connector',
        body: { requestParameters: [clause('deviceRef', '1', 'XOR'), dateClause] },
        responseCode: 4036,
        code: 'VERBATIM_ERR_API_QUERY_CONNECTOR',
        detail: /paramConnector must be "AND" or "OR", got "XOR"/,
      },
      {
        name: 'fieldValues that is not an array',
        body: {
          requestParameters: [
            {
              fieldName: 'sessionStartDate',
              fieldConditions: [{ fieldOperator: 'between', fieldValues: FROM }],
            },
          ],
        },
        responseCode: 4001,
        code: 'VERBATIM_ERR_API_QUERY_VALUES',
        detail: /fieldValues must be an array/,
      },
      {
        name: 'a clause without fieldConditions',
        body: { requestParameters: [{ fieldName: 'sessionStartDate' }] },
        responseCode: 4002,
        code: 'VERBATIM_ERR_API_QUERY_CONDITIONS',
        detail: /fieldConditions/,
      },
      {
        name: 'a clause without fieldName',
        body: { requestParameters: [{ fieldConditions: [] }] },
        responseCode: 4002,
        code: 'VERBATIM_ERR_API_QUERY_MISSING_FIELD_NAME',
        detail: /fieldName is missing/,
      },
      {
        name: 'pageParameters that is not an object',
        body: { requestParameters: [dateClause], pageParameters: 5 },
        responseCode: 4037,
        code: 'VERBATIM_ERR_API_QUERY_PAGING',
        detail: /pageParameters/,
      },
    ];
    for (const c of cases) {
      void it(`rejects ${c.name} with ${c.responseCode}`, () => {
        const error = translateError(c.body);
        assert.equal(error.responseCode, c.responseCode);
        assert.equal(error.code, c.code);
        assert.match(error.message, c.detail);
      });
    }
  });
});

void describe('getSessions input limits', () => {
  const conditions = (n: number): object[] =>
    Array.from({ length: n }, (_, i) => ({
      fieldOperator: 'equals',
      fieldValues: [`c${i}`],
      fieldConnector: 'OR',
    }));

  void it('takes MAX_QUERY_CLAUSES clauses of MAX_CONDITIONS_PER_CLAUSE conditions and refuses one more', () => {
    const ccidClause = { fieldName: 'ccid', fieldConditions: conditions(MAX_CONDITIONS_PER_CLAUSE) };
    const full = [dateClause, ...Array.from({ length: MAX_QUERY_CLAUSES - 1 }, () => ccidClause)];
    assert.equal(translateGetSessionsBody({ requestParameters: full }).ok, true);
    const tooManyClauses = translateError({ requestParameters: [...full, ccidClause] });
    assert.equal(tooManyClauses.responseCode, 4001);
    assert.equal(tooManyClauses.code, 'VERBATIM_ERR_API_QUERY_TOO_MANY_CLAUSES');
    const tooManyConditions = translateError({
      requestParameters: [
        dateClause,
        { fieldName: 'ccid', fieldConditions: conditions(MAX_CONDITIONS_PER_CLAUSE + 1) },
      ],
    });
    assert.equal(tooManyConditions.responseCode, 4001);
    assert.equal(tooManyConditions.code, 'VERBATIM_ERR_API_QUERY_TOO_MANY_CONDITIONS');
    assert.match(tooManyConditions.message, /^requestParameters\[1\]\.fieldConditions has 17 conditions/);
  });

  void it('counts the conditions before translating any, so 10,000 cost no more than 17', () => {
    const error = translateError({
      requestParameters: [{ fieldName: 'ccid', fieldConditions: conditions(10_000) }, dateClause],
    });
    assert.equal(error.code, 'VERBATIM_ERR_API_QUERY_TOO_MANY_CONDITIONS');
  });

  void it('describes a value nested 10,000 deep by its kind, without walking into it', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) {
      deep = [deep];
    }
    const error = translateError({
      requestParameters: [
        {
          fieldName: 'sessionStartDate',
          fieldConditions: [{ fieldOperator: 'between', fieldValues: [deep, TO] }],
        },
      ],
    });
    assert.equal(error.responseCode, 4034);
    assert.equal(
      error.message,
      'requestParameters[0].fieldConditions[0].fieldValues[0]: sessionStartDate needs epoch milliseconds, got an array of 1',
    );
  });

  void it('cuts long strings it quotes, and refuses text values over their length limits', () => {
    const unknown = translateError({ requestParameters: [clause('x'.repeat(100_000), 'v'), dateClause] });
    assert.equal(unknown.code, 'VERBATIM_ERR_API_QUERY_UNKNOWN_FIELD');
    assert.ok(unknown.message.length < 200, unknown.message);
    assert.match(unknown.message, /… \(100000 characters\)/);
    const long = translateError({
      requestParameters: [clause('deviceRef', '1'.repeat(MAX_QUERY_VALUE_LENGTH + 1)), dateClause],
    });
    assert.equal(long.code, 'VERBATIM_ERR_API_QUERY_VALUE_TOO_LONG');
    assert.equal(long.responseCode, 4034);
    const tag = translateError({
      requestParameters: [clause('tagName', 't'.repeat(MAX_TAG_NAME_LENGTH + 1)), dateClause],
    });
    assert.match(tag.message, /tagName values are at most 255 characters \(MAX_TAG_NAME_LENGTH\), got 256$/);
    assert.equal(
      translateGetSessionsBody({
        requestParameters: [clause('tagName', 't'.repeat(MAX_TAG_NAME_LENGTH)), dateClause],
      }).ok,
      true,
    );
  });
});
