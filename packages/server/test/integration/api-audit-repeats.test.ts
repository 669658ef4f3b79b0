import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { AUDIT_REPEAT_WINDOW_MS } from '../../src/api/ora-registrar.js';
import { addApiUser, buildTestHttpApi } from '../support/http-api-harness.js';
import { FakeRepository, sampleSession } from '../support/fake-repository.js';

/**
 * A polled read is audited when what it shows changes (docs/api.md "Audit trail"): Search and
 * Play asks getAllActiveSessions every 2 s, and the same answer to the same API session is
 * recorded once per AUDIT_REPEAT_WINDOW_MS, not on every poll. A changed answer, another API
 * session, or the end of the window gives a new record. Over a real socket.
 */

const ACTIVE = '/ora/queryService/query/getAllActiveSessions';

void describe('audit records of a polled read (integration)', () => {
  const repository = new FakeRepository();
  let clock = 1_800_000_000_000;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    await addApiUser(repository, 'poller', 'pw');
    await repository.createSession(sampleSession({ sessionId: 'aaaa000000000001', sessionState: 'ACTIVE' }));
    app = await buildTestHttpApi({ repository, now: () => clock });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app.close();
  });

  async function signIn(): Promise<string> {
    const response = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username: 'poller', password: 'pw' } }),
    });
    await response.arrayBuffer();
    return /JSESSIONID=[0-9a-f]+/.exec(response.headers.get('set-cookie') ?? '')?.[0] ?? '';
  }

  async function poll(cookie: string): Promise<void> {
    const response = await fetch(`${base}${ACTIVE}`, { headers: { cookie } });
    assert.equal(((await response.json()) as { responseCode: number }).responseCode, 2000);
  }

  const records = () => repository.audit.filter((r) => r.action === 'getAllActiveSessions').length;

  void it('records the first poll, not its repeats, then each change, each API session and each window', async () => {
    const page = await signIn();
    for (let i = 0; i < 5; i++) {
      await poll(page);
      clock += 2_000;
    }
    assert.equal(records(), 1, 'five polls with the same answer: one record');

    await repository.createSession(
      sampleSession({ sessionId: 'aaaa000000000002', sessionState: 'ACTIVE', sessionStartDate: clock }),
    );
    await poll(page);
    await poll(page);
    assert.equal(records(), 2, 'a new call in the answer: recorded at once, once');

    const otherPage = await signIn();
    await poll(otherPage);
    assert.equal(records(), 3, 'another API session (another tab, another user): its own record');

    clock += AUDIT_REPEAT_WINDOW_MS;
    await poll(page);
    assert.equal(records(), 4, 'the same answer after the window: recorded again');
  });
});
