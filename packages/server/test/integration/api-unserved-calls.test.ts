import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { jobRoutes } from '../../src/api/job-routes.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import { DeletionJobRunner } from '../../src/storage/deletion-jobs.js';
import { sampleSession } from '../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../support/http-api-harness.js';

/**
 * The calls the reference names but no MediaSense source shows (getSessionsByXRefCi,
 * getSessionsByCCID, a singular deleteSession): Verbatim does not serve them, and answers them as
 * any unknown /ora path, HTTP 404 with 4004, signed in or not (docs/api.md "getSessionsByXRefCi and
 * getSessionsByCCID: not served" and "deleteSession (singular): not served"). Nothing is deleted by
 * a singular deleteSession.
 */

const UNSERVED = [
  ['GET', '/ora/queryService/query/getSessionsByXRefCi?value=16000000'],
  ['GET', '/ora/queryService/query/getSessionsByCCID?value=12345'],
  ['POST', '/ora/queryService/query/getSessionsByXRefCi'],
  ['POST', '/ora/queryService/query/getSessionsByCCID'],
  ['POST', '/ora/managementService/manage/deleteSession'],
] as const;

void describe('calls Verbatim does not serve (integration)', () => {
  let dir: string;
  let repository: Repository;
  let runner: DeletionJobRunner;
  let app: FastifyInstance;
  let base: string;
  let cookie: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-unserved-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    await addApiUser(repository, 'api', 'pw');
    await repository.createSession(sampleSession({ sessionId: 'kept-1' }));
    runner = new DeletionJobRunner({
      store: repository,
      mediaDir: dir,
      events: { publish: () => undefined },
      logger: pino({ level: 'silent' }),
    });
    runner.start();
    // With the deletion routes, so that deleteSessions exists and deleteSession still does not.
    app = await buildTestHttpApi({
      repository,
      extraRoutes: [(deps) => jobRoutes({ jobs: runner, now: deps.now })],
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    const signIn = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username: 'api', password: 'pw' } }),
    });
    cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.match(cookie, /^JSESSIONID=/);
  });

  after(async () => {
    await app.close();
    await runner.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('answers HTTP 404 with the 4004 envelope naming the path, signed in or not', async () => {
    for (const [method, url] of UNSERVED) {
      const path = url.split('?')[0];
      for (const headers of [{ cookie }, {}]) {
        const response = await fetch(`${base}${url}`, {
          method,
          headers,
          ...(method === 'POST'
            ? { body: JSON.stringify({ requestParameters: { sessionId: 'kept-1' } }) }
            : {}),
        });
        assert.equal(response.status, 404, `${method} ${url}`);
        assert.deepEqual(await response.json(), {
          responseCode: 4004,
          responseMessage: 'Failure: Unknown API.',
          detail: `no API at ${method} ${path}`,
        });
      }
    }
    assert.equal((await repository.getSession('kept-1'))?.sessionState, 'CLOSED_NORMAL');
  });
});
