/**
 * A rough look at Search and Play's page queries (issue 14) on a seeded SQLite database; not a
 * test and not asserted. Seed first with db-get-sessions.ts, then:
 *
 *   node --import tsx packages/server/test/bench/db-get-sessions.ts 1000000 /tmp/bench-1m.db
 *   node --import tsx packages/server/test/bench/search-page-queries.ts /tmp/bench-1m.db
 *
 * It stores health kinds as a node does on close (most sessions ok, 2 % with a problem) where the
 * seed left none, then times each query through the repository (7 runs: median and worst) and
 * prints the plan SQLite chose for the SQL the repository writes (EXPLAIN QUERY PLAN).
 */
import { performance } from 'node:perf_hooks';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { openRepository } from '../../src/db/index.js';
import type { QueryCondition, QueryExpression, SessionQuery } from '../../src/db/repository.js';
import type { Database } from '../../src/db/schema.js';
import {
  agentConditions,
  matchingAgentExtensions,
  sessionFilter,
  SORT_COLUMNS,
  sortIndexFirst,
} from '../../src/db/session-query.js';
import { SQLITE_TEXT_MATCH } from '../../src/db/sqlite-repository.js';

const path = process.argv[2];
if (path === undefined) {
  throw new Error('usage: search-page-queries.ts <database seeded by db-get-sessions.ts>');
}
const raw = new BetterSqlite3(path);
const unset = (
  raw.prepare("select count(*) n from sessions where health_kinds is null and state <> 'ACTIVE'").get() as {
    n: number;
  }
).n;
if (unset > 0) {
  // Health as a node stores it on close: most ok (''), 2 % one kind or another.
  raw.exec(`update sessions set health_kinds = case abs(random()) % 200
    when 0 then 'packet-loss' when 1 then 'gap' when 2 then 'packet-loss,gap' when 3 then 'no-packets,one-sided'
    else '' end where state <> 'ACTIVE'`);
  raw.exec('analyze');
  console.log(`set health_kinds on ${unset} sessions`);
}
const END_MS = 1_760_000_000_000;
const intervals = (raw.prepare('select count(*) n from agent_intervals').get() as { n: number }).n;
if (intervals === 0) {
  // The seed's 2,000 agent extensions (1000-2999), each with its agent signed in for the whole of
  // every day of the 30 (one interval a day): agent-<extension>, login id a<extension>.
  const insert = raw.prepare(
    `insert into agent_intervals (login_id, login_name, extension, start_ms, last_keepalive_ms, end_ms)
     values (?, ?, ?, ?, ?, ?)`,
  );
  raw.transaction(() => {
    for (let day = 0; day < 30; day++) {
      const dayStart = END_MS - (30 - day) * 86_400_000;
      for (let extension = 1000; extension < 3000; extension++) {
        const start = dayStart;
        const end = dayStart + 86_400_000 - 1;
        insert.run(`a${extension}`, `agent-${extension}`, String(extension), start, end, end);
      }
    }
  })();
  raw.exec('analyze');
  console.log('seeded 60,000 agent intervals');
}
const DAY = 86_400_000;
const week = {
  kind: 'condition',
  field: 'sessionStartDate',
  operator: 'between',
  values: [END_MS - 7 * DAY, END_MS],
} as const;
const hour = {
  kind: 'condition',
  field: 'sessionStartDate',
  operator: 'between',
  values: [END_MS - 3_600_000, END_MS],
} as const;
const dayWindow = {
  kind: 'condition',
  field: 'sessionStartDate',
  operator: 'between',
  values: [END_MS - DAY, END_MS],
} as const;
// An extension of the newest session (the seed's pseudo-random numbers leave some extensions
// without a session in the last week).
const { device } = raw
  .prepare(
    'select device_ref as device from participants where track_number = 0 and session_id = (select session_id from sessions order by start_ms desc limit 1)',
  )
  .get() as { device: string };
const and = (...items: QueryExpression[]): QueryExpression => ({ kind: 'and', items });
const cond = (field: string, operator: string, value: string | number): QueryExpression =>
  ({ kind: 'condition', field, operator, values: [value] }) as QueryExpression;
type Sort = SessionQuery['sort'];
const byStart: Sort = [{ field: 'sessionStartDate', order: 'DESC' }];
const cases: [string, SessionQuery][] = [
  ['7 days, newest first, page 1 (26 rows)', { where: week, sort: byStart, offset: 0, limit: 26 }],
  ['7 days, newest first, page 40 of 25', { where: week, sort: byStart, offset: 975, limit: 26 }],
  [
    '7 days, longest first',
    { where: week, sort: [{ field: 'sessionDuration', order: 'DESC' }], offset: 0, limit: 26 },
  ],
  [
    '7 days, shortest first',
    { where: week, sort: [{ field: 'sessionDuration', order: 'ASC' }], offset: 0, limit: 26 },
  ],
  ['7 days, by ccid', { where: week, sort: [{ field: 'ccid', order: 'ASC' }], offset: 0, limit: 26 }],
  [
    '7 days, by state',
    { where: week, sort: [{ field: 'sessionState', order: 'ASC' }], offset: 0, limit: 26 },
  ],
  [
    '7 days, longest first, page 40 of 25',
    { where: week, sort: [{ field: 'sessionDuration', order: 'DESC' }], offset: 975, limit: 26 },
  ],
  [
    '7 days, gap, longest first',
    {
      where: and(week, cond('healthProblem', 'equals', 'gap')),
      sort: [{ field: 'sessionDuration', order: 'DESC' }],
      offset: 0,
      limit: 26,
    },
  ],
  [
    '7 days, CLOSED_ERROR (none), longest first',
    {
      where: and(week, cond('sessionState', 'equals', 'CLOSED_ERROR')),
      sort: [{ field: 'sessionDuration', order: 'DESC' }],
      offset: 0,
      limit: 26,
    },
  ],
  [
    '7 days, gap, by ccid',
    {
      where: and(week, cond('healthProblem', 'equals', 'gap')),
      sort: [{ field: 'ccid', order: 'ASC' }],
      offset: 0,
      limit: 26,
    },
  ],
  [
    'last hour, longest first',
    { where: hour, sort: [{ field: 'sessionDuration', order: 'DESC' }], offset: 0, limit: 26 },
  ],
  [
    '7 days, healthProblem gap',
    { where: and(week, cond('healthProblem', 'equals', 'gap')), sort: byStart, offset: 0, limit: 26 },
  ],
  [
    '7 days, healthProblem any',
    { where: and(week, cond('healthProblem', 'equals', 'any')), sort: byStart, offset: 0, limit: 26 },
  ],
  [
    '7 days, no problem',
    { where: and(week, cond('healthProblem', 'notEquals', 'any')), sort: byStart, offset: 0, limit: 26 },
  ],
  [
    '7 days, deviceRef agent ext',
    { where: and(week, cond('deviceRef', 'equals', device)), sort: byStart, offset: 0, limit: 26 },
  ],
  [
    '7 days, deviceRef + duration >= 300 s',
    {
      where: and(week, cond('deviceRef', 'equals', device), cond('sessionDuration', 'greaterThan', 299_999)),
      sort: [{ field: 'sessionDuration', order: 'DESC' }],
      offset: 0,
      limit: 26,
    },
  ],
  [
    '7 days, tag escalation',
    { where: and(week, cond('tagName', 'equals', 'escalation')), sort: byStart, offset: 0, limit: 26 },
  ],
  [
    'last day, agent by name',
    {
      where: and(dayWindow, cond('agent', 'equals', `agent-${device}`)),
      sort: byStart,
      offset: 0,
      limit: 26,
    },
  ],
  [
    '7 days, agent by name',
    { where: and(week, cond('agent', 'equals', `agent-${device}`)), sort: byStart, offset: 0, limit: 26 },
  ],
  [
    '7 days, agent by login id, longest first',
    {
      where: and(week, cond('agent', 'equals', `a${device}`)),
      sort: [{ field: 'sessionDuration', order: 'DESC' }],
      offset: 0,
      limit: 26,
    },
  ],
  [
    '7 days, nobody signed in as that agent',
    { where: and(week, cond('agent', 'equals', 'ada')), sort: byStart, offset: 0, limit: 26 },
  ],
  [
    '7 days, agent name contains "-15" (100 agents)',
    { where: and(week, cond('agent', 'contains', '-15')), sort: byStart, offset: 0, limit: 26 },
  ],
];

// The plan: the SQL querySessions writes (kysely-repository.ts), explained by SQLite.
const compiler = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
async function planOf(query: SessionQuery): Promise<string> {
  const unindexedWindow = await sortIndexFirst(compiler, query);
  const agentExtensions = new Map<QueryCondition, readonly string[]>();
  for (const condition of agentConditions(query.where)) {
    const extensions = await matchingAgentExtensions(compiler, condition, SQLITE_TEXT_MATCH);
    if (extensions !== undefined) {
      agentExtensions.set(condition, extensions);
    }
  }
  let select = compiler
    .selectFrom('sessions')
    .selectAll()
    .where((eb) =>
      sessionFilter(eb, query.where, { textMatch: SQLITE_TEXT_MATCH, unindexedWindow, agentExtensions }),
    );
  for (const { field, order } of query.sort) {
    const column = SORT_COLUMNS[field];
    select =
      column === 'duration_ms'
        ? select.orderBy(column, (ob) => (order === 'ASC' ? ob.asc() : ob.desc()).nullsLast())
        : select.orderBy(column, order === 'ASC' ? 'asc' : 'desc');
  }
  const compiled = select
    .orderBy('session_id', query.sort[0]?.order === 'ASC' ? 'asc' : 'desc')
    .limit(query.limit)
    .offset(query.offset)
    .compile();
  const rows = raw
    .prepare(`explain query plan ${compiled.sql}`)
    .all(...(compiled.parameters as unknown[])) as { detail: string }[];
  return rows.map((r) => r.detail).join(' | ');
}

const repo = await openRepository({ kind: 'sqlite', path });
// Migration 0020 (sessions_duration_idx) on a database seeded before it.
await repo.migrate();
const total = (raw.prepare('select count(*) n from sessions').get() as { n: number }).n;
const inWeek = (
  raw
    .prepare('select count(*) n from sessions where start_ms between ? and ?')
    .get(END_MS - 7 * DAY, END_MS) as { n: number }
).n;
console.log(`${total} sessions, ${inWeek} in the 7-day window`);
for (const [name, query] of cases) {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    rows = (await repo.querySessions(query)).length;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name}: ${rows} rows, median ${times[3]!.toFixed(1)} ms, worst ${times[6]!.toFixed(1)} ms\n    plan: ${await planOf(query)}`,
  );
}
await repo.close();
