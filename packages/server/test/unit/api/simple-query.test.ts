import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { keyedSessionsQuery, prunedSessionsQuery, windowPageOf } from '../../../src/api/simple-query.js';
import type { SessionQuery } from '../../../src/db/repository.js';

const NEWEST_FIRST = [{ field: 'sessionStartDate', order: 'DESC' }];
const ALL_TIME = {
  kind: 'condition',
  field: 'sessionStartDate',
  operator: 'between',
  values: [0, Number.MAX_SAFE_INTEGER],
};

function ok<T>(result: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!result.ok) {
    assert.fail(`unexpected failure ${JSON.stringify(result.error)}`);
  }
  return result.value;
}

function failure(
  result: { ok: true; value: SessionQuery } | { ok: false; error: { responseCode: number; detail?: string } },
) {
  if (result.ok) {
    assert.fail(`expected a failure, got ${JSON.stringify(result.value)}`);
  }
  return result.error;
}

void describe('simple GET queries', () => {
  void it('reads the key from value or from its own name, in any case, and pages newest first', () => {
    for (const params of [
      { value: '1000' },
      { deviceRef: '1000' },
      { DEVICEREF: '1000' },
      { Value: '1000' },
    ]) {
      assert.deepEqual(ok(keyedSessionsQuery('deviceRef', params)), {
        where: {
          kind: 'and',
          items: [ALL_TIME, { kind: 'condition', field: 'deviceRef', operator: 'equals', values: ['1000'] }],
        },
        sort: NEWEST_FIRST,
        offset: 0,
        limit: 1000,
      });
    }
  });

  void it('takes the window and page like getAllActiveSessions, with the getSessions leniencies', () => {
    const query = ok(
      keyedSessionsQuery('tagName', {
        tagName: 'CCX:Keep',
        minSessionStartDate: '100',
        maxSessionStartDate: '200',
        limit: '5000',
        offset: '-1',
      }),
    );
    assert.deepEqual(query.where, {
      kind: 'and',
      items: [
        { kind: 'condition', field: 'sessionStartDate', operator: 'between', values: [100, 200] },
        { kind: 'condition', field: 'tagName', operator: 'equals', values: ['CCX:Keep'] },
      ],
    });
    assert.deepEqual([query.offset, query.limit], [0, 1000]);
  });

  void it('maps mediaType to trackMediaType, AUDIO or VIDEO in any case', () => {
    for (const [raw, stored] of [
      ['audio', 'AUDIO'],
      ['Video', 'VIDEO'],
      [' AUDIO ', 'AUDIO'],
    ]) {
      const where = ok(keyedSessionsQuery('mediaType', { mediaType: raw })).where;
      assert.deepEqual(where.kind === 'and' ? where.items[1] : undefined, {
        kind: 'condition',
        field: 'trackMediaType',
        operator: 'equals',
        values: [stored],
      });
    }
    assert.match(
      failure(keyedSessionsQuery('mediaType', { value: 'screen' })).detail ?? '',
      /AUDIO or VIDEO/,
    );
  });

  void it('answers 4002 without a key, 4001 for a bad key, window or page', () => {
    assert.equal(failure(keyedSessionsQuery('deviceRef', {})).responseCode, 4002);
    assert.equal(failure(keyedSessionsQuery('tagName', { value: '  ' })).responseCode, 4002);
    const cases: [Record<string, string>, RegExp][] = [
      [{ value: 'x'.repeat(256) }, /tagName is at most 255 characters/],
      [{ value: 'a', limit: '0' }, /limit must be an integer from 1 to 1000, got "0"/],
      [{ value: 'a', limit: 'ten' }, /limit/],
      [{ value: 'a', offset: '1.5' }, /offset must be an integer/],
      [{ value: 'a', minSessionStartDate: 'yesterday' }, /minSessionStartDate must be epoch milliseconds/],
      [{ value: 'a', maxSessionStartDate: '-5' }, /maxSessionStartDate/],
    ];
    for (const [params, detail] of cases) {
      const error = failure(keyedSessionsQuery('tagName', params));
      assert.equal(error.responseCode, 4001, JSON.stringify(params));
      assert.match(error.detail ?? '', detail);
    }
    assert.match(
      failure(keyedSessionsQuery('deviceRef', { value: 'x'.repeat(257) })).detail ?? '',
      /deviceRef is at most 256 characters/,
    );
  });

  void it('asks the repository for pruned sessions only, in the window', () => {
    assert.deepEqual(ok(prunedSessionsQuery({ limit: '10', offset: '20', maxSessionStartDate: '99' })), {
      where: { kind: 'condition', field: 'sessionStartDate', operator: 'between', values: [0, 99] },
      sort: NEWEST_FIRST,
      offset: 20,
      limit: 10,
      prunedOnly: true,
    });
    assert.equal(windowPageOf({ offset: 'x' }).ok, false);
  });
});
