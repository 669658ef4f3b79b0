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
