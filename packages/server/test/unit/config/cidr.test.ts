import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isIpAddress, isTrustedAddress, parseCidr, parseIpv4, parseIpv6 } from '../../../src/config/cidr.js';
import { DEFAULT_TRUSTED_PEERS } from '../../../src/config/options.js';

void describe('parseIpv4', () => {
  void it('reads dotted quads', () => {
    assert.equal(parseIpv4('10.0.0.1'), 0x0a000001);
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
    assert.equal(parseIpv4('0.0.0.0'), 0);
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
      assert.equal(parseIpv4(bad), undefined, bad);
    }
  });
});

void describe('parseIpv6', () => {
  void it('reads full, compressed and IPv4-embedded forms (RFC 4291 §2.2)', () => {
    assert.equal(parseIpv6('::'), 0n);
    assert.equal(parseIpv6('::1'), 1n);
    assert.equal(parseIpv6('2001:db8::1'), (0x20010db8n << 96n) | 1n);
    assert.equal(parseIpv6('2001:0db8:0000:0000:0000:0000:0000:0001'), (0x20010db8n << 96n) | 1n);
    assert.equal(parseIpv6('::ffff:10.0.0.1'), (0xffffn << 32n) | 0x0a000001n);
    assert.equal(parseIpv6('fe80::1%eth0'), (0xfe80n << 112n) | 1n);
    assert.equal(parseIpv6('1:2:3:4:5:6:7::'), 0x0001_0002_0003_0004_0005_0006_0007_0000n);
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
      assert.equal(parseIpv6(bad), undefined, bad);
    }
  });
});

void describe('parseCidr', () => {
  void it('maps IPv4 prefixes into the IPv6 space and clears host bits', () => {
    assert.deepEqual(parseCidr('10.1.2.3/8'), parseCidr('10.0.0.0/8'));
    assert.equal(parseCidr('10.0.0.0/8')?.prefixLength, 104);
    assert.equal(parseCidr('192.168.1.7')?.prefixLength, 128);
    assert.equal(parseCidr('::1')?.prefixLength, 128);
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
