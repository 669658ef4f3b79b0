import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROLE_PERMISSIONS, type Permission } from '../../src/api/permissions.js';
import { ROLES, type Role } from '../../src/model/user.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * Issue 10 point 6: every role is refused what it may not do, on every /ora call of a whole node.
 * The calls come from the node's own OpenAPI document, so a route any service adds later is walked
 * too. Users of every role are made through the API (addUser) and sign in; each call is made with
 * parameters that cannot succeed (an empty requestParameters, no query string): a role without the
 * permission must get 4022 naming the roles that have it, a role with it anything but 4022, and
 * nothing may change (an allowed call fails on its parameters or finds nothing).
 */

const PASSWORD = 'a long enough password';

interface Operation {
  operationId: string;
  'x-verbatim-permission': Permission;
}

let server: RunningServer;

describe('roles on every /ora call of a node', { timeout: 120_000 }, () => {
  serverForSuite('api-roles', {}, (suite) => {
    ({ server } = suite);
  });

  async function signIn(username: string): Promise<string> {
    const response = await fetch(`${server.baseUrl}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username, password: PASSWORD } }),
    });
    const cookie = /JSESSIONID=[0-9a-f]+/.exec(response.headers.get('set-cookie') ?? '')?.[0];
    assert.ok(cookie !== undefined, `${username} signs in`);
    await response.arrayBuffer();
    return cookie;
  }

  it('refuses each role, with 4022, every call its permissions do not allow', async () => {
    const cookies = new Map<Role, string>();
    for (const role of ROLES) {
      const added = await server.api('/ora/userService/user/addUser', {
        requestParameters: { username: `${role}-user`, role, password: PASSWORD },
      });
      assert.equal(added.responseCode, 2000, JSON.stringify(added));
      cookies.set(role, await signIn(`${role}-user`));
    }
    const document = (await (await fetch(`${server.baseUrl}/ora/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const refusals: string[] = [];
    const allowed: string[] = [];
    for (const [path, item] of Object.entries(document.paths)) {
      if (!path.startsWith('/ora/')) {
        continue;
      }
      for (const [method, op] of Object.entries(item)) {
        const permission = op['x-verbatim-permission'];
        // Public calls need no role; signOut would end the session the walk goes on with.
        if (permission === 'public' || op.operationId === 'signOut') {
          continue;
        }
        for (const role of ROLES) {
          const response = await fetch(`${server.baseUrl}${path}`, {
            method: method.toUpperCase(),
            headers: { cookie: cookies.get(role) ?? '' },
            ...(method === 'post' ? { body: JSON.stringify({ requestParameters: {} }) } : {}),
          });
          const envelope = (await response.json()) as { responseCode: number; detail?: string };
          const may = ROLE_PERMISSIONS[role].has(permission);
          if (may) {
            assert.notEqual(envelope.responseCode, 4022, `${role} may call ${op.operationId}`);
            allowed.push(`${role} ${op.operationId}`);
          } else {
            assert.equal(envelope.responseCode, 4022, `${role} may not call ${op.operationId}`);
            assert.match(envelope.detail ?? '', new RegExp(`^${op.operationId} needs one of the roles`));
            refusals.push(`${role} ${op.operationId}`);
          }
        }
      }
    }
    // What the walk covered: every service's calls, each role both refused and allowed some.
    for (const name of ['getSessions', 'pauseRecording', 'addUser', 'getAuditRecords']) {
      assert.ok(
        [...allowed, ...refusals].some((entry) => entry.endsWith(` ${name}`)),
        `${name} was walked`,
      );
    }
    for (const role of ['api', 'supervisor', 'auditor'] as const) {
      assert.ok(
        refusals.some((entry) => entry.startsWith(`${role} `)),
        `${role} was refused something`,
      );
    }
    // Each refusal is on the audit trail of the call it was refused.
    const audit = await server.api(
      '/ora/auditService/audit/getAuditRecords?username=supervisor-user&action=pauseRecording',
    );
    assert.equal(audit.responseCode, 2000, JSON.stringify(audit));
    const records = audit.responseBody?.records as { outcome: number }[];
    assert.deepEqual(
      records.map((r) => r.outcome),
      [4022],
    );
  });
});
