/**
 * Search and Play's search: the form's criteria as they live in the page's URL (so a reload, a
 * bookmark or a shared link gives the same search and page), and their translation into one
 * getSessions query (docs/api.md "The getSessions query language"), paged and sorted by the
 * server. Pure functions but the two API calls, so the translation is easy to read in one place.
 */
import type { SessionJson } from '../../../server/src/api/session-json.ts';
import { HEALTH_PROBLEM_KINDS } from '../../../server/src/model/session-health.ts';
import { getApi, postApiBody } from './client.ts';

export type { SessionJson };
export { HEALTH_PROBLEM_KINDS };

export const QUICK_RANGES = ['hour', 'today', 'yesterday', 'week', 'custom'] as const;
export type QuickRange = (typeof QUICK_RANGES)[number];

export const RANGE_LABELS: Readonly<Record<QuickRange, string>> = {
  hour: 'Last hour',
  today: 'Today',
  yesterday: 'Yesterday',
  week: 'Last 7 days',
  custom: 'Custom',
};

export const SESSION_STATES = ['ACTIVE', 'CLOSED_NORMAL', 'CLOSED_ERROR'] as const;

/** The form's health choice: any problem, none, or one kind (the server's healthProblem field). */
export const HEALTH_CHOICES = ['', 'any', 'ok', ...HEALTH_PROBLEM_KINDS] as const;

export const SORT_FIELDS = ['sessionStartDate', 'sessionDuration', 'ccid', 'sessionState'] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export type SortOrder = 'asc' | 'desc';

export const PAGE_SIZES = [25, 50, 100] as const;
const DEFAULT_PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 200;

/** A search as the URL holds it: every text as typed, '' when not given. */
export interface Search {
  readonly range: QuickRange;
  /** `datetime-local` values (local time), for the custom range. */
  readonly from: string;
  readonly to: string;
  readonly device: string;
  readonly xRefCi: string;
  readonly ccid: string;
  readonly tag: string;
  readonly state: string;
  readonly agent: string;
  /** Seconds, as typed. */
  readonly minDuration: string;
  readonly maxDuration: string;
  readonly controller: string;
  readonly health: string;
  readonly sort: SortField;
  readonly order: SortOrder;
  /** 1-based. */
  readonly page: number;
  readonly size: number;
}

export const DEFAULT_SEARCH: Search = {
  range: 'week',
  from: '',
  to: '',
  device: '',
  xRefCi: '',
  ccid: '',
  tag: '',
  state: '',
  agent: '',
  minDuration: '',
  maxDuration: '',
  controller: '',
  health: '',
  sort: 'sessionStartDate',
  order: 'desc',
  page: 1,
  size: DEFAULT_PAGE_SIZE,
};

/** The text fields of a search, by their URL parameter (the same as the property's name). */
const TEXT_KEYS = [
  'from',
  'to',
  'device',
  'xRefCi',
  'ccid',
  'tag',
  'state',
  'agent',
  'minDuration',
  'maxDuration',
  'controller',
  'health',
] as const;

function oneOf<T extends string>(values: readonly T[], value: string | undefined, fallback: T): T {
  return values.find((v) => v === value) ?? fallback;
}

function positiveInteger(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 1 ? n : fallback;
}

/** The search a URL query holds; anything unknown or malformed falls back to the default. */
export function searchFromQuery(query: Readonly<Record<string, string | undefined>>): Search {
  const text = Object.fromEntries(TEXT_KEYS.map((key) => [key, (query[key] ?? '').trim()])) as Record<
    (typeof TEXT_KEYS)[number],
    string
  >;
  return {
    ...text,
    range: oneOf(QUICK_RANGES, query.range, DEFAULT_SEARCH.range),
    state: oneOf(['', ...SESSION_STATES], text.state, ''),
    health: oneOf(HEALTH_CHOICES, text.health, ''),
    sort: oneOf(SORT_FIELDS, query.sort, DEFAULT_SEARCH.sort),
    order: oneOf(['asc', 'desc'], query.order, DEFAULT_SEARCH.order),
    page: positiveInteger(query.page, 1),
    // The form offers PAGE_SIZES; a link may carry any size up to MAX_PAGE_SIZE.
    size: Math.min(MAX_PAGE_SIZE, positiveInteger(query.size, DEFAULT_PAGE_SIZE)),
  };
}

/** The URL query of a search: only what differs from the default, so links stay short. */
export function queryOfSearch(search: Search): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(search) as [keyof Search, string | number][]) {
    if (value !== DEFAULT_SEARCH[key] && value !== '') {
      params.set(key, String(value));
    }
  }
  return params.toString();
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function startOfDay(at: number): number {
  const day = new Date(at);
  day.setHours(0, 0, 0, 0);
  return day.getTime();
}

/** The [from, to] epoch-ms window a search covers at `now`; an error sentence when it has none. */
export function windowOf(search: Search, now: number): [number, number] | string {
  switch (search.range) {
    case 'hour':
      return [now - HOUR_MS, now];
    case 'today':
      return [startOfDay(now), now];
    case 'yesterday': {
      const today = startOfDay(now);
      // Not today − 24 h: a day that changes the clock (daylight saving) is 23 or 25 hours long.
      return [startOfDay(today - 1), today - 1];
    }
    case 'week':
      return [now - 7 * DAY_MS, now];
    case 'custom': {
      const from = search.from === '' ? Number.NaN : new Date(search.from).getTime();
      const to = search.to === '' ? now : new Date(search.to).getTime();
      if (!Number.isFinite(from) || !Number.isFinite(to)) {
        return 'Give the custom range a start (and an end, or it ends now).';
      }
      if (from > to) {
        return 'The custom range starts after it ends.';
      }
      return [Math.max(0, from), Math.max(0, to)];
    }
  }
}

type Clause = {
  fieldName: string;
  fieldConditions: { fieldOperator: string; fieldValues: (string | number)[] }[];
  paramConnector: 'AND';
};

function clause(fieldName: string, fieldOperator: string, ...fieldValues: (string | number)[]): Clause {
  return { fieldName, fieldConditions: [{ fieldOperator, fieldValues }], paramConnector: 'AND' };
}

/** A number of seconds as typed, in ms; undefined when empty, NaN when not a number. */
function secondsToMs(text: string): number | undefined {
  if (text === '') {
    return undefined;
  }
  const seconds = Number(text);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : Number.NaN;
}

/**
 * The requestParameters of a search at `now`: every criterion given, joined with AND (the one
 * connector whose reading every MediaSense client agrees on). Text matches are exact (equals),
 * so that a search for extension 1000 does not bring 10001; the agent is the server's `agent`
 * field (login id or name) and the health its `healthProblem` field, both Verbatim extensions.
 */
export function requestParametersOf(search: Search, now: number): Clause[] | string {
  const window = windowOf(search, now);
  if (typeof window === 'string') {
    return window;
  }
  const clauses: Clause[] = [clause('sessionStartDate', 'between', window[0], window[1])];
  const text: [string, string][] = [
    ['deviceRef', search.device],
    ['xRefCi', search.xRefCi],
    ['ccid', search.ccid],
    ['tagName', search.tag],
    ['sessionState', search.state],
    ['agent', search.agent],
    ['callControllerType', search.controller],
  ];
  for (const [field, value] of text) {
    if (value !== '') {
      clauses.push(clause(field, 'equals', value));
    }
  }
  const min = secondsToMs(search.minDuration);
  const max = secondsToMs(search.maxDuration);
  if (Number.isNaN(min) || Number.isNaN(max)) {
    return 'Durations are a number of seconds, 0 or more.';
  }
  if (min !== undefined && max !== undefined) {
    if (min > max) {
      return 'The shortest duration is longer than the longest.';
    }
    clauses.push(clause('sessionDuration', 'between', min, max));
  } else if (min !== undefined) {
    // "At least": greaterThan is strict, so one millisecond less.
    clauses.push(clause('sessionDuration', 'greaterThan', min - 1));
  } else if (max !== undefined) {
    clauses.push(clause('sessionDuration', 'lessThan', max + 1));
  }
  if (search.health === 'ok') {
    clauses.push(clause('healthProblem', 'notEquals', 'any'));
  } else if (search.health !== '') {
    clauses.push(clause('healthProblem', 'equals', search.health));
  }
  return clauses;
}

export interface ResultPage {
  readonly sessions: readonly SessionJson[];
  /** Whether a later page has at least one session. */
  readonly hasNext: boolean;
}

/**
 * One page of a search. The API has no total count (MediaSense has none), so the page asks for
 * one more session than it shows: its presence says there is a next page.
 */
export async function searchSessions(search: Search, now: number, signal?: AbortSignal): Promise<ResultPage> {
  const requestParameters = requestParametersOf(search, now);
  if (typeof requestParameters === 'string') {
    throw new Error(requestParameters);
  }
  const envelope = await postApiBody(
    '/ora/queryService/query/getSessions',
    {
      requestParameters,
      pageParameters: { offset: (search.page - 1) * search.size, limit: search.size + 1 },
      sortParameters: [{ byFieldName: search.sort, order: search.order.toUpperCase() }],
    },
    signal,
  );
  const sessions = (envelope.responseBody as { sessions?: SessionJson[] } | undefined)?.sessions ?? [];
  return { sessions: sessions.slice(0, search.size), hasNext: sessions.length > search.size };
}

/** Every ACTIVE session, newest first (getAllActiveSessions), for the live list. */
export async function activeSessions(signal?: AbortSignal): Promise<SessionJson[]> {
  const envelope = await getApi('/ora/queryService/query/getAllActiveSessions', { limit: 100 }, signal);
  return (envelope.responseBody as { sessions?: SessionJson[] } | undefined)?.sessions ?? [];
}
