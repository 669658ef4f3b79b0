import type { FastifyInstance } from 'fastify';
import type { EventSink } from '../model/events.js';
import { failureEnvelope, MESSAGE_SUCCESSFUL, success, type Envelope } from './envelope.js';
import { withSession, type OraRouteContext } from './ora-routes.js';
import {
  addUserTag,
  deleteUserTag,
  parseTagRequest,
  type SessionTagDeps,
  type TagChange,
  type TagRequest,
} from './session-tags.js';

/**
 * addSessionTag and deleteSessionTag of the management service (reference §6), on the logic of
 * session-tags.ts. Both answer `{"responseCode": 2000, "responseMessage": "Successful"}`, as
 * MediaSense answers addSessionTag.
 */

const MANAGE = '/ora/managementService/manage';

type TagChanger = (deps: SessionTagDeps, request: TagRequest) => Promise<TagChange>;

/** Parses a body, applies the change and answers it. */
export async function answerTagChange(
  deps: SessionTagDeps,
  change: TagChanger,
  body: unknown,
): Promise<Envelope> {
  const request = parseTagRequest(body);
  if (!request.ok) {
    return failureEnvelope(request.error);
  }
  const result = await change(deps, request.value);
  return result.ok ? success(undefined, MESSAGE_SUCCESSFUL) : failureEnvelope(result.error);
}

export function registerTagRoutes(
  app: FastifyInstance,
  ctx: OraRouteContext & { readonly events?: EventSink | undefined },
): void {
  const deps: SessionTagDeps = { repository: ctx.repository, events: ctx.events, now: ctx.now };
  for (const [name, change] of [
    ['addSessionTag', addUserTag],
    ['deleteSessionTag', deleteUserTag],
  ] as const) {
    app.post(
      `${MANAGE}/${name}`,
      withSession(ctx, async (request, _reply, session) => {
        const answer = await answerTagChange(deps, change, request.body);
        if (answer.responseCode === 2000) {
          request.log.info({ username: session.username, api: name }, 'session tag changed');
        }
        return answer;
      }),
    );
  }
}
