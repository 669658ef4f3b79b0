import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { FAILURE_MESSAGES } from '../../../src/api/envelope.js';
import { parseJsonBody } from '../../../src/api/json-body.js';
import {
  MAX_CONDITIONS_PER_CLAUSE,
  MAX_JSON_DEPTH,
  MAX_QUERY_CLAUSES,
  MAX_QUERY_VALUE_LENGTH,
} from '../../../src/api/request-limits.js';
import { MAX_PAGE_LIMIT, translateGetSessionsBody } from '../../../src/api/session-query.js';
import { openRepository } from '../../../src/db/index.js';
import type { QueryExpression, Repository, SessionQuery } from '../../../src/db/repository.js';
import { sampleSession } from '../../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../../support/http-api-harness.js';

/**
 * Property-based tests of the HTTP API's input handling: the JSON body parser, the getSessions
 * translation, the SQL it becomes, and the whole route. `npm test` runs each with a fixed seed and
 * a modest count (api-get-sessions.fuzz.test.ts); the long-run fuzz runner imports
 * {@link API_FUZZ_PROPERTIES} and runs them longer with seeds of its own.
 *
 * Every property starts from the corpus (test/fixtures/fuzz-corpus/api-get-sessions/): real
 * request bodies, and in regressions/ every input that once broke the API (gzipped: the bodies
 * of issue 9 are up to 1 MB of repetition). Add a file there for each new finding.
 */

export interface ApiFuzzProperty {
  readonly name: string;
  /** Runs in `npm test`, sized to keep all the API properties under about 10 s together. */
  readonly runs: number;
  /** Builds the property and what it holds open (an in-memory database, an API instance). */
  readonly build: () => Promise<BuiltProperty>;
}

export interface BuiltProperty {
  /** A sync or async property of one generated input; its examples are the corpus. */
  readonly property: fc.IRawProperty<[unknown]>;
  readonly examples: readonly [unknown][];
  readonly close: () => Promise<void>;
}

const CORPUS_DIR = resolve(import.meta.dirname, '../../fixtures/fuzz-corpus/api-get-sessions');
const T0 = 1_768_771_615_694;

/** The corpus as request body texts: real bodies, then regressions (`.json` or `.json.gz`). */
export function apiCorpusTexts(): string[] {
  const read = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile() && /\.json(\.gz)?$/.test(entry.name))
      .map((entry) => entry.name)
      .sort()
      .map((name) => {
        const bytes = readFileSync(join(dir, name));
        return (name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
      });
  return [...read(CORPUS_DIR), ...read(join(CORPUS_DIR, 'regressions'))];
}

function corpusBodies(): unknown[] {
  return apiCorpusTexts().flatMap((text) => {
    const parsed = parseJsonBody(text);
    return parsed.ok ? [parsed.value] : [];
  });
}

// Arbitraries.

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
    names: [
      'ccid',
      'callControllerIP',
      'callControllerType',
      'deviceRef',
      'deviceId',
      'xRefCi',
      'tagName',
      'codec',
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
function bodyText(corpus: readonly string[]): fc.Arbitrary<unknown> {
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

// Checks of the results.

const TRANSLATION_CODE = /^VERBATIM_ERR_API_QUERY_[A-Z_]+$/;
const VALID_SORT_FIELDS = new Set(['sessionStartDate', 'sessionDuration', 'ccid', 'sessionState']);

/** Throws when `query` is not one the repository accepts within the API's limits. */
function checkQuery(query: SessionQuery): void {
  if (!Number.isSafeInteger(query.offset) || query.offset < 0) {
    throw new Error(`bad offset ${query.offset}`);
  }
  if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > MAX_PAGE_LIMIT) {
    throw new Error(`bad limit ${query.limit}`);
  }
  if (query.sort.length === 0 || query.sort.some((s) => !VALID_SORT_FIELDS.has(s.field))) {
    throw new Error(`bad sort ${JSON.stringify(query.sort)}`);
  }
  // The translation produces OR of AND of groups, each group an OR of AND of the conditions on
  // one field: at most 4 levels. Walked with a stack, counting conditions.
  let count = 0;
  const stack: { expression: QueryExpression; depth: number }[] = [{ expression: query.where, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { expression, depth } = top;
    if (depth > 4) {
      throw new Error('the query nests deeper than OR of AND of OR of AND');
    }
    if (expression.kind !== 'condition') {
      stack.push(...expression.items.map((item) => ({ expression: item, depth: depth + 1 })));
      continue;
    }
    count++;
    const expected = expression.operator === 'between' ? 2 : 1;
    if (expression.values.length !== expected) {
      throw new Error(`${expression.operator} with ${expression.values.length} values`);
    }
    for (const v of expression.values) {
      if (typeof v === 'number' ? !Number.isFinite(v) : v.length > MAX_QUERY_VALUE_LENGTH) {
        throw new Error(`value out of bounds: ${String(v).slice(0, 40)}`);
      }
    }
  }
  if (count > MAX_QUERY_CLAUSES * MAX_CONDITIONS_PER_CLAUSE) {
    throw new Error(`${count} conditions`);
  }
}

/** Throws unless `error` is a typed translation error with a failure code and a short detail. */
function checkQueryError(error: { code: string; message: string; responseCode: number }): void {
  if (!TRANSLATION_CODE.test(error.code)) {
    throw new Error(`untyped error code ${error.code}`);
  }
  if (!(error.responseCode in FAILURE_MESSAGES) || error.responseCode >= 5000) {
    throw new Error(`response code ${error.responseCode} for ${error.code}`);
  }
  if (error.message.length > 600) {
    throw new Error(`a detail of ${error.message.length} characters`);
  }
}

/** The deepest nesting of arrays and objects in a parsed value, without recursion. */
function depthOf(root: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[root, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (typeof node === 'object' && node !== null) {
      deepest = Math.max(deepest, depth + 1);
      for (const child of Object.values(node)) {
        stack.push([child, depth + 1]);
      }
    }
  }
  return deepest;
}

/** An in-memory SQLite database with a few sessions, tracks, participants and tags. */
async function seededRepository(): Promise<Repository> {
  const repository = await openRepository({ kind: 'sqlite', path: ':memory:' });
  await repository.migrate();
  for (let i = 0; i < 12; i++) {
    await repository.createSession(
      sampleSession({
        sessionId: `fuzz${i}`,
        sessionStartDate: T0 + i * 60_000,
        sessionState: i % 4 === 0 ? 'ACTIVE' : i % 4 === 1 ? 'CLOSED_ERROR' : 'CLOSED_NORMAL',
        ccid: String(1000 + i),
        tags: [{ tagName: `Tag ${i}`, tagType: 'USER_DEFINED', tagCreateDate: T0, tagOffset: i }],
      }),
    );
  }
  return repository;
}

const noop = (): Promise<void> => Promise.resolve();

// The properties.

export const API_FUZZ_PROPERTIES: readonly ApiFuzzProperty[] = [
  {
    name: 'api-json-body: any text parses to a value within MAX_JSON_DEPTH or a typed error',
    runs: 400,
    build: () => {
      const corpus = apiCorpusTexts();
      return Promise.resolve({
        examples: corpus.map((t): [unknown] => [t]),
        close: noop,
        property: fc.property(bodyText(corpus), (input) => {
          const parsed = parseJsonBody(String(input));
          if (parsed.ok) {
            if (depthOf(parsed.value) > MAX_JSON_DEPTH) {
              throw new Error('a body deeper than MAX_JSON_DEPTH was accepted');
            }
          } else if (
            !['VERBATIM_ERR_API_MALFORMED_JSON', 'VERBATIM_ERR_API_JSON_TOO_DEEP'].includes(
              parsed.error.code,
            ) ||
            parsed.error.message.length > 600
          ) {
            throw new Error(`untyped or long error: ${parsed.error.code} ${parsed.error.message.length}`);
          }
        }),
      });
    },
  },
  {
    name: 'api-get-sessions-translation: any JSON becomes a valid query within the limits or a typed 4xxx error',
    runs: 400,
    build: () =>
      Promise.resolve({
        examples: corpusBodies().map((b): [unknown] => [b]),
        close: noop,
        property: fc.property(getSessionsBody, (body) => {
          const result = translateGetSessionsBody(body);
          if (result.ok) {
            checkQuery(result.value);
          } else {
            checkQueryError(result.error);
          }
        }),
      }),
  },
  {
    name: 'api-get-sessions-sqlite: every translated query runs on SQLite and returns at most a page',
    runs: 150,
    build: async () => {
      const repository = await seededRepository();
      return {
        examples: corpusBodies().map((b): [unknown] => [b]),
        close: () => repository.close(),
        property: fc.asyncProperty(getSessionsBody, async (body) => {
          const result = translateGetSessionsBody(body);
          if (result.ok) {
            const sessions = await repository.querySessions(result.value);
            if (sessions.length > result.value.limit) {
              throw new Error(`${sessions.length} sessions for a limit of ${result.value.limit}`);
            }
          }
        }),
      };
    },
  },
  {
    name: 'api-http-get-sessions: any body gets an HTTP 200 envelope, never 5000, and gives its place back',
    runs: 120,
    build: async () => {
      const repository = await seededRepository();
      await addApiUser(repository, 'fuzz', 'fuzz-pw');
      const app: FastifyInstance = await buildTestHttpApi({ repository });
      const signIn = await app.inject({
        method: 'POST',
        url: '/ora/authenticationService/authentication/signIn',
        payload: { requestParameters: { username: 'fuzz', password: 'fuzz-pw' } },
      });
      const cookie = String(signIn.headers['set-cookie']).split(';')[0] ?? '';
      const corpus = apiCorpusTexts();
      return {
        examples: corpus.map((t): [unknown] => [t]),
        close: async () => {
          await app.close();
          await repository.close();
        },
        property: fc.asyncProperty(bodyText(corpus), async (input) => {
          const response = await app.inject({
            method: 'POST',
            url: '/ora/queryService/query/getSessions',
            headers: { cookie, 'content-type': 'application/json' },
            payload: String(input),
          });
          const answer = response.json<{ responseCode?: unknown }>();
          const code = answer.responseCode;
          // One request at a time: a 5042 would mean an earlier one never gave its place back.
          if (response.statusCode !== 200 || typeof code !== 'number' || code === 5000 || code === 5042) {
            throw new Error(`HTTP ${response.statusCode}, responseCode ${String(code)}`);
          }
          if (code !== 2000 && code !== 2001 && !(code in FAILURE_MESSAGES)) {
            throw new Error(`unknown responseCode ${code}`);
          }
        }),
      };
    },
  },
];
