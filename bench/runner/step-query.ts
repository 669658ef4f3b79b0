import { percentile } from './percentile.js';
import type { ApiEnvelope, Recorder } from './recorder.js';
import type { SeedResult } from './seed-sessions.js';

/**
 * Step e: getSessions over a seeded database, through the HTTP API as MediaSense clients call it,
 * timed from the request to the parsed JSON answer. Four kinds of query, interleaved: recent
 * calls in a state (a supervisor's "what happened this hour/day"), one agent's calls over a week,
 * a CUCM call by xRefCi over a month (how CTI and WFM integrations find a recording), and a page
 * of 100 sorted newest first (paging through a week).
 */

export interface QueryPlan {
  readonly queries: number;
  readonly warmupQueries: number;
  readonly nowMs: number;
}

export const QUERY_KINDS = ['recentByState', 'deviceRef7Days', 'xRefCi30Days', 'page100Desc'] as const;
export type QueryKind = (typeof QUERY_KINDS)[number];

export interface QueryKindResult {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly meanRows: number;
}

export interface QueryResult {
  readonly sessions: number;
  readonly seedSeconds: number;
  readonly queries: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly byKind: Record<QueryKind, QueryKindResult>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function startDate(fromMs: number, toMs: number): unknown {
  return {
    fieldName: 'sessionStartDate',
    fieldConditions: [{ fieldOperator: 'between', fieldValues: [fromMs, toMs] }],
    paramConnector: 'AND',
  };
}

function equals(fieldName: string, value: string): unknown {
  return { fieldName, fieldConditions: [{ fieldOperator: 'equals', fieldValues: [value] }] };
}

/** The request body of the i-th query of a kind. */
function body(kind: QueryKind, i: number, seed: SeedResult, nowMs: number): unknown {
  const pick = <T>(values: readonly T[], fallback: T): T =>
    values[(i * 7919) % Math.max(1, values.length)] ?? fallback;
  switch (kind) {
    case 'recentByState':
      return {
        requestParameters: [
          startDate(nowMs - (i % 2 === 0 ? HOUR_MS : DAY_MS), nowMs),
          equals('sessionState', i % 4 < 3 ? 'CLOSED_NORMAL' : 'ACTIVE'),
        ],
        pageParameters: { offset: 0, limit: 100 },
      };
    case 'deviceRef7Days':
      return {
        requestParameters: [
          startDate(nowMs - 7 * DAY_MS, nowMs),
          equals('deviceRef', pick(seed.agentExtensions, '1000')),
        ],
        pageParameters: { offset: 0, limit: 100 },
      };
    case 'xRefCi30Days':
      return {
        requestParameters: [
          startDate(nowMs - 30 * DAY_MS, nowMs),
          equals('xRefCi', pick(seed.recentRefCis, '16777216')),
        ],
        pageParameters: { offset: 0, limit: 100 },
      };
    case 'page100Desc':
      return {
        requestParameters: [startDate(nowMs - 7 * DAY_MS, nowMs)],
        pageParameters: { offset: 100 * (i % 10), limit: 100 },
        sortParameters: [{ byFieldName: 'sessionStartDate', order: 'DESC' }],
      };
  }
}

export async function runQueries(
  recorder: Recorder,
  seed: SeedResult,
  plan: QueryPlan,
): Promise<QueryResult> {
  const timings = new Map<QueryKind, number[]>(QUERY_KINDS.map((k) => [k, []]));
  const rows = new Map<QueryKind, number[]>(QUERY_KINDS.map((k) => [k, []]));
  let errors = 0;
  let firstError: string | undefined;
  for (let i = 0; i < plan.warmupQueries + plan.queries; i++) {
    const kind = QUERY_KINDS[i % QUERY_KINDS.length] ?? 'page100Desc';
    const request = body(kind, Math.floor(i / QUERY_KINDS.length), seed, plan.nowMs);
    const started = performance.now();
    let answer: ApiEnvelope;
    try {
      answer = await recorder.api('/ora/queryService/query/getSessions', request);
    } catch (error) {
      answer = { responseCode: -1, responseMessage: String(error) };
    }
    const elapsedMs = performance.now() - started;
    if (i < plan.warmupQueries) {
      continue;
    }
    if (answer.responseCode !== 2000 && answer.responseCode !== 2001) {
      errors++;
      firstError ??=
        `${kind}: ${answer.responseCode} ${answer.responseMessage} ${answer.detail ?? ''}`.trim();
      continue;
    }
    timings.get(kind)?.push(elapsedMs);
    const sessions = answer.responseBody?.sessions;
    rows.get(kind)?.push(Array.isArray(sessions) ? sessions.length : 0);
  }
  const all = [...timings.values()].flat();
  const byKind = Object.fromEntries(
    QUERY_KINDS.map((kind) => {
      const times = timings.get(kind) ?? [];
      const counts = rows.get(kind) ?? [];
      const result: QueryKindResult = {
        count: times.length,
        p50Ms: percentile(times, 50),
        p95Ms: percentile(times, 95),
        maxMs: Math.max(...times),
        meanRows: counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length),
      };
      return [kind, result];
    }),
  ) as Record<QueryKind, QueryKindResult>;
  return {
    sessions: seed.sessions,
    seedSeconds: seed.seconds,
    queries: all.length,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    p50Ms: percentile(all, 50),
    p95Ms: percentile(all, 95),
    maxMs: Math.max(...all),
    byKind,
  };
}
