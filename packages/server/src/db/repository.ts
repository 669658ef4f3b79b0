import type { Session, SessionState, Tag, Track, TrackStats, Participant } from '../model/session.js';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../model/audit.js';
import type { Role, User } from '../model/user.js';

/**
 * The one persistence interface of Verbatim. SQLite (better-sqlite3) and PostgreSQL (pg) implement
 * it through Kysely; app.ts chooses the backend from `--db`. Every time is epoch milliseconds.
 */
export interface Repository {
  /** Applies pending migrations (idempotent). */
  migrate(): Promise<void>;

  // Sessions, tracks, participants, tags.
  createSession(session: Session): Promise<void>;
  /** Adds a track (with its participants and tags) to an existing session. */
  addTrack(sessionId: string, track: Track): Promise<void>;
  updateTrack(sessionId: string, trackNumber: number, patch: TrackPatch): Promise<void>;
  replaceParticipants(
    sessionId: string,
    trackNumber: number,
    participants: readonly Participant[],
  ): Promise<void>;
  addSessionTag(sessionId: string, tag: Tag): Promise<void>;
  /** Sets the final state and duration of a session. */
  closeSession(
    sessionId: string,
    state: Exclude<SessionState, 'ACTIVE'>,
    sessionDurationMs: number,
  ): Promise<void>;
  getSession(sessionId: string): Promise<Session | undefined>;
  listActiveSessions(): Promise<Session[]>;
  /** Sessions matching a MediaSense getSessions query, sorted and paged as it asks. */
  querySessions(query: SessionQuery): Promise<Session[]>;

  // Users.
  createUser(user: User): Promise<void>;
  getUser(username: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  countUsers(): Promise<number>;
  updateUser(
    username: string,
    patch: { readonly passwordHash?: string; readonly role?: Role },
  ): Promise<boolean>;
  /** Removes a user; false when there was none of that name. */
  deleteUser(username: string): Promise<boolean>;

  // Audit trail (append-only).
  appendAudit(record: NewAuditRecord): Promise<void>;
  /** Newest first. */
  queryAudit(query: AuditQuery): Promise<AuditRecord[]>;

  close(): Promise<void>;
}

export interface TrackPatch {
  readonly codec?: string;
  readonly payloadType?: number;
  readonly clockRateHz?: number;
  readonly trackDuration?: number;
  readonly stats?: TrackStats;
}

/** Fields a getSessions query may test (docs/api.md lists the operators each accepts). */
export type QueryField =
  | 'sessionStartDate'
  | 'sessionState'
  | 'sessionDuration'
  | 'ccid'
  | 'callControllerIP'
  | 'callControllerType'
  | 'deviceRef'
  | 'deviceId'
  | 'xRefCi'
  | 'tagName'
  | 'codec'
  | 'trackMediaType';

export type QueryOperator =
  'equals' | 'notEquals' | 'between' | 'greaterThan' | 'lessThan' | 'contains' | 'startsWith';

/** One condition: `field operator values` (between takes two values, the others one). */
export interface QueryCondition {
  readonly kind: 'condition';
  readonly field: QueryField;
  readonly operator: QueryOperator;
  readonly values: readonly (string | number)[];
}

export interface QueryGroup {
  readonly kind: 'and' | 'or';
  readonly items: readonly QueryExpression[];
}

export type QueryExpression = QueryCondition | QueryGroup;

export interface SessionQuery {
  readonly where: QueryExpression;
  readonly sort: readonly {
    readonly field: 'sessionStartDate' | 'sessionDuration' | 'ccid' | 'sessionState';
    readonly order: 'ASC' | 'DESC';
  }[];
  readonly offset: number;
  /** 1…1000. */
  readonly limit: number;
}
