import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses and CIDR blocks for `--trusted-peers`, on node's `net.BlockList`: it matches an IPv4
 * peer, an IPv6 peer, and an IPv4 peer seen on a dual-stack socket as `::ffff:10.0.0.1` (RFC 4291
 * §2.5.5.2) against an IPv4 block, which is what a hand-written 128-bit comparison did before.
 * The text checks (which spellings are addresses, which prefixes are valid) stay here, because
 * their failures are the configuration errors an operator reads.
 */

export type IpFamily = 'ipv4' | 'ipv6';

export interface CidrBlock {
  /** The address as written; BlockList ignores host bits, so `10.1.2.3/8` is 10.0.0.0/8. */
  readonly address: string;
  readonly prefix: number;
  readonly family: IpFamily;
}

/** Dotted-quad IPv4 (no leading zeros, which some stacks read as octal) or an RFC 4291 §2.2 IPv6 form. */
export function familyOf(text: string): IpFamily | undefined {
  return isIPv4(text) ? 'ipv4' : isIPv6(text) ? 'ipv6' : undefined;
}

export function isIpAddress(text: string): boolean {
  return familyOf(text) !== undefined;
}

const WILDCARDS = new BlockList();
WILDCARDS.addAddress('0.0.0.0', 'ipv4');
WILDCARDS.addAddress('::', 'ipv6');

/** 0.0.0.0 and :: (in any spelling, also `::ffff:0.0.0.0`) mean "every interface", never one peers can reach. */
export function isWildcardAddress(text: string): boolean {
  const family = familyOf(text);
  return family !== undefined && WILDCARDS.check(text, family);
}

/**
 * Parses `address/prefix` (or a bare address, taken as a single host). Host bits set in the
 * address are ignored rather than rejected: `10.1.2.3/8` means 10.0.0.0/8, as most routers read it.
 */
export function parseCidr(text: string): CidrBlock | undefined {
  const slash = text.indexOf('/');
  const address = slash >= 0 ? text.slice(0, slash) : text;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : undefined;
  const family = familyOf(address);
  // A zone id (fe80::1%eth0) names an interface, not a range of peers.
  if (family === undefined || address.includes('%')) {
    return undefined;
  }
  const maxPrefix = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) {
    return { address, prefix: maxPrefix, family };
  }
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    return undefined;
  }
  const prefix = Number(prefixText);
  return prefix <= maxPrefix ? { address, prefix, family } : undefined;
}

/** The BlockList of each list, kept as long as the list itself lives (one per loaded config). */
const blockLists = new WeakMap<readonly string[], BlockList>();

function blockListOf(cidrs: readonly string[]): BlockList {
  let list = blockLists.get(cidrs);
  if (list === undefined) {
    list = new BlockList();
    for (const text of cidrs) {
      // Entries that do not parse are skipped: config/load.ts has already rejected them.
      const block = parseCidr(text);
      if (block !== undefined) {
        list.addSubnet(block.address, block.prefix, block.family);
      }
    }
    blockLists.set(cidrs, list);
  }
  return list;
}

/**
 * True when `address` (IPv4, IPv6 or IPv4-mapped IPv6, as node reports a remote address) lies in
 * one of `cidrs`.
 */
export function isTrustedAddress(cidrs: readonly string[], address: string): boolean {
  const family = familyOf(address);
  return family !== undefined && blockListOf(cidrs).check(address, family);
}

/** The 16 bytes of an IPv6 address (RFC 4291 §2.2 forms, an embedded IPv4 tail too); undefined if it is none. */
function ipv6Bytes(text: string): number[] | undefined {
  if (!isIPv6(text)) {
    return undefined;
  }
  let head = text;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (isIPv4(last)) {
    head = text.slice(0, lastColon + 1) + '0:0';
    tail.push(...last.split('.').map(Number));
  }
  const [left = '', right] = head.split('::');
  const groupsOf = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16));
  const leftGroups = groupsOf(left);
  const rightGroups = right === undefined ? [] : groupsOf(right);
  const groups = [
    ...leftGroups,
    ...new Array<number>(8 - leftGroups.length - rightGroups.length).fill(0),
    ...rightGroups,
  ];
  const bytes = groups.flatMap((group) => [group >> 8, group & 0xff]);
  if (tail.length === 4) {
    bytes.splice(12, 4, ...tail);
  }
  return bytes;
}

function bytesOf(address: string, family: IpFamily): number[] | undefined {
  return family === 'ipv4' ? address.split('.').map(Number) : ipv6Bytes(address);
}

function textOf(bytes: readonly number[], family: IpFamily): string {
  if (family === 'ipv4') {
    return bytes.join('.');
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  }
  // RFC 5952 §4.2: the longest run of two or more zero groups (the first of equal ones) becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) {
      j++;
    }
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) {
    return hex.join(':');
  }
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export type CanonicalCidr =
  { readonly ok: true; readonly cidr: string } | { readonly ok: false; readonly problem: string };

/**
 * A block as entered in Administration, checked strictly and written one way (so that the same
 * block is never stored twice): `10.0.0.0/8`, `2001:db8::/32`, a bare address as `/32` or `/128`.
 * Unlike `--trusted-peers`, host bits set are refused with the block meant, since a typo in a
 * form (10.1.0.0/8 for 10.1.0.0/16) would otherwise trust far more than intended.
 */
export function canonicalCidr(text: string): CanonicalCidr {
  const trimmed = text.trim();
  if (trimmed === '') {
    return { ok: false, problem: 'no CIDR block given (for example 10.0.0.0/8 or 2001:db8::/32)' };
  }
  const block = parseCidr(trimmed);
  const bytes = block === undefined ? undefined : bytesOf(block.address, block.family);
  if (block === undefined || bytes === undefined) {
    return {
      ok: false,
      problem: `"${trimmed}" is not a CIDR block: write an IPv4 or IPv6 address and a prefix length, such as 10.0.0.0/8 or 2001:db8::/32`,
    };
  }
  if (block.prefix === 0) {
    return {
      ok: false,
      problem: `"${trimmed}" would trust every address; list the controllers' networks instead`,
    };
  }
  const network = bytes.map((byte, i) => {
    const bitsHere = Math.min(8, Math.max(0, block.prefix - i * 8));
    return byte & ((0xff << (8 - bitsHere)) & 0xff);
  });
  const cidr = `${textOf(network, block.family)}/${String(block.prefix)}`;
  if (network.some((byte, i) => byte !== bytes[i])) {
    return {
      ok: false,
      problem: `"${trimmed}" has bits set after the first ${String(block.prefix)}: the block is ${cidr} (or give a longer prefix)`,
    };
  }
  return { ok: true, cidr };
}
