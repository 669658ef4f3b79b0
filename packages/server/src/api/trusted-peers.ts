import { BlockList } from 'node:net';

import { canonicalCidr, familyOf, isTrustedAddress, parseCidr } from '../config/cidr.js';
import type { TrustedPeer, TrustedPeerStore } from '../model/trusted-peer.js';

/** A note says which controller a block is for; a line, not a document. */
export const MAX_TRUSTED_PEER_NOTE_LENGTH = 200;
/** Stored blocks at most: a few controllers' networks, never a list of every address. */
export const MAX_STORED_TRUSTED_PEERS = 1000;

export type TrustedPeerChange =
  | { readonly ok: true; readonly peer: TrustedPeer }
  | {
      readonly ok: false;
      readonly reason: 'invalid' | 'exists' | 'not-found' | 'full';
      readonly detail: string;
    };

/**
 * Who may send INVITEs (docs/sip.md "Trusted peers"): the union of `--trusted-peers` (read at
 * start, changed by a restart) and the blocks an admin stored from Administration (migration
 * 0019). Union rather than "the option seeds the table" because the option stays what the
 * operator's configuration says on every start, and a block stored by hand never silently
 * disappears when the option changes. The SIP intake asks isTrusted() for every new INVITE;
 * add() and remove() write the database first and then swap the in-memory list, so the next
 * INVITE sees the change and a failed write changes nothing.
 */
export class TrustedPeers {
  readonly #configured: readonly string[];
  readonly #store: TrustedPeerStore;
  readonly #now: () => number;
  #stored: readonly TrustedPeer[] = [];
  #storedList = new BlockList();
  /** Loads started; only the latest one's answer is used, so a slow read never undoes a change. */
  #loads = 0;

  constructor(options: {
    readonly configured: readonly string[];
    readonly store: TrustedPeerStore;
    readonly now: () => number;
  }) {
    this.#configured = options.configured;
    this.#store = options.store;
    this.#now = options.now;
  }

  /**
   * Reads the stored blocks (at start, after each change, and now and then to pick up another
   * node's change). When loads overlap, only the one started last is applied: an earlier one
   * may have read the table before a change and answered after it.
   */
  async load(): Promise<void> {
    const load = ++this.#loads;
    const peers = await this.#store.listTrustedPeers();
    if (load === this.#loads) {
      this.#use(peers);
    }
  }

  /** The blocks of `--trusted-peers`, as configured. */
  get configured(): readonly string[] {
    return this.#configured;
  }

  /** The blocks added from Administration, oldest first. */
  get stored(): readonly TrustedPeer[] {
    return this.#stored;
  }

  isTrusted(address: string): boolean {
    if (isTrustedAddress(this.#configured, address)) {
      return true;
    }
    const family = familyOf(address);
    return family !== undefined && this.#storedList.check(address, family);
  }

  async add(cidrText: string, note: string, by: string): Promise<TrustedPeerChange> {
    const canonical = canonicalCidr(cidrText);
    if (!canonical.ok) {
      return { ok: false, reason: 'invalid', detail: canonical.problem };
    }
    if (note.length > MAX_TRUSTED_PEER_NOTE_LENGTH) {
      return {
        ok: false,
        reason: 'invalid',
        detail: `the note is longer than ${String(MAX_TRUSTED_PEER_NOTE_LENGTH)} characters`,
      };
    }
    await this.load();
    if (this.#stored.length >= MAX_STORED_TRUSTED_PEERS) {
      return {
        ok: false,
        reason: 'full',
        detail: `${String(MAX_STORED_TRUSTED_PEERS)} blocks are stored already: remove some, or join them into larger blocks`,
      };
    }
    const peer: TrustedPeer = { cidr: canonical.cidr, note: note.trim(), addedAt: this.#now(), addedBy: by };
    if (!(await this.#store.addTrustedPeer(peer))) {
      return { ok: false, reason: 'exists', detail: `${canonical.cidr} is trusted already` };
    }
    await this.load();
    return { ok: true, peer };
  }

  async remove(cidrText: string): Promise<TrustedPeerChange> {
    const canonical = canonicalCidr(cidrText);
    if (!canonical.ok) {
      return { ok: false, reason: 'invalid', detail: canonical.problem };
    }
    const removed = await this.#store.removeTrustedPeer(canonical.cidr);
    await this.load();
    if (removed === undefined) {
      const configured = this.#configured.some((text) => sameBlock(text, canonical.cidr));
      return {
        ok: false,
        reason: 'not-found',
        detail: configured
          ? `${canonical.cidr} comes from --trusted-peers: change the option and restart to remove it`
          : `${canonical.cidr} is not among the stored trusted peers`,
      };
    }
    return { ok: true, peer: removed };
  }

  #use(peers: readonly TrustedPeer[]): void {
    const list = new BlockList();
    for (const peer of peers) {
      const block = parseCidr(peer.cidr);
      // A row that does not parse (written by hand, or by a later version) trusts nothing.
      if (block !== undefined) {
        list.addSubnet(block.address, block.prefix, block.family);
      }
    }
    this.#stored = peers;
    this.#storedList = list;
  }
}

/** Whether a configured block (which may have host bits set) is the canonical block given. */
function sameBlock(configured: string, canonical: string): boolean {
  const block = parseCidr(configured.trim());
  const target = parseCidr(canonical);
  if (
    block === undefined ||
    target === undefined ||
    block.family !== target.family ||
    block.prefix !== target.prefix
  ) {
    return false;
  }
  const list = new BlockList();
  list.addSubnet(block.address, block.prefix, block.family);
  return list.check(target.address, target.family);
}
