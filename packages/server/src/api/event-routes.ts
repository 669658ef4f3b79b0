import { Type } from 'typebox';

import {
  EVENT_CATEGORIES,
  EVENT_TYPE_NAMES,
  expandEventFilters,
  type DeliveryAttempt,
  type EventSubscription,
  type EventSubscriptions,
  type EventTypeName,
} from '../model/event-subscription.js';
import {
  failure,
  MESSAGE_SUBSCRIPTION_EXISTS,
  MESSAGE_SUCCESS_LONG,
  MESSAGE_SUCCESSFUL,
  RESPONSE_CODES,
  success,
  type Envelope,
} from './envelope.js';
import { oraRoute, type OraCall, type OraRoute } from './ora-route.js';
import { EpochMsSchema } from './schemas.js';

/**
 * The event service (reference §8.1, addendum §5): subscribeToEvents and unsubscribeFromEvents
 * (API 1.1), the 1.0 calls (subscribeRecordingEvent, unsubscribeRecordingEvent,
 * verifyRecordingSubscription), verifySubscription (1.1; MediaSense's name is not public), and for
 * administrators the list of subscriptions, their removal and the delivery log. The subscriptions
 * and their delivery are the events layer's (model/event-subscription.ts); these routes check the
 * input and speak MediaSense's envelope.
 */

export interface EventRouteContext {
  readonly subscriptions: EventSubscriptions;
  /** Why a tagNameRegEx cannot be used (too long, not a regular expression, backtracking risk), or undefined. */
  readonly checkTagNameRegEx: (source: string) => string | undefined;
}

const EVENT = '/ora/eventService/event';

/** Longest receiver URL accepted. */
const MAX_URI_LENGTH = 2048;
/** Longest tagNameRegEx accepted (the events layer checks it further). */
const MAX_TAG_REGEX_LENGTH = 256;
/** Shortest and longest HMAC secret: 16 characters is 96 bits or more of a random text. */
const MIN_SECRET_LENGTH = 16;
const MAX_SECRET_LENGTH = 256;
/** The most filters one request may name (there are 13 names; repeats are harmless). */
const MAX_FILTERS = 32;
/** Delivery log page size: default and largest. */
const DEFAULT_LOG_LIMIT = 100;
const MAX_LOG_LIMIT = 1000;

/** The 1.0 API had only session events: its subscription gets the RECORDING_EVENTS types. */
const RECORDING_EVENT_FILTERS = ['RECORDING_EVENTS'];

const SubscriptionIdSchema = Type.String({ minLength: 1, maxLength: 64, description: 'A subscription id' });

const SubscriptionTypeSchema = Type.String({
  maxLength: 16,
  description: "`http` (any case; MediaSense's only type). The URI may still be https://",
});

const SubscriptionUriSchema = Type.String({
  minLength: 1,
  maxLength: MAX_URI_LENGTH,
  description: 'Where events are POSTed: an http:// or https:// URL (one subscription per URL)',
});

const FilterNamesSchema = Type.Array(Type.String({ maxLength: 64 }), {
  maxItems: MAX_FILTERS,
  description: `Categories (${EVENT_CATEGORIES.join(', ')}) and/or type names (${EVENT_TYPE_NAMES.join(', ')}), any case`,
});

const SubscriptionSchema = Type.Object({
  subscriptionId: Type.String(),
  subscriptionUri: Type.String(),
  subscriptionFilters: Type.Array(Type.String(), { description: 'The event types delivered' }),
  tagNameRegEx: Type.Optional(Type.String()),
  signed: Type.Boolean({ description: 'Verbatim extension: deliveries carry X-Verbatim-Signature' }),
  subscriptionStatus: Type.Union([Type.Literal('ACTIVE'), Type.Literal('FAILING')]),
  failingSince: Type.Optional(EpochMsSchema),
  backlog: Type.Integer({ minimum: 0, description: 'Events written for it, not yet delivered' }),
  apiVersion: Type.Union([Type.Literal('1.0'), Type.Literal('1.1')]),
  createdAt: EpochMsSchema,
  createdBy: Type.String(),
});

const DeliveryAttemptSchema = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  subscriptionId: Type.String(),
  eventId: Type.Integer({ minimum: 1 }),
  event: Type.String({ description: '`SESSION_EVENT/STARTED`, …' }),
  at: EpochMsSchema,
  httpStatus: Type.Optional(Type.Integer()),
  latencyMs: Type.Integer({ minimum: 0 }),
  error: Type.Optional(Type.String()),
});

function subscriptionJson(subscription: EventSubscription): Record<string, unknown> {
  return {
    subscriptionId: subscription.subscriptionId,
    subscriptionUri: subscription.subscriptionUri,
    subscriptionFilters: [...subscription.eventTypes],
    ...(subscription.tagNameRegEx === undefined ? {} : { tagNameRegEx: subscription.tagNameRegEx }),
    signed: subscription.signed,
    subscriptionStatus: subscription.state,
    ...(subscription.failingSince === undefined ? {} : { failingSince: subscription.failingSince }),
    backlog: subscription.backlog,
    apiVersion: subscription.apiVersion,
    createdAt: subscription.createdAt,
    createdBy: subscription.createdBy,
  };
}

function attemptJson(attempt: DeliveryAttempt): Record<string, unknown> {
  return {
    id: attempt.id,
    subscriptionId: attempt.subscriptionId,
    eventId: attempt.eventId,
    event: attempt.event,
    at: attempt.at,
    ...(attempt.httpStatus === undefined ? {} : { httpStatus: attempt.httpStatus }),
    latencyMs: attempt.latencyMs,
    ...(attempt.error === undefined ? {} : { error: attempt.error }),
  };
}

/** The receiver URL, or why it is refused: http or https, a host, no credentials in it. */
/**
 * The URI as it may be written down (audit trail, error details): a user name and password in it
 * are replaced by `***`. Refused URIs are written down too, and they are the ones that carry them.
 */
function uriWithoutCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
}

function receiverUriProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `subscriptionUri ${JSON.stringify(uriWithoutCredentials(text).slice(0, 64))} is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `subscriptionUri must be an http:// or https:// URL, not ${url.protocol}`;
  }
  if (url.username !== '' || url.password !== '') {
    // A password in a URL would be shown by every subscription listing: a secret signs instead.
    return 'subscriptionUri must not carry a user name or password; use `secret` to sign deliveries';
  }
  return undefined;
}

function subscriptionTypeProblem(type: string | undefined): string | undefined {
  return type === undefined || type.toLowerCase() === 'http'
    ? undefined
    : `subscriptionType must be "http", got ${JSON.stringify(type.slice(0, 16))}`;
}

/** The types the filters name, or the envelope refusing them; no filters means every type. */
function typesOf(filters: readonly string[] | undefined): EventTypeName[] | Envelope {
  if (filters === undefined) {
    return [...EVENT_TYPE_NAMES];
  }
  const { types, unknown } = expandEventFilters(filters);
  if (unknown.length > 0) {
    return failure(
      RESPONSE_CODES.invalidParameter,
      `subscriptionFilters names ${unknown.map((name) => JSON.stringify(name.slice(0, 64))).join(', ')}: ` +
        `not a category (${EVENT_CATEGORIES.join(', ')}) or an event type`,
    );
  }
  if (types.length === 0) {
    return failure(RESPONSE_CODES.invalidParameter, 'subscriptionFilters names no event type');
  }
  return types;
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && 'responseCode' in value;
}

interface SubscribeInput {
  readonly subscriptionType?: string;
  readonly subscriptionUri: string;
  readonly types: readonly EventTypeName[];
  readonly tagNameRegEx?: string;
  readonly secret?: string;
}

async function subscribe(
  ctx: EventRouteContext,
  input: SubscribeInput,
  apiVersion: '1.0' | '1.1',
  call: OraCall,
): Promise<Envelope> {
  call.audit.detail = {
    uri: uriWithoutCredentials(input.subscriptionUri).slice(0, 256),
    filters: input.types.join(','),
  };
  const problem =
    subscriptionTypeProblem(input.subscriptionType) ??
    receiverUriProblem(input.subscriptionUri) ??
    (input.tagNameRegEx === undefined ? undefined : ctx.checkTagNameRegEx(input.tagNameRegEx));
  if (problem !== undefined) {
    return failure(RESPONSE_CODES.invalidParameter, problem);
  }
  const outcome = await ctx.subscriptions.subscribe({
    subscriptionUri: input.subscriptionUri,
    eventTypes: input.types,
    ...(input.tagNameRegEx === undefined ? {} : { tagNameRegEx: input.tagNameRegEx }),
    ...(input.secret === undefined ? {} : { secret: input.secret }),
    apiVersion,
    createdBy: call.user?.username ?? 'unknown',
  });
  const { subscription } = outcome;
  call.audit.target = `subscription ${subscription.subscriptionId}`;
  call.audit.detail = { ...call.audit.detail, outcome: outcome.kind };
  if (apiVersion === '1.0') {
    // 1.0: the id at the top level; subscribing a URL again is an error carrying the first id.
    return outcome.kind === 'created'
      ? { ...success(undefined, MESSAGE_SUCCESSFUL), subscriptionId: subscription.subscriptionId }
      : {
          ...failure(
            RESPONSE_CODES.alreadyExists,
            `${input.subscriptionUri.slice(0, 256)} is already subscribed as ${subscription.subscriptionId}`,
          ),
          subscriptionId: subscription.subscriptionId,
        };
  }
  const body = {
    subscriptionId: subscription.subscriptionId,
    subscriptionFilters: [...subscription.eventTypes],
    ...(subscription.tagNameRegEx === undefined ? {} : { tagNameRegEx: subscription.tagNameRegEx }),
  };
  if (outcome.kind === 'exists') {
    return {
      responseCode: RESPONSE_CODES.subscriptionExists,
      responseMessage: MESSAGE_SUBSCRIPTION_EXISTS,
      responseBody: body,
      subscriptionId: subscription.subscriptionId,
    };
  }
  return { ...success(body, MESSAGE_SUCCESSFUL), subscriptionId: subscription.subscriptionId };
}

function noSuchSubscription(subscriptionId: string): Envelope {
  return failure(RESPONSE_CODES.notFound, `no subscription ${JSON.stringify(subscriptionId.slice(0, 64))}`);
}

/** Removes a subscription whole (unsubscribeRecordingEvent, removeSubscription). */
async function removeWhole(
  ctx: EventRouteContext,
  subscriptionId: string,
  call: OraCall,
  message: string,
): Promise<Envelope> {
  call.audit.target = `subscription ${subscriptionId}`;
  const outcome = await ctx.subscriptions.unsubscribe(subscriptionId);
  return outcome.kind === 'not-found' ? noSuchSubscription(subscriptionId) : success(undefined, message);
}

const SubscribeParams = Type.Object({
  subscriptionType: Type.Optional(SubscriptionTypeSchema),
  subscriptionUri: SubscriptionUriSchema,
  subscriptionFilters: Type.Optional(FilterNamesSchema),
  tagNameRegEx: Type.Optional(
    Type.String({
      maxLength: MAX_TAG_REGEX_LENGTH,
      description:
        'Tag events only for tag names this regular expression matches whole (Java String.matches); `(?i)` at the start ignores case',
    }),
  ),
  secret: Type.Optional(
    Type.String({
      minLength: MIN_SECRET_LENGTH,
      maxLength: MAX_SECRET_LENGTH,
      description: 'Verbatim extension: key of the HMAC-SHA256 signature of every delivery',
    }),
  ),
});

const SubscribeBodySchema = Type.Object({
  subscriptionId: Type.String(),
  subscriptionFilters: Type.Array(Type.String()),
  tagNameRegEx: Type.Optional(Type.String()),
});

function statusBody(subscription: EventSubscription | undefined): Envelope {
  if (subscription === undefined) {
    return {
      ...success({ subscriptionStatus: 'INACTIVE' }, MESSAGE_SUCCESSFUL),
      subscriptionStatus: 'INACTIVE',
    };
  }
  return {
    ...success(subscriptionJson(subscription), MESSAGE_SUCCESSFUL),
    subscriptionStatus: subscription.state,
  };
}

export function eventRoutes(ctx: EventRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'POST',
      path: `${EVENT}/subscribeToEvents`,
      summary: 'Subscribe a URL to events (API 1.1); the same URL with other filters replaces them',
      description:
        'Events are POSTed to `subscriptionUri` as JSON in the MediaSense envelope, from a durable ' +
        'outbox, in order, retried until delivered. Without `subscriptionFilters` every event type is ' +
        'delivered. The same URL with the same filters answers **2005** with the existing id. The id ' +
        'is in `responseBody` and, as the 1.0 API had it, at the top level.',
      permission: 'subscribe',
      audit: true,
      input: 'requestParameters',
      params: SubscribeParams,
      responseBody: SubscribeBodySchema,
      failures: [RESPONSE_CODES.invalidParameter],
      handler: (params, call) => {
        const types = typesOf(params.subscriptionFilters);
        if (isEnvelope(types)) {
          return Promise.resolve(types);
        }
        return subscribe(ctx, { ...params, types }, '1.1', call);
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${EVENT}/unsubscribeFromEvents`,
      summary: 'Remove some event types from a subscription, or the whole subscription',
      description:
        'Categories are expanded to their types, so unsubscribing from one category of several ' +
        'leaves the types of the others; `responseBody.subscriptionFilters` lists what remains (empty ' +
        'when the subscription is gone). Without `subscriptionFilters` the whole subscription is removed.',
      permission: 'subscribe',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({
        subscriptionId: SubscriptionIdSchema,
        subscriptionFilters: Type.Optional(FilterNamesSchema),
      }),
      responseBody: Type.Object({ subscriptionFilters: Type.Array(Type.String()) }),
      failures: [RESPONSE_CODES.notFound],
      handler: async (params, call) => {
        call.audit.target = `subscription ${params.subscriptionId}`;
        let types: EventTypeName[] | undefined;
        if (params.subscriptionFilters !== undefined) {
          const named = typesOf(params.subscriptionFilters);
          if (isEnvelope(named)) {
            return named;
          }
          types = named;
          call.audit.detail = { filters: named.join(',') };
        }
        const outcome = await ctx.subscriptions.unsubscribe(params.subscriptionId, types);
        switch (outcome.kind) {
          case 'not-found':
            return noSuchSubscription(params.subscriptionId);
          case 'removed':
            return success({ subscriptionFilters: [] }, MESSAGE_SUCCESS_LONG);
          case 'narrowed':
            return success(
              { subscriptionFilters: [...outcome.subscription.eventTypes] },
              MESSAGE_SUCCESS_LONG,
            );
        }
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${EVENT}/verifySubscription`,
      summary: "A subscription's status and filters (API 1.1; INACTIVE when it does not exist)",
      description:
        "MediaSense 1.1's verify call is not public by name (addendum §5); this one answers as " +
        'verifyRecordingSubscription does, with the subscription in `responseBody`.',
      permission: 'subscribe',
      audit: false,
      input: 'requestParameters',
      params: Type.Object({ subscriptionId: SubscriptionIdSchema }),
      responseBody: Type.Union([
        SubscriptionSchema,
        Type.Object({ subscriptionStatus: Type.Literal('INACTIVE') }),
      ]),
      handler: async (params) => statusBody(await ctx.subscriptions.get(params.subscriptionId)),
    }),
    oraRoute({
      method: 'POST',
      path: `${EVENT}/subscribeRecordingEvent`,
      summary: 'Subscribe a URL to session events (API 1.0, deprecated by MediaSense 8.5(2))',
      description:
        'The subscription gets the RECORDING_EVENTS types. The id comes back at the top level; the ' +
        'same URL again is refused (4043) with the existing id at the top level (DG90-p44).',
      permission: 'subscribe',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({
        subscriptionType: Type.Optional(SubscriptionTypeSchema),
        subscriptionUri: SubscriptionUriSchema,
      }),
      failures: [RESPONSE_CODES.invalidParameter, RESPONSE_CODES.alreadyExists],
      handler: (params, call) => {
        const types = typesOf(RECORDING_EVENT_FILTERS);
        if (isEnvelope(types)) {
          return Promise.resolve(types);
        }
        return subscribe(ctx, { ...params, types }, '1.0', call);
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${EVENT}/unsubscribeRecordingEvent`,
      summary: 'Remove a subscription (API 1.0)',
      permission: 'subscribe',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({ subscriptionId: SubscriptionIdSchema }),
      failures: [RESPONSE_CODES.notFound],
      handler: (params, call) => removeWhole(ctx, params.subscriptionId, call, MESSAGE_SUCCESSFUL),
    }),
    oraRoute({
      method: 'POST',
      path: `${EVENT}/verifyRecordingSubscription`,
      summary:
        'Whether a subscription exists (API 1.0): top-level subscriptionStatus ACTIVE, FAILING or INACTIVE',
      permission: 'subscribe',
      audit: false,
      input: 'requestParameters',
      params: Type.Object({ subscriptionId: SubscriptionIdSchema }),
      handler: async (params) => {
        const subscription = await ctx.subscriptions.get(params.subscriptionId);
        return {
          ...success(undefined, MESSAGE_SUCCESSFUL),
          subscriptionStatus: subscription?.state ?? 'INACTIVE',
        };
      },
    }),
    oraRoute({
      method: 'GET',
      path: `${EVENT}/getSubscriptions`,
      summary: 'Every subscription of the node, with its state and backlog (administrators)',
      permission: 'manage-subscriptions',
      audit: false,
      input: 'query',
      params: Type.Object({}),
      responseBody: Type.Object({ subscriptions: Type.Array(SubscriptionSchema) }),
      handler: async () => {
        const subscriptions = await ctx.subscriptions.list();
        return success({ subscriptions: subscriptions.map(subscriptionJson) });
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${EVENT}/removeSubscription`,
      summary: "Remove anyone's subscription and its undelivered events (administrators)",
      permission: 'manage-subscriptions',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({ subscriptionId: SubscriptionIdSchema }),
      failures: [RESPONSE_CODES.notFound],
      handler: (params, call) => removeWhole(ctx, params.subscriptionId, call, MESSAGE_SUCCESS_LONG),
    }),
    oraRoute({
      method: 'GET',
      path: `${EVENT}/getDeliveryLog`,
      summary: 'Delivery attempts, newest first: time, HTTP status, latency, error (administrators)',
      description:
        'Page with `beforeId`: the `id` of the last attempt of the previous page. The log keeps a ' +
        'bounded history (docs/api.md "Event delivery").',
      permission: 'manage-subscriptions',
      audit: false,
      input: 'query',
      params: Type.Object({
        subscriptionId: Type.Optional(SubscriptionIdSchema),
        beforeId: Type.Optional(Type.Integer({ minimum: 1 })),
        limit: Type.Optional(
          Type.Integer({ minimum: 1, maximum: MAX_LOG_LIMIT, default: DEFAULT_LOG_LIMIT }),
        ),
      }),
      responseBody: Type.Object({ attempts: Type.Array(DeliveryAttemptSchema) }),
      handler: async (params) => {
        const attempts = await ctx.subscriptions.deliveryLog({
          ...(params.subscriptionId === undefined ? {} : { subscriptionId: params.subscriptionId }),
          ...(params.beforeId === undefined ? {} : { beforeId: params.beforeId }),
          limit: params.limit ?? DEFAULT_LOG_LIMIT,
        });
        return success({ attempts: attempts.map(attemptJson) });
      },
    }),
  ];
}
