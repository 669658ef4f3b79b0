import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { Value } from 'typebox/value';

import type { AuditTrail } from './audit-trail.js';
import type { Authenticator } from './authenticator.js';
import { failure, RESPONSE_CODES, type Envelope } from './envelope.js';
import { apiName, type AuditNotes, type CallUser, type OraCall, type OraRoute } from './ora-route.js';
import { isJsonObject, getParam, shortText, urlPath, type JsonObject } from './params.js';
import { allows, rolesWith } from './permissions.js';
import { refusedCallNotes } from './audit-targets.js';
import type { ApiRefusalLog } from './refusal-log.js';

export interface OraRegistrarContext {
  readonly authenticator: Authenticator;
  readonly refusals: ApiRefusalLog;
  readonly audit: AuditTrail;
  readonly now: () => number;
}

/**
 * How long a polled read that showed the same thing to the same API session is not recorded
 * again (docs/api.md "Audit trail"). A Search and Play page asks for the calls in progress every
 * 2 s: one record per page every 2 s (1,800 an hour) would bury the records that matter, and
 * adds nothing while the answer is the same. A changed answer is recorded at once.
 */
export const AUDIT_REPEAT_WINDOW_MS = 10 * 60_000;
/** Bound on the remembered reads; the oldest are forgotten first (at worst, one record too many). */
const MAX_REMEMBERED_READS = 10_000;

/** The last time each (API session, action, answer) was recorded. */
class RecordedReads {
  readonly #at = new Map<string, number>();

  /** Whether this read was recorded within the window; if not, it is remembered as recorded now. */
  seenRecently(key: string, now: number): boolean {
    const at = this.#at.get(key);
    if (at !== undefined && now - at < AUDIT_REPEAT_WINDOW_MS) {
      return true;
    }
    // Re-inserted so the map's order stays oldest first.
    this.#at.delete(key);
    this.#at.set(key, now);
    if (this.#at.size > MAX_REMEMBERED_READS) {
      const oldest = this.#at.keys().next();
      if (oldest.done !== true) {
        this.#at.delete(oldest.value);
      }
    }
    return false;
  }
}

/**
 * Registers declared routes with fastify. Every call goes the same way: the caller (4021 without
 * a valid session), the role (4022), the parameters (4002 / 4001), the handler, then the audit
 * record. The caller is checked before the parameters, as MediaSense does: a client without a
 * session learns nothing about the API from its errors.
 */
export function registerOraRouteTable(
  app: FastifyInstance,
  ctx: OraRegistrarContext,
  routes: readonly OraRoute[],
): void {
  const reads = new RecordedReads();
  for (const route of routes) {
    const validator = Compile(route.params);
    app.route({
      method: route.method,
      url: route.path,
      ...(route.bodyLimit === undefined ? {} : { bodyLimit: route.bodyLimit }),
      handler: (request, reply) => handleCall(ctx, reads, route, validator, request, reply),
    });
  }
}

async function handleCall(
  ctx: OraRegistrarContext,
  reads: RecordedReads,
  route: OraRoute,
  validator: Validator,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Envelope> {
  let user: CallUser | undefined;
  if (route.permission !== 'public') {
    const session = ctx.authenticator.sessionOf(request.headers);
    if (session === undefined) {
      // Normal when a session expires (the client signs in again on 4021), hence info.
      ctx.refusals.note('invalid-session', 'info', 'API request without a valid JSESSIONID', {
        url: shortText(urlPath(request.url)),
      });
      return failure(RESPONSE_CODES.invalidSession);
    }
    user = { username: session.username, role: session.role, session };
  }
  const notes: AuditNotes = {};
  const finish = async (envelope: Envelope): Promise<Envelope> => {
    const repeated =
      notes.repeatKey !== undefined &&
      user !== undefined &&
      reads.seenRecently(
        `${user.session.id} ${apiName(route)} ${envelope.responseCode} ${notes.repeatKey}`,
        ctx.now(),
      );
    if (route.audit && !repeated) {
      await ctx.audit.record({
        username: notes.username ?? user?.username ?? '',
        role: notes.role ?? user?.role,
        action: apiName(route),
        target: notes.target,
        outcome: envelope.responseCode,
        source: request.ip,
        detail: notes.detail,
      });
    }
    return envelope;
  };

  if (user !== undefined && !allows(user.role, route.permission)) {
    const raw = rawParamsOf(route, request);
    Object.assign(notes, refusedCallNotes('responseCode' in raw ? undefined : raw.raw));
    ctx.refusals.note('forbidden', 'info', 'API request refused for the role', {
      username: user.username,
      role: user.role,
      api: apiName(route),
    });
    return finish(
      failure(
        RESPONSE_CODES.forbidden,
        `${apiName(route)} needs one of the roles ${rolesWith(route.permission).join(', ')}; ` +
          `${user.username} has the role ${user.role}`,
      ),
    );
  }

  const params = readParams(route, validator, request);
  if ('responseCode' in params) {
    return finish(params);
  }
  const call: OraCall = { request, reply, user, audit: notes };
  try {
    return await finish(await route.handler(params.value, call));
  } catch (error) {
    // The error handler answers 5000 and logs the stack; the trail still shows the attempt.
    await finish(failure(RESPONSE_CODES.internalError));
    throw error;
  }
}

/** The route's parameters as sent, from where it declares them; an error when they cannot be. */
function rawParamsOf(route: OraRoute, request: FastifyRequest): { raw: unknown } | Envelope {
  switch (route.input) {
    case 'query':
      return { raw: firstOfEach(isJsonObject(request.query) ? request.query : {}) };
    case 'body':
      return { raw: request.body ?? {} };
    case 'requestParameters': {
      const body: unknown = request.body ?? {};
      if (!isJsonObject(body)) {
        return failure(RESPONSE_CODES.malformedRequest, 'the body must be a JSON object');
      }
      const raw = getParam(body, 'requestParameters') ?? {};
      if (!isJsonObject(raw)) {
        return failure(RESPONSE_CODES.invalidParameter, 'requestParameters must be an object');
      }
      return { raw };
    }
  }
}

/** The route's parameters, read from where it declares them, matched to its schema and checked. */
function readParams(
  route: OraRoute,
  validator: Validator,
  request: FastifyRequest,
): { value: unknown } | Envelope {
  const read = rawParamsOf(route, request);
  if ('responseCode' in read) {
    return read;
  }
  const { raw } = read;
  const where =
    route.input === 'requestParameters' ? 'requestParameters' : route.input === 'query' ? '' : 'body';
  if (route.checkedByHandler === true) {
    return { value: raw };
  }
  // Convert clones: strings become the numbers and booleans the schema asks for, where they can.
  const value = Value.Convert(route.params, canonicalKeys(route.params, raw));
  if (validator.Check(value)) {
    return { value };
  }
  const [first] = validator.Errors(value);
  if (first === undefined) {
    return failure(RESPONSE_CODES.invalidParameter);
  }
  const path = [where, ...first.instancePath.split('/').filter((p) => p !== '')].filter((p) => p !== '');
  if (first.keyword === 'required') {
    const names = (first.params as { requiredProperties?: string[] }).requiredProperties ?? [];
    const missing = names.map((name) => [...path, name].join('.')).join(', ');
    return failure(RESPONSE_CODES.missingParameter, `${missing} ${names.length > 1 ? 'are' : 'is'} required`);
  }
  if (path.length === 0 && first.keyword === 'type') {
    return failure(
      RESPONSE_CODES.malformedRequest,
      `the ${route.input === 'body' ? 'body' : 'parameters'} ${first.message}`,
    );
  }
  return failure(RESPONSE_CODES.invalidParameter, `${path.join('.') || 'the parameters'} ${first.message}`);
}

/** A query string's values, each the first of its repeats (the one a MediaSense client means). */
function firstOfEach(query: JsonObject): JsonObject {
  return Object.fromEntries(
    Object.entries(query).map(([key, value]) => [
      key,
      Array.isArray(value) ? (value as unknown[])[0] : value,
    ]),
  );
}

/**
 * The value with its object keys renamed to the schema's spelling where they differ only in case
 * (an exact spelling wins), at every level the schema describes, without the keys whose value is
 * null. Keys the schema does not know stay.
 */
function canonicalKeys(schema: TSchema, value: unknown): unknown {
  const properties = (schema as { properties?: Record<string, TSchema> }).properties;
  if (properties !== undefined && isJsonObject(value)) {
    const spelling = new Map(Object.keys(properties).map((name) => [name.toLowerCase(), name]));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === null) {
        // JSON null is no value: a required parameter sent as null is missing (4002), and the
        // schema's conversion must not turn it into the text "null".
        continue;
      }
      const name = Object.hasOwn(properties, key) ? key : (spelling.get(key.toLowerCase()) ?? key);
      if (Object.hasOwn(out, name) && name !== key) {
        continue; // the exact spelling was there too, and wins
      }
      out[name] = properties[name] === undefined ? item : canonicalKeys(properties[name], item);
    }
    return out;
  }
  const items = (schema as { items?: TSchema }).items;
  if (items !== undefined && Array.isArray(value)) {
    return value.map((item: unknown) => canonicalKeys(items, item));
  }
  return value;
}
