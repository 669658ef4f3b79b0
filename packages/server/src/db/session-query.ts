import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';

import type { QueryCondition, QueryExpression, QueryField, SessionQuery } from './repository.js';
import { agentFieldExists } from './agent-intervals.js';
import { DbError } from './errors.js';
import type { Database } from './schema.js';

/**
 * Translation of the getSessions query AST (repository.ts) into Kysely expressions. Everything
 * here is dialect-neutral except the two text matches, which SQL spells differently per engine
 * and which MediaSense wants case-sensitive (SQLite's LIKE is not): the repository passes them in.
 */
export interface TextMatchDialect {
  /** True when `column` contains `needle`, compared case-sensitively; NULL never matches. */
  contains(column: Expression<string | null>, needle: string): Expression<SqlBool>;
  /** True when `column` starts with `prefix`, compared case-sensitively; NULL never matches. */
  startsWith(column: Expression<string | null>, prefix: string): Expression<SqlBool>;
}

/** How the filter is written; see {@link indexedEqualities} for `fewMatches`. */
export interface FilterOptions {
  readonly textMatch: TextMatchDialect;
  /**
   * Equalities on indexed child columns known to match few rows: these are written as
   * `session_id IN (…)`, every other child-table test as a correlated EXISTS.
   */
  readonly fewMatches?: ReadonlySet<QueryCondition>;
  /** The time open agent intervals are judged at (loginId, loginName); default Date.now(). */
  readonly now?: number;
  /**
   * Test the start-date window on each row (`+start_ms`, which no index answers) rather than
   * through its index, so that SQLite reads the sessions in the sort's index order and stops once
   * the page is full (see {@link sortIndexFirst}).
   */
  readonly unindexedWindow?: boolean;
  /**
   * For agent conditions (loginId, loginName, agent; not notEquals): the extensions of the
   * intervals whose login passes the test, when they are few ({@link matchingAgentExtensions}).
   */
  readonly agentExtensions?: ReadonlyMap<QueryCondition, readonly string[]>;
}

/**
 * At most this many matching child rows make an equality "few". Driving the query from the
 * matches costs a lookup and a sort per match; scanning the time window with EXISTS costs about
 * limit × sessions / matches probes, so a rare value wants IN and a common one EXISTS. Measured
 * with test/bench/db-get-sessions.ts.
 */
export const FEW_MATCHES_MAX = 2000;

/**
 * The same bound for a lexicographic range (greaterThan / lessThan on text). Its matches are not
 * spread like one value's: a range over extensions can take every session of some agents, whom
 * the time window then reaches only after a long scan (bench: deviceRef > "2990", 7,500 sessions
 * of 1,000,000, EXISTS scanned 187,000 sessions in 2.6 s, IN over the matches took 0.13 s).
 * Collecting 10,000 ids costs less than such a scan.
 */
export const FEW_RANGE_MATCHES_MAX = 10_000;

/** The match count up to which an indexed condition is written as IN over its matches. */
export function fewMatchesCap(condition: QueryCondition): number {
  return condition.operator === 'greaterThan' || condition.operator === 'lessThan'
    ? FEW_RANGE_MATCHES_MAX
    : FEW_MATCHES_MAX;
}

/** Deeper nesting than this is refused rather than recursed into (the AST comes from the wire). */
export const MAX_QUERY_DEPTH = 32;

type ChildTable = 'participants' | 'tags' | 'tracks';

type FieldSpec =
  | { readonly table: 'sessions'; readonly column: string; readonly kind: 'number' | 'text' }
  /** An agent field: tested on the intervals joined to the participants (agent-intervals.ts). */
  | {
      readonly table: 'agent_intervals';
      /** Several columns: a match on any of them (agent: the login id or the login name). */
      readonly column: readonly ('login_id' | 'login_name')[];
      readonly kind: 'text';
    }
  | {
      readonly table: ChildTable;
      readonly column: string;
      readonly kind: 'text';
      readonly lowercase?: true;
      /** An index starts with this column (migrations/0001-initial.ts). */
      readonly indexed?: true;
    };

const FIELDS: Readonly<Record<QueryField, FieldSpec>> = {
  sessionStartDate: { table: 'sessions', column: 'start_ms', kind: 'number' },
  sessionDuration: { table: 'sessions', column: 'duration_ms', kind: 'number' },
  sessionState: { table: 'sessions', column: 'state', kind: 'text' },
  ccid: { table: 'sessions', column: 'ccid', kind: 'text' },
  callControllerIP: { table: 'sessions', column: 'controller_ip', kind: 'text' },
  callControllerType: { table: 'sessions', column: 'controller_type', kind: 'text' },
  deviceRef: { table: 'participants', column: 'device_ref', kind: 'text', indexed: true },
  deviceId: { table: 'participants', column: 'device_id', kind: 'text' },
  xRefCi: { table: 'participants', column: 'xref_ci', kind: 'text', indexed: true },
  // MediaSense matches tag names without regard to case; name_lower holds the lowered name.
  tagName: { table: 'tags', column: 'name_lower', kind: 'text', lowercase: true, indexed: true },
  codec: { table: 'tracks', column: 'codec', kind: 'text' },
  trackMediaType: { table: 'tracks', column: 'media_type', kind: 'text', indexed: true },
  loginId: { table: 'agent_intervals', column: ['login_id'], kind: 'text' },
  loginName: { table: 'agent_intervals', column: ['login_name'], kind: 'text' },
  agent: { table: 'agent_intervals', column: ['login_id', 'login_name'], kind: 'text' },
  // Tested by healthProblemFilter, not compared as a whole column.
  healthProblem: { table: 'sessions', column: 'health_kinds', kind: 'text' },
};

type SessionsBuilder = ExpressionBuilder<Database, 'sessions'>;

/**
 * The WHERE expression of a getSessions query over the `sessions` table. AND and OR groups are
 * written as one flat list each (Kysely's own `and`/`or` nest a binary node per item, and its
 * compiler recursed out of stack on 10,000 items), and the equalities an OR group tests on one
 * field become one `IN` list, so many alternatives cost SQLite one expression node, not one level
 * of its expression tree each (its limit is 1,000 levels).
 */
export function sessionFilter(
  eb: SessionsBuilder,
  expression: QueryExpression,
  options: FilterOptions,
  depth = 0,
): Expression<SqlBool> {
  checkDepth(depth);
  switch (expression.kind) {
    case 'and':
      return joinFlat(
        'and',
        expression.items.map((item) => sessionFilter(eb, item, options, depth + 1)),
      );
    case 'or': {
      const { equalities, others } = equalitiesByField(expression.items);
      return joinFlat('or', [
        ...[...equalities.values()].map((conditions) => equalityListFilter(eb, conditions, options)),
        ...others.map((item) => sessionFilter(eb, item, options, depth + 1)),
      ]);
    }
    case 'condition':
      return conditionFilter(eb, expression, options);
  }
}

/** `(a and b and …)` as one flat SQL fragment; a single item stands alone. */
function joinFlat(kind: 'and' | 'or', parts: readonly Expression<SqlBool>[]): Expression<SqlBool> {
  const [only] = parts;
  if (parts.length === 1 && only !== undefined) {
    return only;
  }
  if (parts.length === 0) {
    // The neutral element, as SQL has no empty AND or OR.
    return sql<SqlBool>`${sql.lit(kind === 'and' ? 1 : 0)} = 1`;
  }
  return sql<SqlBool>`(${sql.join(parts, kind === 'and' ? sql` and ` : sql` or `)})`;
}

/** The items of an OR group: its equals conditions by field (2 or more on a field), and the rest. */
function equalitiesByField(items: readonly QueryExpression[]): {
  equalities: Map<QueryField, QueryCondition[]>;
  others: QueryExpression[];
} {
  const byField = new Map<QueryField, QueryCondition[]>();
  for (const item of items) {
    // healthProblem values are members of a list column, not its whole value: no IN list.
    if (item.kind === 'condition' && item.operator === 'equals' && item.field !== 'healthProblem') {
      const list = byField.get(item.field) ?? [];
      list.push(item);
      byField.set(item.field, list);
    }
  }
  const equalities = new Map([...byField].filter(([, list]) => list.length > 1));
  const others = items.filter(
    (item) => !(item.kind === 'condition' && item.operator === 'equals' && equalities.has(item.field)),
  );
  return { equalities, others };
}

/** `field = v1 OR field = v2 OR …` (two or more equals conditions on one field) as `field IN (…)`. */
function equalityListFilter(
  eb: SessionsBuilder,
  conditions: readonly QueryCondition[],
  options: FilterOptions,
): Expression<SqlBool> {
  const [first] = conditions;
  if (first === undefined) {
    return joinFlat('or', []);
  }
  const spec = FIELDS[first.field];
  const values = conditions.flatMap((condition) => operands(condition, spec));
  const few = conditions.every((condition) => options.fewMatches?.has(condition) === true);
  return fieldTest(eb, first.field, (inner, column) => inner(column, 'in', values), few, false, options.now);
}

/** Operators an index on the column answers as one range of entries. */
const INDEXED_OPERATORS: ReadonlySet<QueryCondition['operator']> = new Set([
  'equals',
  'notEquals',
  'greaterThan',
  'lessThan',
]);

/**
 * The conditions on indexed child columns that one index range answers (equalities, and the
 * lexicographic greaterThan/lessThan on text), whose match count picks their form.
 */
export function indexedEqualities(expression: QueryExpression, depth = 0): QueryCondition[] {
  checkDepth(depth);
  if (expression.kind !== 'condition') {
    return expression.items.flatMap((item) => indexedEqualities(item, depth + 1));
  }
  const spec = FIELDS[expression.field];
  return INDEXED_OPERATORS.has(expression.operator) &&
    spec.table !== 'sessions' &&
    spec.table !== 'agent_intervals' &&
    spec.indexed === true
    ? [expression]
    : [];
}

/**
 * At most this many extensions make an agent condition's extensions "few": one agent's (a login
 * id or name) are one or a few. A pattern matching many agents (contains "-15": 100 extensions)
 * gathers more candidates than the window scan tests (264 ms against 154 ms on the bench).
 */
export const FEW_AGENT_EXTENSIONS_MAX = 20;

/** The agent conditions (loginId, loginName, agent) of a query, but notEquals. */
export function agentConditions(expression: QueryExpression, depth = 0): QueryCondition[] {
  checkDepth(depth);
  if (expression.kind !== 'condition') {
    return expression.items.flatMap((item) => agentConditions(item, depth + 1));
  }
  return FIELDS[expression.field].table === 'agent_intervals' && expression.operator !== 'notEquals'
    ? [expression]
    : [];
}

/**
 * The distinct extensions of the agent intervals whose login passes an agent condition, or
 * undefined when there are more than FEW_AGENT_EXTENSIONS_MAX. Agents sign in far less often
 * than calls are made, so this reads a small table; with it, a search by agent over a week of a
 * million sessions tests the sessions with a participant at those extensions instead of joining
 * every session of the window to the intervals (test/bench/search-page-queries.ts: an agent nobody
 * signed in as 2.4 s → 12 ms, an agent's calls longest first 490 ms → 26 ms).
 */
export async function matchingAgentExtensions(
  db: Kysely<Database>,
  condition: QueryCondition,
  textMatch: TextMatchDialect,
): Promise<string[] | undefined> {
  const spec = FIELDS[condition.field];
  if (spec.table !== 'agent_intervals') {
    return undefined;
  }
  const values = operands(condition, spec);
  const rows = await db
    .selectFrom('agent_intervals')
    .select('agent_intervals.extension')
    .distinct()
    .where((eb) =>
      joinFlat(
        'or',
        spec.column.map((column) =>
          compare(eb, sql.ref<string>(`agent_intervals.${column}`), condition.operator, values, textMatch),
        ),
      ),
    )
    .limit(FEW_AGENT_EXTENSIONS_MAX + 1)
    .execute();
  return rows.length > FEW_AGENT_EXTENSIONS_MAX ? undefined : rows.map((row) => row.extension);
}

/** Counts the child rows an indexed condition matches, reading at most `cap` + 1 index entries. */
export async function countMatchingRows(
  db: Kysely<Database>,
  condition: QueryCondition,
  cap: number,
): Promise<number> {
  const spec = FIELDS[condition.field];
  const [value] = operands(condition, spec);
  if (spec.table === 'sessions' || spec.table === 'agent_intervals' || value === undefined) {
    return 0;
  }
  const column = sql.ref<string | null>(`${spec.table}.${spec.column}`);
  const row = await db
    .selectFrom((eb) =>
      eb
        .selectFrom(spec.table)
        .select(sql.lit(1).as('one'))
        .where((inner) => inner(column, rangeOperator(condition.operator), String(value)))
        .limit(cap + 1)
        .as('matches'),
    )
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The SQL comparison whose index range an indexed condition reads (notEquals: its equality). */
function rangeOperator(operator: QueryCondition['operator']): '=' | '>' | '<' {
  return operator === 'greaterThan' ? '>' : operator === 'lessThan' ? '<' : '=';
}

function checkDepth(depth: number): void {
  if (depth > MAX_QUERY_DEPTH) {
    throw new DbError('VERBATIM_ERR_DB_QUERY_INVALID', `query nesting deeper than ${MAX_QUERY_DEPTH}`);
  }
}

function conditionFilter(
  eb: SessionsBuilder,
  condition: QueryCondition,
  options: FilterOptions,
): Expression<SqlBool> {
  if (condition.field === 'healthProblem') {
    return healthProblemFilter(condition);
  }
  const { textMatch } = options;
  const spec = FIELDS[condition.field];
  const values = operands(condition, spec);
  if (condition.field === 'sessionStartDate' && options.unindexedWindow === true) {
    // Unary plus: the same value, but an expression no index of start_ms answers.
    return compare(eb, sql<number>`+${sql.ref('sessions.start_ms')}`, condition.operator, values, textMatch);
  }
  // A child-table field matches a session when one of its rows matches. notEquals is the
  // negation of equals over the whole set ("no participant is 1000"), which is what a search
  // for calls without a device or a tag means; "some row differs" would match almost everything.
  const negate = spec.table !== 'sessions' && condition.operator === 'notEquals';
  const operator = negate ? 'equals' : condition.operator;
  const extensions = negate ? undefined : options.agentExtensions?.get(condition);
  if (extensions !== undefined) {
    // The agent was at one of these extensions: a session without a participant at any of them
    // is ruled out through participants_device_ref_idx before the interval join runs for it.
    const candidates =
      extensions.length === 0
        ? joinFlat('or', [])
        : eb(
            'sessions.session_id',
            'in',
            eb
              .selectFrom('participants')
              .select('participants.session_id')
              .where('participants.device_ref', 'in', [...extensions]),
          );
    const agent = fieldTest(
      eb,
      condition.field,
      (inner, column) => compare(inner, column, operator, values, textMatch),
      false,
      false,
      options.now,
    );
    return eb.and([candidates, agent]);
  }
  return fieldTest(
    eb,
    condition.field,
    (inner, column) => compare(inner, column, operator, values, textMatch),
    options.fewMatches?.has(condition) === true,
    negate,
    options.now,
  );
}

/**
 * healthProblem: sessions.health_kinds is the comma-separated problem kinds stored when the
 * session closed ('' when it was ok, NULL while ACTIVE or for sessions closed before migration
 * 0016), so a kind is tested as a member of the list (`,kinds,` contains `,kind,`; the kinds hold
 * no LIKE wildcard, and api/session-query.ts admits only known kinds). `any` is any problem. NULL
 * never matches, notEquals included: an unknown health is neither with nor without a problem.
 * Evaluated per session of the time window, as the window's index drives the query.
 */
function healthProblemFilter(condition: QueryCondition): Expression<SqlBool> {
  const [value] = condition.values;
  const kind = String(value ?? '');
  const column = sql.ref<string | null>('sessions.health_kinds');
  if (kind === 'any') {
    return condition.operator === 'equals' ? sql<SqlBool>`${column} <> ''` : sql<SqlBool>`${column} = ''`;
  }
  const member = sql<SqlBool>`(',' || ${column} || ',') like ${`%,${kind},%`}`;
  return condition.operator === 'equals' ? member : sql<SqlBool>`(${column} is not null and not ${member})`;
}

type ColumnTest = <TB extends keyof Database>(
  eb: ExpressionBuilder<Database, TB>,
  column: Expression<string | number | null>,
) => Expression<SqlBool>;

/**
 * A test of a field's column, written for the table the field lives in; `negate` (child tables
 * only) asks that no row of the session passes it.
 */
function fieldTest(
  eb: SessionsBuilder,
  field: QueryField,
  test: ColumnTest,
  fewMatches: boolean,
  negate = false,
  now = Date.now(),
): Expression<SqlBool> {
  const spec = FIELDS[field];
  if (spec.table === 'agent_intervals') {
    // notEquals: no participant of the session was this agent (as for the other child fields).
    const exists = agentFieldExists(spec.column, now, (column) => test(eb, column));
    return negate ? eb.not(exists) : exists;
  }
  if (spec.table === 'sessions') {
    const matches = test(eb, sql.ref<string | number | null>(`sessions.${spec.column}`));
    if (field === 'sessionDuration') {
      // An ACTIVE session has no duration yet, so no numeric comparison may match it, whatever
      // the stored value.
      return eb.and([eb('sessions.state', '<>', 'ACTIVE'), matches]);
    }
    return matches;
  }
  const column = sql.ref<string | null>(`${spec.table}.${spec.column}`);
  if (fewMatches) {
    // A rare value (an xRefCi, most extensions) is written as IN over an uncorrelated subquery:
    // SQLite then starts from the few matching index entries instead of testing every session
    // of the time window (an xRefCi over a month of 100,000 sessions: 0.3 ms instead of 30 ms).
    const matching = eb
      .selectFrom(spec.table)
      .select(`${spec.table}.session_id`)
      .where((inner) => test(inner, column));
    return eb('sessions.session_id', negate ? 'not in' : 'in', matching);
  }
  // Other tests (common values, substrings, ranges, unindexed columns) match too many rows to
  // collect; each session of the window is tested instead, through an index that has
  // session_id in its key, and the scan stops once a page is full.
  const exists = eb.exists(
    eb
      .selectFrom(spec.table)
      .select(sql.lit(1).as('one'))
      .whereRef(`${spec.table}.session_id`, '=', 'sessions.session_id')
      .where((inner) => test(inner, column)),
  );
  return negate ? eb.not(exists) : exists;
}

function compare<TB extends keyof Database>(
  eb: ExpressionBuilder<Database, TB>,
  column: Expression<string | number | null>,
  operator: QueryCondition['operator'],
  values: readonly (string | number)[],
  textMatch: TextMatchDialect,
): Expression<SqlBool> {
  const [first, second] = values as readonly [string | number, string | number];
  switch (operator) {
    case 'equals':
      return eb(column, '=', first);
    case 'notEquals':
      return eb(column, '<>', first);
    case 'between':
      // Inclusive at both ends, as SQL BETWEEN is.
      return eb.between(column, first, second);
    case 'greaterThan':
      return eb(column, '>', first);
    case 'lessThan':
      return eb(column, '<', first);
    case 'contains':
      return textMatch.contains(column as Expression<string | null>, String(first));
    case 'startsWith':
      return textMatch.startsWith(column as Expression<string | null>, String(first));
  }
}

/** The condition's values, checked against its operator and converted to the field's type. */
function operands(condition: QueryCondition, spec: FieldSpec): (string | number)[] {
  const expected = condition.operator === 'between' ? 2 : 1;
  if (condition.values.length !== expected) {
    throw new DbError(
      'VERBATIM_ERR_DB_QUERY_INVALID',
      `${condition.field} ${condition.operator} takes ${expected} value(s), got ${condition.values.length}`,
    );
  }
  if (spec.kind === 'number') {
    if (condition.operator === 'contains' || condition.operator === 'startsWith') {
      throw new DbError(
        'VERBATIM_ERR_DB_QUERY_INVALID',
        `${condition.field} is numeric and has no ${condition.operator}`,
      );
    }
    return condition.values.map((value) => {
      const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(n)) {
        throw new DbError('VERBATIM_ERR_DB_QUERY_INVALID', `${condition.field} needs a number`);
      }
      return n;
    });
  }
  const lowercase = spec.table !== 'sessions' && spec.table !== 'agent_intervals' && spec.lowercase === true;
  return condition.values.map((value) => (lowercase ? String(value).toLowerCase() : String(value)));
}

/** A time window holding more sessions than this is "wide" for {@link sortIndexFirst}. */
export const WIDE_WINDOW_ROWS = 20_000;
/** Pages ending further than this into the results sort the window instead. */
export const SORT_INDEX_MAX_ROWS = 2_000;

/**
 * Whether a query sorted by duration or ccid should read the sort's index (sessions_duration_idx,
 * migration 0020, or sessions_ccid_idx) and test the time window on each row, rather than read
 * the whole window through its index and sort it. SQLite's planner picks the latter even for a
 * week of a million sessions, where it reads and sorts 240,000 rows for a page of 25 (0.9 s); in
 * index order the first page is found after some (offset + limit) × total / window entries
 * (under a millisecond). That pays only when the window is wide, the page near the start, and
 * only the sessions' own columns filter (state, duration, controller, health): a session outside
 * the window is then skipped on the index's start_ms alone (sessions_ccid_idx has no start_ms: a
 * row read each), and one inside that fails a filter costs the row read a window scan makes too. A child-table condition (a device, a tag, an
 * agent) that matches few sessions would instead make the index scan run through the table.
 */
export async function sortIndexFirst(db: Kysely<Database>, query: SessionQuery): Promise<boolean> {
  const [first] = query.sort;
  const window = onlyWindowAndSessionColumns(query.where);
  if (
    (first?.field !== 'sessionDuration' && first?.field !== 'ccid') ||
    window === undefined ||
    query.offset + query.limit > SORT_INDEX_MAX_ROWS
  ) {
    return false;
  }
  const [from, to] = window.values.map(Number);
  if (from === undefined || to === undefined || !Number.isFinite(from) || !Number.isFinite(to)) {
    return false;
  }
  // Counted through sessions_start_idx, reading at most WIDE_WINDOW_ROWS + 1 entries.
  const row = await db
    .selectFrom((eb) =>
      eb
        .selectFrom('sessions')
        .select(sql.lit(1).as('one'))
        .where('start_ms', '>=', from)
        .where('start_ms', '<=', to)
        .limit(WIDE_WINDOW_ROWS + 1)
        .as('window'),
    )
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n) > WIDE_WINDOW_ROWS;
}

/**
 * The window of a query that is one sessionStartDate between, alone or ANDed with conditions on
 * the sessions table's own columns: tests on the row SQLite reads anyway, where a session that
 * fails them costs one row read, as it does in a scan of the window. Child-table and agent
 * conditions (subqueries) and ORs are left to the window's index.
 */
function onlyWindowAndSessionColumns(where: QueryExpression): QueryCondition | undefined {
  const items = where.kind === 'and' ? where.items : [where];
  const windows: QueryCondition[] = [];
  for (const item of items) {
    if (item.kind !== 'condition' || FIELDS[item.field].table !== 'sessions') {
      return undefined;
    }
    if (item.field === 'sessionStartDate') {
      windows.push(item);
    }
  }
  const [window] = windows;
  return windows.length === 1 && window?.operator === 'between' ? window : undefined;
}

/** Column of each sortable field. */
export const SORT_COLUMNS: Readonly<
  Record<SessionQuery['sort'][number]['field'], 'start_ms' | 'duration_ms' | 'ccid' | 'state'>
> = {
  sessionStartDate: 'start_ms',
  sessionDuration: 'duration_ms',
  ccid: 'ccid',
  sessionState: 'state',
};
