import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';

import type { QueryCondition, QueryExpression } from '../../../src/db/repository.js';
import type { Database } from '../../../src/db/schema.js';
import { indexedEqualities, MAX_QUERY_DEPTH, sessionFilter } from '../../../src/db/session-query.js';
import { globLiteral, SQLITE_TEXT_MATCH } from '../../../src/db/sqlite-repository.js';

// Compiles queries without a database: the translation is checked as SQL text and parameters.
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (kysely) => new SqliteIntrospector(kysely),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

function compile(
  where: QueryExpression,
  fewMatches: ReadonlySet<QueryCondition> = new Set(),
): { sql: string; parameters: readonly unknown[] } {
  return db
    .selectFrom('sessions')
    .select('session_id')
    .where((eb) => sessionFilter(eb, where, { textMatch: SQLITE_TEXT_MATCH, fewMatches }))
    .compile();
}

void describe('getSessions query translation', () => {
  void it('binds values as parameters, never as SQL text', () => {
    const { sql, parameters } = compile({
      kind: 'condition',
      field: 'ccid',
      operator: 'equals',
      values: ["x' or 1=1 --"],
    });
    assert.equal(sql, 'select "session_id" from "sessions" where "sessions"."ccid" = ?');
    assert.deepEqual(parameters, ["x' or 1=1 --"]);
  });

  void it('tests a participant field through a correlated EXISTS', () => {
    const { sql, parameters } = compile({
      kind: 'condition',
      field: 'deviceRef',
      operator: 'equals',
      values: [1000],
    });
    assert.match(
      sql,
      /exists \(select 1 as "one" from "participants" where "participants"."session_id" = "sessions"."session_id" and "participants"."device_ref" = \?\)/,
    );
    assert.deepEqual(parameters, ['1000']);
  });

  void it('writes an equality known to match few rows as IN, and its negation as NOT IN', () => {
    const equals: QueryCondition = { kind: 'condition', field: 'xRefCi', operator: 'equals', values: ['42'] };
    const notEquals: QueryCondition = { ...equals, operator: 'notEquals' };
    assert.match(
      compile(equals, new Set([equals])).sql,
      /where "sessions"."session_id" in \(select "participants"."session_id" from "participants" where "participants"."xref_ci" = \?\)$/,
    );
    assert.match(
      compile(notEquals, new Set([notEquals])).sql,
      /where "sessions"."session_id" not in \(select/,
    );
    assert.match(compile(equals).sql, /where exists \(/);
  });

  void it('lists the indexed equalities whose match count decides their form', () => {
    const deviceRef: QueryCondition = {
      kind: 'condition',
      field: 'deviceRef',
      operator: 'equals',
      values: ['1'],
    };
    const tagName: QueryCondition = {
      kind: 'condition',
      field: 'tagName',
      operator: 'notEquals',
      values: ['x'],
    };
    const where: QueryExpression = {
      kind: 'and',
      items: [
        { kind: 'condition', field: 'ccid', operator: 'equals', values: ['1'] },
        { kind: 'condition', field: 'codec', operator: 'equals', values: ['PCMU'] },
        { kind: 'condition', field: 'deviceRef', operator: 'contains', values: ['1'] },
        { kind: 'or', items: [deviceRef, tagName] },
      ],
    };
    assert.deepEqual(indexedEqualities(where), [deviceRef, tagName]);
  });

  void it('also lists text ranges and media types on indexed child columns, and writes a rare range as IN', () => {
    const range: QueryCondition = {
      kind: 'condition',
      field: 'xRefCi',
      operator: 'greaterThan',
      values: ['x5'],
    };
    const video: QueryCondition = {
      kind: 'condition',
      field: 'trackMediaType',
      operator: 'equals',
      values: ['VIDEO'],
    };
    const unindexed: QueryCondition = {
      kind: 'condition',
      field: 'deviceId',
      operator: 'lessThan',
      values: ['S'],
    };
    assert.deepEqual(indexedEqualities({ kind: 'and', items: [range, video, unindexed] }), [range, video]);
    const rare = compile(range, new Set([range]));
    assert.match(
      rare.sql,
      /where "sessions"."session_id" in \(select "participants"."session_id" from "participants" where "participants"."xref_ci" > \?\)$/,
    );
    assert.deepEqual(rare.parameters, ['x5']);
    assert.match(compile(range).sql, /where exists \(.*"participants"."xref_ci" > \?\)$/);
    assert.match(
      compile({ ...range, field: 'ccid', operator: 'lessThan' }).sql,
      /where "sessions"."ccid" < \?$/,
    );
  });

  void it('lowers tag names and negates notEquals over the whole tag set', () => {
    const { sql, parameters } = compile({
      kind: 'condition',
      field: 'tagName',
      operator: 'notEquals',
      values: ['Hold'],
    });
    assert.match(sql, /not exists \(select 1 as "one" from "tags" .* "tags"."name_lower" = \?\)/);
    assert.deepEqual(parameters, ['hold']);
  });

  void it('tests a health problem as a member of the stored kinds, never as an IN list', () => {
    const gap: QueryCondition = {
      kind: 'condition',
      field: 'healthProblem',
      operator: 'equals',
      values: ['gap'],
    };
    const loss: QueryCondition = { ...gap, values: ['packet-loss'] };
    const either = compile({ kind: 'or', items: [gap, loss] });
    assert.match(
      either.sql,
      /\(\(',' \|\| "sessions"."health_kinds" \|\| ','\) like \? or \(',' \|\| "sessions"."health_kinds" \|\| ','\) like \?\)/,
    );
    assert.deepEqual(either.parameters, ['%,gap,%', '%,packet-loss,%']);
    const without = compile({ ...gap, operator: 'notEquals' });
    assert.match(without.sql, /\("sessions"."health_kinds" is not null and not \(',' .* like \?\)/);
    assert.match(compile({ ...gap, values: ['any'] }).sql, /"sessions"."health_kinds" <> ''/);
    assert.match(
      compile({ ...gap, operator: 'notEquals', values: ['any'] }).sql,
      /"sessions"."health_kinds" = ''/,
    );
  });

  void it('writes the time window as an expression no index answers when a sort index reads first', () => {
    const where: QueryExpression = {
      kind: 'condition',
      field: 'sessionStartDate',
      operator: 'between',
      values: [1, 2],
    };
    const hinted = db
      .selectFrom('sessions')
      .select('session_id')
      .where((eb) => sessionFilter(eb, where, { textMatch: SQLITE_TEXT_MATCH, unindexedWindow: true }))
      .compile();
    assert.equal(
      hinted.sql,
      'select "session_id" from "sessions" where +"sessions"."start_ms" between ? and ?',
    );
    assert.deepEqual(hinted.parameters, [1, 2]);
    assert.match(compile(where).sql, /where "sessions"."start_ms" between \? and \?$/);
  });

  void it("rules out the sessions without a participant at the agent's extensions before the interval join", () => {
    const agent: QueryCondition = { kind: 'condition', field: 'agent', operator: 'equals', values: ['ada'] };
    const filtered = (extensions: readonly string[]) =>
      db
        .selectFrom('sessions')
        .select('session_id')
        .where((eb) =>
          sessionFilter(eb, agent, {
            textMatch: SQLITE_TEXT_MATCH,
            agentExtensions: new Map([[agent, extensions]]),
          }),
        )
        .compile();
    const some = filtered(['1000', '1001']);
    assert.match(
      some.sql,
      /"sessions"."session_id" in \(select "participants"."session_id" from "participants" where "participants"."device_ref" in \(\?, \?\)\) and exists \(select 1 from participants p join agent_intervals a .* \("a"."login_id" = \? or "a"."login_name" = \?\)\)/,
    );
    assert.deepEqual(some.parameters.slice(0, 2), ['1000', '1001']);
    // Nobody signed in as that agent: nothing matches, without a look at any session.
    assert.match(filtered([]).sql, /where \(0 = 1 and exists/);
    // notEquals (no participant was this agent) is not narrowed.
    const without = db
      .selectFrom('sessions')
      .select('session_id')
      .where((eb) =>
        sessionFilter(
          eb,
          { ...agent, operator: 'notEquals' },
          {
            textMatch: SQLITE_TEXT_MATCH,
            agentExtensions: new Map([[agent, ['1000']]]),
          },
        ),
      )
      .compile();
    assert.match(without.sql, /^select "session_id" from "sessions" where not exists/);
  });

  void it('keeps ACTIVE sessions out of duration comparisons', () => {
    const { sql, parameters } = compile({
      kind: 'condition',
      field: 'sessionDuration',
      operator: 'between',
      values: ['1000', 2000],
    });
    assert.match(sql, /"sessions"."state" <> \? and "sessions"."duration_ms" between \? and \?/);
    assert.deepEqual(parameters, ['ACTIVE', 1000, 2000]);
  });

  void it('groups nested AND and OR with parentheses', () => {
    const { sql } = compile({
      kind: 'and',
      items: [
        { kind: 'condition', field: 'sessionState', operator: 'equals', values: ['ACTIVE'] },
        {
          kind: 'or',
          items: [
            { kind: 'condition', field: 'ccid', operator: 'equals', values: ['a'] },
            { kind: 'condition', field: 'ccid', operator: 'notEquals', values: ['b'] },
          ],
        },
      ],
    });
    assert.match(
      sql,
      /where \("sessions"."state" = \? and \("sessions"."ccid" = \? or "sessions"."ccid" <> \?\)\)$/,
    );
  });

  void it('writes the equalities an OR tests on one field as one IN list', () => {
    const equals = (field: 'ccid' | 'xRefCi', value: string): QueryExpression => ({
      kind: 'condition',
      field,
      operator: 'equals',
      values: [value],
    });
    const { sql, parameters } = compile({
      kind: 'and',
      items: [
        { kind: 'condition', field: 'sessionState', operator: 'equals', values: ['ACTIVE'] },
        {
          kind: 'or',
          items: [
            equals('ccid', 'a'),
            equals('xRefCi', 'x'),
            equals('ccid', 'b'),
            { kind: 'condition', field: 'ccid', operator: 'startsWith', values: ['c'] },
            equals('ccid', 'd'),
          ],
        },
      ],
    });
    assert.match(
      sql,
      /where \("sessions"."state" = \? and \("sessions"."ccid" in \(\?, \?, \?\) or exists \(select .* "participants"."xref_ci" = \?\) or "sessions"."ccid" glob \?\)\)$/,
    );
    assert.deepEqual(parameters, ['ACTIVE', 'a', 'b', 'd', 'x', 'c*']);
  });

  void it('writes a flat list for an OR of thousands of conditions', () => {
    const items = Array.from({ length: 20_000 }, (_, i): QueryExpression => ({
      kind: 'condition',
      field: 'ccid',
      operator: 'contains',
      values: [`c${i}`],
    }));
    const { parameters } = compile({ kind: 'or', items });
    assert.equal(parameters.length, 20_000);
  });

  void it('refuses nesting deeper than the limit', () => {
    let deep: QueryExpression = { kind: 'condition', field: 'ccid', operator: 'equals', values: ['a'] };
    for (let i = 0; i <= MAX_QUERY_DEPTH; i++) {
      deep = { kind: 'and', items: [deep] };
    }
    assert.throws(() => compile(deep), { code: 'VERBATIM_ERR_DB_QUERY_INVALID' });
  });

  void it('refuses operators and values that do not fit the field', () => {
    assert.throws(
      () => compile({ kind: 'condition', field: 'sessionStartDate', operator: 'startsWith', values: [1] }),
      {
        code: 'VERBATIM_ERR_DB_QUERY_INVALID',
      },
    );
    assert.throws(
      () => compile({ kind: 'condition', field: 'sessionStartDate', operator: 'equals', values: ['NaN'] }),
      {
        code: 'VERBATIM_ERR_DB_QUERY_INVALID',
      },
    );
    assert.throws(
      () => compile({ kind: 'condition', field: 'ccid', operator: 'between', values: ['a', 'b', 'c'] }),
      {
        code: 'VERBATIM_ERR_DB_QUERY_INVALID',
      },
    );
  });
});

void describe('SQLite GLOB escaping', () => {
  void it('makes each wildcard character a one-character set', () => {
    assert.equal(globLiteral('a*b?c[d]e'), 'a[*]b[?]c[[]d]e');
    assert.equal(globLiteral('plain 1000'), 'plain 1000');
  });
});
