import type { CallControllerType } from '../model/session.js';
import type { Leg, LiveSession } from './live-session.js';

/** Who follows one session's legs as they come and go (the live feed, playback/). */
export interface SessionObserver {
  /** A leg joined the session (a track added by a re-INVITE, the second leg of a CUCM call). */
  legAttached(leg: Leg): void;
  /** A leg was taken back before it was answered (CANCEL won the race). */
  legDetached(leg: Leg): void;
  /** The session closed (or was never answered): called once, the observer is then dropped. */
  closed(): void;
}

/** An ACTIVE session's legs now, and the observer's registration (see SessionRegistry.watch). */
export interface SessionWatch {
  readonly legs: readonly Leg[];
  /** Stops observing; idempotent. */
  unwatch(): void;
}

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
  /**
   * CUCM calls whose session closed while paused through the API, by pairing key, with when: a
   * hold (CUCM ends both legs and sends a new pair on resume) must not end the pause.
   */
  readonly #pausedCalls = new Map<string, number>();
  /** The pairing key of each session remembered there, for a resumeRecording naming it. */
  readonly #pausedCallKeys = new Map<string, string>();
  /** Observers by session id; only sessions somebody watches have an entry. */
  readonly #observers = new Map<string, Set<SessionObserver>>();
  readonly #onObserverError: (error: unknown) => void;

  /** `onObserverError`: an observer threw (it is reported there and the recording goes on). */
  constructor(newSessionId: () => string, onObserverError: (error: unknown) => void = () => undefined) {
    this.#newSessionId = newSessionId;
    this.#onObserverError = onObserverError;
  }

  /**
   * Observes an ACTIVE session's legs until it closes: its legs now, then every change. Undefined
   * when no session with this id is being recorded here (or it is closing).
   */
  watch(sessionId: string, observer: SessionObserver): SessionWatch | undefined {
    const session = this.#sessions.get(sessionId);
    if (session === undefined || session.closing) {
      return undefined;
    }
    let observers = this.#observers.get(sessionId);
    if (observers === undefined) {
      observers = new Set();
      this.#observers.set(sessionId, observers);
    }
    observers.add(observer);
    return {
      legs: [...session.legs.values()],
      unwatch: () => {
        const current = this.#observers.get(sessionId);
        current?.delete(observer);
        if (current?.size === 0) {
          this.#observers.delete(sessionId);
        }
      },
    };
  }

  #notify(sessionId: string, call: (observer: SessionObserver) => void): void {
    const observers = this.#observers.get(sessionId);
    if (observers === undefined) {
      return;
    }
    for (const observer of [...observers]) {
      try {
        call(observer);
      } catch (error: unknown) {
        this.#onObserverError(error);
      }
    }
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
    if (this.#sessions.get(session.sessionId) !== session) {
      return;
    }
    this.#sessions.delete(session.sessionId);
    if (session.cucmKey !== undefined && this.#cucmSessions.get(session.cucmKey) === session) {
      this.#cucmSessions.delete(session.cucmKey);
    }
    // Its observers hear of it once: the entry goes before they are called.
    const observers = this.#observers.get(session.sessionId);
    this.#observers.delete(session.sessionId);
    for (const observer of observers ?? []) {
      try {
        observer.closed();
      } catch (error: unknown) {
        this.#onObserverError(error);
      }
    }
  }

  /**
   * A CUCM session closed while its recording was paused: the next session of the same call (its
   * pair of INVITEs after a hold) starts paused, if it comes within PAUSED_CALL_KEPT_MS.
   */
  rememberPausedCall(session: LiveSession, atMs: number): void {
    if (session.cucmKey === undefined) {
      return;
    }
    capped(this.#pausedCalls, session.cucmKey, atMs);
    capped(this.#pausedCallKeys, session.sessionId, session.cucmKey);
  }

  /** Whether a new session of this CUCM call starts paused (the entry is used up). */
  takePausedCall(cucmKey: string, nowMs: number): boolean {
    const atMs = this.#pausedCalls.get(cucmKey);
    this.#pausedCalls.delete(cucmKey);
    return atMs !== undefined && nowMs - atMs <= PAUSED_CALL_KEPT_MS;
  }

  /** The pairing key of a CUCM session that closed paused, if remembered. */
  pausedCallKeyOf(sessionId: string): string | undefined {
    return this.#pausedCallKeys.get(sessionId);
  }

  /** The call was resumed between two sessions: its next session starts unpaused. */
  forgetPausedCall(cucmKey: string): void {
    this.#pausedCalls.delete(cucmKey);
  }

  /** A leg joins its session: its track number is no longer only reserved, its stream is known. */
  attach(session: LiveSession, leg: Leg): void {
    session.legs.set(leg.trackNumber, leg);
    session.reservedTracks.delete(leg.trackNumber);
    this.#legsByStream.set(leg.streamId, { session, leg });
    this.#notify(session.sessionId, (observer) => observer.legAttached(leg));
  }

  /** Undoes attach, for an INVITE whose answer lost the race against its CANCEL. */
  detach(session: LiveSession, leg: Leg): void {
    session.legs.delete(leg.trackNumber);
    this.#legsByStream.delete(leg.streamId);
    this.#notify(session.sessionId, (observer) => observer.legDetached(leg));
  }

  /** The stream is closed: its late events are ignored. */
  streamClosed(streamId: string): void {
    this.#legsByStream.delete(streamId);
  }
}

/** How long a CUCM call's pause outlives its session: a hold of up to an hour keeps it. */
const PAUSED_CALL_KEPT_MS = 60 * 60 * 1000;
/** The most paused calls remembered; the oldest are forgotten first (bounded memory). */
const PAUSED_CALLS_KEPT = 10_000;

function capped<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > PAUSED_CALLS_KEPT) {
    const oldest = map.keys().next();
    if (oldest.done !== true) {
      map.delete(oldest.value);
    }
  }
}
