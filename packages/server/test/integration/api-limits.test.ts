import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  MAX_BODY_BYTES,
  MAX_CONDITIONS_PER_CLAUSE,
  MAX_JSON_DEPTH,
  MAX_QUERY_CLAUSES,
  MAX_QUERY_VALUE_LENGTH,
  MAX_TAG_NAME_LENGTH,
} from '../../src/api/request-limits.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import { sampleSession } from '../support/fake-repository.js';
import { startedBetween } from '../support/get-sessions-bodies.js';
import { addApiUser, buildTestHttpApi } from '../support/http-api-harness.js';
import { deepFieldValuesBody, manyClausesBody, manyOrConditionsBody } from '../unit/fuzz/api-findings.js';

/**
 * getSessions under big and deep input, over a real socket against SQLite: the three bodies that
 * once answered 5000 (issue 9), each input limit just past its value and at it, and the largest
 * query the limits accept, which must run in SQLite and return the right rows.
 */

const T0 = 1_750_000_000_000;
const MINUTE_MS = 60_000;
const GET_SESSIONS = '/ora/queryService/query/getSessions';
const SESSIONS = 40;

interface Answer {
  responseCode: number;
  detail?: string;
  responseBody?: { sessions: { sessionId: string }[] };
}

void describe('getSessions input limits over SQLite (integration)', () => {
  let dir: string;
  let repository: Repository;
  let app: FastifyInstance;
  let base: string;
  let cookie: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-limits-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    await addApiUser(repository, 'api', 'pw');
    for (let i = 0; i < SESSIONS; i++) {
      await repository.createSession(
        sampleSession({
          sessionId: `s${String(i).padStart(2, '0')}`,
          sessionStartDate: T0 + i * MINUTE_MS,
          ccid: `ccid-${i}`,
          tags: [{ tagName: `Tag-${i}`, tagType: 'USER_DEFINED', tagCreateDate: T0, tagOffset: 0 }],
        }),
      );
    }
    app = await buildTestHttpApi({ repository });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username: 'api', password: 'pw' } }),
    });
    cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.match(cookie, /^JSESSIONID=/);
  });

  after(async () => {
    await app.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function postText(text: string): Promise<Answer> {
    const response = await fetch(`${base}${GET_SESSIONS}`, {
      method: 'POST',
      headers: { cookie },
      body: text,
    });
    // Every /ora answer, refusals included, is an envelope with HTTP 200.
    assert.equal(response.status, 200);
    return (await response.json()) as Answer;
  }

  const post = (body: unknown): Promise<Answer> => postText(JSON.stringify(body));
  const window = startedBetween(T0, T0 + SESSIONS * MINUTE_MS);
  const condition = (fieldOperator: string, value: string | number, fieldConnector = 'OR'): object => ({
    fieldOperator,
    fieldValues: [value],
    fieldConnector,
  });

  void describe('the three findings of issue 9 answer a 4xxx envelope naming a limit', () => {
    void it('a fieldValues value nested 10,000 deep', async () => {
      const answer = await postText(deepFieldValuesBody(T0));
      assert.equal(answer.responseCode, 4000);
      assert.match(
        answer.detail ?? '',
        new RegExp(`deeper than ${MAX_JSON_DEPTH} levels \\(MAX_JSON_DEPTH\\)`),
      );
    });

    void it('10,000 OR-ed conditions', async () => {
      const answer = await postText(manyOrConditionsBody(T0));
      assert.equal(answer.responseCode, 4000);
      assert.match(
        answer.detail ?? '',
        new RegExp(`larger than ${MAX_BODY_BYTES} bytes \\(MAX_BODY_BYTES\\)`),
      );
    });

    void it('8,000 clauses', async () => {
      const answer = await postText(manyClausesBody(T0));
      assert.equal(answer.responseCode, 4000);
      assert.match(answer.detail ?? '', /MAX_BODY_BYTES/);
    });
  });

  void it('refuses a body over MAX_BODY_BYTES with 4000, and takes one just under it', async () => {
    const padding = (bytes: number): string => 'x'.repeat(bytes);
    const body = (pad: string): string =>
      JSON.stringify({ requestParameters: [window], pageParameters: { limit: 1 }, padding: pad });
    const overhead = body('').length;
    const over = await postText(body(padding(MAX_BODY_BYTES - overhead + 1)));
    assert.equal(over.responseCode, 4000);
    assert.equal(over.detail, `the body is larger than ${MAX_BODY_BYTES} bytes (MAX_BODY_BYTES)`);
    const at = await postText(body(padding(MAX_BODY_BYTES - overhead)));
    assert.equal(at.responseCode, 2000);
  });

  void it('refuses nesting deeper than MAX_JSON_DEPTH with 4000, and takes it at the limit', async () => {
    // The body object, `extra`, and the arrays inside it.
    const nested = (levels: number): string =>
      `{"requestParameters":[${JSON.stringify(window)}],"pageParameters":{"limit":1},"extra":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
    const over = await postText(nested(MAX_JSON_DEPTH + 1));
    assert.equal(over.responseCode, 4000);
    assert.equal(
      over.detail,
      `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)`,
    );
    assert.equal((await postText(nested(MAX_JSON_DEPTH))).responseCode, 2000);
  });

  void it('refuses more than MAX_QUERY_CLAUSES clauses with 4001', async () => {
    const clause = { fieldName: 'ccid', fieldConditions: [condition('contains', 'x')] };
    const answer = await post({
      requestParameters: [window, ...Array.from({ length: MAX_QUERY_CLAUSES }, () => clause)],
    });
    assert.equal(answer.responseCode, 4001);
    assert.equal(
      answer.detail,
      `requestParameters has ${MAX_QUERY_CLAUSES + 1} clauses, at most ${MAX_QUERY_CLAUSES} are accepted (MAX_QUERY_CLAUSES)`,
    );
  });

  void it('refuses more than MAX_CONDITIONS_PER_CLAUSE conditions in a clause with 4001', async () => {
    const answer = await post({
      requestParameters: [
        window,
        {
          fieldName: 'ccid',
          fieldConditions: Array.from({ length: MAX_CONDITIONS_PER_CLAUSE + 1 }, (_, i) =>
            condition('equals', `c${i}`),
          ),
        },
      ],
    });
    assert.equal(answer.responseCode, 4001);
    assert.equal(
      answer.detail,
      `requestParameters[1].fieldConditions has ${MAX_CONDITIONS_PER_CLAUSE + 1} conditions, at most ${MAX_CONDITIONS_PER_CLAUSE} are accepted (MAX_CONDITIONS_PER_CLAUSE)`,
    );
  });

  void it('refuses text values and tag names over their length limits with 4034', async () => {
    const query = (fieldName: string, value: string): object => ({
      requestParameters: [window, { fieldName, fieldConditions: [condition('equals', value)] }],
    });
    const ccid = await post(query('ccid', 'c'.repeat(MAX_QUERY_VALUE_LENGTH + 1)));
    assert.equal(ccid.responseCode, 4034);
    assert.equal(
      ccid.detail,
      `requestParameters[1].fieldConditions[0].fieldValues[0]: ccid values are at most ${MAX_QUERY_VALUE_LENGTH} characters (MAX_QUERY_VALUE_LENGTH), got ${MAX_QUERY_VALUE_LENGTH + 1}`,
    );
    assert.equal((await post(query('ccid', 'c'.repeat(MAX_QUERY_VALUE_LENGTH)))).responseCode, 2001);
    const tag = await post(query('tagName', 't'.repeat(MAX_TAG_NAME_LENGTH + 1)));
    assert.equal(tag.responseCode, 4034);
    assert.match(tag.detail ?? '', /tagName values are at most 255 characters \(MAX_TAG_NAME_LENGTH\)/);
    assert.equal((await post(query('tagName', 't'.repeat(MAX_TAG_NAME_LENGTH)))).responseCode, 2001);
  });

  void it('runs the largest query the limits accept and returns the matching rows', async () => {
    // The window AND-ed to the first of MAX_QUERY_CLAUSES - 1 clauses of MAX_CONDITIONS_PER_CLAUSE
    // conditions each, all OR-ed: 496 alternatives, none of which an IN list can absorb, so
    // SQLite parses the whole OR chain. Each clause matches one session through its last
    // condition; the other conditions match nothing.
    const fields = [
      { fieldName: 'ccid', operator: 'contains', value: (i: number) => `ccid-${i}` },
      { fieldName: 'tagName', operator: 'startsWith', value: (i: number) => `tag-${i}` },
      { fieldName: 'ccid', operator: 'startsWith', value: (i: number) => `ccid-${i}` },
    ];
    const clauses = Array.from({ length: MAX_QUERY_CLAUSES - 1 }, (_, c) => {
      const spec = fields[c % fields.length]!;
      const target = c + 5;
      return {
        fieldName: spec.fieldName,
        fieldConditions: Array.from({ length: MAX_CONDITIONS_PER_CLAUSE }, (_, k) =>
          condition(
            spec.operator,
            k === MAX_CONDITIONS_PER_CLAUSE - 1 ? spec.value(target) : `none-${c}-${k}`,
          ),
        ),
        paramConnector: 'OR',
      };
    });
    const body = { requestParameters: [{ ...window, paramConnector: 'AND' }, ...clauses] };
    assert.ok(JSON.stringify(body).length < MAX_BODY_BYTES);
    const answer = await post(body);
    assert.equal(answer.responseCode, 2000, answer.detail);
    // Clause c matches session c + 5 alone: no ccid or tag of the 40 sessions extends another
    // target's (ccid-5 would also match ccid-50…, which does not exist).
    const expected = Array.from({ length: MAX_QUERY_CLAUSES - 1 }, (_, c) => c + 5)
      .filter((i) => i < SESSIONS)
      .map((i) => `s${String(i).padStart(2, '0')}`)
      .sort()
      .reverse();
    assert.deepEqual(
      answer.responseBody?.sessions.map((s) => s.sessionId),
      expected,
    );
  });
});
