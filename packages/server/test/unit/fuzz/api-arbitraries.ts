import fc from 'fast-check';
import {
  MAX_CONDITIONS_PER_CLAUSE,
  MAX_JSON_DEPTH,
  MAX_QUERY_CLAUSES,
  MAX_QUERY_VALUE_LENGTH,
} from '../../../src/api/request-limits.js';
import { MAX_PAGE_LIMIT } from '../../../src/api/session-query.js';

/**
 * Generators of getSessions request bodies for the API fuzz properties (api-properties.ts): bodies
 * a client that knows the query language sends, the same with something wrong, any JSON, deep and
 * wide values, huge and unicode strings, and body texts (mutated corpus entries, bracket soup).
 */

/** Start dates around the corpus's window (epoch ms). */
export const T0 = 1_768_771_615_694;

const FIELD_NAMES = [
  'sessionStartDate',
  'sessionDuration',
  'sessionState',
  'trackMediaType',
  'mediaType',
  'ccid',
  'callControllerIP',
  'callControllerType',
  'deviceRef',
  'deviceId',
  'xRefCi',
  'tagName',
  'codec',
  'sessionId',
  'loginId',
  'loginName',
  'agent',
  'healthProblem',
];
const OPERATORS = ['equals', 'notEquals', 'between', 'greaterThan', 'lessThan', 'contains', 'startsWith'];
const KEYWORDS = ['ACTIVE', 'CLOSED_NORMAL', 'closed_error', 'DELETED', 'AUDIO', 'video', 'PCMU', '1000'];

/** Any JSON, with unicode and lone surrogates in strings. */
const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 4 });

/**
 * Objects nested deeper than this are generated as text only: the test's own JSON.stringify
 * recurses (as the API's once did) and overflows the stack near 10,000 levels.
 */
const MAX_GENERATED_OBJECT_DEPTH = 1500;

/** An array nested `depth` deep around `inner`, built without recursion. */
function nested(depth: number, inner: unknown): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) {
    value = [value];
  }
  return value;
}

const text: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(...KEYWORDS).chain((k) => fc.mixedCase(fc.constant(k))),
  fc.integer({ min: MAX_QUERY_VALUE_LENGTH - 2, max: MAX_QUERY_VALUE_LENGTH + 2 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1000, max: 100_000 }).map((n) => 'é'.repeat(n)),
);

const value: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.integer({ min: T0 - 1_000_000, max: T0 + 1_000_000 }), weight: 3 },
  { arbitrary: text, weight: 3 },
  { arbitrary: fc.double(), weight: 1 },
  { arbitrary: fc.bigInt({ min: 0n, max: 2n ** 70n }).map((n) => n.toString()), weight: 1 },
  { arbitrary: anyJson, weight: 1 },
  {
    arbitrary: fc.integer({ min: 1, max: MAX_GENERATED_OBJECT_DEPTH }).map((depth) => nested(depth, 1)),
    weight: 1,
  },
);

const connector: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('AND', 'OR', 'and', 'Or', ' or ', '', undefined, null),
  anyJson,
);

const name = (names: readonly string[]): fc.Arbitrary<unknown> =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...names).chain((n) => fc.mixedCase(fc.constant(n))), weight: 8 },
    { arbitrary: text, weight: 1 },
    { arbitrary: anyJson, weight: 1 },
  );

const condition: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.record(
      {
        fieldOperator: name(OPERATORS),
        fieldValues: fc.oneof(
          { arbitrary: fc.array(value, { minLength: 1, maxLength: 2 }), weight: 8 },
          { arbitrary: fc.array(value, { maxLength: 5 }), weight: 1 },
          { arbitrary: anyJson, weight: 1 },
        ),
        fieldConnector: connector,
      },
      { requiredKeys: ['fieldOperator', 'fieldValues'] },
    ),
    weight: 9,
  },
  { arbitrary: anyJson, weight: 1 },
);

const conditions: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.array(condition, { minLength: 1, maxLength: 3 }), weight: 6 },
  {
    arbitrary: fc.array(condition, { maxLength: MAX_CONDITIONS_PER_CLAUSE + 2 }),
    weight: 2,
  },
  { arbitrary: anyJson, weight: 1 },
);

const clause: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc.record(
      { fieldName: name(FIELD_NAMES), fieldConditions: conditions, paramConnector: connector },
      { requiredKeys: ['fieldName', 'fieldConditions'] },
    ),
    weight: 9,
  },
  { arbitrary: anyJson, weight: 1 },
);

/** The mandatory window, so that most generated queries get past the translation into SQL. */
const windowClause = fc
  .tuple(fc.integer({ min: 0, max: T0 }), fc.integer({ min: 0, max: 10_000_000 }))
  .map(([from, length]) => ({
    fieldName: 'sessionStartDate',
    fieldConditions: [{ fieldOperator: 'between', fieldValues: [from, from + length] }],
    paramConnector: 'AND',
  }));

const requestParameters: fc.Arbitrary<unknown> = fc.oneof(
  {
    arbitrary: fc
      .tuple(windowClause, fc.array(clause, { maxLength: 4 }), fc.nat())
      .map(([window, clauses, at]) => [...clauses.slice(0, at % 5), window, ...clauses.slice(at % 5)]),
    weight: 6,
  },
  { arbitrary: fc.array(clause, { maxLength: MAX_QUERY_CLAUSES + 2 }), weight: 2 },
  { arbitrary: clause, weight: 1 },
  { arbitrary: anyJson, weight: 1 },
);

const paging: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      offset: fc.oneof(fc.nat({ max: 50 }), fc.integer(), fc.nat().map(String), anyJson),
      limit: fc.oneof(fc.integer({ min: 0, max: MAX_PAGE_LIMIT + 1 }), fc.nat().map(String), anyJson),
    },
    { requiredKeys: [] },
  ),
  anyJson,
);

const sortKey: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      byFieldName: name(['sessionStartDate', 'sessionDuration', 'ccid', 'sessionState']),
      order: fc.oneof(fc.constantFrom('ASC', 'desc', 'CLOSED_NORMAL'), anyJson),
    },
    { requiredKeys: [] },
  ),
  anyJson,
);

/** Text values a query accepts, with the characters LIKE, GLOB and SQL treat specially. */
const queryText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc
    .array(fc.constantFrom('*', '?', '[', ']', '%', '_', '\\', "'", '"', ';', '-', 'a', '1', 'é', '\u0000'), {
      maxLength: 10,
    })
    .map((parts) => parts.join('')),
  fc.constantFrom('1000', '2000', 'tag 3', 'TAG 3', 'PCMU', '10.0.0.5', 'Cisco-CUCM', '16000000'),
  fc.constant('x'.repeat(MAX_QUERY_VALUE_LENGTH)),
);

type ValidField = {
  readonly names: readonly string[];
  readonly operators: readonly string[];
  readonly value: fc.Arbitrary<unknown>;
};
const TEXT_OPERATORS = ['equals', 'notEquals', 'contains', 'startsWith'];
const VALID_FIELDS: readonly ValidField[] = [
  {
    names: ['sessionDuration'],
    operators: ['equals', 'notEquals', 'greaterThan', 'lessThan', 'between'],
    value: fc.oneof(
      fc.integer({ min: -1, max: 200_000 }),
      fc.nat({ max: 200_000 }).map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    ),
  },
  {
    names: ['sessionState'],
    operators: ['equals', 'notEquals'],
    value: fc.constantFrom('ACTIVE', 'closed_normal', 'CLOSED_ERROR', 'DELETED'),
  },
  {
    names: ['trackMediaType', 'mediaType'],
    operators: ['equals', 'notEquals'],
    value: fc.constantFrom('AUDIO', 'video'),
  },
  {
    names: ['healthProblem'],
    operators: ['equals', 'notEquals'],
    value: fc.constantFrom('packet-loss', 'GAP', 'no-packets', 'silent-track', 'one-sided', 'any'),
  },
  {
    names: [
      'ccid',
      'callControllerIP',
      'callControllerType',
      'deviceRef',
      'deviceId',
      'xRefCi',
      'tagName',
      'codec',
      // The agent of a participant (issue 11): the same text operators, on the interval join.
      'loginId',
      'loginName',
      'agent',
    ],
    operators: TEXT_OPERATORS,
    value: fc.oneof(queryText, fc.integer({ min: 0, max: 3000 })),
  },
];

const validClause: fc.Arbitrary<unknown> = fc.constantFrom(...VALID_FIELDS).chain((spec) =>
  fc.record({
    fieldName: fc.constantFrom(...spec.names),
    fieldConditions: fc.array(
      fc
        .record({
          fieldOperator: fc.constantFrom(...spec.operators),
          fieldValues: fc.tuple(spec.value, spec.value),
          fieldConnector: fc.constantFrom('AND', 'OR', 'or'),
        })
        .map((c) => ({
          ...c,
          // between takes the pair in order; every other operator one value.
          fieldValues:
            c.fieldOperator === 'between'
              ? [...c.fieldValues].sort((a, b) => Number(a) - Number(b))
              : c.fieldValues.slice(0, 1),
        })),
      { minLength: 1, maxLength: MAX_CONDITIONS_PER_CLAUSE },
    ),
    paramConnector: fc.constantFrom('AND', 'OR'),
  }),
);

/** getSessions bodies within every limit, as a client that knows the language sends them. */
const acceptedBody: fc.Arbitrary<unknown> = fc
  .tuple(
    windowClause,
    fc.oneof(
      { arbitrary: fc.array(validClause, { maxLength: 4 }), weight: 4 },
      { arbitrary: fc.array(validClause, { maxLength: MAX_QUERY_CLAUSES - 1 }), weight: 1 },
    ),
    fc.nat(),
    fc.record({ offset: fc.nat({ max: 20 }), limit: fc.integer({ min: 1, max: MAX_PAGE_LIMIT }) }),
    fc.array(
      fc.record({
        byFieldName: fc.constantFrom('sessionStartDate', 'sessionDuration', 'ccid', 'sessionState'),
        order: fc.constantFrom('ASC', 'DESC'),
      }),
      { maxLength: 4 },
    ),
  )
  .map(([window, clauses, at, pageParameters, sortParameters]) => ({
    requestParameters: [
      ...clauses.slice(0, at % (clauses.length + 1)),
      window,
      ...clauses.slice(at % (clauses.length + 1)),
    ],
    pageParameters,
    sortParameters,
  }));

/** getSessions bodies: mostly shaped like real ones with something wrong, sometimes anything. */
export const getSessionsBody: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: acceptedBody, weight: 8 },
  {
    arbitrary: fc.record(
      {
        requestParameters,
        pageParameters: paging,
        sortParameters: fc.oneof(fc.array(sortKey, { maxLength: 6 }), sortKey),
      },
      { requiredKeys: ['requestParameters'] },
    ),
    weight: 8,
  },
  { arbitrary: anyJson, weight: 1 },
  {
    arbitrary: fc.integer({ min: 1, max: MAX_GENERATED_OBJECT_DEPTH }).map((depth) => nested(depth, {})),
    weight: 1,
  },
);

/** A body text with a few characters replaced, inserted or removed. */
function mutated(texts: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(...texts),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.nat({ max: 3 }),
          fc.constantFrom('', '[', ']', '{', '}', '"', '\\', ',', ':', '0', 'é', '\u0000'),
        ),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
    )
    .map(([base, edits]) =>
      edits.reduce((s, [at, remove, insert]) => {
        const i = at % (s.length + 1);
        return s.slice(0, i) + insert + s.slice(i + remove);
      }, base),
    );
}

/** Request body texts: serialized bodies, corpus mutations, bracket soup, deep nests, noise. */
export function bodyText(corpus: readonly string[]): fc.Arbitrary<unknown> {
  const small = corpus.filter((t) => t.length < 10_000);
  return fc.oneof(
    { arbitrary: getSessionsBody.map((body) => JSON.stringify(body)), weight: 6 },
    { arbitrary: mutated(small), weight: 3 },
    {
      arbitrary: fc
        .array(fc.constantFrom('[', ']', '{', '}', '"', '\\', ',', ':', '1', '"a"', ' '), { maxLength: 300 })
        .map((parts) => parts.join('')),
      weight: 1,
    },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: MAX_JSON_DEPTH - 2, max: 50_000 }), fc.boolean())
        .map(([depth, closed]) => '['.repeat(depth) + (closed ? ']'.repeat(depth) : '')),
      weight: 1,
    },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }), weight: 1 },
  );
}
