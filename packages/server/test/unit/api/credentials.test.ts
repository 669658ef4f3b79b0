import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { basicCredentials, sessionCookie, sessionIdCandidates } from '../../../src/api/credentials.js';

void describe('credentials', () => {
  void it('finds JSESSIONID among other cookies and in a bare header, cookie first', () => {
    assert.deepEqual(
      sessionIdCandidates({ cookie: 'theme=dark; JSESSIONID=abc123; other=1', jsessionid: ' def456 ' }),
      ['abc123', 'def456'],
    );
  });

  void it('accepts a quoted cookie value and several JSESSIONID cookies', () => {
    assert.deepEqual(sessionIdCandidates({ cookie: 'JSESSIONID="q1"; jsessionid=q2' }), ['q1', 'q2']);
  });

  void it('ignores empty and oversized values', () => {
    assert.deepEqual(sessionIdCandidates({ cookie: 'JSESSIONID=; x=y', jsessionid: 'a'.repeat(200) }), []);
    assert.deepEqual(sessionIdCandidates({}), []);
  });

  void it('decodes HTTP Basic credentials (RFC 7617), splitting at the first colon', () => {
    const header = `Basic ${Buffer.from('alice:pa:ss').toString('base64')}`;
    assert.deepEqual(basicCredentials({ authorization: header }), { username: 'alice', password: 'pa:ss' });
    assert.deepEqual(basicCredentials({ authorization: `basic ${Buffer.from('bob:').toString('base64')}` }), {
      username: 'bob',
      password: '',
    });
  });

  for (const authorization of [
    'Bearer abc',
    'Basic',
    'Basic !!!',
    `Basic ${Buffer.from('nocolon').toString('base64')}`,
    `Basic ${Buffer.from(':pw').toString('base64')}`,
  ]) {
    void it(`rejects the Authorization header ${JSON.stringify(authorization)}`, () => {
      assert.equal(basicCredentials({ authorization }), undefined);
    });
  }

  void it('marks the cookie Secure only under TLS', () => {
    assert.equal(sessionCookie('ab', false), 'JSESSIONID=ab; Path=/; HttpOnly');
    assert.equal(sessionCookie('ab', true), 'JSESSIONID=ab; Path=/; HttpOnly; Secure');
  });
});
