/**
 * IP addresses and CIDR blocks for `--trusted-peers`. Every address is held as a 128-bit integer in
 * the IPv6 space, IPv4 mapped to `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2), so one comparison covers an
 * IPv4 peer, an IPv6 peer and an IPv4 peer seen on a dual-stack socket as `::ffff:10.0.0.1`.
 * Written by hand without node:net so that any layer may use it.
 */

const IPV4_MAPPED_PREFIX = 0xffffn << 32n;
const ALL_ONES_128 = (1n << 128n) - 1n;

export interface CidrBlock {
  /** Network address in the IPv6 space (IPv4 mapped), host bits cleared. */
  readonly network: bigint;
  /** Prefix length in the IPv6 space (an IPv4 /8 becomes /104). */
  readonly prefixLength: number;
}

/** Parses dotted-quad IPv4 (exactly four decimal parts, no leading zeros beyond "0"). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) {
    return undefined;
  }
  let value = 0;
  for (const part of parts) {
    // Leading zeros are rejected because some stacks read them as octal.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) {
      return undefined;
    }
    const octet = Number(part);
    if (octet > 255) {
      return undefined;
    }
    value = value * 256 + octet;
  }
  return value;
}

/** Parses an IPv6 address (RFC 4291 §2.2 text forms, with an optional zone id) as a 128-bit integer. */
export function parseIpv6(text: string): bigint | undefined {
  const zoneAt = text.indexOf('%');
  const address = zoneAt >= 0 ? text.slice(0, zoneAt) : text;
  if (address.length === 0) {
    return undefined;
  }
  const halves = address.split('::');
  if (halves.length > 2) {
    return undefined;
  }
  const compressed = halves.length === 2;
  // Only the last part of the address may carry an embedded IPv4 address (RFC 4291 §2.2 form 3).
  const head = parseGroups(halves[0] ?? '', compressed, !compressed);
  const tail = compressed ? parseGroups(halves[1] ?? '', true, true) : [];
  if (head === undefined || tail === undefined) {
    return undefined;
  }
  const groups = [...head, ...tail];
  // "::" stands for at least one group of zeros, so a compressed address has at most seven groups.
  if (compressed ? groups.length > 7 : groups.length !== 8) {
    return undefined;
  }
  const zeros = 8 - groups.length;
  const all = [...head, ...new Array<number>(zeros).fill(0), ...tail];
  let value = 0n;
  for (const group of all) {
    value = (value << 16n) | BigInt(group);
  }
  return value;
}

function parseGroups(text: string, mayBeEmpty: boolean, mayEndInIpv4: boolean): number[] | undefined {
  if (text.length === 0) {
    return mayBeEmpty ? [] : undefined;
  }
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    if (mayEndInIpv4 && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) {
        return undefined;
      }
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

/** Parses an IPv4 or IPv6 address into the common IPv6 space; undefined when it is neither. */
export function parseIpAddress(text: string): bigint | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) {
    return IPV4_MAPPED_PREFIX | BigInt(v4);
  }
  return parseIpv6(text);
}

export function isIpAddress(text: string): boolean {
  return parseIpAddress(text) !== undefined;
}

/**
 * Parses `address/prefix` (or a bare address, taken as a single host). Host bits set in the
 * address are cleared rather than rejected: `10.1.2.3/8` means 10.0.0.0/8, as most routers read it.
 */
export function parseCidr(text: string): CidrBlock | undefined {
  const slash = text.indexOf('/');
  const addressText = slash >= 0 ? text.slice(0, slash) : text;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : undefined;
  const v4 = parseIpv4(addressText);
  const isV4 = v4 !== undefined;
  const address = isV4 ? IPV4_MAPPED_PREFIX | BigInt(v4) : parseIpv6(addressText);
  if (address === undefined || (!isV4 && addressText.includes('%'))) {
    return undefined;
  }
  const maxPrefix = isV4 ? 32 : 128;
  let prefix = maxPrefix;
  if (prefixText !== undefined) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
      return undefined;
    }
    prefix = Number(prefixText);
    if (prefix > maxPrefix) {
      return undefined;
    }
  }
  const prefixLength = isV4 ? 96 + prefix : prefix;
  return { network: address & maskOf(prefixLength), prefixLength };
}

function maskOf(prefixLength: number): bigint {
  return (ALL_ONES_128 << BigInt(128 - prefixLength)) & ALL_ONES_128;
}

export function cidrContains(block: CidrBlock, address: bigint): boolean {
  return (address & maskOf(block.prefixLength)) === block.network;
}

/** The parsed form of each list, kept as long as the list itself lives (one per loaded config). */
const parsedLists = new WeakMap<readonly string[], readonly CidrBlock[]>();

/**
 * True when `address` (IPv4, IPv6 or IPv4-mapped IPv6, as node reports a remote address) lies in
 * one of `cidrs`. Entries that do not parse are ignored: config/load.ts has already rejected them.
 */
export function isTrustedAddress(cidrs: readonly string[], address: string): boolean {
  const value = parseIpAddress(address);
  if (value === undefined) {
    return false;
  }
  let blocks = parsedLists.get(cidrs);
  if (blocks === undefined) {
    blocks = cidrs.map(parseCidr).filter((b): b is CidrBlock => b !== undefined);
    parsedLists.set(cidrs, blocks);
  }
  return blocks.some((block) => cidrContains(block, value));
}
