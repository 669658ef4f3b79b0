import type { StorageHistorySample } from '../../src/model/storage-history.js';
import type { VerifyReport } from '../../src/model/media-integrity.js';
import type {
  QueryCondition,
  QueryExpression,
  Repository,
  SessionQuery,
  SessionTagAdd,
  SessionTagFilter,
  TrackPatch,
} from '../../src/db/repository.js';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../../src/model/audit.js';
import type { Participant, Session, SessionState, Tag, Track } from '../../src/model/session.js';
import { EMPTY_TRACK_STATS } from '../../src/model/session.js';
import {
  healthKinds,
  sessionHealth,
  summarizeKinds,
  type HealthSummary,
  type HealthWindowSummary,
} from '../../src/model/session-health.js';
import type { Role, User } from '../../src/model/user.js';
import type {
  DeleteFailureReason,
  Job,
  JobItem,
  JobState,
  JobStateChange,
  NewJob,
  SessionDeletionOutcome,
} from '../../src/model/job.js';
import type { AgentInterval, AgentSignIn, KeepAliveOutcome } from '../../src/model/agent.js';
import { FakeJobStore } from './fake-job-store.js';
import { HOUR_MS, type HourActivity } from '../../src/model/node-activity.js';
import type { TrustedPeer } from '../../src/model/trusted-peer.js';
import {
  isOnLegalHold,
  type PruneCandidate,
  type PruneCandidateQuery,
  type StoragePolicy,
} from '../../src/model/storage-policy.js';
import type { EventSubscriptionStore } from '../../src/model/event-subscription.js';

/** The event tables are not faked: tests of events use a real SQLite repository. */
function notFaked(): Promise<never> {
  return Promise.reject(new Error('event subscriptions are not in the fake repository'));
}

/**
 * An in-memory Repository for unit tests of the layers above the database. It evaluates the
 * getSessions AST directly, and records the last query so tests can assert the translation.
 */
export class FakeRepository implements Repository {
  readonly sessions = new Map<string, Session>();
  readonly users = new Map<string, User>();
  readonly queries: SessionQuery[] = [];
  readonly #jobs = new FakeJobStore(this.sessions);
  readonly audit: AuditRecord[] = [];

  migrate(): Promise<void> {
    return Promise.resolve();
  }

  createSession(session: Session): Promise<void> {
    this.sessions.set(session.sessionId, session);
    return Promise.resolve();
  }

  addTrack(sessionId: string, track: Track): Promise<void> {
    const session = this.#session(sessionId);
    // Like the real repositories, tracks come back ordered by track number.
    const tracks = [...session.tracks, track].sort((a, b) => a.trackNumber - b.trackNumber);
    this.sessions.set(sessionId, { ...session, tracks });
    return Promise.resolve();
  }

  updateTrack(sessionId: string, trackNumber: number, patch: TrackPatch): Promise<void> {
    const session = this.#session(sessionId);
    // The digest is stored as the track's mediaDigest, as the SQL repository reads it back.
    const { digest, ...rest } = patch;
    const tracks = session.tracks.map((t) =>
      t.trackNumber === trackNumber
        ? { ...t, ...rest, ...(digest === undefined ? {} : { mediaDigest: digest }) }
        : t,
    );
    this.sessions.set(sessionId, { ...session, tracks });
    return Promise.resolve();
  }

  replaceParticipants(
    sessionId: string,
    trackNumber: number,
    participants: readonly Participant[],
  ): Promise<void> {
    const session = this.#session(sessionId);
    const tracks = session.tracks.map((t) => (t.trackNumber === trackNumber ? { ...t, participants } : t));
    this.sessions.set(sessionId, { ...session, tracks });
    return Promise.resolve();
  }

  addSessionTag(sessionId: string, tag: Tag): Promise<void> {
    const session = this.#session(sessionId);
    this.sessions.set(sessionId, { ...session, tags: [...session.tags, tag] });
    return Promise.resolve();
  }

  closeSession(
    sessionId: string,
    state: Exclude<SessionState, 'ACTIVE'>,
    sessionDurationMs: number,
    closeReason?: string,
  ): Promise<void> {
    const session = this.#session(sessionId);
    this.sessions.set(sessionId, {
      ...session,
      sessionState: state,
      sessionDuration: sessionDurationMs,
      ...(closeReason === undefined ? {} : { closeReason }),
    });
    return Promise.resolve();
  }

  getSession(sessionId: string): Promise<Session | undefined> {
    return Promise.resolve(this.sessions.get(sessionId));
  }

  /** As the database computes it, from the closed sessions held here. */
  healthSummary(nowMs: number): Promise<HealthSummary> {
    const window = (sinceMs: number): HealthWindowSummary =>
      summarizeKinds(
        [...this.sessions.values()]
          .filter((s) => s.sessionState !== 'ACTIVE' && s.sessionDuration !== undefined)
          .filter((s) => {
            const end = s.sessionStartDate + (s.sessionDuration ?? 0);
            return end >= sinceMs && end <= nowMs;
          })
          .map((s) => ({ kinds: healthKinds(sessionHealth(s)), sessions: 1 })),
      );
    return Promise.resolve({
      at: nowMs,
      lastHour: window(nowMs - 3_600_000),
      lastDay: window(nowMs - 86_400_000),
    });
  }

  listActiveSessions(): Promise<Session[]> {
    return Promise.resolve([...this.sessions.values()].filter((s) => s.sessionState === 'ACTIVE'));
  }

  querySessions(query: SessionQuery): Promise<Session[]> {
    this.queries.push(query);
    const matching = [...this.sessions.values()].filter(
      (s) => matches(s, query.where) && (query.prunedOnly !== true || s.prunedAt !== undefined),
    );
    matching.sort((a, b) => {
      for (const key of query.sort) {
        const av = a[key.field] ?? 0;
        const bv = b[key.field] ?? 0;
        if (av !== bv) {
          return (av < bv ? -1 : 1) * (key.order === 'ASC' ? 1 : -1);
        }
      }
      return a.sessionId < b.sessionId ? -1 : 1;
    });
    return Promise.resolve(matching.slice(query.offset, query.offset + query.limit));
  }

  // Tags and pruning (issue 10).

  addTrackTag(sessionId: string, trackNumber: number, tag: Tag): Promise<void> {
    const session = this.#session(sessionId);
    if (!session.tracks.some((t) => t.trackNumber === trackNumber)) {
      return Promise.reject(new Error(`no track ${trackNumber} in session ${sessionId}`));
    }
    const tracks = session.tracks.map((t) =>
      t.trackNumber === trackNumber ? { ...t, tags: [...t.tags, { ...tag, trackNumber }] } : t,
    );
    this.sessions.set(sessionId, { ...session, tracks });
    return Promise.resolve();
  }

  addSessionTagOnce(sessionId: string, tag: Tag): Promise<SessionTagAdd> {
    const session = this.#session(sessionId);
    const sameName = session.tags.filter(
      (t) => t.tagName.toLowerCase() === tag.tagName.toLowerCase() && t.tagType === tag.tagType,
    );
    if (sameName.some((t) => t.tagOffset === tag.tagOffset)) {
      return Promise.resolve({ outcome: 'unchanged' });
    }
    const wholeSession =
      tag.tagOffset === undefined ? undefined : sameName.find((t) => t.tagOffset === undefined);
    if (wholeSession !== undefined && tag.tagOffset !== undefined) {
      const placed: Tag = { ...wholeSession, tagOffset: tag.tagOffset };
      this.sessions.set(sessionId, {
        ...session,
        tags: session.tags.map((t) => (t === wholeSession ? placed : t)),
      });
      return Promise.resolve({ outcome: 'updated', tag: placed });
    }
    this.sessions.set(sessionId, { ...session, tags: [...session.tags, tag] });
    return Promise.resolve({ outcome: 'added' });
  }

  deleteSessionTags(sessionId: string, filter: SessionTagFilter): Promise<Tag[]> {
    const session = this.sessions.get(sessionId);
    if (session === undefined) {
      return Promise.resolve([]);
    }
    const matches = (t: Tag): boolean =>
      t.tagName.toLowerCase() === filter.tagName.toLowerCase() &&
      t.tagType === filter.tagType &&
      (filter.tagOffset === undefined || t.tagOffset === filter.tagOffset);
    this.sessions.set(sessionId, { ...session, tags: session.tags.filter((t) => !matches(t)) });
    return Promise.resolve(session.tags.filter(matches));
  }

  readonly trustedPeers = new Map<string, TrustedPeer>();

  hourlyActivity(fromHour: number, toHour: number): Promise<HourActivity[]> {
    const hours = new Map<number, { sessions: number; packetsReceived: number; packetsLost: number }>();
    for (const session of this.sessions.values()) {
      const start = session.sessionStartDate;
      if (start < fromHour || start >= toHour) {
        continue;
      }
      const hour = start - (start % HOUR_MS);
      const entry = hours.get(hour) ?? { sessions: 0, packetsReceived: 0, packetsLost: 0 };
      entry.sessions++;
      for (const track of session.tracks) {
        entry.packetsReceived += track.stats.packets;
        entry.packetsLost += track.stats.lost;
      }
      hours.set(hour, entry);
    }
    return Promise.resolve(
      [...hours.entries()].sort(([a], [b]) => a - b).map(([hourStart, e]) => ({ hourStart, ...e })),
    );
  }

  readonly sharedSecrets = new Map<string, string>();

  sharedSecret(name: string, created: string): Promise<string> {
    if (!this.sharedSecrets.has(name)) {
      this.sharedSecrets.set(name, created);
    }
    return Promise.resolve(this.sharedSecrets.get(name) ?? created);
  }

  listTrustedPeers(): Promise<TrustedPeer[]> {
    return Promise.resolve([...this.trustedPeers.values()]);
  }

  addTrustedPeer(peer: TrustedPeer): Promise<boolean> {
    if (this.trustedPeers.has(peer.cidr)) {
      return Promise.resolve(false);
    }
    this.trustedPeers.set(peer.cidr, peer);
    return Promise.resolve(true);
  }

  removeTrustedPeer(cidr: string): Promise<TrustedPeer | undefined> {
    const peer = this.trustedPeers.get(cidr);
    this.trustedPeers.delete(cidr);
    return Promise.resolve(peer);
  }

  /** Storage history is not faked: its tests use a real SQLite repository. */
  appendStorageSample(): Promise<void> {
    return Promise.resolve();
  }

  pruneStorageSamples(): Promise<number> {
    return Promise.resolve(0);
  }

  storageHistory(): Promise<StorageHistorySample[]> {
    return Promise.resolve([]);
  }

  countStoredSessions(): Promise<number> {
    return Promise.resolve(
      [...this.sessions.values()].filter((s) => s.prunedAt === undefined && s.sessionState !== 'DELETED')
        .length,
    );
  }

  storagePolicy: StoragePolicy | undefined;

  getStoragePolicy(): Promise<StoragePolicy | undefined> {
    return Promise.resolve(this.storagePolicy);
  }

  setStoragePolicy(policy: StoragePolicy): Promise<void> {
    this.storagePolicy = policy;
    return Promise.resolve();
  }

  listPruneCandidates(query: PruneCandidateQuery): Promise<PruneCandidate[]> {
    const candidates = [...this.sessions.values()]
      .filter(
        (s) =>
          (s.sessionState === 'CLOSED_NORMAL' || s.sessionState === 'CLOSED_ERROR') &&
          s.prunedAt === undefined &&
          !isOnLegalHold(s, query.legalHoldTag) &&
          (query.startedBefore === undefined || s.sessionStartDate < query.startedBefore),
      )
      .sort((a, b) => a.sessionStartDate - b.sessionStartDate || (a.sessionId < b.sessionId ? -1 : 1))
      .slice(0, query.limit);
    return Promise.resolve(
      candidates.map((s) => ({ sessionId: s.sessionId, sessionStartDate: s.sessionStartDate })),
    );
  }

  deletePrunedSessionMetadata(sessionId: string, prunedAtMs: number, legalHoldTag: string): Promise<boolean> {
    const session = this.sessions.get(sessionId);
    if (
      session === undefined ||
      (session.sessionState !== 'CLOSED_NORMAL' && session.sessionState !== 'CLOSED_ERROR') ||
      isOnLegalHold(session, legalHoldTag)
    ) {
      return Promise.resolve(false);
    }
    this.sessions.set(sessionId, {
      ...session,
      sessionState: 'DELETED',
      tracks: [],
      tags: [],
      prunedAt: session.prunedAt ?? prunedAtMs,
    });
    return Promise.resolve(true);
  }

  sessionsTagged(sessionIds: readonly string[], tagName: string): Promise<string[]> {
    return Promise.resolve(
      sessionIds.filter((id) => {
        const session = this.sessions.get(id);
        return session !== undefined && isOnLegalHold(session, tagName);
      }),
    );
  }

  markSessionPruned(sessionId: string, prunedAtMs: number): Promise<boolean> {
    const session = this.sessions.get(sessionId);
    if (session !== undefined) {
      this.sessions.set(sessionId, { ...session, prunedAt: session.prunedAt ?? prunedAtMs });
    }
    return Promise.resolve(session !== undefined);
  }

  createUser(user: User): Promise<void> {
    if (this.users.has(user.username)) {
      return Promise.reject(new Error(`user ${user.username} exists`));
    }
    this.users.set(user.username, user);
    return Promise.resolve();
  }

  getUser(username: string): Promise<User | undefined> {
    return Promise.resolve(this.users.get(username));
  }

  listUsers(): Promise<User[]> {
    return Promise.resolve([...this.users.values()]);
  }

  countUsers(): Promise<number> {
    return Promise.resolve(this.users.size);
  }

  updateUser(
    username: string,
    patch: { readonly passwordHash?: string; readonly role?: Role; readonly digestHa1?: string },
  ): Promise<boolean> {
    const user = this.users.get(username);
    if (user === undefined) {
      return Promise.resolve(false);
    }
    // As the database does: a new password without its HA1 leaves none.
    const next: { -readonly [K in keyof User]: User[K] } = { ...user, ...patch };
    if (patch.passwordHash !== undefined && patch.digestHa1 === undefined) {
      delete next.digestHa1;
    }
    this.users.set(username, next);
    return Promise.resolve(true);
  }

  // Jobs (migration 0006), kept by FakeJobStore.

  createJob(job: NewJob): Promise<Job> {
    return Promise.resolve(this.#jobs.createJob(job));
  }

  setJobProgress(jobId: number, total: number, completed: number, failed: number): Promise<void> {
    this.#jobs.setJobProgress(jobId, total, completed, failed);
    return Promise.resolve();
  }

  setJobResult(jobId: number, result: VerifyReport): Promise<void> {
    this.#jobs.setJobResult(jobId, result);
    return Promise.resolve();
  }

  getJob(jobId: number): Promise<Job | undefined> {
    return Promise.resolve(this.#jobs.getJob(jobId));
  }

  listUnfinishedJobs(): Promise<Job[]> {
    return Promise.resolve(this.#jobs.listUnfinishedJobs());
  }

  countJobs(): Promise<{ total: number; unfinished: number }> {
    return Promise.resolve(this.#jobs.countJobs());
  }

  updateJobState(
    jobId: number,
    from: readonly JobState[],
    to: JobState,
    change: JobStateChange,
  ): Promise<boolean> {
    return Promise.resolve(this.#jobs.updateJobState(jobId, from, to, change));
  }

  pendingJobItems(jobId: number, afterPosition: number, limit: number): Promise<JobItem[]> {
    return Promise.resolve(this.#jobs.items(jobId, 'PENDING', afterPosition, limit));
  }

  failedJobItems(jobId: number, limit: number): Promise<JobItem[]> {
    return Promise.resolve(this.#jobs.items(jobId, 'FAILED', -1, limit));
  }

  failJobItem(jobId: number, position: number, reason: DeleteFailureReason): Promise<boolean> {
    return Promise.resolve(this.#jobs.failJobItem(jobId, position, reason));
  }

  completeSessionDeletion(
    jobId: number,
    position: number,
    sessionId: string,
  ): Promise<SessionDeletionOutcome> {
    return Promise.resolve(this.#jobs.completeSessionDeletion(jobId, position, sessionId));
  }

  deleteJob(jobId: number): Promise<'deleted' | 'not-found' | 'unfinished'> {
    return Promise.resolve(this.#jobs.deleteJob(jobId));
  }

  pruneFinishedJobs(keep: number): Promise<number> {
    return Promise.resolve(this.#jobs.pruneFinishedJobs(keep));
  }

  readonly insertSubscription: EventSubscriptionStore['insertSubscription'] = notFaked;
  readonly updateSubscription: EventSubscriptionStore['updateSubscription'] = notFaked;
  readonly deleteSubscription: EventSubscriptionStore['deleteSubscription'] = notFaked;
  readonly getSubscription: EventSubscriptionStore['getSubscription'] = notFaked;
  readonly findSubscriptionByUri: EventSubscriptionStore['findSubscriptionByUri'] = notFaked;
  readonly listSubscriptions: EventSubscriptionStore['listSubscriptions'] = notFaked;
  readonly appendOutbox: EventSubscriptionStore['appendOutbox'] = notFaked;
  readonly pendingOutbox: EventSubscriptionStore['pendingOutbox'] = notFaked;
  readonly recordDelivery: EventSubscriptionStore['recordDelivery'] = notFaked;
  readonly markSubscriptionFailing: EventSubscriptionStore['markSubscriptionFailing'] = notFaked;
  readonly queryDeliveryLog: EventSubscriptionStore['queryDeliveryLog'] = notFaked;
  readonly pruneDeliveryLog: EventSubscriptionStore['pruneDeliveryLog'] = notFaked;
  readonly outboxBacklog: EventSubscriptionStore['outboxBacklog'] = notFaked;

  deleteUser(username: string): Promise<boolean> {
    return Promise.resolve(this.users.delete(username));
  }

  appendAudit(record: NewAuditRecord): Promise<void> {
    this.audit.push({ ...record, id: this.audit.length + 1 });
    return Promise.resolve();
  }

  queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const matches = this.audit.filter(
      (r) =>
        (query.minTime === undefined || r.at >= query.minTime) &&
        (query.maxTime === undefined || r.at <= query.maxTime) &&
        (query.username === undefined || r.username === query.username) &&
        (query.action === undefined || r.action === query.action) &&
        (query.target === undefined || r.target === query.target) &&
        (query.beforeId === undefined || r.id < query.beforeId),
    );
    return Promise.resolve(matches.reverse().slice(0, query.limit));
  }

  /** Agent intervals as the routes left them (no expiry, no linking: the SQL tests cover those). */
  readonly agentIntervals: AgentInterval[] = [];

  startAgentInterval(signIn: AgentSignIn, at: number): Promise<void> {
    this.#closeAgent(signIn.loginId, at);
    this.agentIntervals.push({ ...signIn, startedAt: at, lastKeepAliveAt: at });
    return Promise.resolve();
  }

  async keepAliveAgentInterval(signIn: AgentSignIn, at: number): Promise<KeepAliveOutcome> {
    const index = this.agentIntervals.findIndex(
      (i) => i.loginId === signIn.loginId && i.extension === signIn.extension && i.endedAt === undefined,
    );
    const open = this.agentIntervals[index];
    if (open === undefined) {
      await this.startAgentInterval(signIn, at);
      return 'restarted';
    }
    this.agentIntervals[index] = { ...open, lastKeepAliveAt: at };
    return 'renewed';
  }

  stopAgentInterval(loginId: string, at: number): Promise<number> {
    return Promise.resolve(this.#closeAgent(loginId, at));
  }

  hasAgentIntervals(): Promise<boolean> {
    return Promise.resolve(this.agentIntervals.length > 0);
  }

  #closeAgent(loginId: string, at: number): number {
    let closed = 0;
    this.agentIntervals.forEach((interval, index) => {
      if (interval.loginId === loginId && interval.endedAt === undefined) {
        this.agentIntervals[index] = { ...interval, endedAt: at };
        closed++;
      }
    });
    return closed;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  #session(sessionId: string): Session {
    const session = this.sessions.get(sessionId);
    if (session === undefined) {
      throw new Error(`no session ${sessionId}`);
    }
    return session;
  }
}

function matches(session: Session, expression: QueryExpression): boolean {
  switch (expression.kind) {
    case 'and':
      return expression.items.every((item) => matches(session, item));
    case 'or':
      return expression.items.some((item) => matches(session, item));
    case 'condition':
      return expression.field === 'healthProblem'
        ? matchesHealth(session, expression)
        : fieldValues(session, expression).some((value) => test(value, expression));
  }
}

/** As db/session-query.ts: a member of the closed session's problem kinds; ACTIVE never matches. */
function matchesHealth(session: Session, condition: QueryCondition): boolean {
  if (session.sessionState === 'ACTIVE') {
    return false;
  }
  const kinds = healthKinds(sessionHealth(session))
    .split(',')
    .filter((k) => k !== '');
  const [value] = condition.values;
  const has = value === 'any' ? kinds.length > 0 : kinds.includes(String(value));
  return condition.operator === 'equals' ? has : !has;
}

function fieldValues(session: Session, condition: QueryCondition): (string | number)[] {
  const participants = session.tracks.flatMap((t) => t.participants);
  switch (condition.field) {
    case 'sessionStartDate':
      return [session.sessionStartDate];
    case 'sessionDuration':
      return session.sessionDuration === undefined ? [] : [session.sessionDuration];
    case 'sessionState':
      return [session.sessionState];
    case 'loginId':
      return participants.flatMap((p) => (p.agent === undefined ? [] : [p.agent.loginId]));
    case 'loginName':
      return participants.flatMap((p) => (p.agent === undefined ? [] : [p.agent.loginName]));
    case 'agent':
      return participants.flatMap((p) => (p.agent === undefined ? [] : [p.agent.loginId, p.agent.loginName]));
    case 'ccid':
      return [session.ccid];
    case 'callControllerIP':
      return [session.callControllerIP];
    case 'callControllerType':
      return [session.callControllerType];
    case 'deviceRef':
      return participants.map((p) => p.deviceRef);
    case 'deviceId':
      return participants.flatMap((p) => (p.deviceId === undefined ? [] : [p.deviceId]));
    case 'xRefCi':
      return participants.flatMap((p) => (p.xRefCi === undefined ? [] : [p.xRefCi]));
    case 'tagName':
      return [...session.tags, ...session.tracks.flatMap((t) => t.tags)].map((t) => t.tagName.toLowerCase());
    case 'codec':
      return session.tracks.map((t) => t.codec);
    case 'trackMediaType':
      return session.tracks.map((t) => t.trackMediaType);
    case 'healthProblem':
      return [];
  }
}

function test(value: string | number, condition: QueryCondition): boolean {
  const [a, b] = condition.values.map((v) =>
    condition.field === 'tagName' && typeof v === 'string' ? v.toLowerCase() : v,
  );
  if (a === undefined) {
    return false;
  }
  switch (condition.operator) {
    case 'equals':
      return value === a;
    case 'notEquals':
      return value !== a;
    case 'between':
      return b !== undefined && value >= a && value <= b;
    case 'greaterThan':
      return value > a;
    case 'lessThan':
      return value < a;
    case 'contains':
      return String(value).includes(String(a));
    case 'startsWith':
      return String(value).startsWith(String(a));
  }
}

/**
 * A two-track G.711 session, CLOSED_NORMAL unless overridden; an ACTIVE one has no session or
 * track durations, as the recording domain stores it.
 */
export function sampleSession(overrides: Partial<Session> = {}): Session {
  const start = overrides.sessionStartDate ?? 1_700_000_000_000;
  const sessionId = overrides.sessionId ?? 'a1b2c3d4e5f60718';
  const active = overrides.sessionState === 'ACTIVE';
  const track = (trackNumber: number, deviceRef: string): Track => ({
    trackNumber,
    trackMediaType: 'AUDIO',
    codec: 'PCMU',
    payloadType: 0,
    clockRateHz: 8000,
    trackStartDate: start,
    ...(active ? {} : { trackDuration: 60_000 }),
    mediaPath: `${sessionId}/track-${trackNumber}.pcap`,
    participants: [
      {
        deviceRef,
        deviceId: `SEP00000000000${trackNumber}`,
        xRefCi: `1600000${trackNumber}`,
        isConference: false,
        participantStartDate: start,
        ...(active ? {} : { participantDuration: 60_000 }),
      },
    ],
    tags: [],
    stats: EMPTY_TRACK_STATS,
  });
  return {
    sessionId,
    sessionState: 'CLOSED_NORMAL',
    sessionStartDate: start,
    ...(active ? {} : { sessionDuration: 60_000 }),
    callControllerIP: '10.0.0.5',
    callControllerType: 'Cisco-CUCM',
    ccid: '12345',
    nodeId: 'node-a',
    tags: [],
    tracks: [track(0, '1000'), track(1, '2000')],
    ...overrides,
  };
}
