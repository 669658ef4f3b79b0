import type { AuditNotes } from './ora-route.js';
import { isJsonObject, type JsonObject } from './params.js';

/**
 * How the audit trail names what a call was after. For a call refused for the role (4022): the
 * refusal comes before the route's handler, which is what names the target of an allowed call,
 * so the registrar finds it in the parameters here (refusedCallNotes). The parameters
 * are read as sent, not validated (they never reach a handler): only short texts and numbers
 * under the names the handlers audit are kept, written as the handlers write them, so that a
 * refused attempt and an allowed one on the same thing are found by the same audit search.
 */

/** Session ids an audit record lists at most (the count is written too). */
export const AUDITED_SESSION_IDS = 50;

/** Longest parameter value taken into a refusal's record (a session id is 16, a CIDR under 50). */
const MAX_TARGET_CHARS = 200;

/** Parameter name → how the handlers write it as a target. The first one present wins. */
const TARGETS: readonly (readonly [string, (value: string) => string])[] = [
  ['sessionId', (v) => v],
  ['username', (v) => v],
  ['loginId', (v) => v],
  ['deviceRef', (v) => v],
  ['cidr', (v) => v],
  ['subscriptionId', (v) => `subscription ${v}`],
  ['jobId', (v) => `job ${v}`],
];

/** The detail of a call naming sessions: how many, and the first AUDITED_SESSION_IDS of them. */
export function sessionIdsDetail(sessionIds: readonly string[]): Record<string, string> {
  const shown = sessionIds.slice(0, AUDITED_SESSION_IDS).join(',');
  return {
    sessions: String(sessionIds.length),
    sessionIds: sessionIds.length > AUDITED_SESSION_IDS ? `${shown},…` : shown,
  };
}

/** The target (and, for a list of sessions, the detail) of a refused call's raw parameters. */
export function refusedCallNotes(raw: unknown): Pick<AuditNotes, 'target' | 'detail'> {
  if (!isJsonObject(raw)) {
    return {};
  }
  // submitJob carries its parameters one level down.
  const where = isJsonObject(raw['jobParameters']) ? [raw, raw['jobParameters']] : [raw];
  for (const params of where) {
    for (const [name, write] of TARGETS) {
      const value = plainValue(lookup(params, name));
      if (value !== undefined) {
        return { target: write(value) };
      }
    }
    const sessionIds = lookup(params, 'sessionIds');
    if (Array.isArray(sessionIds)) {
      const ids = sessionIds.map(plainValue).filter((id) => id !== undefined);
      if (ids.length > 0) {
        return { detail: sessionIdsDetail(ids) };
      }
    }
  }
  return {};
}

/** A parameter by name, its case ignored as the API ignores it (an exact spelling first). */
function lookup(params: JsonObject, name: string): unknown {
  if (Object.hasOwn(params, name)) {
    return params[name];
  }
  const lower = name.toLowerCase();
  const key = Object.keys(params).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : params[key];
}

function plainValue(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    return String(value);
  }
  if (typeof value === 'string' && value !== '' && value.length <= MAX_TARGET_CHARS) {
    return value;
  }
  return undefined;
}
