/**
 * Agent information from the Finesse AgentInfo gadget (DESIGN.md §1.5): which agent was signed in
 * at which extension, and when. A participant whose deviceRef is the extension during such an
 * interval carries the agent. The link is made when sessions are read (the repository joins the
 * intervals), never stored on the participant: a call already recording when the agent signs in
 * is covered, a late STOP or an expiry changes nothing that was written, and a restart loses
 * nothing because both sides are in the database.
 */

/** Who the gadget says is signed in. */
export interface AgentIdentity {
  /** The Finesse login id (User.getId()). */
  readonly loginId: string;
  /** The Finesse login name (User.getLoginName()), or the login id when the desktop gives none. */
  readonly loginName: string;
  readonly firstName?: string;
  readonly lastName?: string;
}

export interface AgentSignIn extends AgentIdentity {
  readonly extension: string;
}

/** One signed-in interval as stored (migration 0011); times in epoch ms. */
export interface AgentInterval extends AgentSignIn {
  readonly startedAt: number;
  readonly lastKeepAliveAt: number;
  /** Set by STOP, by a new START of the same login, or when an expired interval is renewed. */
  readonly endedAt?: number;
}

/** The gadget sends KEEPALIVE every three minutes. */
export const AGENT_KEEPALIVE_INTERVAL_MS = 3 * 60_000;

/**
 * An open interval without a KEEPALIVE for longer than this ended at its last keepalive: two
 * missed keepalives and a minute of margin (a desktop closed without sign-out, a browser crash).
 */
export const AGENT_KEEPALIVE_TIMEOUT_MS = 2 * AGENT_KEEPALIVE_INTERVAL_MS + 60_000;

/** When an interval ends, as known at `now`; undefined while it is still open. */
export function effectiveEnd(interval: AgentInterval, now: number): number | undefined {
  if (interval.endedAt !== undefined) {
    return interval.endedAt;
  }
  return now - interval.lastKeepAliveAt > AGENT_KEEPALIVE_TIMEOUT_MS ? interval.lastKeepAliveAt : undefined;
}

/**
 * The agent a participant carries: of the intervals on its extension that overlap its time
 * (`from`…`to`, both inclusive), the one that began first, so the agent signed in when the
 * participant joined wins over one who signed in later in the same call.
 */
export function agentFor(
  intervals: readonly AgentInterval[],
  deviceRef: string,
  from: number,
  to: number,
  now: number,
): AgentIdentity | undefined {
  let best: AgentInterval | undefined;
  for (const interval of intervals) {
    if (interval.extension !== deviceRef || interval.startedAt > to) {
      continue;
    }
    const end = effectiveEnd(interval, now);
    if (end !== undefined && end < from) {
      continue;
    }
    if (best === undefined || interval.startedAt < best.startedAt) {
      best = interval;
    }
  }
  return best === undefined ? undefined : identityOf(best);
}

function identityOf(interval: AgentInterval): AgentIdentity {
  return {
    loginId: interval.loginId,
    loginName: interval.loginName,
    ...(interval.firstName === undefined ? {} : { firstName: interval.firstName }),
    ...(interval.lastName === undefined ? {} : { lastName: interval.lastName }),
  };
}

/** What became of a KEEPALIVE. */
export type KeepAliveOutcome = 'renewed' | 'restarted';

/** The repository's part for agent information (migration 0011). */
export interface AgentStore {
  /** Opens an interval at `at`; open intervals of the same login end (at their last keepalive if expired). */
  startAgentInterval(signIn: AgentSignIn, at: number): Promise<void>;
  /**
   * Renews the login's open, unexpired interval on that extension; when there is none (the node
   * was down, the interval expired, the extension changed) a new interval starts, as on START.
   */
  keepAliveAgentInterval(signIn: AgentSignIn, at: number): Promise<KeepAliveOutcome>;
  /** Ends the login's open intervals at `at` (expired ones at their last keepalive); how many. */
  stopAgentInterval(loginId: string, at: number): Promise<number>;
  /** Whether any agent has ever signed in (the signIn hints show agent data from then on). */
  hasAgentIntervals(): Promise<boolean>;
}
