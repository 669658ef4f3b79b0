import type { CallControllerType } from '../model/session.js';
import type { Leg, LiveSession } from './live-session.js';

/**
 * The sessions being recorded on this node, found three ways: by session id, by CUCM pairing key
 * (the second INVITE of a CUCM call joins the first one's session) and by media stream (the
 * media engine's events name a stream).
 */
export class SessionRegistry {
  readonly #newSessionId: () => string;
  readonly #sessions = new Map<string, LiveSession>();
  readonly #cucmSessions = new Map<string, LiveSession>();
  readonly #legsByStream = new Map<string, { session: LiveSession; leg: Leg }>();

  constructor(newSessionId: () => string) {
    this.#newSessionId = newSessionId;
  }

  get size(): number {
    return this.#sessions.size;
  }

  all(): LiveSession[] {
    return [...this.#sessions.values()];
  }

  /** The session being recorded with this id, if any. */
  get(sessionId: string): LiveSession | undefined {
    return this.#sessions.get(sessionId);
  }

  cucmSession(key: string): LiveSession | undefined {
    return this.#cucmSessions.get(key);
  }

  byStream(streamId: string): { session: LiveSession; leg: Leg } | undefined {
    return this.#legsByStream.get(streamId);
  }

  create(init: {
    readonly controllerType: CallControllerType;
    readonly controllerIp: string;
    readonly ccid: string;
    readonly expectedLegs: number;
    readonly startMs: number;
    readonly cucmKey?: string;
  }): LiveSession {
    const session: LiveSession = {
      sessionId: this.#newSessionId(),
      startMs: init.startMs,
      controllerType: init.controllerType,
      controllerIp: init.controllerIp,
      ccid: init.ccid,
      expectedLegs: init.expectedLegs,
      legs: new Map(),
      reservedTracks: new Set(),
      dbQueue: Promise.resolve(),
      persisted: false,
      paused: false,
      pausedByApi: false,
      closing: false,
      ...(init.cucmKey === undefined ? {} : { cucmKey: init.cucmKey }),
    };
    this.#sessions.set(session.sessionId, session);
    if (init.cucmKey !== undefined) {
      this.#cucmSessions.set(init.cucmKey, session);
    }
    return session;
  }

  /** The session takes no more INVITEs or media events (it is closing, or was never answered). */
  forget(session: LiveSession): void {
    this.#sessions.delete(session.sessionId);
    if (session.cucmKey !== undefined && this.#cucmSessions.get(session.cucmKey) === session) {
      this.#cucmSessions.delete(session.cucmKey);
    }
  }

  /** A leg joins its session: its track number is no longer only reserved, its stream is known. */
  attach(session: LiveSession, leg: Leg): void {
    session.legs.set(leg.trackNumber, leg);
    session.reservedTracks.delete(leg.trackNumber);
    this.#legsByStream.set(leg.streamId, { session, leg });
  }

  /** Undoes attach, for an INVITE whose answer lost the race against its CANCEL. */
  detach(session: LiveSession, leg: Leg): void {
    session.legs.delete(leg.trackNumber);
    this.#legsByStream.delete(leg.streamId);
  }

  /** The stream is closed: its late events are ignored. */
  streamClosed(streamId: string): void {
    this.#legsByStream.delete(streamId);
  }
}
