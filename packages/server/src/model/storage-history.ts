/**
 * Storage use over time (issue 14, Administration's chart): one row per node every few minutes
 * (migration 0018), written by the storage agent's history recorder (storage/storage-history.ts)
 * and read, averaged into at most a few hundred points, by getStorageHistory.
 */

/** One sample of the media partition as stored. */
export interface StorageHistorySample {
  /** Epoch ms of the storage agent's sample. */
  readonly at: number;
  /** `--node-id` of the node that wrote it (a cluster shares the table). */
  readonly nodeId: string;
  readonly totalBytes: number;
  readonly usedBytes: number;
  /** Available to the node (blocks reserved for root excluded). */
  readonly freeBytes: number;
  /** Sessions whose media is kept (not pruned nor deleted), all nodes on the database. */
  readonly sessions: number;
}

export interface StorageHistoryQuery {
  /** Epoch ms, inclusive. */
  readonly from: number;
  /** Epoch ms, inclusive. */
  readonly to: number;
  /** Only this node's samples; absent: every node's. */
  readonly nodeId?: string;
  /**
   * At most this many points per node: the window is cut into this many equal buckets and each
   * bucket's samples are averaged into one point (its time the bucket's last sample).
   */
  readonly maxPoints: number;
}

/** What the history needs of the database (the Repository implements it). */
export interface StorageHistoryStore {
  appendStorageSample(sample: StorageHistorySample): Promise<void>;
  /** Removes the samples older than `before` (epoch ms); answers how many went. */
  pruneStorageSamples(before: number): Promise<number>;
  /** Samples in the window, oldest first, per node, downsampled to `maxPoints` per node. */
  storageHistory(query: StorageHistoryQuery): Promise<StorageHistorySample[]>;
  /** Sessions whose media is kept now (not pruned, not deleted). */
  countStoredSessions(): Promise<number>;
}
