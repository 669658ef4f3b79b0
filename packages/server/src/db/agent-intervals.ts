import { sql, type Expression, type Kysely, type SqlBool, type Transaction } from 'kysely';

import {
  AGENT_KEEPALIVE_TIMEOUT_MS,
  agentFor,
  type AgentInterval,
  type AgentSignIn,
  type KeepAliveOutcome,
} from '../model/agent.js';
import type { Participant, Session } from '../model/session.js';
import type { AgentIntervalsTable, Database } from './schema.js';

/**
 * Agent sign-in intervals (migration 0011, model/agent.ts): the gadget's START, KEEPALIVE and STOP,
 * and the join that gives a page of sessions their agents when it is read.
 */

type Executor = Kysely<Database> | Transaction<Database>;

/** Ends the login's open intervals: at `at`, or at the last keepalive when the interval expired. */
async function closeOpen(trx: Executor, loginId: string, at: number): Promise<number> {
  const expiredBefore = at - AGENT_KEEPALIVE_TIMEOUT_MS;
  const result = await trx
    .updateTable('agent_intervals')
    .set({
      end_ms: sql<number>`case when last_keepalive_ms < ${expiredBefore} then last_keepalive_ms else ${at} end`,
    })
    .where('login_id', '=', loginId)
    .where('end_ms', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

function identityColumns(signIn: AgentSignIn) {
  return {
    login_name: signIn.loginName,
    first_name: signIn.firstName ?? null,
    last_name: signIn.lastName ?? null,
  };
}

export async function startInterval(trx: Executor, signIn: AgentSignIn, at: number): Promise<void> {
  await closeOpen(trx, signIn.loginId, at);
  await trx
    .insertInto('agent_intervals')
    .values({
      login_id: signIn.loginId,
      ...identityColumns(signIn),
      extension: signIn.extension,
      start_ms: at,
      last_keepalive_ms: at,
      end_ms: null,
    })
    .execute();
}

export async function keepAliveInterval(
  trx: Executor,
  signIn: AgentSignIn,
  at: number,
): Promise<KeepAliveOutcome> {
  const result = await trx
    .updateTable('agent_intervals')
    .set({ last_keepalive_ms: at, ...identityColumns(signIn) })
    .where('login_id', '=', signIn.loginId)
    .where('extension', '=', signIn.extension)
    .where('end_ms', 'is', null)
    .where('last_keepalive_ms', '>=', at - AGENT_KEEPALIVE_TIMEOUT_MS)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) > 0) {
    return 'renewed';
  }
  await startInterval(trx, signIn, at);
  return 'restarted';
}

export async function stopInterval(trx: Executor, loginId: string, at: number): Promise<number> {
  return closeOpen(trx, loginId, at);
}

export async function hasIntervals(db: Executor): Promise<boolean> {
  const row = await db.selectFrom('agent_intervals').select('id').limit(1).executeTakeFirst();
  return row !== undefined;
}

function toInterval(row: Omit<AgentIntervalsTable, 'id'>): AgentInterval {
  return {
    loginId: row.login_id,
    loginName: row.login_name,
    ...(row.first_name === null ? {} : { firstName: row.first_name }),
    ...(row.last_name === null ? {} : { lastName: row.last_name }),
    extension: row.extension,
    startedAt: row.start_ms,
    lastKeepAliveAt: row.last_keepalive_ms,
    ...(row.end_ms === null ? {} : { endedAt: row.end_ms }),
  };
}

/** A participant's time: its own duration, else its session's end, else (ACTIVE) now. */
function participantSpan(session: Session, participant: Participant, now: number): [number, number] {
  const from = participant.participantStartDate;
  if (participant.participantDuration !== undefined) {
    return [from, from + participant.participantDuration];
  }
  if (session.sessionState !== 'ACTIVE' && session.sessionDuration !== undefined) {
    return [from, session.sessionStartDate + session.sessionDuration];
  }
  return [from, now];
}

/**
 * The sessions with `agent` set on each participant an agent was signed in at (one query for
 * the whole page: the intervals on its extensions that begin before its last participant ends).
 */
export async function withAgents(
  trx: Executor,
  sessions: readonly Session[],
  now: number,
): Promise<Session[]> {
  const extensions = new Set<string>();
  let latest = 0;
  for (const session of sessions) {
    for (const track of session.tracks) {
      for (const participant of track.participants) {
        extensions.add(participant.deviceRef);
        latest = Math.max(latest, participantSpan(session, participant, now)[1]);
      }
    }
  }
  if (extensions.size === 0) {
    return [...sessions];
  }
  const rows = await trx
    .selectFrom('agent_intervals')
    .selectAll()
    .where('extension', 'in', [...extensions])
    .where('start_ms', '<=', latest)
    .execute();
  if (rows.length === 0) {
    return [...sessions];
  }
  const intervals = rows.map(toInterval);
  return sessions.map((session) => ({
    ...session,
    tracks: session.tracks.map((track) => ({
      ...track,
      participants: track.participants.map((participant) => {
        const [from, to] = participantSpan(session, participant, now);
        const agent = agentFor(intervals, participant.deviceRef, from, to, now);
        return agent === undefined ? participant : { ...participant, agent };
      }),
    })),
  }));
}

/**
 * The getSessions test of an agent field (loginId, loginName, agent): some participant of the
 * session overlaps an interval, on its extension, one of whose `columns` passes `test`. The
 * overlap is the one withAgents computes (effective end: end_ms, or the last keepalive once
 * expired, or open).
 */
export function agentFieldExists(
  columns: readonly ('login_id' | 'login_name')[],
  now: number,
  test: (column: Expression<string | null>) => Expression<SqlBool>,
): Expression<SqlBool> {
  const expiredBefore = now - AGENT_KEEPALIVE_TIMEOUT_MS;
  const participantEnd = sql`coalesce(p.start_ms + p.duration_ms, sessions.end_ms, ${now})`;
  const intervalEnd = sql`coalesce(a.end_ms, case when a.last_keepalive_ms < ${expiredBefore} then a.last_keepalive_ms else ${now} end)`;
  const tests = sql.join(
    columns.map((column) => test(sql.ref<string | null>(`a.${column}`))),
    sql` or `,
  );
  return sql<SqlBool>`exists (select 1 from participants p join agent_intervals a on a.extension = p.device_ref where p.session_id = sessions.session_id and a.start_ms <= ${participantEnd} and ${intervalEnd} >= p.start_ms and (${tests}))`;
}
