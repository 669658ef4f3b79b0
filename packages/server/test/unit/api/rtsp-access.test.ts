import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { digestHa1 } from '../../../src/api/digest-ha1.js';
import { hashPassword } from '../../../src/api/passwords.js';
import { ApiRtspAccess } from '../../../src/api/rtsp-access.js';
import type { AuditEntry } from '../../../src/api/audit-trail.js';
import type { User } from '../../../src/model/user.js';
import type { RtspAccessDecision, RtspAccessRequest } from '../../../src/playback/rtsp/rtsp-access.js';

const PASSWORD = 'the-password-1';
const URI = 'rtsp://127.0.0.1:8554/archive/s1';
const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

async function setUp(withHa1 = true): Promise<{
  access: ApiRtspAccess;
  users: Map<string, User>;
  audits: AuditEntry[];
  clock: { now: number };
  lookups: { count: number };
}> {
  const users = new Map<string, User>();
  users.set('ann', {
    username: 'ann',
    role: 'supervisor',
    passwordHash: await hashPassword(PASSWORD),
    ...(withHa1 ? { digestHa1: digestHa1('ann', PASSWORD) } : {}),
    createdAt: 0,
  });
  const audits: AuditEntry[] = [];
  const clock = { now: 1_700_000_000_000 };
  const lookups = { count: 0 };
  const access = new ApiRtspAccess({
    repository: {
      getUser: (name) => {
        lookups.count++;
        return Promise.resolve(users.get(name));
      },
      updateUser: (name, patch) => {
        const user = users.get(name);
        if (user !== undefined) {
          users.set(name, { ...user, ...patch });
        }
        return Promise.resolve(user !== undefined);
      },
    },
    mediaTokens: {
      verify: (token, sessionId) =>
        Promise.resolve(
          token === 't1' && sessionId === 's1'
            ? { username: 'ann', role: 'supervisor', via: 'token' }
            : undefined,
        ),
    },
    audit: {
      record: (entry) => {
        audits.push(entry);
        return Promise.resolve();
      },
    },
    now: () => clock.now,
  });
  return { access, users, audits, clock, lookups };
}

function request(extra: Partial<RtspAccessRequest>): RtspAccessRequest {
  return { method: 'DESCRIBE', uri: URI, sessionId: 's1', source: '192.0.2.7', ...extra };
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The Digest answer a client computes to the challenge of a 401. */
function digestAnswer(decision: RtspAccessDecision, password: string, method = 'DESCRIBE'): string {
  assert.ok(decision.kind === 'unauthorized', `expected a 401, got ${decision.kind}`);
  const challenge = decision.challenges[1] ?? '';
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? '';
  const ha1 = md5(`ann:Verbatim:${password}`);
  const ha2 = md5(`${method}:${URI}`);
  const response = md5(`${ha1}:${nonce}:00000001:abcdef:auth:${ha2}`);
  return `Digest username="ann", realm="Verbatim", nonce="${nonce}", uri="${URI}", response="${response}", qop=auth, nc=00000001, cnonce="abcdef"`;
}

void describe('RTSP access: Basic, Digest and media tokens', () => {
  void it('challenges with Basic then Digest when there are no credentials', async () => {
    const { access } = await setUp();
    const decision = await access.authorize(request({}));
    assert.ok(decision.kind === 'unauthorized');
    assert.equal(decision.challenges[0], 'Basic realm="Verbatim"');
    assert.match(
      decision.challenges[1] ?? '',
      /^Digest realm="Verbatim", nonce="[0-9a-z]+\.[\w-]+", algorithm=MD5, qop="auth"$/,
    );
  });

  void it('accepts Basic, refuses a wrong password, and stores HA1 for a user who had none', async () => {
    const { access, users } = await setUp(false);
    assert.equal(
      (await access.authorize(request({ authorization: basic('ann', 'wrong-one') }))).kind,
      'unauthorized',
    );
    assert.equal(
      (await access.authorize(request({ authorization: basic('bob', PASSWORD) }))).kind,
      'unauthorized',
    );
    const allowed = await access.authorize(request({ authorization: basic('ann', PASSWORD) }));
    assert.deepEqual(allowed, {
      kind: 'allowed',
      user: { username: 'ann', role: 'supervisor', via: 'basic' },
    });
    assert.equal(users.get('ann')?.digestHa1, digestHa1('ann', PASSWORD));
  });

  void it('accepts a Digest response computed from the password, with and without qop', async () => {
    const { access } = await setUp();
    const challenge = await access.authorize(request({}));
    const allowed = await access.authorize(request({ authorization: digestAnswer(challenge, PASSWORD) }));
    assert.deepEqual(allowed, {
      kind: 'allowed',
      user: { username: 'ann', role: 'supervisor', via: 'digest' },
    });
    assert.equal(
      (await access.authorize(request({ authorization: digestAnswer(challenge, 'wrong-one') }))).kind,
      'unauthorized',
    );
    // RFC 2069 style (GStreamer): no qop, nc or cnonce.
    const nonce = /nonce="([^"]+)"/.exec(
      challenge.kind === 'unauthorized' ? (challenge.challenges[1] ?? '') : '',
    )?.[1];
    const response = md5(`${digestHa1('ann', PASSWORD)}:${nonce}:${md5(`DESCRIBE:${URI}`)}`);
    const plain = `Digest username="ann", realm="Verbatim", nonce="${nonce}", uri="${URI}", response="${response}"`;
    assert.equal((await access.authorize(request({ authorization: plain }))).kind, 'allowed');
    // The response covers the method and URI: replayed on another request it fails.
    assert.equal(
      (await access.authorize(request({ method: 'SETUP', authorization: digestAnswer(challenge, PASSWORD) })))
        .kind,
      'unauthorized',
    );
  });

  void it('answers an old nonce with stale=true, and refuses a nonce it did not issue', async () => {
    const { access, clock } = await setUp();
    const challenge = await access.authorize(request({}));
    const answer = digestAnswer(challenge, PASSWORD);
    clock.now += 11 * 60_000;
    const stale = await access.authorize(request({ authorization: answer }));
    assert.ok(stale.kind === 'unauthorized');
    assert.match(stale.challenges[1] ?? '', /, stale=true$/);
    const forged = answer.replace(/nonce="[^"]+"/, 'nonce="abc.def"');
    const refused = await access.authorize(request({ authorization: forged }));
    assert.ok(refused.kind === 'unauthorized');
    assert.doesNotMatch(refused.challenges[1] ?? '', /stale/);
  });

  void it('refuses Digest for a user without HA1 (password set before migration 0012)', async () => {
    const { access } = await setUp(false);
    const challenge = await access.authorize(request({}));
    assert.equal(
      (await access.authorize(request({ authorization: digestAnswer(challenge, PASSWORD) }))).kind,
      'unauthorized',
    );
  });

  void it('accepts a media token for its own session only', async () => {
    const { access } = await setUp();
    assert.deepEqual(await access.authorize(request({ token: 't1' })), {
      kind: 'allowed',
      user: { username: 'ann', role: 'supervisor', via: 'token' },
    });
    assert.equal((await access.authorize(request({ token: 't1', sessionId: 's2' }))).kind, 'unauthorized');
  });

  void it('runs at most two password checks at once, queues eight, and answers busy beyond', async () => {
    const { access, lookups } = await setUp();
    const decisions = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        access.authorize(request({ authorization: basic('ann', `guess-${i}`) })),
      ),
    );
    assert.deepEqual(
      decisions.map((d) => d.kind),
      [...Array<string>(10).fill('unauthorized'), 'busy', 'busy'],
    );
    // Proved credentials are remembered: the same header again costs no scrypt run.
    assert.equal(
      (await access.authorize(request({ authorization: basic('ann', PASSWORD) }))).kind,
      'allowed',
    );
    const checked = lookups.count;
    assert.equal(
      (await access.authorize(request({ authorization: basic('ann', PASSWORD) }))).kind,
      'allowed',
    );
    assert.equal(lookups.count, checked, 'a remembered credential is not checked again');
  });

  void it('audits a playback with how the user proved who they are', async () => {
    const { access, audits } = await setUp();
    await access.played({
      user: { username: 'ann', role: 'supervisor', via: 'digest' },
      sessionId: 's1',
      what: 'archive-mix',
      source: '192.0.2.7',
      found: true,
    });
    assert.deepEqual(audits, [
      {
        username: 'ann',
        role: 'supervisor',
        action: 'rtsp:archive-mix',
        target: 's1',
        outcome: 2000,
        source: '192.0.2.7',
        detail: { via: 'digest' },
      },
    ]);
  });
});
