import type { Session } from './session.js';

/**
 * Integrity of the media store (issue 13): what `verbatim verify` and the VERIFY_MEDIA job find
 * when they compare the track files with the database (storage/media-verify.ts does the work).
 */

export type FindingKind = 'missing' | 'truncated' | 'altered' | 'unreadable' | 'not-digested' | 'orphaned';

export const FINDING_KINDS: readonly FindingKind[] = [
  'missing',
  'truncated',
  'altered',
  'unreadable',
  'orphaned',
  'not-digested',
];

/** Problems a cron job acts on; `not-digested` (recorded before digests existed) is not one. */
export const PROBLEM_KINDS: readonly FindingKind[] = [
  'missing',
  'truncated',
  'altered',
  'unreadable',
  'orphaned',
];

export interface Finding {
  readonly kind: FindingKind;
  /** Relative to the media directory. */
  readonly path: string;
  /** Absent for an orphaned file. */
  readonly sessionId?: string;
  readonly trackNumber?: number;
  /** What was found, in words (sizes, the system's error code). */
  readonly detail: string;
}

/** Which sessions a check covers: those that started in [sinceMs, untilMs). */
export interface VerifyWindow {
  readonly sinceMs: number;
  readonly untilMs: number;
  /** A window was asked for: only the day folders it spans are walked for orphans. */
  readonly windowed: boolean;
}

export interface VerifyReport {
  readonly sessions: number;
  readonly tracks: number;
  readonly intact: number;
  /** Sessions still recording (ACTIVE), deleted or pruned: their files are not judged. */
  readonly skippedSessions: number;
  readonly bytesRead: number;
  readonly counts: Readonly<Record<FindingKind, number>>;
  /** Every finding, or (a stored job result) the first of them: `counts` is always whole. */
  readonly findings: readonly Finding[];
}

/**
 * What the check reads of the database (the repository, adapted by db/verify-store.ts). Sessions come a page at a time, oldest first, so a year is never held in memory.
 */
export interface VerifyStore {
  getSession(sessionId: string): Promise<Session | undefined>;
  /** Sessions that started in [sinceMs, untilMs), by start then id, `limit` from `offset`. */
  sessionsStartedIn(sinceMs: number, untilMs: number, offset: number, limit: number): Promise<Session[]>;
}

/** How many problems (not `not-digested`) a report counts. */
export function problemCount(report: Pick<VerifyReport, 'counts'>): number {
  return PROBLEM_KINDS.reduce((sum, kind) => sum + report.counts[kind], 0);
}
