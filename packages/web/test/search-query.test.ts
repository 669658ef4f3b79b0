import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { translateGetSessionsBody } from '../../server/src/api/session-query.ts';
import type { QueryCondition, QueryExpression } from '../../server/src/db/repository.ts';
import {
  DEFAULT_SEARCH,
  queryOfSearch,
  requestParametersOf,
  searchFromQuery,
  windowOf,
  type Search,
} from '../src/api/search.ts';

/**
 * Search and Play's translation of its form into a getSessions query, checked against the
 * server's own parser of that query (api/session-query.ts): what the page sends is what the server
 * understands, field by field.
 */

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);

function search(overrides: Partial<Search>): Search {
  return { ...DEFAULT_SEARCH, ...overrides };
}

/** The conditions the server reads from the page's request, as `field operator values`. */
function serverConditions(s: Search): string[] {
  const requestParameters = requestParametersOf(s, NOW);
  if (typeof requestParameters === 'string') {
    assert.fail(requestParameters);
  }
  const translated = translateGetSessionsBody({
    requestParameters,
    pageParameters: { offset: 0, limit: s.size + 1 },
    sortParameters: [{ byFieldName: s.sort, order: s.order.toUpperCase() }],
  });
  assert.ok(translated.ok, JSON.stringify(translated));
  const conditions: QueryCondition[] = [];
  const walk = (expression: QueryExpression): void => {
    if (expression.kind === 'condition') {
      conditions.push(expression);
      return;
    }
    assert.equal(expression.kind, 'and', 'every criterion is joined with AND');
    expression.items.forEach(walk);
  };
  walk(translated.value.where);
  return conditions.map((c) => `${c.field} ${c.operator} ${c.values.join(',')}`);
}

void describe("Search and Play's search, as the server reads it", () => {
  void it('sends every field of the form as the condition the server knows it by', () => {
    const conditions = serverConditions(
      search({
        range: 'hour',
        device: '1001',
        xRefCi: '16777300',
        ccid: 'abc@10.0.0.1',
        tag: 'CCX:escalate',
        state: 'CLOSED_NORMAL',
        agent: 'jdoe',
        minDuration: '30',
        maxDuration: '90.5',
        controller: 'Cisco-CUCM',
        health: 'gap',
      }),
    );
    assert.deepEqual(conditions, [
      `sessionStartDate between ${NOW - 3_600_000},${NOW}`,
      'deviceRef equals 1001',
      'xRefCi equals 16777300',
      'ccid equals abc@10.0.0.1',
      'tagName equals CCX:escalate',
      'sessionState equals CLOSED_NORMAL',
      'agent equals jdoe',
      'callControllerType equals Cisco-CUCM',
      'sessionDuration between 30000,90500',
      'healthProblem equals gap',
    ]);
  });

  void it('reads one-sided durations as inclusive bounds, and "no problem" as no problem at all', () => {
    assert.deepEqual(serverConditions(search({ minDuration: '10' })).slice(1), [
      'sessionDuration greaterThan 9999',
    ]);
    assert.deepEqual(serverConditions(search({ maxDuration: '10' })).slice(1), [
      'sessionDuration lessThan 10001',
    ]);
    assert.deepEqual(serverConditions(search({ health: 'ok' })).slice(1), ['healthProblem notEquals any']);
    assert.deepEqual(serverConditions(search({ health: 'any' })).slice(1), ['healthProblem equals any']);
  });

  void it('sorts and pages as the URL says', () => {
    const s = searchFromQuery({ sort: 'sessionDuration', order: 'asc', page: '3', size: '50' });
    const translated = translateGetSessionsBody({
      requestParameters: requestParametersOf(s, NOW),
      pageParameters: { offset: (s.page - 1) * s.size, limit: s.size + 1 },
      sortParameters: [{ byFieldName: s.sort, order: s.order.toUpperCase() }],
    });
    assert.ok(translated.ok, JSON.stringify(translated));
    assert.deepEqual(translated.value.sort, [{ field: 'sessionDuration', order: 'ASC' }]);
    assert.equal(translated.value.offset, 100);
    assert.equal(translated.value.limit, 51, 'one more than a page: whether there is a next page');
  });

  void it('says what is wrong with a search instead of sending it', () => {
    assert.equal(
      requestParametersOf(search({ minDuration: 'ten' }), NOW),
      'Durations are a number of seconds, 0 or more.',
    );
    assert.equal(
      requestParametersOf(search({ minDuration: '-1' }), NOW),
      'Durations are a number of seconds, 0 or more.',
    );
    assert.equal(
      requestParametersOf(search({ minDuration: '90', maxDuration: '30' }), NOW),
      'The shortest duration is longer than the longest.',
    );
    assert.equal(
      requestParametersOf(search({ range: 'custom' }), NOW),
      'Give the custom range a start (and an end, or it ends now).',
    );
    assert.equal(
      requestParametersOf(search({ range: 'custom', from: '2026-12-05T10:00', to: '2026-12-04T10:00' }), NOW),
      'The custom range starts after it ends.',
    );
  });
});

void describe('the search in the URL', () => {
  void it('gives back the same search after a round trip, and keeps links short', () => {
    const s = search({
      range: 'custom',
      from: '2026-12-01T08:00',
      to: '2026-12-01T17:30',
      device: '1001',
      tag: 'CCX:escalate',
      state: 'ACTIVE',
      health: 'one-sided',
      sort: 'ccid',
      order: 'asc',
      page: 2,
      size: 100,
    });
    const query = queryOfSearch(s);
    assert.deepEqual(searchFromQuery(Object.fromEntries(new URLSearchParams(query))), s);
    assert.equal(queryOfSearch(DEFAULT_SEARCH), '', 'the default search is the bare URL');
    assert.equal(queryOfSearch(search({ device: '1001' })), 'device=1001');
  });

  void it('falls back to the default for anything unknown or malformed in a link', () => {
    const s = searchFromQuery({
      range: 'fortnight',
      state: 'HALF_OPEN',
      health: 'too-loud',
      sort: 'callerName',
      order: 'sideways',
      page: '-2',
      size: '100000',
      device: '  1001  ',
    });
    assert.deepEqual(s, { ...DEFAULT_SEARCH, device: '1001', size: 200 });
  });
});

void describe('the quick time ranges', () => {
  void it('cover the last hour, today, yesterday and the last 7 days up to now', () => {
    const now = new Date(2026, 11, 5, 14, 30).getTime();
    const midnight = new Date(2026, 11, 5).getTime();
    assert.deepEqual(windowOf(search({ range: 'hour' }), now), [now - 3_600_000, now]);
    assert.deepEqual(windowOf(search({ range: 'today' }), now), [midnight, now]);
    assert.deepEqual(windowOf(search({ range: 'yesterday' }), now), [
      new Date(2026, 11, 4).getTime(),
      midnight - 1,
    ]);
    assert.deepEqual(windowOf(search({ range: 'week' }), now), [now - 7 * 86_400_000, now]);
  });

  void it('make yesterday a calendar day, however long the clock made it', () => {
    // In zones with daylight saving (node follows TZ when it changes): on the day after a change,
    // yesterday starts at its own midnight and ends just before today's, 23 or 25 hours later.
    const zoneBefore = process.env['TZ'];
    try {
      // The days after the changes of 2026: [year, month (0-based), day].
      for (const [zone, days] of [
        [
          'Europe/Paris',
          [
            [2026, 2, 30],
            [2026, 9, 26],
          ],
        ],
        [
          'America/New_York',
          [
            [2026, 2, 9],
            [2026, 10, 2],
          ],
        ],
      ] as const) {
        process.env['TZ'] = zone;
        for (const [index, [year, month, day]] of days.entries()) {
          const today = new Date(year, month, day).getTime();
          const window = windowOf(search({ range: 'yesterday' }), today + 10 * 3_600_000);
          assert.ok(typeof window !== 'string');
          const start = new Date(window[0]);
          assert.deepEqual([start.getHours(), start.getMinutes(), start.getDate()], [0, 0, day - 1]);
          assert.equal(window[1] + 1, today);
          const hours = (today - window[0]) / 3_600_000;
          assert.equal(hours, index === 0 ? 23 : 25, `${zone}: yesterday lasted ${hours} h`);
        }
      }
    } finally {
      if (zoneBefore === undefined) {
        delete process.env['TZ'];
      } else {
        process.env['TZ'] = zoneBefore;
      }
    }
  });
});
