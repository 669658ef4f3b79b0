import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  buildCryptoAttribute,
  chooseCrypto,
  decodeBase64,
  encodeBase64,
  parseCryptoAttribute,
  type SdesCrypto,
} from '../../../../src/protocol/sdp/sdes.js';

// RFC 4568 §4 example key: 30 bytes of key and salt.
const RFC_KEY = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz';
const RFC_KEY_BYTES = Uint8Array.from(atob(RFC_KEY), (c) => c.charCodeAt(0));

function parsed(value: string): SdesCrypto {
  const result = parseCryptoAttribute(value);
  assert.ok(result.ok, result.ok ? '' : `${result.error.code}: ${result.error.message}`);
  return result.value;
}

function errorCode(value: string): string {
  const result = parseCryptoAttribute(value);
  if (result.ok) {
    assert.fail(`expected an error for ${value}`);
  }
  return result.error.code;
}

void describe('parseCryptoAttribute', () => {
  void it('reads tag, suite, master key and salt of the RFC 4568 example', () => {
    const crypto = parsed(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:4`);
    assert.equal(crypto.tag, 1);
    assert.equal(crypto.suite, 'AES_CM_128_HMAC_SHA1_80');
    assert.deepEqual(crypto.masterKey, RFC_KEY_BYTES.slice(0, 16));
    assert.deepEqual(crypto.masterSalt, RFC_KEY_BYTES.slice(16));
    assert.equal(crypto.lifetimePackets, 2 ** 20);
    assert.deepEqual(crypto.mki, Uint8Array.from([0, 0, 0, 1]));
  });

  void it('reads the _32 suite without lifetime or MKI, and tolerates extra blanks', () => {
    const crypto = parsed(`  42\tAES_CM_128_HMAC_SHA1_32   inline:${RFC_KEY}  `);
    assert.equal(crypto.tag, 42);
    assert.equal(crypto.suite, 'AES_CM_128_HMAC_SHA1_32');
    assert.equal(crypto.lifetimePackets, undefined);
    assert.equal(crypto.mki, undefined);
  });

  void it('reads a decimal lifetime, an MKI without lifetime, and accepted session parameters', () => {
    assert.equal(parsed(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|1048576`).lifetimePackets, 1048576);
    assert.deepEqual(
      parsed(`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|258:2`).mki,
      Uint8Array.from([1, 2]),
    );
    const withParams = parsed(`3 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} KDR=0 UNENCRYPTED_SRTCP WSH=128`);
    assert.equal(withParams.tag, 3);
  });

  void it('returns a typed error for each malformed or unusable attribute', () => {
    const cases: [string, string][] = [
      ['', 'VERBATIM_ERR_SDES_SYNTAX'],
      ['1 AES_CM_128_HMAC_SHA1_80', 'VERBATIM_ERR_SDES_SYNTAX'],
      [`x AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`, 'VERBATIM_ERR_SDES_SYNTAX'],
      [`1234567890 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`, 'VERBATIM_ERR_SDES_SYNTAX'],
      [`1 F8_128_HMAC_SHA1_80 inline:${RFC_KEY}`, 'VERBATIM_ERR_SDES_UNSUPPORTED_SUITE'],
      [`1 AEAD_AES_256_GCM inline:${RFC_KEY}`, 'VERBATIM_ERR_SDES_UNSUPPORTED_SUITE'],
      [`1 AES_CM_128_HMAC_SHA1_80 uri:${RFC_KEY}`, 'VERBATIM_ERR_SDES_KEY_METHOD'],
      [`1 AES_CM_128_HMAC_SHA1_80 ${RFC_KEY}`, 'VERBATIM_ERR_SDES_KEY_METHOD'],
      ['1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9', 'VERBATIM_ERR_SDES_KEY'],
      ['1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGV*', 'VERBATIM_ERR_SDES_KEY'],
      ['1 AES_CM_128_HMAC_SHA1_80 inline:', 'VERBATIM_ERR_SDES_KEY'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^49`, 'VERBATIM_ERR_SDES_LIFETIME'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|forever`, 'VERBATIM_ERR_SDES_LIFETIME'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:0`, 'VERBATIM_ERR_SDES_MKI'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|256:1`, 'VERBATIM_ERR_SDES_MKI'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:129`, 'VERBATIM_ERR_SDES_MKI'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|2^20`, 'VERBATIM_ERR_SDES_MKI'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:4|x`, 'VERBATIM_ERR_SDES_SYNTAX'],
      [
        `1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}|2^20|1:4;inline:${RFC_KEY}|2^20|2:4`,
        'VERBATIM_ERR_SDES_MULTIPLE_KEYS',
      ],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} KDR=10`, 'VERBATIM_ERR_SDES_SESSION_PARAM'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} UNENCRYPTED_SRTP`, 'VERBATIM_ERR_SDES_SESSION_PARAM'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} UNAUTHENTICATED_SRTP`, 'VERBATIM_ERR_SDES_SESSION_PARAM'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} FEC_ORDER=FEC_SRTP`, 'VERBATIM_ERR_SDES_SESSION_PARAM'],
      [`1 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY} ${'x'.repeat(5000)}`, 'VERBATIM_ERR_SDES_SYNTAX'],
    ];
    for (const [value, code] of cases) {
      assert.equal(errorCode(value), code, value.slice(0, 80));
    }
  });
});

void describe('chooseCrypto', () => {
  void it('takes the first usable attribute in offer order', () => {
    const chosen = chooseCrypto([
      `1 AES_256_CM_HMAC_SHA1_80 inline:${RFC_KEY}`,
      `2 AES_CM_128_HMAC_SHA1_32 inline:${RFC_KEY}`,
      `3 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`,
    ]);
    assert.ok(chosen.ok);
    assert.equal(chosen.value.tag, 2);
    assert.equal(chosen.value.suite, 'AES_CM_128_HMAC_SHA1_32');
  });

  void it('reports every reason when none is usable, and an empty offer', () => {
    const none = chooseCrypto([
      `1 F8_128_HMAC_SHA1_80 inline:${RFC_KEY}`,
      '2 AES_CM_128_HMAC_SHA1_80 inline:abc',
    ]);
    assert.ok(!none.ok);
    assert.equal(none.error.code, 'VERBATIM_ERR_SDES_NONE_USABLE');
    assert.match(none.error.message, /UNSUPPORTED_SUITE.*SDES_KEY/);
    const empty = chooseCrypto([]);
    assert.ok(!empty.ok);
    assert.equal(empty.error.code, 'VERBATIM_ERR_SDES_NONE_USABLE');
  });
});

void describe('buildCryptoAttribute', () => {
  void it('formats a value that parses back to the same key', () => {
    const value = buildCryptoAttribute(7, 'AES_CM_128_HMAC_SHA1_80', RFC_KEY_BYTES);
    assert.equal(value, `7 AES_CM_128_HMAC_SHA1_80 inline:${RFC_KEY}`);
    const back = parsed(value);
    assert.deepEqual([...back.masterKey, ...back.masterSalt], [...RFC_KEY_BYTES]);
  });

  void it('refuses a key of the wrong size or a tag of more than 9 digits', () => {
    assert.throws(() => buildCryptoAttribute(1, 'AES_CM_128_HMAC_SHA1_32', new Uint8Array(16)), RangeError);
    assert.throws(
      () => buildCryptoAttribute(1_000_000_000, 'AES_CM_128_HMAC_SHA1_32', RFC_KEY_BYTES),
      RangeError,
    );
  });
});

void describe('base64', () => {
  void it('agrees with the platform codec for every length, padded or not', () => {
    for (let length = 0; length < 40; length++) {
      const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 0xff);
      const text = Buffer.from(bytes).toString('base64');
      assert.equal(encodeBase64(bytes), text);
      assert.deepEqual(decodeBase64(text), bytes);
      assert.deepEqual(decodeBase64(text.replace(/=+$/, '')), bytes);
    }
  });

  void it('rejects foreign characters, misplaced padding and impossible lengths', () => {
    for (const bad of ['A', 'AB=C', 'AB==CD==', 'AB-_', 'ABCDE', 'AB=', 'AB\u00e9C']) {
      assert.equal(decodeBase64(bad), undefined, bad);
    }
  });
});
