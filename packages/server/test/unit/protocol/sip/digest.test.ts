import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DigestErrorCode,
  digestAuthorization,
  digestResponse,
  parseDigestChallenge,
  type DigestHash,
} from '../../../../src/protocol/sip/digest.js';
import { expectErr, expectOk } from '../../../support/result-asserts.js';

const hash: DigestHash = (algorithm, text) =>
  createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text, 'utf8')
    .digest('hex');

/** RFC 2617 §3.5, https://www.rfc-editor.org/rfc/rfc2617#section-3.5 */
const RFC2617_CHALLENGE =
  'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
const MUFASA = { username: 'Mufasa', password: 'Circle Of Life' };
const RFC2617_REQUEST = { method: 'GET', uri: '/dir/index.html' };
const RFC2617_USE = { cnonce: '0a4f113b', nonceCount: 1 };

void describe('parseDigestChallenge', () => {
  void it('reads the RFC 2617 §3.5 challenge', () => {
    const challenge = expectOk(parseDigestChallenge(RFC2617_CHALLENGE));
    assert.deepEqual(challenge, {
      realm: 'testrealm@host.com',
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      opaque: '5ccc069c403ebaf9f0171e9517f40e41',
      algorithm: 'MD5',
      qop: 'auth',
      stale: false,
    });
  });

  void it('reads names in any case, token values, stale and an algorithm', () => {
    const challenge = expectOk(
      parseDigestChallenge(
        'digest REALM="asterisk",Nonce="1a2b" , algorithm=md5, stale=TRUE, domain="sip:x"',
      ),
    );
    assert.equal(challenge.realm, 'asterisk');
    assert.equal(challenge.nonce, '1a2b');
    assert.equal(challenge.algorithm, 'MD5');
    assert.equal(challenge.stale, true);
    assert.equal(challenge.qop, undefined);
  });

  void it('refuses what cannot be answered, with a code', () => {
    expectErr(parseDigestChallenge('Basic realm="x"'), DigestErrorCode.Syntax);
    expectErr(parseDigestChallenge('Digest realm="x"'), DigestErrorCode.Missing);
    expectErr(parseDigestChallenge('Digest nonce="x"'), DigestErrorCode.Missing);
    expectErr(
      parseDigestChallenge('Digest realm="x", nonce="y", algorithm=AKAv1-MD5'),
      DigestErrorCode.Unsupported,
    );
    expectErr(
      parseDigestChallenge('Digest realm="x", nonce="y", qop="auth-int"'),
      DigestErrorCode.Unsupported,
    );
    expectErr(parseDigestChallenge('Digest realm="x" nonce="y"'), DigestErrorCode.Syntax);
    expectErr(parseDigestChallenge('Digest realm="x, nonce=y'), DigestErrorCode.Syntax);
    expectErr(parseDigestChallenge(`Digest realm="${'a'.repeat(5000)}", nonce="y"`), DigestErrorCode.Syntax);
  });
});

void describe('digestResponse', () => {
  void it('computes the RFC 2617 §3.5 worked example', () => {
    const challenge = expectOk(parseDigestChallenge(RFC2617_CHALLENGE));
    assert.equal(
      digestResponse(challenge, MUFASA, RFC2617_REQUEST, RFC2617_USE, hash),
      '6629fae49393a05397450978507c4ef1',
    );
  });

  void it('writes the RFC 2617 §3.5 Authorization parameters', () => {
    const challenge = expectOk(parseDigestChallenge(RFC2617_CHALLENGE));
    const value = digestAuthorization(challenge, MUFASA, RFC2617_REQUEST, RFC2617_USE, hash);
    assert.equal(
      value,
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001, opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    );
  });

  void it('computes the RFC 2069 form without qop (HA1:nonce:HA2)', () => {
    const challenge = expectOk(parseDigestChallenge('Digest realm="testrealm@host.com", nonce="abc"'));
    const ha1 = hash('MD5', 'Mufasa:testrealm@host.com:Circle Of Life');
    const ha2 = hash('MD5', 'INVITE:sip:1000@10.0.0.5');
    assert.equal(
      digestResponse(challenge, MUFASA, { method: 'INVITE', uri: 'sip:1000@10.0.0.5' }, RFC2617_USE, hash),
      hash('MD5', `${ha1}:abc:${ha2}`),
    );
  });

  void it('computes the RFC 7616 §3.9.1 SHA-256 example', () => {
    const challenge = expectOk(
      parseDigestChallenge(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
      ),
    );
    assert.equal(
      digestResponse(
        challenge,
        // RFC 7616 spells the password with a lower-case "of".
        { username: 'Mufasa', password: 'Circle of Life' },
        { method: 'GET', uri: '/dir/index.html' },
        { cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ', nonceCount: 1 },
        hash,
      ),
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    );
  });
});
