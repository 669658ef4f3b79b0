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
import { bodyText, getSessionsBody, T0 } from './api-arbitraries.js';

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
