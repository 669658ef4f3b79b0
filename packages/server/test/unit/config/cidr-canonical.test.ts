import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { canonicalCidr } from '../../../src/config/cidr.js';

/** The blocks an admin types in Administration: one spelling stored, mistakes named. */
void describe('canonicalCidr', () => {
  void it('writes each block one way, with its prefix', () => {
    const cases: [string, string][] = [
      ['10.0.0.0/8', '10.0.0.0/8'],
      [' 192.168.1.0/24 ', '192.168.1.0/24'],
      ['127.0.0.1', '127.0.0.1/32'],
      ['::1', '::1/128'],
      ['2001:DB8::/32', '2001:db8::/32'],
      ['2001:0db8:0000:0000:0000:0000:0000:0000/32', '2001:db8::/32'],
      ['1:0:0:1:0:0:0:1/128', '1:0:0:1::1/128'],
      ['fe80::/10', 'fe80::/10'],
      ['::ffff:10.0.0.0/104', '::ffff:a00:0/104'],
    ];
    for (const [text, cidr] of cases) {
      assert.deepEqual(canonicalCidr(text), { ok: true, cidr }, text);
    }
  });

  void it('refuses what is no block, host bits set (naming the block meant) and /0', () => {
    const cases: [string, RegExp][] = [
      ['', /no CIDR block given/],
      ['10.0.0/8', /is not a CIDR block/],
      ['10.0.0.0/33', /is not a CIDR block/],
      ['010.0.0.0/8', /is not a CIDR block/],
      ['fe80::1%eth0/64', /is not a CIDR block/],
      ['10.1.2.3/8', /bits set after the first 8: the block is 10\.0\.0\.0\/8/],
      ['2001:db8::1/32', /the block is 2001:db8::\/32/],
      ['0.0.0.0/0', /every address/],
      ['::/0', /every address/],
    ];
    for (const [text, problem] of cases) {
      const result = canonicalCidr(text);
      assert.ok(!result.ok, text);
      assert.match(result.problem, problem, text);
    }
  });
});
