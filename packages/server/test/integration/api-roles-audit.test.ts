import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../src/api/passwords.js';
import { ROLE_PERMISSIONS } from '../../src/api/permissions.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import { ROLES, type Role } from '../../src/model/user.js';
import { sampleSession } from '../support/fake-repository.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';

/**
 * Roles, the audit trail, user management and the OpenAPI document, over a real socket against
 * the real SQLite repository. The role test walks every /ora operation the OpenAPI document lists
 * (so a route added later is covered without touching this file) with a user of every role.
 */

const PASSWORD = 'correct horse battery';
const T0 = 1_750_000_000_000;

interface Envelope {
  responseCode: number;
  responseMessage: string;
  responseBody?: Record<string, unknown>;
  detail?: string;
}

interface Operation {
  operationId: string;
  'x-verbatim-permission': string;
  'x-verbatim-audited': boolean;
}

void describe('roles, audit trail, users and OpenAPI (integration)', () => {
  let dir: string;
  let repository: Repository;
  let app: FastifyInstance;
  let base: string;
  const cookies = new Map<Role, string>();

  async function call(
    method: 'GET' | 'POST',
    path: string,
    options: { cookie?: string; body?: unknown } = {},
  ): Promise<{ status: number; envelope: Envelope; headers: Headers }> {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    return {
      status: response.status,
      envelope: (await response.json()) as Envelope,
      headers: response.headers,
    };
  }

  async function signIn(username: string, password = PASSWORD): Promise<string> {
    const { envelope, headers } = await call('POST', '/ora/authenticationService/authentication/signIn', {
      body: { requestParameters: { username, password } },
    });
    assert.equal(envelope.responseCode, 2000, `sign-in of ${username}: ${JSON.stringify(envelope)}`);
    const cookie = /JSESSIONID=[0-9a-f]+/.exec(headers.get('set-cookie') ?? '')?.[0];
    assert.ok(cookie !== undefined);
    return cookie;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-roles-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    for (const role of ROLES) {
      await repository.createUser({
        username: `${role}-user`,
        role,
        passwordHash: await hashPassword(PASSWORD),
        createdAt: T0,
      });
    }
    await repository.createSession(sampleSession({ sessionId: 'closed-1', sessionStartDate: T0 }));
    app = await buildTestHttpApi({ repository });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    for (const role of ROLES) {
      cookies.set(role, await signIn(`${role}-user`));
    }
  });

  after(async () => {
    await app.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function openApi(): Promise<{ paths: Record<string, Record<string, Operation>> }> {
    const response = await fetch(`${base}/ora/openapi.json`);
    assert.equal(response.status, 200);
    return (await response.json()) as { paths: Record<string, Record<string, Operation>> };
  }

  void it('serves a valid OpenAPI 3.1 document, without sign-in, naming every /ora call', async () => {
    const document = await openApi();
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify({ errors: result.errors }).slice(0, 2000));
    const names = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    for (const name of [
      'signIn',
      'signOut',
      'getSystemTime',
      'getAPIVersion',
      'getSessionBySessionId',
      'getAllActiveSessions',
      'getSessions',
      'listUsers',
      'addUser',
      'updateUser',
      'deleteUser',
      'getAuditRecords',
      'downloadWav',
      'exportRaw',
    ]) {
      assert.ok(names.includes(name), `${name} is documented`);
    }
    // Every documented /ora path exists: none answers "unknown API".
    for (const [path, item] of Object.entries(document.paths)) {
      for (const method of Object.keys(item)) {
        if (!path.startsWith('/ora/')) {
          continue;
        }
        const { status } = await call(method.toUpperCase() as 'GET' | 'POST', path, {
          body: method === 'post' ? {} : undefined,
        });
        assert.notEqual(status, 404, `${method} ${path}`);
      }
    }
  });

  void it('refuses every role what its permissions do not allow, on every /ora call, with 4022', async () => {
    const document = await openApi();
    let checked = 0;
    for (const [path, item] of Object.entries(document.paths)) {
      if (!path.startsWith('/ora/')) {
        continue;
      }
      for (const [method, op] of Object.entries(item)) {
        const permission = op['x-verbatim-permission'];
        if (permission === 'public' || op.operationId === 'signOut') {
          continue;
        }
        for (const role of ROLES) {
          const allowed = ROLE_PERMISSIONS[role].has(permission as never);
          // Parameters that cannot succeed: an allowed call fails on them (4001/4002/4041…) or
          // finds nothing, and changes nothing; a refused one is stopped at the role.
          const { envelope } = await call(method.toUpperCase() as 'GET' | 'POST', path, {
            cookie: cookies.get(role) ?? '',
            body: method === 'post' ? { requestParameters: {} } : undefined,
          });
          if (allowed) {
            assert.notEqual(envelope.responseCode, 4022, `${role} may call ${op.operationId}`);
          } else {
            assert.equal(envelope.responseCode, 4022, `${role} may not call ${op.operationId}`);
            assert.match(envelope.detail ?? '', new RegExp(`${op.operationId} needs one of the roles`));
          }
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 4 * 9, `checked ${checked} role/call pairs`);
  });

  void it('answers getAPIVersion without sign-in', async () => {
    const { envelope } = await call('GET', '/ora/infoService/info/getAPIVersion');
    assert.equal(envelope.responseCode, 2000);
    assert.deepEqual(
      { ...envelope.responseBody, productVersion: undefined },
      { apiVersion: '1.4', productName: 'Verbatim', productVersion: undefined },
    );
  });

  void it('checks parameters after the caller: 4021 first, then 4002 / 4001 naming the parameter', async () => {
    const addUser = '/ora/userService/user/addUser';
    assert.equal(
      (await call('POST', addUser, { body: { requestParameters: {} } })).envelope.responseCode,
      4021,
    );
    const admin = cookies.get('admin') ?? '';
    const missing = await call('POST', addUser, {
      cookie: admin,
      body: { requestParameters: { username: 'x1' } },
    });
    assert.equal(missing.envelope.responseCode, 4002);
    assert.match(missing.envelope.detail ?? '', /requestParameters\.role/);
    const badRole = await call('POST', addUser, {
      cookie: admin,
      body: { requestParameters: { username: 'x1', role: 'root', password: PASSWORD } },
    });
    assert.equal(badRole.envelope.responseCode, 4001);
    assert.match(badRole.envelope.detail ?? '', /requestParameters\.role/);
    // Parameter names match case-insensitively, as MediaSense's do.
    const mixedCase = await call('POST', addUser, {
      cookie: admin,
      body: { RequestParameters: { UserName: 'mixed.case', ROLE: 'auditor', Password: PASSWORD } },
    });
    assert.equal(mixedCase.envelope.responseCode, 2000, JSON.stringify(mixedCase.envelope));
    assert.equal((await repository.getUser('mixed.case'))?.role, 'auditor');
  });

  void it('manages users: add, change role and password, remove; the changes hold at once', async () => {
    const admin = cookies.get('admin') ?? '';
    const users = '/ora/userService/user';
    const add = await call('POST', `${users}/addUser`, {
      cookie: admin,
      body: { requestParameters: { username: 'carol', role: 'supervisor', password: PASSWORD } },
    });
    assert.equal(add.envelope.responseCode, 2000);
    const again = await call('POST', `${users}/addUser`, {
      cookie: admin,
      body: { requestParameters: { username: 'carol', role: 'supervisor', password: PASSWORD } },
    });
    assert.equal(again.envelope.responseCode, 4043);
    const carol = await signIn('carol');
    const listed = await call('GET', `${users}/listUsers`, { cookie: admin });
    const list = listed.envelope.responseBody?.users as {
      username: string;
      role: string;
      createdAt: number;
    }[];
    assert.deepEqual(
      list.map(({ username, role }) => ({ username, role })).find((u) => u.username === 'carol'),
      { username: 'carol', role: 'supervisor' },
    );
    assert.ok(!JSON.stringify(listed.envelope).includes('scrypt'), 'no password hash is ever sent');

    // A supervisor may not read the audit trail; made an auditor, the same session may.
    const audit = '/ora/auditService/audit/getAuditRecords';
    assert.equal((await call('GET', audit, { cookie: carol })).envelope.responseCode, 4022);
    const promote = await call('POST', `${users}/updateUser`, {
      cookie: admin,
      body: { requestParameters: { username: 'carol', role: 'auditor' } },
    });
    assert.equal(promote.envelope.responseCode, 2000);
    assert.equal((await call('GET', audit, { cookie: carol })).envelope.responseCode, 2000);

    const newPassword = await call('POST', `${users}/updateUser`, {
      cookie: admin,
      body: { requestParameters: { username: 'carol', password: 'another long password' } },
    });
    assert.equal(newPassword.envelope.responseCode, 2000);
    await signIn('carol', 'another long password');

    // An admin cannot remove or demote themself.
    const self = await call('POST', `${users}/deleteUser`, {
      cookie: admin,
      body: { requestParameters: { username: 'admin-user' } },
    });
    assert.equal(self.envelope.responseCode, 4042);
    const demote = await call('POST', `${users}/updateUser`, {
      cookie: admin,
      body: { requestParameters: { username: 'admin-user', role: 'api' } },
    });
    assert.equal(demote.envelope.responseCode, 4042);

    const removed = await call('POST', `${users}/deleteUser`, {
      cookie: admin,
      body: { requestParameters: { username: 'carol' } },
    });
    assert.equal(removed.envelope.responseCode, 2000);
    assert.equal(await repository.getUser('carol'), undefined);
    assert.equal(
      (await call('GET', audit, { cookie: carol })).envelope.responseCode,
      4021,
      'the removed user is signed out',
    );
    const gone = await call('POST', `${users}/deleteUser`, {
      cookie: admin,
      body: { requestParameters: { username: 'carol' } },
    });
    assert.equal(gone.envelope.responseCode, 4041);
  });

  void it('keeps an audit record of sign-ins, searches, downloads, user changes and refusals', async () => {
    const start = Date.now();
    await call('POST', '/ora/authenticationService/authentication/signIn', {
      body: { requestParameters: { username: 'api-user', password: 'wrong password' } },
    });
    const api = cookies.get('api') ?? '';
    await call('GET', '/ora/queryService/query/getSessionBySessionId?value=closed-1', { cookie: api });
    await call('POST', '/ora/queryService/query/getSessions', {
      cookie: api,
      body: {
        requestParameters: [
          {
            fieldName: 'sessionStartDate',
            fieldConditions: [{ fieldOperator: 'between', fieldValues: [0, T0 + 1] }],
          },
        ],
      },
    });
    const wav = await fetch(`${base}/recordedMedia/oramedia/wav/closed-1.wav`, { headers: { cookie: api } });
    await wav.arrayBuffer();
    await call('GET', '/ora/userService/user/listUsers', { cookie: api });

    const auditor = cookies.get('auditor') ?? '';
    const { envelope } = await call(
      'GET',
      `/ora/auditService/audit/getAuditRecords?minTime=${start}&limit=50`,
      {
        cookie: auditor,
      },
    );
    assert.equal(envelope.responseCode, 2000);
    const records = envelope.responseBody?.records as {
      id: number;
      at: number;
      username: string;
      role?: string;
      action: string;
      target?: string;
      outcome: number;
      source: string;
      detail?: Record<string, string>;
    }[];
    const find = (action: string, username: string) =>
      records.find((r) => r.action === action && r.username === username);
    const refused = find('signIn', 'api-user');
    assert.ok(refused !== undefined);
    assert.equal(refused.outcome, 4020);
    assert.equal(refused.role, undefined);
    assert.equal(refused.source, '127.0.0.1');
    assert.ok(refused.at >= start && refused.at <= Date.now());
    assert.equal(find('getSessionBySessionId', 'api-user')?.target, 'closed-1');
    assert.equal(find('getSessions', 'api-user')?.detail?.sessions, '1');
    const download = find('download:wav', 'api-user');
    assert.ok(download !== undefined);
    assert.equal(download.target, 'closed-1');
    assert.equal(download.outcome, 2000);
    assert.equal(find('listUsers', 'api-user'), undefined, 'listUsers is not audited');
    // The ids run newest first, and beforeId pages on.
    const ids = records.map((r) => r.id);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
    );
    const older = await call(
      'GET',
      `/ora/auditService/audit/getAuditRecords?beforeId=${ids.at(-1) ?? 0}&limit=5`,
      {
        cookie: auditor,
      },
    );
    for (const record of (older.envelope.responseBody?.records ?? []) as { id: number }[]) {
      assert.ok(record.id < (ids.at(-1) ?? 0));
    }
    // A refused role is on record too: the api user asked for the audit trail.
    await call('GET', '/ora/auditService/audit/getAuditRecords', { cookie: api });
    const mine = await call(
      'GET',
      '/ora/auditService/audit/getAuditRecords?username=api-user&action=getAuditRecords',
      {
        cookie: auditor,
      },
    );
    assert.equal((mine.envelope.responseBody?.records as { outcome: number }[])[0]?.outcome, 4022);
  });
});
