import { isVerbatimError } from '../model/errors.js';
import type { Repository, SessionTagAdd } from '../db/repository.js';
import type { EventSink } from '../model/events.js';
import type { Session, Tag } from '../model/session.js';
import type { Result } from '../protocol/result.js';
import { RESPONSE_CODES, type ApiFailure } from './envelope.js';
import { describeValue } from './params.js';
import { MAX_TAG_NAME_LENGTH } from './request-limits.js';

/**
 * addSessionTag and deleteSessionTag (reference §5.4, §6): user tags on an ACTIVE or closed
 * session, never a DELETED one. Tags added here are USER_DEFINED and go in the session's own tag
 * list; names are compared without regard to case. Each change is published on the event bus as a
 * TAG_EVENT (ADDED, UPDATED or DELETED) once it is stored, then as a SESSION_EVENT UPDATED.
 */

export interface SessionTagDeps {
  readonly repository: Repository;
  readonly events?: EventSink | undefined;
  readonly now: () => number;
}

/** The parameters of both calls: `{"requestParameters": {"sessionId", "tagName", "tagOffset"?}}`. */
export interface TagRequest {
  readonly sessionId: string;
  readonly tagName: string;
  /** Milliseconds from the session start; absent for a tag of the whole session. */
  readonly tagOffset?: number;
}

export type TagChange = Result<{ readonly tags: readonly Tag[] }, ApiFailure>;

function refuse(responseCode: ApiFailure['responseCode'], detail: string): { ok: false; error: ApiFailure } {
  return { ok: false, error: { responseCode, detail } };
}

/**
 * The checks of a tag request beyond its schema (tag-routes.ts: sessionId and tagName non-empty
 * strings, tagName at most 255 characters, tagOffset a non-negative integer): a name of blanks
 * only is no name, and a USER_DEFINED time-bound tag may not use offset 0 (reference §5.4).
 */
export function checkTagRequest(params: TagRequest): Result<TagRequest, ApiFailure> {
  if (params.tagName.trim() === '') {
    return refuse(
      RESPONSE_CODES.invalidParameter,
      `requestParameters.tagName must not be blank, got ${describeValue(params.tagName)}`,
    );
  }
  if (params.tagName.length > MAX_TAG_NAME_LENGTH) {
    return refuse(
      RESPONSE_CODES.invalidParameter,
      `requestParameters.tagName is at most ${MAX_TAG_NAME_LENGTH} characters (MAX_TAG_NAME_LENGTH), got ${params.tagName.length}`,
    );
  }
  if (params.tagOffset === 0) {
    return refuse(
      RESPONSE_CODES.invalidParameter,
      'requestParameters.tagOffset 0 is not allowed for a user tag; use 1 ms or more, or no offset for a tag of the whole session',
    );
  }
  return { ok: true, value: params };
}

/** The session a tag change applies to: it must exist and not be DELETED. */
async function taggableSession(
  deps: SessionTagDeps,
  sessionId: string,
): Promise<Result<Session, ApiFailure>> {
  const session = await deps.repository.getSession(sessionId);
  if (session === undefined) {
    return refuse(RESPONSE_CODES.notFound, `no session ${describeValue(sessionId)}`);
  }
  if (session.sessionState === 'DELETED') {
    return refuse(RESPONSE_CODES.invalidState, `session ${describeValue(sessionId)} is DELETED`);
  }
  return { ok: true, value: session };
}

/**
 * Adds a USER_DEFINED tag. Adding a tag the session already has (same name without regard to
 * case, same offset or both without) succeeds without a second copy and without an event: a
 * client that retries after a lost answer must not get a failure or a duplicate. Adding with an
 * offset a name the session carries as a whole-session tag (no offset) places that tag at the
 * offset and publishes TAG_EVENT UPDATED (the reference shows UPDATED for a user time-bound tag,
 * DG91-p147): a client that flagged the call first and marks the moment later sees one tag move,
 * not two. Time-bound tags of one name at several offsets stay several tags (deleteSessionTag
 * removes one by its offset).
 */
export async function addUserTag(deps: SessionTagDeps, request: TagRequest): Promise<TagChange> {
  const session = await taggableSession(deps, request.sessionId);
  if (!session.ok) {
    return session;
  }
  const tag: Tag = {
    tagName: request.tagName,
    tagType: 'USER_DEFINED',
    tagCreateDate: deps.now(),
    ...(request.tagOffset === undefined ? {} : { tagOffset: request.tagOffset }),
  };
  let added: SessionTagAdd;
  try {
    added = await deps.repository.addSessionTagOnce(request.sessionId, tag);
  } catch (error: unknown) {
    // Deleted from the database between the read and the write.
    if (isVerbatimError(error, 'VERBATIM_ERR_DB_NOT_FOUND')) {
      return refuse(RESPONSE_CODES.notFound, `no session ${describeValue(request.sessionId)}`);
    }
    throw error;
  }
  if (added.outcome === 'unchanged') {
    return { ok: true, value: { tags: [] } };
  }
  const stored = added.outcome === 'updated' ? added.tag : tag;
  deps.events?.publish({
    eventType: 'TAG_EVENT',
    eventAction: added.outcome === 'updated' ? 'UPDATED' : 'ADDED',
    sessionId: request.sessionId,
    tag: stored,
    at: deps.now(),
  });
  publishUpdated(deps, request.sessionId);
  return { ok: true, value: { tags: [stored] } };
}

/**
 * Deletes the session's USER_DEFINED tags of that name (without regard to case): with a
 * tagOffset only the one at that offset, without one every tag of that name, time-bound or not.
 * Naming only a SYSTEM_DEFINED tag (Pause, TrackInactive, DTMF…) answers 4042; naming none 4041.
 */
export async function deleteUserTag(deps: SessionTagDeps, request: TagRequest): Promise<TagChange> {
  const session = await taggableSession(deps, request.sessionId);
  if (!session.ok) {
    return session;
  }
  const deleted = await deps.repository.deleteSessionTags(request.sessionId, {
    tagName: request.tagName,
    tagType: 'USER_DEFINED',
    ...(request.tagOffset === undefined ? {} : { tagOffset: request.tagOffset }),
  });
  if (deleted.length === 0) {
    const wanted = request.tagName.toLowerCase();
    const systemTag = [...session.value.tags, ...session.value.tracks.flatMap((t) => t.tags)].some(
      (t) =>
        t.tagType === 'SYSTEM_DEFINED' &&
        t.tagName.toLowerCase() === wanted &&
        (request.tagOffset === undefined || t.tagOffset === request.tagOffset),
    );
    const at = request.tagOffset === undefined ? '' : ` at offset ${request.tagOffset}`;
    return systemTag
      ? refuse(
          RESPONSE_CODES.invalidState,
          `tag ${describeValue(request.tagName)}${at} is SYSTEM_DEFINED; only USER_DEFINED tags can be deleted`,
        )
      : refuse(
          RESPONSE_CODES.notFound,
          `session ${describeValue(request.sessionId)} has no user tag ${describeValue(request.tagName)}${at}`,
        );
  }
  const at = deps.now();
  for (const tag of deleted) {
    deps.events?.publish({
      eventType: 'TAG_EVENT',
      eventAction: 'DELETED',
      sessionId: request.sessionId,
      tag,
      at,
    });
  }
  publishUpdated(deps, request.sessionId);
  return { ok: true, value: { tags: deleted } };
}

/** SESSION_EVENT UPDATED after the tag events of one change: its session's tag list changed. */
function publishUpdated(deps: SessionTagDeps, sessionId: string): void {
  deps.events?.publish({
    eventType: 'SESSION_EVENT',
    eventAction: 'UPDATED',
    sessionId,
    change: 'tags',
    at: deps.now(),
  });
}
