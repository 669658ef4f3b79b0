/**
 * Trusted peers added from Administration (issue 14, migration 0019): CIDR blocks allowed to send
 * INVITEs besides those of `--trusted-peers`, kept in the database so that they survive a restart
 * (and, later, are shared by the nodes of a cluster).
 */
export interface TrustedPeer {
  /** The block in canonical form: `10.0.0.0/8`, `2001:db8::/32` (the prefix always written). */
  readonly cidr: string;
  /** Why it is trusted (which controller), as the admin wrote it; may be empty. */
  readonly note: string;
  readonly addedAt: number;
  readonly addedBy: string;
}

export interface TrustedPeerStore {
  /** The stored blocks, oldest first. */
  listTrustedPeers(): Promise<TrustedPeer[]>;
  /** False when the block is stored already (nothing changed). */
  addTrustedPeer(peer: TrustedPeer): Promise<boolean>;
  /** The removed entry, or undefined when the block was not stored. */
  removeTrustedPeer(cidr: string): Promise<TrustedPeer | undefined>;
}
