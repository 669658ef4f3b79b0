import type { EventTypeName } from '../model/event-subscription.js';
import type { VerbatimEvent } from '../model/events.js';
import type { Session, Tag } from '../model/session.js';

/**
 * The bodies POSTed to subscribers: MediaSense's envelope (reference §8.3)
 * `{"eventType", "eventAction", "forwardedEvent": "FALSE", "eventBody"}`, rendered once when the
 * event happens and stored in the outbox, so every retry and a restart send the same bytes.
 * `forwardedEvent` is "FALSE": each node delivers the events it produced itself.
 */

/** The session object of the API (api/session-json.ts), handed in by app.ts: events/ does not import api/. */
export type SessionFormatter = (session: Session) => object;

export interface PayloadContext {
  readonly formatSession: SessionFormatter;
  /** The node's address (`--advertise`): STORAGE_THRESHOLD_EVENT's nodeIPAddress. */
  readonly nodeIpAddress: string;
}

/** The delivered events (RECORDING_EVENT is Verbatim's own and only logged). */
export type DeliverableEvent = Exclude<VerbatimEvent, { readonly eventType: 'RECORDING_EVENT' }>;

/** The subscription filter type that selects an event; undefined for one never delivered. */
export function eventTypeNameOf(event: VerbatimEvent): EventTypeName | undefined {
  switch (event.eventType) {
    case 'SESSION_EVENT':
      return `SESSION_${event.eventAction}_EVENT`;
    case 'TAG_EVENT':
      return `TAG_${event.eventAction}_EVENT`;
    case 'STORAGE_THRESHOLD_EVENT':
      return 'STORAGE_THRESHOLD_EVENT';
    case 'RECORDING_EVENT':
      return undefined;
  }
}

/** `SESSION_EVENT/STARTED`: how the outbox and the delivery log name an event. */
export function eventLabelOf(event: VerbatimEvent): string {
  return `${event.eventType}/${event.eventAction}`;
}

/** The session events whose body is the session itself, read when the event is written. */
export function sessionIdToRead(event: DeliverableEvent): string | undefined {
  return event.eventType === 'SESSION_EVENT' &&
    (event.eventAction === 'STARTED' || event.eventAction === 'UPDATED' || event.eventAction === 'ENDED')
    ? event.sessionId
    : undefined;
}

/**
 * The JSON body of an event. `session` is the session read for STARTED, UPDATED and ENDED
 * (sessionIdToRead); when it is gone already (deleted in between) the body carries its id only.
 */
export function renderEventPayload(
  event: DeliverableEvent,
  context: PayloadContext,
  session: Session | undefined,
): string {
  return JSON.stringify({
    eventType: event.eventType,
    eventAction: event.eventAction,
    forwardedEvent: 'FALSE',
    eventBody: eventBody(event, context, session),
  });
}

function eventBody(event: DeliverableEvent, context: PayloadContext, session: Session | undefined): object {
  switch (event.eventType) {
    case 'SESSION_EVENT':
      if (event.eventAction === 'DELETED' || event.eventAction === 'PRUNED') {
        return { sessionIds: event.sessionIds };
      }
      // The scalar sessionId first, then the whole session (reference §8.3).
      return session === undefined
        ? { sessionId: event.sessionId }
        : { sessionId: event.sessionId, ...context.formatSession(session) };
    case 'TAG_EVENT':
      return tagBody(event.sessionId, event.tag);
    case 'STORAGE_THRESHOLD_EVENT':
      return {
        nodeId: event.nodeId,
        nodeIPAddress: context.nodeIpAddress,
        partition: event.partition,
        percentageUtilization: event.percentageUtilization,
      };
  }
}

function tagBody(sessionId: string, tag: Tag): object {
  return {
    sessionId,
    tagName: tag.tagName,
    tagType: tag.tagType,
    tagCreateDate: tag.tagCreateDate,
    ...(tag.tagOffset === undefined ? {} : { tagOffset: tag.tagOffset }),
    ...(tag.trackNumber === undefined ? {} : { trackNumber: tag.trackNumber }),
  };
}
