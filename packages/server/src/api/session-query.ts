import type {
  QueryCondition,
  QueryExpression,
  QueryField,
  QueryOperator,
  SessionQuery,
} from '../db/repository.js';
import { SESSION_STATES } from '../model/session.js';
import { HEALTH_PROBLEM_KINDS } from '../model/session-health.js';
import type { ParseError, Result } from '../protocol/result.js';
import { RESPONSE_CODES, type FailureCode } from './envelope.js';
import {
  MAX_CONDITIONS_PER_CLAUSE,
  MAX_QUERY_CLAUSES,
  MAX_QUERY_VALUE_LENGTH,
  MAX_TAG_NAME_LENGTH,
} from './request-limits.js';
import {
  describeValue,
  getParam,
  isJsonObject,
  toFiniteNumber,
  toNonNegativeInteger,
  type JsonObject,
} from './params.js';

/**
 * Translation of a MediaSense getSessions body (reference §4.2, addendum §2) into the
 * repository's query AST. The body is client input: every problem becomes a typed error with the
 * MediaSense response code to answer and a message naming the offending parameter, never a throw.
 */

export interface QueryError extends ParseError {
  readonly responseCode: FailureCode;
}

/** MediaSense caps a page at 1000 sessions and rejects limit 0 (reference §4.2, KB853). */
export const MAX_PAGE_LIMIT = 1000;
/** The page size when the body has no pageParameters (the 11.5 web UI sends none). */
export const DEFAULT_PAGE_LIMIT = 1000;

type ValueKind = 'date' | 'number' | 'string' | 'state' | 'mediaType' | 'healthProblem';

interface FieldSpec {
  readonly kind: ValueKind;
  readonly operators: readonly QueryOperator[];
}

/**
 * greaterThan and lessThan compare text lexicographically (by code point, SQLite's BINARY
 * collation): clients send them on ccid, xRefCi and deviceRef (addendum §2.3, issue 10).
 */
const TEXT_OPERATORS: readonly QueryOperator[] = [
  'equals',
  'notEquals',
  'contains',
  'startsWith',
  'greaterThan',
  'lessThan',
];

/**
 * The agent fields take the text matches a search by agent needs; no lexicographic ranges (an
 * interval join per row is not worth ordering login ids).
 */
const AGENT_OPERATORS: readonly QueryOperator[] = ['equals', 'notEquals', 'contains', 'startsWith'];

/** Which operators each searchable field accepts (docs/api.md "Fields and operators"). */
const FIELD_SPECS: Readonly<Record<QueryField, FieldSpec>> = {
  // Since 8.5(3) the only operator allowed on sessionStartDate is between (KB853).
  sessionStartDate: { kind: 'date', operators: ['between'] },
  sessionDuration: {
    kind: 'number',
    operators: ['equals', 'notEquals', 'greaterThan', 'lessThan', 'between'],
  },
  sessionState: { kind: 'state', operators: ['equals', 'notEquals'] },
  trackMediaType: { kind: 'mediaType', operators: ['equals', 'notEquals'] },
  ccid: { kind: 'string', operators: TEXT_OPERATORS },
  callControllerIP: { kind: 'string', operators: TEXT_OPERATORS },
  callControllerType: { kind: 'string', operators: TEXT_OPERATORS },
  deviceRef: { kind: 'string', operators: TEXT_OPERATORS },
  deviceId: { kind: 'string', operators: TEXT_OPERATORS },
  xRefCi: { kind: 'string', operators: TEXT_OPERATORS },
  tagName: { kind: 'string', operators: TEXT_OPERATORS },
  codec: { kind: 'string', operators: TEXT_OPERATORS },
  // The agent of a participant (AgentInfo gadget, issue 11); compared case-sensitively, as deviceRef.
  loginId: { kind: 'string', operators: AGENT_OPERATORS },
  loginName: { kind: 'string', operators: AGENT_OPERATORS },
  // Verbatim extension (Search and Play's agent field): the login id or the login name.
  agent: { kind: 'string', operators: AGENT_OPERATORS },
  // Verbatim extension (Search and Play's health filter): a problem kind of a closed session.
  healthProblem: { kind: 'healthProblem', operators: ['equals', 'notEquals'] },
};

/** The values healthProblem takes: a problem kind, or `any` for a session with any problem. */
export const HEALTH_PROBLEM_VALUES: readonly string[] = [...HEALTH_PROBLEM_KINDS, 'any'];

const FIELDS_BY_LOWER_NAME: ReadonlyMap<string, QueryField> = new Map([
  ...(Object.keys(FIELD_SPECS) as QueryField[]).map((f): [string, QueryField] => [f.toLowerCase(), f]),
  // The 8.5(1)-era name of trackMediaType (addendum §2.2, C-HEROKU).
  ['mediatype', 'trackMediaType'],
]);

const OPERATORS: readonly QueryOperator[] = [
  'equals',
  'notEquals',
  'between',
  'greaterThan',
  'lessThan',
  'contains',
  'startsWith',
];
const OPERATORS_BY_LOWER_NAME: ReadonlyMap<string, QueryOperator> = new Map(
  OPERATORS.map((o): [string, QueryOperator] => [o.toLowerCase(), o]),
);

type SortField = SessionQuery['sort'][number]['field'];
const SORT_FIELDS: readonly SortField[] = ['sessionStartDate', 'sessionDuration', 'ccid', 'sessionState'];
const DEFAULT_SORT: SessionQuery['sort'] = [{ field: 'sessionStartDate', order: 'DESC' }];

type Connector = 'AND' | 'OR';

function fail(responseCode: FailureCode, code: string, message: string): { ok: false; error: QueryError } {
  return { ok: false, error: { code, message, responseCode } };
}

/** A condition together with the connector that joins it to the next one. */
interface Linked<T> {
  readonly item: T;
  readonly next: Connector;
}

/**
 * Translates a getSessions body. Precedence follows S1 (docs/api.md): adjacent conditions on the
 * same field are grouped first, then AND binds tighter than OR, as DG90 p.40 states in its rule
 * titles, its prose and its worked example.
 */
export function translateGetSessionsBody(body: unknown): Result<SessionQuery, QueryError> {
  if (!isJsonObject(body)) {
    return fail(
      RESPONSE_CODES.malformedRequest,
      'VERBATIM_ERR_API_QUERY_BODY',
      'the body must be a JSON object with requestParameters',
    );
  }
  const where = translateWhere(getParam(body, 'requestParameters'));
  if (!where.ok) {
    return where;
  }
  const page = translatePage(getParam(body, 'pageParameters'));
  if (!page.ok) {
    return page;
  }
  const sort = translateSort(getParam(body, 'sortParameters'));
  return { ok: true, value: { where: where.value, sort, ...page.value } };
}

interface Clause {
  readonly field: QueryField;
  readonly conditions: readonly Linked<QueryCondition>[];
  readonly next: Connector;
}

function translateWhere(raw: unknown): Result<QueryExpression, QueryError> {
  if (raw === undefined || raw === null) {
    return fail(
      RESPONSE_CODES.missingParameter,
      'VERBATIM_ERR_API_QUERY_MISSING_PARAMETERS',
      'requestParameters is missing',
    );
  }
  // A lone clause object is accepted as a one-element array, as MediaSense's other APIs use objects.
  const rawClauses: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  if (rawClauses.length === 0) {
    return fail(
      RESPONSE_CODES.queryMissingStartDate,
      'VERBATIM_ERR_API_QUERY_NO_START_DATE',
      'requestParameters is empty; a sessionStartDate between condition is mandatory',
    );
  }
  if (rawClauses.length > MAX_QUERY_CLAUSES) {
    return fail(
      RESPONSE_CODES.invalidParameter,
      'VERBATIM_ERR_API_QUERY_TOO_MANY_CLAUSES',
      `requestParameters has ${rawClauses.length} clauses, at most ${MAX_QUERY_CLAUSES} are accepted (MAX_QUERY_CLAUSES)`,
    );
  }
  const clauses: Clause[] = [];
  for (const [index, rawClause] of rawClauses.entries()) {
    const clause = translateClause(rawClause, `requestParameters[${index}]`);
    if (!clause.ok) {
      return clause;
    }
    clauses.push(clause.value);
  }
  if (!clauses.some((c) => c.field === 'sessionStartDate')) {
    return fail(
      RESPONSE_CODES.queryMissingStartDate,
      'VERBATIM_ERR_API_QUERY_NO_START_DATE',
      'a sessionStartDate condition with the between operator is mandatory',
    );
  }

  // Rule 1 of DG90 p.40: conditions on the same field bind tightest. Adjacent clauses on one field
  // are merged, the paramConnector between them acting as the field connector.
  const groups: Linked<QueryExpression>[] = [];
  let run: Linked<QueryCondition>[] = [];
  for (const [index, clause] of clauses.entries()) {
    const last = clause.conditions.length - 1;
    clause.conditions.forEach((c, i) => {
      run.push(i === last ? { item: c.item, next: clause.next } : c);
    });
    const following = clauses[index + 1];
    if (following === undefined || following.field !== clause.field) {
      groups.push({ item: combine(run), next: clause.next });
      run = [];
    }
  }
  // Rule 2: between groups, AND takes precedence over OR.
  return { ok: true, value: combine(groups) };
}

/** Builds `a AND b OR c` as OR of AND-runs; one-element groups collapse to their element. */
function combine(items: readonly Linked<QueryExpression>[]): QueryExpression {
  const orItems: QueryExpression[] = [];
  let andItems: QueryExpression[] = [];
  items.forEach((linked, index) => {
    andItems.push(linked.item);
    if (linked.next === 'OR' || index === items.length - 1) {
      orItems.push(group('and', andItems));
      andItems = [];
    }
  });
  return group('or', orItems);
}

function group(kind: 'and' | 'or', items: readonly QueryExpression[]): QueryExpression {
  const only = items[0];
  return items.length === 1 && only !== undefined ? only : { kind, items };
}

function translateConnector(raw: unknown, where: string): Result<Connector, QueryError> {
  // A missing connector joins with AND, the only connector real clients use between fields.
  if (raw === undefined || raw === null || raw === '') {
    return { ok: true, value: 'AND' };
  }
  if (typeof raw === 'string') {
    const upper = raw.trim().toUpperCase();
    if (upper === 'AND' || upper === 'OR') {
      return { ok: true, value: upper };
    }
  }
  return fail(
    RESPONSE_CODES.queryInvalidConnector,
    'VERBATIM_ERR_API_QUERY_CONNECTOR',
    `${where} must be "AND" or "OR", got ${describeValue(raw)}`,
  );
}

function translateClause(raw: unknown, where: string): Result<Clause, QueryError> {
  if (!isJsonObject(raw)) {
    return fail(
      RESPONSE_CODES.invalidParameter,
      'VERBATIM_ERR_API_QUERY_CLAUSE',
      `${where} must be an object`,
    );
  }
  const fieldName = getParam(raw, 'fieldName');
  if (typeof fieldName !== 'string' || fieldName === '') {
    return fail(
      RESPONSE_CODES.missingParameter,
      'VERBATIM_ERR_API_QUERY_MISSING_FIELD_NAME',
      `${where}.fieldName is missing`,
    );
  }
  if (fieldName.toLowerCase() === 'sessionid') {
    return fail(
      RESPONSE_CODES.queryUnknownField,
      'VERBATIM_ERR_API_QUERY_UNKNOWN_FIELD',
      `${where}.fieldName sessionId is not searchable; use getSessionBySessionId`,
    );
  }
  const field = FIELDS_BY_LOWER_NAME.get(fieldName.toLowerCase());
  if (field === undefined) {
    return fail(
      RESPONSE_CODES.queryUnknownField,
      'VERBATIM_ERR_API_QUERY_UNKNOWN_FIELD',
      `${where}.fieldName ${describeValue(fieldName)} is not a searchable field`,
    );
  }
  const rawConditions = getParam(raw, 'fieldConditions');
  if (!Array.isArray(rawConditions) || rawConditions.length === 0) {
    return fail(
      rawConditions === undefined ? RESPONSE_CODES.missingParameter : RESPONSE_CODES.invalidParameter,
      'VERBATIM_ERR_API_QUERY_CONDITIONS',
      `${where}.fieldConditions must be a non-empty array`,
    );
  }
  if (rawConditions.length > MAX_CONDITIONS_PER_CLAUSE) {
    return fail(
      RESPONSE_CODES.invalidParameter,
      'VERBATIM_ERR_API_QUERY_TOO_MANY_CONDITIONS',
      `${where}.fieldConditions has ${rawConditions.length} conditions, at most ${MAX_CONDITIONS_PER_CLAUSE} are accepted (MAX_CONDITIONS_PER_CLAUSE)`,
    );
  }
  const conditions: Linked<QueryCondition>[] = [];
  for (const [index, rawCondition] of (rawConditions as readonly unknown[]).entries()) {
    const condition = translateCondition(field, rawCondition, `${where}.fieldConditions[${index}]`);
    if (!condition.ok) {
      return condition;
    }
    conditions.push(condition.value);
  }
  const next = translateConnector(getParam(raw, 'paramConnector'), `${where}.paramConnector`);
  if (!next.ok) {
    return next;
  }
  return { ok: true, value: { field, conditions, next: next.value } };
}

function translateCondition(
  field: QueryField,
  raw: unknown,
  where: string,
): Result<Linked<QueryCondition>, QueryError> {
  if (!isJsonObject(raw)) {
    return fail(
      RESPONSE_CODES.invalidParameter,
      'VERBATIM_ERR_API_QUERY_CONDITION',
      `${where} must be an object`,
    );
  }
  const operatorName = getParam(raw, 'fieldOperator');
  if (typeof operatorName !== 'string' || operatorName === '') {
    return fail(
      RESPONSE_CODES.missingParameter,
      'VERBATIM_ERR_API_QUERY_MISSING_OPERATOR',
      `${where}.fieldOperator is missing`,
    );
  }
  const operator = OPERATORS_BY_LOWER_NAME.get(operatorName.toLowerCase());
  if (operator === undefined) {
    return fail(
      RESPONSE_CODES.queryUnknownOperator,
      'VERBATIM_ERR_API_QUERY_UNKNOWN_OPERATOR',
      `${where}.fieldOperator ${describeValue(operatorName)} is not an operator`,
    );
  }
  const spec = FIELD_SPECS[field];
  if (!spec.operators.includes(operator)) {
    return fail(
      RESPONSE_CODES.queryOperatorNotAllowed,
      'VERBATIM_ERR_API_QUERY_OPERATOR_NOT_ALLOWED',
      `${where}: ${field} accepts ${spec.operators.join(', ')}, not ${operator}`,
    );
  }
  const rawValues = getParam(raw, 'fieldValues');
  if (!Array.isArray(rawValues)) {
    return fail(
      rawValues === undefined ? RESPONSE_CODES.missingParameter : RESPONSE_CODES.invalidParameter,
      'VERBATIM_ERR_API_QUERY_VALUES',
      `${where}.fieldValues must be an array`,
    );
  }
  const expectedCount = operator === 'between' ? 2 : 1;
  if (rawValues.length !== expectedCount) {
    return fail(
      RESPONSE_CODES.queryValueCount,
      'VERBATIM_ERR_API_QUERY_VALUE_COUNT',
      `${where}: ${operator} takes ${expectedCount} value${expectedCount === 1 ? '' : 's'}, got ${rawValues.length}`,
    );
  }
  const values: (string | number)[] = [];
  for (const [index, rawValue] of (rawValues as readonly unknown[]).entries()) {
    const value = translateValue(spec.kind, rawValue, `${where}.fieldValues[${index}]`, field);
    if (!value.ok) {
      return value;
    }
    values.push(value.value);
  }
  const [from, to] = values;
  if (operator === 'between' && typeof from === 'number' && typeof to === 'number' && from > to) {
    return fail(
      RESPONSE_CODES.queryInvalidValue,
      'VERBATIM_ERR_API_QUERY_VALUE',
      `${where}: between needs the smaller value first, got ${from} and ${to}`,
    );
  }
  const next = translateConnector(getParam(raw, 'fieldConnector'), `${where}.fieldConnector`);
  if (!next.ok) {
    return next;
  }
  return { ok: true, value: { item: { kind: 'condition', field, operator, values }, next: next.value } };
}

function translateValue(
  kind: ValueKind,
  raw: unknown,
  where: string,
  field: QueryField,
): Result<string | number, QueryError> {
  const invalid = (expected: string): { ok: false; error: QueryError } =>
    fail(
      RESPONSE_CODES.queryInvalidValue,
      'VERBATIM_ERR_API_QUERY_VALUE',
      `${where}: ${field} needs ${expected}, got ${describeValue(raw)}`,
    );
  switch (kind) {
    case 'date': {
      const n = toNonNegativeInteger(raw);
      return n === undefined ? invalid('epoch milliseconds') : { ok: true, value: n };
    }
    case 'number': {
      const n = toFiniteNumber(raw);
      return n === undefined ? invalid('a number of milliseconds') : { ok: true, value: n };
    }
    case 'state': {
      // The DG90 prose writes states in lower case ("active"); stored states are upper case.
      const state = typeof raw === 'string' ? raw.trim().toUpperCase() : '';
      return SESSION_STATES.some((s) => s === state)
        ? { ok: true, value: state }
        : invalid(`one of ${SESSION_STATES.join(', ')}`);
    }
    case 'mediaType': {
      const type = typeof raw === 'string' ? raw.trim().toUpperCase() : '';
      return type === 'AUDIO' || type === 'VIDEO' ? { ok: true, value: type } : invalid('AUDIO or VIDEO');
    }
    case 'healthProblem': {
      const kind = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
      return HEALTH_PROBLEM_VALUES.includes(kind)
        ? { ok: true, value: kind }
        : invalid(`one of ${HEALTH_PROBLEM_VALUES.join(', ')}`);
    }
    case 'string': {
      // Numbers are accepted for text fields: clients send deviceRef 1000 as a JSON number.
      if (typeof raw === 'string') {
        const [maxLength, limitName] =
          field === 'tagName'
            ? [MAX_TAG_NAME_LENGTH, 'MAX_TAG_NAME_LENGTH']
            : [MAX_QUERY_VALUE_LENGTH, 'MAX_QUERY_VALUE_LENGTH'];
        return raw.length <= maxLength
          ? { ok: true, value: raw }
          : fail(
              RESPONSE_CODES.queryInvalidValue,
              'VERBATIM_ERR_API_QUERY_VALUE_TOO_LONG',
              `${where}: ${field} values are at most ${maxLength} characters (${limitName}), got ${raw.length}`,
            );
      }
      return typeof raw === 'number' && Number.isFinite(raw)
        ? { ok: true, value: String(raw) }
        : invalid('a string');
    }
  }
}

function translatePage(raw: unknown): Result<{ offset: number; limit: number }, QueryError> {
  if (raw === undefined || raw === null) {
    return { ok: true, value: { offset: 0, limit: DEFAULT_PAGE_LIMIT } };
  }
  if (!isJsonObject(raw)) {
    return fail(
      RESPONSE_CODES.queryInvalidPaging,
      'VERBATIM_ERR_API_QUERY_PAGING',
      'pageParameters must be an object',
    );
  }
  const page = pageOf(getParam(raw, 'offset'), getParam(raw, 'limit'), 'pageParameters.');
  return 'detail' in page
    ? fail(RESPONSE_CODES.queryInvalidPaging, 'VERBATIM_ERR_API_QUERY_PAGING', page.detail)
    : { ok: true, value: page };
}

/** A safe integer, negative ones included, as a JSON number or a numeric string. */
function toSafeInteger(value: unknown): number | undefined {
  const n = toFiniteNumber(value);
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Offset and limit with the leniencies real clients need (docs/api.md "Leniencies"): absent or
 * null means the default; a negative offset (a first page asked as -1) is read as 0; a limit over
 * {@link MAX_PAGE_LIMIT} is capped at it. A limit below 1 is refused, as MediaSense refuses
 * limit 0 ("no limit", KB853).
 */
export function pageOf(
  rawOffset: unknown,
  rawLimit: unknown,
  prefix: string,
): { offset: number; limit: number } | { detail: string } {
  const offset = rawOffset === undefined || rawOffset === null ? 0 : toSafeInteger(rawOffset);
  if (offset === undefined) {
    return { detail: `${prefix}offset must be an integer, got ${describeValue(rawOffset)}` };
  }
  const limit = rawLimit === undefined || rawLimit === null ? DEFAULT_PAGE_LIMIT : toSafeInteger(rawLimit);
  if (limit === undefined || limit < 1) {
    return {
      detail: `${prefix}limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${describeValue(rawLimit)} (a larger limit is read as ${MAX_PAGE_LIMIT})`,
    };
  }
  return { offset: Math.max(0, offset), limit: Math.min(limit, MAX_PAGE_LIMIT) };
}

/**
 * The sort keys. A nonsense sort is ignored, never refused (addendum §2.1: a client sends one
 * object with order "CLOSED_NORMAL", and its loop worked against MediaSense): an entry that is no
 * object or names no sortable field is skipped, an unknown order means DESC, and with no usable
 * key the default (sessionStartDate DESC) applies.
 */
function translateSort(raw: unknown): SessionQuery['sort'] {
  // Some clients send one object instead of an array (addendum §2.1, C-TASK).
  const rawKeys: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  const sort: { field: SortField; order: 'ASC' | 'DESC' }[] = [];
  for (const rawKey of rawKeys) {
    const key = isJsonObject(rawKey) ? translateSortKey(rawKey) : undefined;
    if (key !== undefined && !sort.some((s) => s.field === key.field)) {
      sort.push(key);
    }
  }
  return sort.length === 0 ? DEFAULT_SORT : sort;
}

function translateSortKey(raw: JsonObject): { field: SortField; order: 'ASC' | 'DESC' } | undefined {
  const name = getParam(raw, 'byFieldName');
  const field =
    typeof name === 'string'
      ? SORT_FIELDS.find((f) => f.toLowerCase() === name.trim().toLowerCase())
      : undefined;
  const order = getParam(raw, 'order');
  return field === undefined
    ? undefined
    : { field, order: typeof order === 'string' && order.trim().toUpperCase() === 'ASC' ? 'ASC' : 'DESC' };
}
