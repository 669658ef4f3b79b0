import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';
import type { EventSink, VerbatimEvent } from '../model/events.js';
import type { Participant, Session, Tag, Track, TrackDigest, TrackStats } from '../model/session.js';
import type { MediaCodec } from '../protocol/sdp/sdp.js';
import { mediaPath, type Leg, type LiveSession, type RecordingCounters } from './live-session.js';
import { digestTrackFile } from './track-digest.js';
import { isStorageFailure } from '../model/storage-failure.js';
import { databaseFailureReason, type WriteHealth } from './write-health.js';

interface SessionWriterDeps {
  readonly repository: Repository;
  readonly events: EventSink | undefined;
  readonly nodeId: string;
  readonly log: Logger;
  readonly now: () => number;
  readonly counters: RecordingCounters;
  /**
   * Directory that track `mediaPath`s are relative to: each finished track file is digested
   * (SHA-256, issue 13) there. Absent: no digest is taken (tests with an in-memory media engine).
   */
  readonly mediaDir?: string;
  /**
   * Told of every database write that fails for lack of space or an I/O error and of the next that
   * succeeds (new calls are refused in between). Absent: retries still happen, untold.
   */
  readonly health?: WriteHealth;
  /** Retry delays of such a write: the first, doubled each time up to the last (ms). */
  readonly retryDelayMs?: { readonly first: number; readonly max: number };
}

const DEFAULT_RETRY_DELAY_MS = { first: 100, max: 5000 };

/**
 * Everything the recording domain writes: the database, through one queue of writes per session
 * (a track cannot be added before its session), and the events of the node's event bus, each
 * published once its write is stored. A failed write is logged and counted, never thrown: the
 * call goes on being recorded.
 *
 * A write that fails because the disk is full or failing (SQLITE_FULL, SQLITE_IOERR, …; the
 * database may share the media partition) is not lost: each repository call is one transaction
 * that SQLite rolled back whole, so it is retried as it is, with a growing delay, until it is
 * stored. The session's later writes wait behind it in its queue, so its rows never run ahead of
 * each other (a session is not CLOSED before its tracks' statistics are stored) and none stays
 * ACTIVE once space returns. Only `stop` (shutdown) ends the retries: what is still unwritten then
 * is what recovery finds at the next start (an ACTIVE session, closed CLOSED_ERROR from its files).
 */
export class SessionWriter {
  readonly #deps: SessionWriterDeps;
  /** Writes queued and not yet done, over every session: a headroom signal of admission control. */
  #pending = 0;
  /** Set by stop(): writes that fail are no longer retried. */
  readonly #stopping = new AbortController();

  constructor(deps: SessionWriterDeps) {
    this.#deps = deps;
  }

  /** Shutdown: a write that fails for the disk is not retried any more (see the class comment). */
  stop(): void {
    this.#stopping.abort();
  }

  /**
   * Runs one repository write (one transaction), retrying it while it fails for the disk. Every
   * write of the session writer goes through here.
   */
  async #store<T>(sessionId: string, write: () => Promise<T>): Promise<T> {
    const { first, max } = this.#deps.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    let delayMs = first;
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await write();
        if (attempt > 1) {
          this.#deps.log.info({ sessionId, attempts: attempt }, 'database write stored after retries');
        }
        this.#deps.health?.noteSuccess('database');
        return result;
      } catch (error: unknown) {
        if (!isStorageFailure(error) || this.#stopping.signal.aborted) {
          throw error;
        }
        this.#deps.health?.noteFailure('database', databaseFailureReason(error));
        this.#deps.health?.noteDatabaseRetry();
        // One line at the first failure of a write, then quiet: the health change is logged once.
        if (attempt === 1) {
          this.#deps.log.warn({ err: error, sessionId }, 'database write failed for the disk: retrying');
        }
        try {
          await delay(delayMs, undefined, { signal: this.#stopping.signal });
        } catch {
          throw error; // Stopped while waiting.
        }
        delayMs = Math.min(max, delayMs * 2);
      }
    }
  }

  /** Publishes an event that no write waits for (refusals, undecodable codecs). */
  publish(event: VerbatimEvent): void {
    this.#deps.events?.publish(event);
  }

  /**
   * Database writes queued and not yet done. Each session queues a bounded number (its tracks,
   * tags and close), so the total grows only with the sessions; admission control refuses new
   * calls while it is high, which bounds it.
   */
  get pendingWrites(): number {
    return this.#pending;
  }

  /** Runs database writes of one session in order; a failure is logged and counted, never thrown. */
  enqueue(session: LiveSession, write: () => Promise<void>): void {
    this.#pending++;
    session.dbQueue = session.dbQueue
      .then(write)
      .catch((error: unknown) => {
        this.#deps.counters.databaseErrors++;
        this.#deps.log.error({ err: error, sessionId: session.sessionId }, 'database write failed');
      })
      .finally(() => {
        this.#pending--;
      });
  }

  /** Stores a new ACTIVE session with its first tracks, then announces it. */
  create(session: LiveSession, tracks: readonly Track[], tags: readonly Tag[]): void {
    session.persisted = true;
    this.#deps.counters.sessionsStarted++;
    const record: Session = {
      sessionId: session.sessionId,
      sessionState: 'ACTIVE',
      sessionStartDate: session.startMs,
      callControllerIP: session.controllerIp,
      callControllerType: session.controllerType,
      ccid: session.ccid,
      nodeId: this.#deps.nodeId,
      ...(session.correlation === undefined ? {} : { correlation: session.correlation }),
      // Tags naming a track (a line on hold from the start) belong to that track's list.
      tags: tags.filter((tag) => tag.trackNumber === undefined),
      tracks: tracks.map((track) => {
        const own = tags.filter((tag) => tag.trackNumber === track.trackNumber);
        return own.length === 0 ? track : { ...track, tags: [...track.tags, ...own] };
      }),
    };
    this.enqueue(session, async () => {
      await this.#store(session.sessionId, () => this.#deps.repository.createSession(record));
      this.#deps.events?.publish({
        eventType: 'SESSION_EVENT',
        eventAction: 'STARTED',
        sessionId: session.sessionId,
        at: this.#deps.now(),
      });
    });
  }

  addTrack(session: LiveSession, track: Track): void {
    this.enqueue(session, async () => {
      await this.#store(session.sessionId, () => this.#deps.repository.addTrack(session.sessionId, track));
      this.#updated(session, 'tracks');
    });
  }

  addTag(session: LiveSession, tag: Tag): void {
    this.enqueue(session, () => this.storeTag(session, tag));
  }

  /**
   * Stores a tag and announces it, inside a write the caller already queued. A tag naming a track
   * goes in that track's tag list (reference §5.2: hold and DTMF tags), any other in the session's.
   */
  async storeTag(session: LiveSession, tag: Tag): Promise<void> {
    await this.#store(session.sessionId, () =>
      tag.trackNumber === undefined
        ? this.#deps.repository.addSessionTag(session.sessionId, tag)
        : this.#deps.repository.addTrackTag(session.sessionId, tag.trackNumber, tag),
    );
    this.#deps.events?.publish({
      eventType: 'TAG_EVENT',
      eventAction: 'ADDED',
      sessionId: session.sessionId,
      tag,
      at: this.#deps.now(),
    });
    this.#updated(session, 'tags');
  }

  /** SESSION_EVENT UPDATED: a stored change of a session that already started. */
  #updated(session: LiveSession, change: 'tags' | 'participants' | 'tracks'): void {
    this.#deps.events?.publish({
      eventType: 'SESSION_EVENT',
      eventAction: 'UPDATED',
      sessionId: session.sessionId,
      change,
      at: this.#deps.now(),
    });
  }

  /** Delayed offer: the codec of a track, known once the ACK's answer arrives. */
  setCodec(session: LiveSession, trackNumber: number, codec: MediaCodec): void {
    this.enqueue(session, () =>
      this.#store(session.sessionId, () =>
        this.#deps.repository.updateTrack(session.sessionId, trackNumber, {
          codec: codec.encodingName,
          payloadType: codec.payloadType,
          clockRateHz: codec.clockRateHz,
        }),
      ),
    );
  }

  replaceParticipants(session: LiveSession, trackNumber: number, participants: readonly Participant[]): void {
    this.enqueue(session, async () => {
      await this.#store(session.sessionId, () =>
        this.#deps.repository.replaceParticipants(session.sessionId, trackNumber, participants),
      );
      this.#updated(session, 'participants');
    });
  }

  /**
   * The writes of a track that ended: duration, statistics, and the durations of the participants
   * still on it. Runs inside the session's queue (the caller enqueues it after its stream closed).
   */
  async writeEndedTrack(session: LiveSession, leg: Leg, endMs: number, stats: TrackStats): Promise<void> {
    const digest = await this.#digest(session, leg);
    await this.#store(session.sessionId, () =>
      this.#deps.repository.updateTrack(session.sessionId, leg.trackNumber, {
        trackDuration: Math.max(0, endMs - leg.startMs),
        stats,
        ...(digest === undefined ? {} : { digest }),
      }),
    );
    if (leg.participants.length > 0) {
      const ended = leg.participants.map((p) => ({
        ...p,
        // A participant that left mid-call (CUBE transfer) keeps the duration it got then.
        participantDuration: p.participantDuration ?? Math.max(0, endMs - p.participantStartDate),
      }));
      await this.#store(session.sessionId, () =>
        this.#deps.repository.replaceParticipants(session.sessionId, leg.trackNumber, ended),
      );
    }
  }

  /**
   * The SHA-256 of a track whose stream has closed: the media engine has written, synced and
   * closed its file, so nothing changes it any more. The file is streamed through the hash with
   * asynchronous reads (track-digest.ts), between which the event loop serves everything else.
   * A file that cannot be read (never created, removed) gets no digest: `verbatim verify` reports
   * the track, which is the point.
   */
  async #digest(session: LiveSession, leg: Leg): Promise<TrackDigest | undefined> {
    const { mediaDir } = this.#deps;
    if (mediaDir === undefined) {
      return undefined;
    }
    try {
      return await digestTrackFile(join(mediaDir, mediaPath(session, leg.trackNumber)), this.#deps.now());
    } catch (error: unknown) {
      this.#deps.log.warn(
        { err: error, sessionId: session.sessionId, track: leg.trackNumber },
        'track file could not be digested',
      );
      return undefined;
    }
  }

  /** Closes the session after its queued writes: CLOSED_ERROR when an error reason was noted. */
  close(session: LiveSession, endMs: number): void {
    this.enqueue(session, async () => {
      const state = session.errorReason === undefined ? 'CLOSED_NORMAL' : 'CLOSED_ERROR';
      if (state === 'CLOSED_NORMAL') {
        this.#deps.counters.sessionsClosedNormal++;
      } else {
        this.#deps.counters.sessionsClosedError++;
      }
      await this.#store(session.sessionId, () =>
        this.#deps.repository.closeSession(
          session.sessionId,
          state,
          Math.max(0, endMs - session.startMs),
          session.errorReason,
        ),
      );
      this.#deps.events?.publish({
        eventType: 'SESSION_EVENT',
        eventAction: 'ENDED',
        sessionId: session.sessionId,
        at: this.#deps.now(),
      });
      this.#deps.log.info(
        { sessionId: session.sessionId, state, reason: session.errorReason },
        'session closed',
      );
    });
  }

  /** Waits until every queued write of these sessions has been attempted. */
  async settled(sessions: readonly LiveSession[]): Promise<void> {
    await Promise.all(sessions.map((s) => s.dbQueue));
  }
}
