import type { Kysely, Transaction, Updateable } from 'kysely';
import type { Logger } from 'pino';

import type { AuditQuery, AuditRecord, NewAuditRecord } from '../model/audit.js';
import type { Participant, Session, SessionState, Tag, Track } from '../model/session.js';
import {
  healthKinds,
  sessionHealth,
  summarizeKinds,
  type HealthSummary,
  type HealthWindowSummary,
} from '../model/session-health.js';
import type {
  DeleteFailureReason,
  Job,
  JobItem,
  JobState,
  JobStateChange,
  NewJob,
  SessionDeletionOutcome,
} from '../model/job.js';
import type { Role, User } from '../model/user.js';
import type { PruneCandidate, PruneCandidateQuery, StoragePolicy } from '../model/storage-policy.js';
import type { StorageHistoryQuery, StorageHistorySample } from '../model/storage-history.js';
import type {
  DeliveryAttempt,
  DeliveryLogQuery,
  DeliveryResult,
  NewOutboxEntry,
  OutboxEntry,
  StoredEventSubscription,
  SubscriptionRecord,
  SubscriptionState,
} from '../model/event-subscription.js';
import { appendAuditRecord, queryAuditRecords } from './audit-log.js';
import { DbError } from './errors.js';
import * as eventQueries from './event-queries.js';
import * as jobQueries from './job-queries.js';
import type { VerifyReport } from '../model/media-integrity.js';
import * as storagePolicyQueries from './storage-policy-queries.js';
import * as nodeAdminQueries from './node-admin-queries.js';
import type { HourActivity } from '../model/node-activity.js';
import type { TrustedPeer } from '../model/trusted-peer.js';
import * as storageHistoryQueries from './storage-history-queries.js';
import { migrateToLatest, pendingMigrations } from './migrations/index.js';
import type {
  QueryCondition,
  Repository,
  SessionQuery,
  SessionTagAdd,
  SessionTagFilter,
  TrackPatch,
} from './repository.js';
import {
  participantRows,
  sessionRow,
  statsColumns,
  tagRow,
  toParticipant,
  toSession,
  toTag,
  toTrack,
  trackRow,
  digestColumns,
} from './row-mapping.js';
import type { Database, SessionsTable, TagsTable, TracksTable } from './schema.js';
import {
  agentConditions,
  fewMatchesCap,
  matchingAgentExtensions,
  SORT_COLUMNS,
  countMatchingRows,
  indexedEqualities,
  sessionFilter,
  sortIndexFirst,
  type TextMatchDialect,
} from './session-query.js';
import {
  hasIntervals,
  keepAliveInterval,
  startInterval,
  stopInterval,
  withAgents,
} from './agent-intervals.js';
import type { AgentSignIn, KeepAliveOutcome } from '../model/agent.js';

/** Which integrity rule a failed statement broke, as the dialect's driver reports it. */
export type ConstraintViolation = 'unique' | 'foreign-key';

type Executor = Kysely<Database> | Transaction<Database>;

/**
 * The Repository over any Kysely dialect. All SQL is built with Kysely so that a PostgreSQL
 * subclass only supplies its connection, its text matches and its error classification.
 *
 * Reads of a session and its children run in one transaction so they see one state, and load a
 * whole page at once: the sessions first, then the tracks, participants and tags of all of them
 * in one query each (four queries per page, whatever its size).
 */
export abstract class KyselyRepository implements Repository {
  readonly #db: Kysely<Database>;
  readonly #textMatch: TextMatchDialect;
  protected readonly logger: Logger;
  #closed = false;

  protected constructor(db: Kysely<Database>, textMatch: TextMatchDialect, logger: Logger) {
    this.#db = db;
    this.#textMatch = textMatch;
    this.logger = logger;
  }

  /** Classifies a driver error, or returns undefined when it is no constraint violation. */
  protected abstract constraintViolation(error: unknown): ConstraintViolation | undefined;

  /** Dialect housekeeping before the connection closes. */
  protected abstract beforeClose(): Promise<void>;

  async migrate(): Promise<void> {
    // Migrations are written against no particular schema type.
    await migrateToLatest(this.#open() as unknown as Kysely<unknown>, this.logger);
  }

  /** The migrations not applied yet (a read-only connection cannot apply them). */
  async pendingMigrations(): Promise<string[]> {
    return pendingMigrations(this.#open() as unknown as Kysely<unknown>);
  }

  // Sessions.

  async createSession(session: Session): Promise<void> {
    await this.#write({ conflict: `session ${session.sessionId} already exists` }, async (trx) => {
      await trx.insertInto('sessions').values(sessionRow(session)).execute();
      const tags: TagsTable[] = session.tags.map((tag, seq) => tagRow(session.sessionId, seq, null, tag));
      for (const track of session.tracks) {
        await insertTrack(trx, session.sessionId, track);
        for (const tag of track.tags) {
          tags.push(tagRow(session.sessionId, tags.length, track.trackNumber, tag));
        }
      }
      await insertTags(trx, tags);
    });
  }

  async addTrack(sessionId: string, track: Track): Promise<void> {
    await this.#write(
      {
        conflict: `session ${sessionId} already has track ${track.trackNumber}`,
        missing: `session ${sessionId} not found`,
      },
      async (trx) => {
        await insertTrack(trx, sessionId, track);
        const firstSeq = await nextTagSeq(trx, sessionId);
        await insertTags(
          trx,
          track.tags.map((tag, i) => tagRow(sessionId, firstSeq + i, track.trackNumber, tag)),
        );
      },
    );
  }

  async updateTrack(sessionId: string, trackNumber: number, patch: TrackPatch): Promise<void> {
    const set: Updateable<TracksTable> = {
      ...(patch.codec === undefined ? {} : { codec: patch.codec }),
      ...(patch.payloadType === undefined ? {} : { payload_type: patch.payloadType }),
      ...(patch.clockRateHz === undefined ? {} : { clock_rate_hz: patch.clockRateHz }),
      ...(patch.trackDuration === undefined ? {} : { duration_ms: patch.trackDuration }),
      ...(patch.stats === undefined ? {} : statsColumns(patch.stats)),
      ...(patch.digest === undefined ? {} : digestColumns(patch.digest)),
    };
    await this.#write({}, async (trx) => {
      const found =
        Object.keys(set).length === 0
          ? await trackExists(trx, sessionId, trackNumber)
          : (
              await trx
                .updateTable('tracks')
                .set(set)
                .where('session_id', '=', sessionId)
                .where('track_number', '=', trackNumber)
                .executeTakeFirst()
            ).numUpdatedRows > 0n;
      if (!found) {
        throw new DbError(
          'VERBATIM_ERR_DB_NOT_FOUND',
          `track ${trackNumber} of session ${sessionId} not found`,
        );
      }
    });
  }

  async replaceParticipants(
    sessionId: string,
    trackNumber: number,
    participants: readonly Participant[],
  ): Promise<void> {
    await this.#write({}, async (trx) => {
      if (!(await trackExists(trx, sessionId, trackNumber))) {
        throw new DbError(
          'VERBATIM_ERR_DB_NOT_FOUND',
          `track ${trackNumber} of session ${sessionId} not found`,
        );
      }
      await trx
        .deleteFrom('participants')
        .where('session_id', '=', sessionId)
        .where('track_number', '=', trackNumber)
        .execute();
      await insertParticipants(trx, sessionId, trackNumber, participants);
    });
  }

  async addSessionTag(sessionId: string, tag: Tag): Promise<void> {
    await this.#write({ missing: `session ${sessionId} not found` }, async (trx) => {
      const seq = await nextTagSeq(trx, sessionId);
      await trx
        .insertInto('tags')
        .values(tagRow(sessionId, seq, null, tag))
        .execute();
    });
  }

  async closeSession(
    sessionId: string,
    state: Exclude<SessionState, 'ACTIVE'>,
    sessionDurationMs: number,
    closeReason?: string,
  ): Promise<void> {
    await this.#write({}, async (trx) => {
      const result = await trx
        .updateTable('sessions')
        .set((eb) => ({
          state,
          duration_ms: sessionDurationMs,
          end_ms: eb('start_ms', '+', sessionDurationMs),
          close_reason: closeReason ?? null,
        }))
        .where('session_id', '=', sessionId)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) {
        throw new DbError('VERBATIM_ERR_DB_NOT_FOUND', `session ${sessionId} not found`);
      }
      // The health as the session object will show it, stored in the same transaction so that
      // the node summary (healthSummary) counts every closed session exactly once.
      await storeHealthKinds(trx, sessionId);
    });
  }

  /**
   * The node summary of recording health (issue 13): sessions that ended in the last hour and
   * the last day, by the problem kinds stored when they closed. Read from the database, so it
   * counts what every process sharing it closed.
   */
  async healthSummary(nowMs: number): Promise<HealthSummary> {
    const window = async (sinceMs: number): Promise<HealthWindowSummary> => {
      const rows = await this.#open()
        .selectFrom('sessions')
        .select((eb) => ['health_kinds', eb.fn.countAll<number | string | bigint>().as('n')])
        .where('end_ms', '>=', sinceMs)
        .where('end_ms', '<=', nowMs)
        .where('health_kinds', 'is not', null)
        .groupBy('health_kinds')
        .execute();
      return summarizeKinds(rows.map((row) => ({ kinds: row.health_kinds ?? '', sessions: Number(row.n) })));
    };
    return {
      at: nowMs,
      lastHour: await window(nowMs - HOUR_MS),
      lastDay: await window(nowMs - DAY_MS),
    };
  }

  async getSession(sessionId: string): Promise<Session | undefined> {
    const sessions = await this.#open()
      .transaction()
      .execute(async (trx) => {
        const rows = await trx
          .selectFrom('sessions')
          .selectAll()
          .where('session_id', '=', sessionId)
          .execute();
        return loadSessions(trx, rows);
      });
    return sessions[0];
  }

  async listActiveSessions(): Promise<Session[]> {
    return this.#open()
      .transaction()
      .execute(async (trx) => {
        const rows = await trx
          .selectFrom('sessions')
          .selectAll()
          .where('state', '=', 'ACTIVE')
          .orderBy('start_ms')
          .orderBy('session_id')
          .execute();
        return loadSessions(trx, rows);
      });
  }

  async querySessions(query: SessionQuery): Promise<Session[]> {
    if (
      !Number.isSafeInteger(query.offset) ||
      query.offset < 0 ||
      !Number.isSafeInteger(query.limit) ||
      query.limit < 0
    ) {
      throw new DbError('VERBATIM_ERR_DB_QUERY_INVALID', 'offset and limit must be non-negative integers');
    }
    if (query.limit === 0) {
      return [];
    }
    const now = Date.now();
    return this.#open()
      .transaction()
      .execute(async (trx) => {
        const fewMatches = new Set<QueryCondition>();
        for (const condition of indexedEqualities(query.where)) {
          const cap = fewMatchesCap(condition);
          if ((await countMatchingRows(trx, condition, cap)) <= cap) {
            fewMatches.add(condition);
          }
        }
        const agentExtensions = new Map<QueryCondition, readonly string[]>();
        for (const condition of agentConditions(query.where)) {
          const extensions = await matchingAgentExtensions(trx, condition, this.#textMatch);
          if (extensions !== undefined) {
            agentExtensions.set(condition, extensions);
          }
        }
        const unindexedWindow = await sortIndexFirst(trx, query);
        let select = trx
          .selectFrom('sessions')
          .selectAll()
          .where((eb) =>
            sessionFilter(eb, query.where, {
              textMatch: this.#textMatch,
              fewMatches,
              now,
              unindexedWindow,
              agentExtensions,
            }),
          );
        if (query.prunedOnly === true) {
          // Written as the partial index's own condition (migration 0007), so SQLite can use it.
          select = select.where('pruned_ms', 'is not', null);
        }
        for (const { field, order } of query.sort) {
          const column = SORT_COLUMNS[field];
          // Only the duration can be NULL (ACTIVE sessions). Engines disagree on where NULLs sort,
          // so say it: unknown durations come last in both directions.
          select =
            column === 'duration_ms'
              ? select.orderBy(column, (ob) => (order === 'ASC' ? ob.asc() : ob.desc()).nullsLast())
              : select.orderBy(column, order === 'ASC' ? 'asc' : 'desc');
        }
        // The session id breaks ties so that consecutive pages neither repeat nor skip a session;
        // in the direction of the first key, (start_ms, session_id) is one index scan.
        const tieOrder = query.sort[0]?.order === 'ASC' ? 'asc' : 'desc';
        const rows = await select
          .orderBy('session_id', tieOrder)
          .limit(query.limit)
          .offset(query.offset)
          .execute();
        return loadSessions(trx, rows);
      });
  }

  // Tags and pruning (issue 10).

  async addTrackTag(sessionId: string, trackNumber: number, tag: Tag): Promise<void> {
    await this.#write({ missing: `track ${trackNumber} of session ${sessionId} not found` }, async (trx) => {
      const seq = await nextTagSeq(trx, sessionId);
      await trx
        .insertInto('tags')
        .values(tagRow(sessionId, seq, trackNumber, { ...tag, trackNumber }))
        .execute();
    });
  }

  async addSessionTagOnce(sessionId: string, tag: Tag): Promise<SessionTagAdd> {
    let result: SessionTagAdd = { outcome: 'unchanged' };
    await this.#write({ missing: `session ${sessionId} not found` }, async (trx) => {
      // The checks and the write share the write transaction, so two equal adds store one tag.
      const sameName = await trx
        .selectFrom('tags')
        .selectAll()
        .where('session_id', '=', sessionId)
        .where('track_number', 'is', null)
        .where('name_lower', '=', tag.tagName.toLowerCase())
        .where('type', '=', tag.tagType)
        .orderBy('seq')
        .execute();
      const offset = tag.tagOffset ?? null;
      if (sameName.some((row) => row.offset_ms === offset)) {
        return;
      }
      const wholeSession = offset === null ? undefined : sameName.find((row) => row.offset_ms === null);
      if (wholeSession !== undefined) {
        await trx
          .updateTable('tags')
          .set({ offset_ms: offset })
          .where('session_id', '=', sessionId)
          .where('seq', '=', wholeSession.seq)
          .execute();
        result = { outcome: 'updated', tag: toTag({ ...wholeSession, offset_ms: offset }) };
        return;
      }
      const seq = await nextTagSeq(trx, sessionId);
      await trx
        .insertInto('tags')
        .values(tagRow(sessionId, seq, null, tag))
        .execute();
      result = { outcome: 'added' };
    });
    return result;
  }

  async deleteSessionTags(sessionId: string, filter: SessionTagFilter): Promise<Tag[]> {
    let deleted: Tag[] = [];
    await this.#write({}, async (trx) => {
      let matching = trx
        .selectFrom('tags')
        .selectAll()
        .where('session_id', '=', sessionId)
        .where('track_number', 'is', null)
        .where('name_lower', '=', filter.tagName.toLowerCase())
        .where('type', '=', filter.tagType);
      if (filter.tagOffset !== undefined) {
        matching = matching.where('offset_ms', '=', filter.tagOffset);
      }
      const rows = await matching.orderBy('seq').execute();
      if (rows.length > 0) {
        await trx
          .deleteFrom('tags')
          .where('session_id', '=', sessionId)
          .where(
            'seq',
            'in',
            rows.map((row) => row.seq),
          )
          .execute();
      }
      deleted = rows.map(toTag);
    });
    return deleted;
  }

  // Administration: activity per hour and trusted peers (migration 0019).

  hourlyActivity(fromHour: number, toHour: number): Promise<HourActivity[]> {
    return nodeAdminQueries.hourlyActivity(this.#open(), fromHour, toHour);
  }

  listTrustedPeers(): Promise<TrustedPeer[]> {
    return nodeAdminQueries.listTrustedPeers(this.#open());
  }

  sharedSecret(name: string, created: string, at: number): Promise<string> {
    return nodeAdminQueries.sharedSecret(this.#open(), name, created, at);
  }

  addTrustedPeer(peer: TrustedPeer): Promise<boolean> {
    return nodeAdminQueries.addTrustedPeer(this.#open(), peer);
  }

  removeTrustedPeer(cidr: string): Promise<TrustedPeer | undefined> {
    return nodeAdminQueries.removeTrustedPeer(this.#open(), cidr);
  }

  // The retention policy and pruning (migration 0013).

  getStoragePolicy(): Promise<StoragePolicy | undefined> {
    return storagePolicyQueries.getStoragePolicy(this.#open());
  }

  setStoragePolicy(policy: StoragePolicy): Promise<void> {
    return storagePolicyQueries.setStoragePolicy(this.#open(), policy);
  }

  listPruneCandidates(query: PruneCandidateQuery): Promise<PruneCandidate[]> {
    return storagePolicyQueries.listPruneCandidates(this.#open(), query);
  }

  deletePrunedSessionMetadata(sessionId: string, prunedAtMs: number, legalHoldTag: string): Promise<boolean> {
    return storagePolicyQueries.deletePrunedSessionMetadata(
      this.#open(),
      sessionId,
      prunedAtMs,
      legalHoldTag,
    );
  }

  sessionsTagged(sessionIds: readonly string[], tagName: string): Promise<string[]> {
    return storagePolicyQueries.sessionsTagged(this.#open(), sessionIds, tagName);
  }

  // Storage use over time (migration 0018).

  appendStorageSample(sample: StorageHistorySample): Promise<void> {
    return storageHistoryQueries.appendStorageSample(this.#open(), sample);
  }

  pruneStorageSamples(before: number): Promise<number> {
    return storageHistoryQueries.pruneStorageSamples(this.#open(), before);
  }

  storageHistory(query: StorageHistoryQuery): Promise<StorageHistorySample[]> {
    return storageHistoryQueries.storageHistory(this.#open(), query);
  }

  countStoredSessions(): Promise<number> {
    return storageHistoryQueries.countStoredSessions(this.#open());
  }

  async markSessionPruned(sessionId: string, prunedAtMs: number): Promise<boolean> {
    const result = await this.#open()
      .updateTable('sessions')
      .set((eb) => ({ pruned_ms: eb.fn.coalesce('pruned_ms', eb.val(prunedAtMs)) }))
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  // Users.

  async createUser(user: User): Promise<void> {
    await this.#write({ conflict: `user ${user.username} already exists` }, async (trx) => {
      await trx
        .insertInto('users')
        .values({
          username: user.username,
          role: user.role,
          password_hash: user.passwordHash,
          created_ms: user.createdAt,
          digest_ha1: user.digestHa1 ?? null,
        })
        .execute();
    });
  }

  async getUser(username: string): Promise<User | undefined> {
    const row = await this.#open()
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return row === undefined ? undefined : toUser(row);
  }

  async listUsers(): Promise<User[]> {
    const rows = await this.#open().selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(toUser);
  }

  async countUsers(): Promise<number> {
    const row = await this.#open()
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .executeTakeFirstOrThrow();
    // SQLite returns a number, PostgreSQL's count(*) a bigint that pg hands over as a string.
    return Number(row.n);
  }

  async updateUser(
    username: string,
    patch: { readonly passwordHash?: string; readonly role?: Role; readonly digestHa1?: string },
  ): Promise<boolean> {
    const set = {
      ...(patch.passwordHash === undefined ? {} : { password_hash: patch.passwordHash }),
      // A new password without its HA1 leaves none (the old one would accept the old password).
      ...(patch.digestHa1 !== undefined
        ? { digest_ha1: patch.digestHa1 }
        : patch.passwordHash !== undefined
          ? { digest_ha1: null }
          : {}),
      ...(patch.role === undefined ? {} : { role: patch.role }),
    };
    const db = this.#open();
    if (Object.keys(set).length === 0) {
      return (await this.getUser(username)) !== undefined;
    }
    const result = await db.updateTable('users').set(set).where('username', '=', username).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  // Jobs (migration 0006): the statements are in job-queries.ts.

  createJob(job: NewJob): Promise<Job> {
    return jobQueries.insertJob(this.#open(), job);
  }

  setJobProgress(jobId: number, total: number, completed: number, failed: number): Promise<void> {
    return jobQueries.setJobProgress(this.#open(), jobId, total, completed, failed);
  }

  setJobResult(jobId: number, result: VerifyReport): Promise<void> {
    return jobQueries.setJobResult(this.#open(), jobId, result);
  }

  getJob(jobId: number): Promise<Job | undefined> {
    return jobQueries.selectJob(this.#open(), jobId);
  }

  listUnfinishedJobs(): Promise<Job[]> {
    return jobQueries.selectUnfinishedJobs(this.#open());
  }

  countJobs(): Promise<{ readonly total: number; readonly unfinished: number }> {
    return jobQueries.countJobs(this.#open());
  }

  updateJobState(
    jobId: number,
    from: readonly JobState[],
    to: JobState,
    change: JobStateChange,
  ): Promise<boolean> {
    return jobQueries.updateJobState(this.#open(), jobId, from, to, change);
  }

  pendingJobItems(jobId: number, afterPosition: number, limit: number): Promise<JobItem[]> {
    return jobQueries.selectJobItems(this.#open(), jobId, 'PENDING', afterPosition, limit);
  }

  failedJobItems(jobId: number, limit: number): Promise<JobItem[]> {
    return jobQueries.selectJobItems(this.#open(), jobId, 'FAILED', -1, limit);
  }

  failJobItem(jobId: number, position: number, reason: DeleteFailureReason): Promise<boolean> {
    return jobQueries.failJobItem(this.#open(), jobId, position, reason);
  }

  completeSessionDeletion(
    jobId: number,
    position: number,
    sessionId: string,
  ): Promise<SessionDeletionOutcome> {
    return jobQueries.completeSessionDeletion(this.#open(), jobId, position, sessionId);
  }

  deleteJob(jobId: number): Promise<'deleted' | 'not-found' | 'unfinished'> {
    return jobQueries.deleteJob(this.#open(), jobId);
  }

  pruneFinishedJobs(keep: number): Promise<number> {
    return jobQueries.pruneFinishedJobs(this.#open(), keep);
  }

  // Event subscriptions (migration 0010): the statements are in event-queries.ts.

  insertSubscription(record: SubscriptionRecord): Promise<boolean> {
    return eventQueries.insertSubscription(this.#open(), record);
  }

  updateSubscription(record: SubscriptionRecord): Promise<boolean> {
    return eventQueries.updateSubscription(this.#open(), record);
  }

  deleteSubscription(subscriptionId: string): Promise<boolean> {
    return eventQueries.deleteSubscription(this.#open(), subscriptionId);
  }

  async getSubscription(subscriptionId: string): Promise<StoredEventSubscription | undefined> {
    return (await eventQueries.selectSubscriptions(this.#open(), { subscriptionId }))[0];
  }

  async findSubscriptionByUri(subscriptionUri: string): Promise<StoredEventSubscription | undefined> {
    return (await eventQueries.selectSubscriptions(this.#open(), { uri: subscriptionUri }))[0];
  }

  listSubscriptions(): Promise<StoredEventSubscription[]> {
    return eventQueries.selectSubscriptions(this.#open(), {});
  }

  appendOutbox(entries: readonly NewOutboxEntry[]): Promise<void> {
    return eventQueries.appendOutbox(this.#open(), entries);
  }

  pendingOutbox(subscriptionId: string, nodeId: string, limit: number): Promise<OutboxEntry[]> {
    return eventQueries.pendingOutbox(this.#open(), subscriptionId, nodeId, limit);
  }

  recordDelivery(
    result: DeliveryResult,
  ): Promise<{ readonly state: SubscriptionState; readonly failingSince?: number } | undefined> {
    return eventQueries.recordDelivery(this.#open(), result);
  }

  markSubscriptionFailing(subscriptionId: string): Promise<boolean> {
    return eventQueries.markSubscriptionFailing(this.#open(), subscriptionId);
  }

  queryDeliveryLog(query: DeliveryLogQuery): Promise<DeliveryAttempt[]> {
    return eventQueries.queryDeliveryLog(this.#open(), query);
  }

  pruneDeliveryLog(olderThan: number, keep: number): Promise<number> {
    return eventQueries.pruneDeliveryLog(this.#open(), olderThan, keep);
  }

  outboxBacklog(nodeId: string): Promise<{ readonly pending: number; readonly oldestCreatedAt?: number }> {
    return eventQueries.outboxBacklog(this.#open(), nodeId);
  }

  async deleteUser(username: string): Promise<boolean> {
    const result = await this.#open().deleteFrom('users').where('username', '=', username).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // Agent sign-in intervals (migration 0011).

  async startAgentInterval(signIn: AgentSignIn, at: number): Promise<void> {
    await this.#write({}, (trx) => startInterval(trx, signIn, at));
  }

  async keepAliveAgentInterval(signIn: AgentSignIn, at: number): Promise<KeepAliveOutcome> {
    let outcome: KeepAliveOutcome = 'renewed';
    await this.#write({}, async (trx) => {
      outcome = await keepAliveInterval(trx, signIn, at);
    });
    return outcome;
  }

  async stopAgentInterval(loginId: string, at: number): Promise<number> {
    let closed = 0;
    await this.#write({}, async (trx) => {
      closed = await stopInterval(trx, loginId, at);
    });
    return closed;
  }

  async hasAgentIntervals(): Promise<boolean> {
    return hasIntervals(this.#open());
  }

  // Audit trail.

  async appendAudit(record: NewAuditRecord): Promise<void> {
    await appendAuditRecord(this.#open(), record);
  }

  async queryAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return queryAuditRecords(this.#open(), query);
  }

  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    try {
      await this.beforeClose();
    } finally {
      await this.#db.destroy();
      this.logger.debug('database closed');
    }
  }

  #open(): Kysely<Database> {
    if (this.#closed) {
      throw new DbError('VERBATIM_ERR_DB_CLOSED', 'the repository is closed');
    }
    return this.#db;
  }

  /**
   * Runs a write in a transaction and turns constraint violations into coded errors: a unique
   * violation is a conflict, a foreign-key violation a missing parent.
   */
  async #write(
    messages: { readonly conflict?: string; readonly missing?: string },
    work: (trx: Transaction<Database>) => Promise<void>,
  ): Promise<void> {
    try {
      await this.#open().transaction().execute(work);
    } catch (error: unknown) {
      if (error instanceof DbError) {
        throw error;
      }
      const violation = this.constraintViolation(error);
      if (violation === 'unique' && messages.conflict !== undefined) {
        throw new DbError('VERBATIM_ERR_DB_CONFLICT', messages.conflict, { cause: error });
      }
      if (violation === 'foreign-key' && messages.missing !== undefined) {
        throw new DbError('VERBATIM_ERR_DB_NOT_FOUND', messages.missing, { cause: error });
      }
      throw error;
    }
  }
}

/** Computes a session's health from its stored tracks and stores its problem kinds. */
async function storeHealthKinds(trx: Executor, sessionId: string): Promise<void> {
  const rows = await trx.selectFrom('sessions').selectAll().where('session_id', '=', sessionId).execute();
  const [session] = await loadSessions(trx, rows);
  if (session === undefined) {
    return;
  }
  await trx
    .updateTable('sessions')
    .set({ health_kinds: healthKinds(sessionHealth(session)) })
    .where('session_id', '=', sessionId)
    .execute();
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

async function insertTrack(trx: Executor, sessionId: string, track: Track): Promise<void> {
  await trx.insertInto('tracks').values(trackRow(sessionId, track)).execute();
  await insertParticipants(trx, sessionId, track.trackNumber, track.participants);
}

async function insertParticipants(
  trx: Executor,
  sessionId: string,
  trackNumber: number,
  participants: readonly Participant[],
): Promise<void> {
  if (participants.length > 0) {
    await trx
      .insertInto('participants')
      .values(participantRows(sessionId, trackNumber, participants))
      .execute();
  }
}

async function insertTags(trx: Executor, rows: readonly TagsTable[]): Promise<void> {
  if (rows.length > 0) {
    await trx.insertInto('tags').values(rows).execute();
  }
}

/** The next tag sequence number of a session; its caller holds the write transaction. */
async function nextTagSeq(trx: Executor, sessionId: string): Promise<number> {
  const row = await trx
    .selectFrom('tags')
    .select((eb) => eb.fn.max('seq').as('last'))
    .where('session_id', '=', sessionId)
    .executeTakeFirst();
  const last = row?.last ?? null;
  return last === null ? 0 : last + 1;
}

async function trackExists(trx: Executor, sessionId: string, trackNumber: number): Promise<boolean> {
  const row = await trx
    .selectFrom('tracks')
    .select('track_number')
    .where('session_id', '=', sessionId)
    .where('track_number', '=', trackNumber)
    .executeTakeFirst();
  return row !== undefined;
}

/** Loads the children of a page of session rows (three queries, and the agents) and assembles the sessions. */
async function loadSessions(trx: Executor, rows: readonly SessionsTable[]): Promise<Session[]> {
  if (rows.length === 0) {
    return [];
  }
  const ids = rows.map((row) => row.session_id);
  const [trackRows, participantRowList, tagRowList] = await Promise.all([
    trx
      .selectFrom('tracks')
      .selectAll()
      .where('session_id', 'in', ids)
      .orderBy('session_id')
      .orderBy('track_number')
      .execute(),
    trx
      .selectFrom('participants')
      .selectAll()
      .where('session_id', 'in', ids)
      .orderBy('session_id')
      .orderBy('track_number')
      .orderBy('position')
      .execute(),
    trx
      .selectFrom('tags')
      .selectAll()
      .where('session_id', 'in', ids)
      .orderBy('session_id')
      .orderBy('create_ms')
      .orderBy('seq')
      .execute(),
  ]);

  const participantsByTrack = groupBy(
    participantRowList,
    (row) => trackKey(row.session_id, row.track_number),
    toParticipant,
  );
  const sessionTags = groupBy(
    tagRowList.filter((row) => row.track_number === null),
    (row) => row.session_id,
    toTag,
  );
  const trackTags = groupBy(
    tagRowList.filter((row) => row.track_number !== null),
    (row) => trackKey(row.session_id, row.track_number ?? -1),
    toTag,
  );
  const tracksBySession = groupBy(
    trackRows,
    (row) => row.session_id,
    (row) => {
      const key = trackKey(row.session_id, row.track_number);
      return toTrack(row, participantsByTrack.get(key) ?? [], trackTags.get(key) ?? []);
    },
  );
  const sessions = rows.map((row) =>
    toSession(row, sessionTags.get(row.session_id) ?? [], tracksBySession.get(row.session_id) ?? []),
  );
  // Agents are joined on read (model/agent.ts says why), in one more query for the page.
  return withAgents(trx, sessions, Date.now());
}

function trackKey(sessionId: string, trackNumber: number): string {
  return `${trackNumber}\u0000${sessionId}`;
}

function groupBy<R, V>(rows: readonly R[], key: (row: R) => string, value: (row: R) => V): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group === undefined) {
      groups.set(k, [value(row)]);
    } else {
      group.push(value(row));
    }
  }
  return groups;
}

function toUser(row: {
  username: string;
  role: Role;
  password_hash: string;
  created_ms: number;
  digest_ha1: string | null;
}): User {
  return {
    username: row.username,
    role: row.role,
    passwordHash: row.password_hash,
    createdAt: row.created_ms,
    ...(row.digest_ha1 === null ? {} : { digestHa1: row.digest_ha1 }),
  };
}
