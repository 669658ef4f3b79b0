import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../src/api/passwords.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import { ROLES, type Role } from '../../src/model/user.js';
import { zeroCounters } from '../../src/recording/live-session.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';

/**
 * `GET /metrics` and the roles (docs/api.md "Roles", the `metrics` row): admin and api scrape it,
 * supervisor and auditor get HTTP 403 with the 4022 envelope naming the roles that may, whether
 * they come with a session cookie or HTTP Basic (what Prometheus sends). Over a real socket,
 * against the real SQLite repository.
 */

const PASSWORD = 'correct horse battery';
const SIGN_IN = '/ora/authenticationService/authentication/signIn';
const ALLOWED: readonly Role[] = ['admin', 'api'];

void describe('/metrics and the roles (integration)', () => {
  let dir: string;
  let repository: Repository;
  let app: FastifyInstance;
  let base: string;
  const cookies = new Map<Role, string>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-metrics-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    for (const role of ROLES) {
      await repository.createUser({
        username: `${role}-user`,
        role,
        passwordHash: await hashPassword(PASSWORD),
        createdAt: 0,
      });
    }
    app = await buildTestHttpApi({
      repository,
      metrics: {
        recordingCounters: zeroCounters,
        activeSessions: () => 0,
        admission: () => ({ level: 'open', refusals: {}, entered: [] }),
        mediaCounters: () => undefined,
      },
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    for (const role of ROLES) {
      const response = await fetch(`${base}${SIGN_IN}`, {
        method: 'POST',
        body: JSON.stringify({ requestParameters: { username: `${role}-user`, password: PASSWORD } }),
      });
      const cookie = /JSESSIONID=[0-9a-f]+/.exec(response.headers.get('set-cookie') ?? '')?.[0];
      await response.arrayBuffer();
      assert.ok(cookie !== undefined, `${role} signs in`);
      cookies.set(role, cookie);
    }
  });

  after(async () => {
    await app.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  function credentials(role: Role): Record<string, Record<string, string>> {
    return {
      'session cookie': { cookie: cookies.get(role) ?? '' },
      'HTTP Basic': {
        authorization: `Basic ${Buffer.from(`${role}-user:${PASSWORD}`).toString('base64')}`,
      },
    };
  }

  for (const role of ROLES) {
    if (ALLOWED.includes(role)) {
      void it(`serves the Prometheus text to ${role}`, async () => {
        for (const [how, headers] of Object.entries(credentials(role))) {
          const response = await fetch(`${base}/metrics`, { headers });
          assert.equal(response.status, 200, how);
          assert.match(response.headers.get('content-type') ?? '', /^text\/plain/, how);
          const text = await response.text();
          assert.match(text, /^# HELP /m, how);
          assert.match(text, /^verbatim_/m, how);
        }
      });
    } else {
      void it(`refuses ${role} with 403 and the 4022 envelope`, async () => {
        for (const [how, headers] of Object.entries(credentials(role))) {
          const response = await fetch(`${base}/metrics`, { headers });
          assert.equal(response.status, 403, how);
          assert.match(response.headers.get('content-type') ?? '', /^application\/json/, how);
          assert.deepEqual(
            await response.json(),
            {
              responseCode: 4022,
              responseMessage: 'Failure: Your role does not permit this request.',
              detail: '/metrics needs one of the roles admin, api',
            },
            how,
          );
        }
      });
    }
  }

  void it('puts each role refusal of /metrics on the audit trail (docs/api.md "Roles")', async () => {
    const since = Date.now();
    for (const role of ROLES.filter((r) => !ALLOWED.includes(r))) {
      for (const headers of Object.values(credentials(role))) {
        await (await fetch(`${base}/metrics`, { headers })).arrayBuffer();
      }
    }
    // A scrape that is allowed is not an action worth a record (Prometheus scrapes every 15 s).
    await (await fetch(`${base}/metrics`, { headers: { cookie: cookies.get('admin') ?? '' } })).text();
    const response = await fetch(
      `${base}/ora/auditService/audit/getAuditRecords?action=metrics&minTime=${since}&limit=100`,
      { headers: { cookie: cookies.get('auditor') ?? '' } },
    );
    const body = (await response.json()) as {
      responseCode: number;
      responseBody?: { records: { username: string; role: string; outcome: number; source: string }[] };
    };
    assert.equal(body.responseCode, 2000, JSON.stringify(body));
    assert.deepEqual(
      (body.responseBody?.records ?? [])
        .map((r) => `${r.username} ${r.role} ${r.outcome} ${r.source}`)
        .sort(),
      [
        'auditor-user auditor 4022 127.0.0.1',
        'auditor-user auditor 4022 127.0.0.1',
        'supervisor-user supervisor 4022 127.0.0.1',
        'supervisor-user supervisor 4022 127.0.0.1',
      ],
    );
  });

  void it('asks for credentials (401, 4021) without any', async () => {
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Basic realm="Verbatim"');
    assert.equal(((await response.json()) as { responseCode: number }).responseCode, 4021);
  });
});
