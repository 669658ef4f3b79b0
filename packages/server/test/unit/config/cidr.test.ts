import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  familyOf,
  isIpAddress,
  isTrustedAddress,
  isWildcardAddress,
  parseCidr,
} from '../../../src/config/cidr.js';
import { DEFAULT_TRUSTED_PEERS } from '../../../src/config/options.js';

void describe('IPv4 addresses', () => {
  void it('reads dotted quads', () => {
    for (const good of ['10.0.0.1', '255.255.255.255', '0.0.0.0']) {
      assert.equal(familyOf(good), 'ipv4', good);
    }
    assert.equal(isTrustedAddress(['10.0.0.1'], '10.0.0.1'), true);
    assert.equal(isTrustedAddress(['255.255.255.255'], '255.255.255.255'), true);
  });

  void it('rejects short, long, out-of-range and octal-looking forms', () => {
    for (const bad of [
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.1',
      '01.2.3.4',
      '1.2.3.-4',
      '1..2.3',
      '',
      'a.b.c.d',
      '1.2.3.4 ',
    ]) {
      assert.equal(isIpAddress(bad), false, bad);
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });
});

void describe('IPv6 addresses', () => {
  void it('reads full, compressed and IPv4-embedded forms (RFC 4291 §2.2)', () => {
    for (const good of [
      '::',
      '::1',
      '2001:db8::1',
      '2001:0db8:0000:0000:0000:0000:0000:0001',
      '::ffff:10.0.0.1',
      'fe80::1%eth0',
      '1:2:3:4:5:6:7::',
    ]) {
      assert.equal(familyOf(good), 'ipv6', good);
    }
    // Two spellings of one address are one host.
    assert.equal(isTrustedAddress(['2001:db8::1'], '2001:0db8:0000:0000:0000:0000:0000:0001'), true);
    assert.equal(isTrustedAddress(['1:2:3:4:5:6:7::'], '1:2:3:4:5:6:7:0'), true);
  });

  void it('rejects malformed addresses', () => {
    for (const bad of [
      '1::2::3',
      ':::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '12345::',
      'g::1',
      '1.2.3.4::',
      ':1',
      '',
    ]) {
      assert.equal(isIpAddress(bad), false, bad);
    }
  });
});

void describe('wildcard addresses', () => {
  void it('knows 0.0.0.0 and :: in any spelling, and nothing else', () => {
    for (const wildcard of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::0', '::ffff:0.0.0.0']) {
      assert.equal(isWildcardAddress(wildcard), true, wildcard);
    }
    for (const specific of ['127.0.0.1', '::1', '10.0.0.1', 'localhost', '']) {
      assert.equal(isWildcardAddress(specific), false, specific);
    }
  });
});

void describe('parseCidr', () => {
  void it('ignores host bits and reads a bare address as one host', () => {
    assert.equal(isTrustedAddress(['10.1.2.3/8'], '10.200.0.1'), true);
    assert.equal(isTrustedAddress(['10.1.2.3/8'], '11.0.0.1'), false);
    assert.deepEqual(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('192.168.1.7'), { address: '192.168.1.7', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
  });

  void it('rejects prefixes beyond the address length and junk', () => {
    for (const bad of [
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/08',
      'fe80::1%eth0/64',
      'x/8',
    ]) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
    assert.notEqual(parseCidr('0.0.0.0/0'), undefined);
    assert.notEqual(parseCidr('::/0'), undefined);
  });
});

void describe('isTrustedAddress', () => {
  void it('matches IPv4 peers against the default list', () => {
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '127.0.0.1'), true);
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '10.200.3.4'), true);
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '172.31.255.255'), true);
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '172.32.0.1'), false);
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '192.168.0.9'), true);
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '8.8.8.8'), false);
  });

  void it('matches IPv4-mapped IPv6 peers (dual-stack sockets) against IPv4 blocks', () => {
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '::ffff:10.0.0.1'), true);
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '::ffff:0a00:0001'), true);
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '::ffff:8.8.8.8'), false);
    assert.equal(isTrustedAddress(['10.0.0.0/8'], '::ffff:10.1.2.3'), true);
    assert.equal(isTrustedAddress(['10.0.0.0/8'], '::ffff:11.1.2.3'), false);
    assert.equal(isTrustedAddress(['192.168.1.0/24'], '::FFFF:192.168.1.200'), true);
  });

  void it('matches IPv6 peers against IPv6 blocks', () => {
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '::1'), true);
    assert.equal(isTrustedAddress(DEFAULT_TRUSTED_PEERS, '::2'), false);
    const cidrs = ['2001:db8:abcd::/48'];
    assert.equal(isTrustedAddress(cidrs, '2001:db8:abcd:12::5'), true);
    assert.equal(isTrustedAddress(cidrs, '2001:db8:abce::5'), false);
    assert.equal(isTrustedAddress(cidrs, '10.0.0.1'), false);
  });

  void it('treats a bare address as one host and an empty list as nobody', () => {
    assert.equal(isTrustedAddress(['198.51.100.7'], '198.51.100.7'), true);
    assert.equal(isTrustedAddress(['198.51.100.7'], '198.51.100.8'), false);
    assert.equal(isTrustedAddress([], '127.0.0.1'), false);
  });

  void it('rejects an address that does not parse', () => {
    assert.equal(isTrustedAddress(['0.0.0.0/0'], 'localhost'), false);
    assert.equal(isIpAddress('localhost'), false);
  });
});
