import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openRepository } from '../../src/db/index.js';
import type { Repository, SessionQuery } from '../../src/db/repository.js';
import type { Session } from '../../src/model/session.js';
import { zeroCounters } from '../../src/recording/live-session.js';
import { sampleSession } from '../support/fake-repository.js';
import { startedBetween } from '../support/get-sessions-bodies.js';
import { addApiUser, buildTestHttpApi } from '../support/http-api-harness.js';

/**
 * MediaSense's 5042 over real sockets: with `--api-max-requests` getSessions in progress,
 * the next /ora request is answered 5042 at once, while getSystemTime (the liveness probe) and
 * /metrics still answer. The requests are held in progress by the database: the SQLite
 * repository's querySessions waits for the test to open a gate, as a database busy with other
 * work would make it wait. No timing is asserted: the refusals arrive while the gate is shut.
 */

const T0 = 1_750_000_000_000;
/** The node's limit for this test (`--api-max-requests`); not the default 25, to show it is taken. */
const MAX_REQUESTS = 7;
const SIGN_IN = '/ora/authenticationService/authentication/signIn';
const GET_SESSIONS = '/ora/queryService/query/getSessions';
const SYSTEM_TIME = '/ora/infoService/info/getSystemTime';
const API_VERSION = '/ora/infoService/info/getAPIVersion';
/** MediaSense's own text for 5042 (reference §9, DG90-p43), sent unchanged. */
const MESSAGE_5042 =
  'Failure: The system has exceeded the maximum number of concurrent requests. Try again later.';

/** Holds every querySessions until `open()`, counting the calls that wait. */
class Gate {
  waiting = 0;
  #open = false;
  #release: (() => void)[] = [];
  #arrivals: { count: number; resolve: () => void }[] = [];

  async pass(): Promise<void> {
    if (this.#open) {
      return;
    }
    this.waiting++;
    for (const arrival of this.#arrivals.filter((a) => this.waiting >= a.count)) {
      arrival.resolve();
    }
    await new Promise<void>((resolve) => this.#release.push(resolve));
  }

  /** Resolves once `count` calls wait at the gate. */
  reached(count: number): Promise<void> {
    return this.waiting >= count
      ? Promise.resolve()
      : new Promise((resolve) => this.#arrivals.push({ count, resolve }));
  }

  open(): void {
    this.#open = true;
    for (const release of this.#release.splice(0)) {
      release();
    }
  }
}

function gated(repository: Repository, gate: Gate): Repository {
  return new Proxy(repository, {
    get(target, property, receiver) {
      if (property === 'getSession') {
        // A failing database for one id: the 5000 path must give its place back too.
        return (sessionId: string): Promise<Session | undefined> =>
          sessionId === 'boom' ? Promise.reject(new Error('disk on fire')) : target.getSession(sessionId);
      }
      if (property === 'querySessions') {
        return async (query: SessionQuery): Promise<Session[]> => {
          await gate.pass();
          return target.querySessions(query);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

void describe('API request concurrency limit (integration)', () => {
  let dir: string;
  let repository: Repository;
  let app: FastifyInstance;
  let base: string;
  let cookie: string;
  const gate = new Gate();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-concurrency-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    await addApiUser(repository, 'api', 'pw');
    await repository.createSession(sampleSession({ sessionId: 's1', sessionStartDate: T0 }));
    app = await buildTestHttpApi({
      repository: gated(repository, gate),
      maxConcurrentRequests: MAX_REQUESTS,
      metrics: {
        recordingCounters: zeroCounters,
        activeSessions: () => 0,
        admission: () => ({ level: 'open', refusals: {}, entered: [] }),
        mediaCounters: () => undefined,
      },
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    cookie = await signIn();
  });

  after(async () => {
    gate.open();
    await app.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function signIn(): Promise<string> {
    const response = await fetch(`${base}${SIGN_IN}`, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username: 'api', password: 'pw' } }),
    });
    const body = (await response.json()) as { responseCode: number };
    return body.responseCode === 2000 ? ((response.headers.get('set-cookie') ?? '').split(';')[0] ?? '') : '';
  }

  async function getSessions(
    signal?: AbortSignal,
  ): Promise<{ responseCode: number; responseMessage?: string; detail?: string }> {
    const response = await fetch(`${base}${GET_SESSIONS}`, {
      method: 'POST',
      headers: { cookie },
      body: JSON.stringify({ requestParameters: [startedBetween(T0, T0 + 1)] }),
      ...(signal === undefined ? {} : { signal }),
    });
    assert.equal(response.status, 200);
    return (await response.json()) as { responseCode: number; responseMessage?: string; detail?: string };
  }

  void it(
    'answers 5042 past the limit at once, keeps getSystemTime answering, and recovers',
    { timeout: 60_000 },
    async () => {
      // Two of the held requests hang up: their work goes on, so they keep their places.
      const hangUps = [new AbortController(), new AbortController()];
      const held = Array.from({ length: MAX_REQUESTS }, (_, i) =>
        getSessions(hangUps[i]?.signal).catch((error: unknown) => error),
      );
      await gate.reached(MAX_REQUESTS);
      for (const controller of hangUps) {
        controller.abort();
      }

      const refused = await Promise.all([getSessions(), getSessions(), getSessions()]);
      for (const answer of refused) {
        assert.equal(answer.responseCode, 5042);
        assert.equal(answer.responseMessage, MESSAGE_5042);
        assert.equal(
          answer.detail,
          `${MAX_REQUESTS} requests are in progress, at most ${MAX_REQUESTS} at once (--api-max-requests)`,
        );
      }
      // Sign-in is an /ora request like the others.
      assert.equal(await signIn(), '');

      const time = await fetch(`${base}${SYSTEM_TIME}`, { headers: { cookie } });
      assert.equal(((await time.json()) as { responseCode: number }).responseCode, 2000);
      // getAPIVersion needs no sign-in and is never refused (docs/api.md "getAPIVersion"): signed in
      // or not, while every place is taken.
      for (const headers of [{ cookie }, {}]) {
        const version = await fetch(`${base}${API_VERSION}`, { headers });
        assert.equal(version.status, 200);
        const answer = (await version.json()) as { responseCode: number; responseBody?: unknown };
        assert.equal(answer.responseCode, 2000);
        assert.ok(answer.responseBody !== undefined, 'getAPIVersion answers its version');
      }
      const metrics = await fetch(`${base}/metrics`, { headers: { cookie } });
      assert.equal(metrics.status, 200);
      await metrics.text();
      assert.equal(gate.waiting, MAX_REQUESTS);

      gate.open();
      const answers = await Promise.all(held);
      const completed = answers.slice(hangUps.length) as { responseCode: number }[];
      assert.deepEqual(
        completed.map((a) => a.responseCode),
        new Array<number>(MAX_REQUESTS - hangUps.length).fill(2000),
      );
      // Every place was given back: a full set of requests is taken again.
      const again = await Promise.all(Array.from({ length: MAX_REQUESTS }, () => getSessions()));
      assert.ok(again.every((a) => a.responseCode === 2000));
      assert.notEqual(await signIn(), '');
    },
  );

  void it('gives the place of every refused or failed request back', { timeout: 60_000 }, async () => {
    gate.open();
    const ora = (path: string, init: RequestInit = {}): Promise<number> =>
      fetch(`${base}${path}`, init).then(
        async (r) => ((await r.json()) as { responseCode: number }).responseCode,
      );
    const kinds: [string, number, () => Promise<number>][] = [
      ['no session', 4021, () => ora(GET_SESSIONS, { method: 'POST', body: '{}' })],
      ['malformed JSON', 4000, () => ora(GET_SESSIONS, { method: 'POST', headers: { cookie }, body: '{' })],
      [
        'too deep',
        4000,
        () => ora(GET_SESSIONS, { method: 'POST', headers: { cookie }, body: '['.repeat(40) }),
      ],
      [
        'too large',
        4000,
        () => ora(GET_SESSIONS, { method: 'POST', headers: { cookie }, body: ' '.repeat(200_000) }),
      ],
      [
        'invalid query',
        4035,
        () => ora(GET_SESSIONS, { method: 'POST', headers: { cookie }, body: '{"requestParameters":[]}' }),
      ],
      ['unknown API', 4004, () => ora('/ora/nothing/here', { headers: { cookie } })],
      [
        'internal error',
        5000,
        () => ora('/ora/queryService/query/getSessionBySessionId?value=boom', { headers: { cookie } }),
      ],
    ];
    for (const [kind, expected, request] of kinds) {
      for (let i = 0; i <= MAX_REQUESTS; i++) {
        assert.equal(await request(), expected, kind);
      }
    }
    assert.equal((await getSessions()).responseCode, 2000);
  });
});
