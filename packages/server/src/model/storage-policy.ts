import type { Session } from './session.js';

/**
 * The retention policy of the media store (issue 13, MediaSense's two retention modes), kept in
 * the database (migration 0013) so that every node and the command line see the same one.
 */

/**
 * RECORDING_PRIORITY (MediaSense's default): recording never stops for lack of space; sessions
 * older than `maxAgeDays` are pruned, and from CRITICAL the oldest closed ones are pruned until
 * the level falls below it. RETENTION_PRIORITY: nothing is pruned automatically; from CRITICAL
 * new calls are refused, at EMERGENCY recordings in progress are ended.
 */
export type RetentionMode = 'RECORDING_PRIORITY' | 'RETENTION_PRIORITY';

export const RETENTION_MODES: readonly RetentionMode[] = ['RECORDING_PRIORITY', 'RETENTION_PRIORITY'];

export interface StoragePolicy {
  readonly mode: RetentionMode;
  /** Sessions that started longer ago than this are pruned (recording priority), 1-3650. */
  readonly maxAgeDays: number;
  /** Pruning also deletes the session's metadata (a DELETED tombstone), not only its media. */
  readonly deleteMetadata: boolean;
  /** Sessions carrying a tag of this name (compared case-insensitively) are never pruned nor deleted. */
  readonly legalHoldTag: string;
  /** When and by whom it was last changed; absent for the defaults. */
  readonly updatedAt?: number;
  readonly updatedBy?: string;
}

export const MIN_MAX_AGE_DAYS = 1;
export const MAX_MAX_AGE_DAYS = 3650;
export const MAX_LEGAL_HOLD_TAG_LENGTH = 255;

export const DEFAULT_STORAGE_POLICY: StoragePolicy = {
  mode: 'RECORDING_PRIORITY',
  maxAgeDays: 60,
  deleteMetadata: false,
  legalHoldTag: 'LegalHold',
};

export type StoragePolicyChange = Partial<
  Pick<StoragePolicy, 'mode' | 'maxAgeDays' | 'deleteMetadata' | 'legalHoldTag'>
>;

/** Why a change is refused, or undefined when it is valid. */
export function checkPolicyChange(change: StoragePolicyChange): string | undefined {
  if (change.mode !== undefined && !RETENTION_MODES.includes(change.mode)) {
    return `mode must be one of ${RETENTION_MODES.join(', ')}`;
  }
  if (
    change.maxAgeDays !== undefined &&
    (!Number.isInteger(change.maxAgeDays) ||
      change.maxAgeDays < MIN_MAX_AGE_DAYS ||
      change.maxAgeDays > MAX_MAX_AGE_DAYS)
  ) {
    return `maxAgeDays must be a whole number of days from ${MIN_MAX_AGE_DAYS} to ${MAX_MAX_AGE_DAYS}`;
  }
  if (change.legalHoldTag !== undefined) {
    const tag = change.legalHoldTag.trim();
    if (tag === '' || tag.length > MAX_LEGAL_HOLD_TAG_LENGTH || tag !== change.legalHoldTag) {
      return `legalHoldTag must be a tag name of 1 to ${MAX_LEGAL_HOLD_TAG_LENGTH} characters without surrounding spaces`;
    }
  }
  return undefined;
}

/** What changed, `field: before -> after`, for the audit trail (the API and the command line write the same). */
export function policyChangeDetail(before: StoragePolicy, after: StoragePolicy): Record<string, string> {
  const detail: Record<string, string> = {};
  for (const key of ['mode', 'maxAgeDays', 'deleteMetadata', 'legalHoldTag'] as const) {
    if (before[key] !== after[key]) {
      detail[key] = `${String(before[key])} -> ${String(after[key])}`;
    }
  }
  return detail;
}

/** Whether a session carries the legal hold tag (its own list or a track's), as tags compare: without case. */
export function isOnLegalHold(session: Pick<Session, 'tags' | 'tracks'>, legalHoldTag: string): boolean {
  const wanted = legalHoldTag.toLowerCase();
  const matches = (tags: readonly { readonly tagName: string }[]): boolean =>
    tags.some((tag) => tag.tagName.toLowerCase() === wanted);
  return matches(session.tags) || session.tracks.some((track) => matches(track.tags));
}

/** A closed session that pruning may take: its id and when it started. */
export interface PruneCandidate {
  readonly sessionId: string;
  readonly sessionStartDate: number;
}

export interface PruneCandidateQuery {
  /** Only sessions that started before this (epoch ms); absent: any age (pruning under pressure). */
  readonly startedBefore?: number;
  /** Sessions carrying this tag (case-insensitively) are left out. */
  readonly legalHoldTag: string;
  readonly limit: number;
}

/** What the policy and the pruning need of the database (the Repository implements it). */
export interface StoragePolicyStore {
  /** The stored policy; undefined while none was ever set (the defaults apply). */
  getStoragePolicy(): Promise<StoragePolicy | undefined>;
  setStoragePolicy(policy: StoragePolicy): Promise<void>;
  /**
   * Closed sessions (CLOSED_NORMAL, CLOSED_ERROR) not pruned yet and not on legal hold, oldest
   * start first.
   */
  listPruneCandidates(query: PruneCandidateQuery): Promise<PruneCandidate[]>;
  /**
   * Turns a pruned session into a DELETED tombstone (its tracks, participants and tags removed), in
   * one transaction that checks again that it is closed and not on legal hold; false when it was
   * not (then nothing changed).
   */
  deletePrunedSessionMetadata(sessionId: string, prunedAtMs: number, legalHoldTag: string): Promise<boolean>;
  /** Which of these sessions carry a tag of this name in any of their lists (case-insensitively). */
  sessionsTagged(sessionIds: readonly string[], tagName: string): Promise<string[]>;
}
