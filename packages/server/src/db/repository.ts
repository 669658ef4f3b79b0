import type {
  Session,
  SessionState,
  Tag,
  Track,
  TrackDigest,
  TrackStats,
  Participant,
} from '../model/session.js';
import type { HealthSummary } from '../model/session-health.js';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../model/audit.js';
import type { Role, User } from '../model/user.js';
import type { DeletionJobStore, VerifyJobStore } from '../model/job.js';
import type { EventSubscriptionStore } from '../model/event-subscription.js';
import type { AgentStore } from '../model/agent.js';
import type { StoragePolicyStore } from '../model/storage-policy.js';
import type { NodeActivityStore } from '../model/node-activity.js';
import type { TrustedPeerStore } from '../model/trusted-peer.js';
import type { StorageHistoryStore } from '../model/storage-history.js';
import type { SharedSecretStore } from '../model/shared-secret.js';

/**
 * The one persistence interface of Verbatim. SQLite (better-sqlite3) and PostgreSQL (pg) implement
 * it through Kysely; app.ts chooses the backend from `--db`. Every time is epoch milliseconds.
 * The job methods (migration 0006) are declared with the runner that uses them (model/job.ts), the
 * event subscription methods (migration 0010) with the delivery (model/event-subscription.ts), the
 * agent interval methods (migration 0011) with the agent model (model/agent.ts), the storage
 * history methods (migration 0018) with model/storage-history.ts, Administration's activity per
 * hour and trusted peers (migration 0019) with theirs (model/node-activity.ts,
 * model/trusted-peer.ts), and the secrets shared by the nodes (migration 0021,
 * model/shared-secret.ts).
 */
export interface Repository
  extends
    DeletionJobStore,
    VerifyJobStore,
    EventSubscriptionStore,
    AgentStore,
    StoragePolicyStore,
    NodeActivityStore,
    TrustedPeerStore,
    StorageHistoryStore,
    SharedSecretStore {
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
  /**
   * Sets the final state and duration of a session, and why it ended in error, and stores the
   * problem kinds of its health as its stored tracks give it (for healthSummary): write the
   * tracks' statistics first.
   */
  closeSession(
    sessionId: string,
    state: Exclude<SessionState, 'ACTIVE'>,
    sessionDurationMs: number,
    closeReason?: string,
  ): Promise<void>;
  getSession(sessionId: string): Promise<Session | undefined>;
  /**
   * Sessions that ended in the hour and the day before `nowMs`, by the health problem kinds
   * stored when they closed (closeSession computes them; issue 13 "Recording health").
   */
  healthSummary(nowMs: number): Promise<HealthSummary>;
  listActiveSessions(): Promise<Session[]>;
  /** Sessions matching a MediaSense getSessions query, sorted and paged as it asks. */
  querySessions(query: SessionQuery): Promise<Session[]>;

  // Tags and pruning (issue 10).
  /** Adds a tag to one track's tag list (track-level system tags: hold, DTMF). */
  addTrackTag(sessionId: string, trackNumber: number, tag: Tag): Promise<void>;
  /**
   * Adds a tag to the session's own list unless the list already holds one of the same name
   * (compared without regard to case), type and offset (`unchanged`). A tag with an offset whose
   * name and type the list holds without one gives that tag the offset instead (`updated`, with the
   * tag as now stored: its own name spelling and create date): the whole-session tag becomes
   * time-bound rather than being doubled.
   */
  addSessionTagOnce(sessionId: string, tag: Tag): Promise<SessionTagAdd>;
  /** Deletes the session-list tags the filter matches (name without regard to case) and returns them. */
  deleteSessionTags(sessionId: string, filter: SessionTagFilter): Promise<Tag[]>;
  /**
   * Flags a session as pruned (its media removed, its metadata kept); its state does not change.
   * A session pruned before keeps its first time. False when there is no such session.
   */
  markSessionPruned(sessionId: string, prunedAtMs: number): Promise<boolean>;

  // Users.
  createUser(user: User): Promise<void>;
  getUser(username: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  countUsers(): Promise<number>;
  updateUser(
    username: string,
    patch: { readonly passwordHash?: string; readonly role?: Role; readonly digestHa1?: string },
  ): Promise<boolean>;
  /** Removes a user; false when there was none of that name. */
  deleteUser(username: string): Promise<boolean>;

  // Audit trail (append-only).
  appendAudit(record: NewAuditRecord): Promise<void>;
  /** Newest first. */
  queryAudit(query: AuditQuery): Promise<AuditRecord[]>;

  close(): Promise<void>;
}

/** What addSessionTagOnce did. */
export type SessionTagAdd =
  | { readonly outcome: 'added' }
  | { readonly outcome: 'unchanged' }
  | { readonly outcome: 'updated'; readonly tag: Tag };

/** Which tags of a session's own list deleteSessionTags removes. */
export interface SessionTagFilter {
  readonly tagName: string;
  readonly tagType: Tag['tagType'];
  /** Only the tag at this offset; absent: every tag of that name, with or without an offset. */
  readonly tagOffset?: number;
}

export interface TrackPatch {
  readonly codec?: string;
  readonly payloadType?: number;
  readonly clockRateHz?: number;
  readonly trackDuration?: number;
  readonly stats?: TrackStats;
  /** The digest of the finished file (migration 0015). */
  readonly digest?: TrackDigest;
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
  | 'trackMediaType'
  /** The agent a participant carries (migration 0011): Finesse login id and login name. */
  | 'loginId'
  | 'loginName'
  /** Verbatim extension: loginId or loginName, whichever matches (Search and Play's agent field). */
  | 'agent'
  /**
   * Verbatim extension: a recording-health problem kind a closed session had (sessions.health_kinds,
   * migration 0016), or `any` for any of them; ACTIVE sessions and those closed before 0016 have
   * none stored and never match.
   */
  | 'healthProblem';

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
  /** Only sessions flagged as pruned (getAllPrunedSessions). */
  readonly prunedOnly?: boolean;
}
