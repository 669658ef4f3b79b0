import { Type } from 'typebox';

import type { Repository } from '../db/repository.js';
import { HEALTH_PROBLEM_KINDS } from '../model/session-health.js';
import { MESSAGE_SUCCESS_LONG, success } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';

/**
 * The health service, a Verbatim extension (issue 13 "Recording health"): how many sessions
 * ended with recording problems in the last hour and day, by kind, so that a broken phone or a
 * misrouted stream is noticed the day it happens. Computed from the problem kinds stored with
 * each session when it closed, so it covers every node sharing the database.
 */

export const HEALTH_SERVICE = '/ora/healthService/health';

export interface HealthRouteContext {
  readonly repository: Pick<Repository, 'healthSummary'>;
  readonly now: () => number;
}

const WindowSchema = Type.Object({
  sessionsEnded: Type.Integer({ description: 'sessions that ended in the window' }),
  sessionsDegraded: Type.Integer({ description: 'of those, the ones with at least one problem' }),
  byKind: Type.Object(Object.fromEntries(HEALTH_PROBLEM_KINDS.map((kind) => [kind, Type.Integer()])), {
    description: 'sessions with at least one problem of each kind (a session may count under several)',
  }),
});

export function healthRoutes(ctx: HealthRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'GET',
      path: `${HEALTH_SERVICE}/getHealthSummary`,
      summary: 'Sessions that ended with recording health problems in the last hour and the last day',
      description:
        `Problem kinds: ${HEALTH_PROBLEM_KINDS.join(', ')} (as in a session's \`health\`). A session ` +
        'counts in a window when it ended in it; its health is the one computed when it closed.',
      permission: 'search',
      audit: false,
      input: 'query',
      params: Type.Object({}),
      responseBody: Type.Object({
        at: Type.Integer({ description: 'epoch ms the windows end at' }),
        lastHour: WindowSchema,
        lastDay: WindowSchema,
      }),
      handler: async () => success(await ctx.repository.healthSummary(ctx.now()), MESSAGE_SUCCESS_LONG),
    }),
  ];
}
