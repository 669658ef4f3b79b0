import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';
import type { MediaEngine } from '../media/media-engine.js';
import type { Tag } from '../model/session.js';
import type { LiveSession } from './live-session.js';
import type { SessionRegistry } from './session-registry.js';
import type { SessionWriter } from './session-writer.js';

/**
 * pauseRecording and resumeRecording (MediaSense's controlService): while a recording is paused,
 * nothing its streams receive is stored, so that what a caller says or keys in then (a card
 * number, PCI DSS) never reaches the disk.
 *
 * How: the media worker of each stream drops its packets from the moment it handles the pause,
 * before they reach the track writer or the DTMF detector (media/rtp-stream.ts), and counts them
 * in the track's `paused` statistic. The answer to the API waits until every stream's worker has
 * done so, so once pauseRecording answered success nothing received afterwards is stored. Streams
 * opened while paused (CUCM's second leg, a stream a SIPREC re-INVITE adds, the new session of a
 * codec change) open paused (leg-opener.ts). A CUCM hold ends the session and CUCM sends a new
 * pair of INVITEs on resume: the call's next session starts paused (session-registry.ts), and
 * resumeRecording naming the old one resumes it. The WAV export places the first packet after the
 * resume by its RTP timestamp (playback/track-timeline.ts): the pause is silence of its length.
 *
 * Tags: `Pause` and `Resume` (SYSTEM_DEFINED, session level, tagOffset from the session start)
 * mark the spans in which the recording stores nothing, whether a SIPREC hold (every stream
 * inactive, hold-tags.ts) or the API stopped it. They alternate: a hold inside an API pause, or an
 * API pause inside a hold, adds no tag, and a SIPREC resume from hold never resumes an API pause.
 * Their time is the media workers' own (when the pause took effect), so the tags and the silence
 * in the WAV agree.
 */

export type ControlRefusal =
  /** No session has this id. */
  | 'not-found'
  /** The session exists but is not ACTIVE (closed, deleted, or closing now). */
  | 'not-active'
  /** pauseRecording on a recording already paused through the API. */
  | 'already-paused'
  /** resumeRecording on a recording the API did not pause. */
  | 'not-paused';

export type ControlResult =
  | {
      readonly ok: true;
      /** The tag written; absent when a SIPREC hold had already stopped the recording. */
      readonly tag?: Tag;
    }
  | { readonly ok: false; readonly refusal: ControlRefusal };

interface RecordingControlDeps {
  readonly registry: SessionRegistry;
  readonly media: MediaEngine;
  readonly writer: SessionWriter;
  readonly repository: Repository;
  readonly log: Logger;
  readonly now: () => number;
}

export class RecordingControl {
  readonly #deps: RecordingControlDeps;

  constructor(deps: RecordingControlDeps) {
    this.#deps = deps;
  }

  async pause(sessionId: string): Promise<ControlResult> {
    const found = await this.#activeSession(sessionId);
    if (!found.ok) {
      return found;
    }
    const session = found.session;
    if (session.pausedByApi) {
      return { ok: false, refusal: 'already-paused' };
    }
    // Decided now, before any await, in step with hold-tags.ts, which reads the same two flags.
    session.pausedByApi = true;
    const tagged = !session.paused;
    const appliedAt = await this.#applyToStreams(session, true);
    // From the last stream to take it: nothing received after this was stored.
    const at = appliedAt.length > 0 ? Math.max(...appliedAt) : this.#deps.now();
    return this.#done(session, tagged ? 'Pause' : undefined, at, 'recording paused');
  }

  async resume(sessionId: string): Promise<ControlResult> {
    const carried = this.#carriedPause(sessionId);
    if (carried !== undefined) {
      return carried;
    }
    const found = await this.#activeSession(sessionId);
    if (!found.ok) {
      return found;
    }
    const session = found.session;
    if (!session.pausedByApi) {
      return { ok: false, refusal: 'not-paused' };
    }
    session.pausedByApi = false;
    const tagged = !session.paused;
    const appliedAt = await this.#applyToStreams(session, false);
    // From the first stream to take it: the pause is the span in which no stream stored anything.
    const at = appliedAt.length > 0 ? Math.min(...appliedAt) : this.#deps.now();
    return this.#done(session, tagged ? 'Resume' : undefined, at, 'recording resumed');
  }

  /**
   * resumeRecording naming a CUCM session that closed while paused because the call was put on
   * hold: the call's pause goes on in the session of its next pair of INVITEs, which is resumed
   * instead; between the two sessions, the next one will start unpaused. Undefined for any other
   * session.
   */
  #carriedPause(sessionId: string): Promise<ControlResult> | undefined {
    const registry = this.#deps.registry;
    if (registry.get(sessionId) !== undefined) {
      return undefined;
    }
    const key = registry.pausedCallKeyOf(sessionId);
    if (key === undefined) {
      return undefined;
    }
    const next = registry.cucmSession(key);
    if (next !== undefined && !next.closing && next.pausedByApi) {
      this.#deps.log.info(
        { sessionId, nextSessionId: next.sessionId },
        'resuming the call in its next session',
      );
      return this.resume(next.sessionId);
    }
    if (next !== undefined) {
      return undefined;
    }
    registry.forgetPausedCall(key);
    this.#deps.log.info({ sessionId }, 'recording resumed while the call is on hold');
    return Promise.resolve({ ok: true });
  }

  /** The live ACTIVE session, or why there is none (looked up in the database when not live). */
  async #activeSession(
    sessionId: string,
  ): Promise<
    | { readonly ok: true; readonly session: LiveSession }
    | { readonly ok: false; readonly refusal: ControlRefusal }
  > {
    const live = this.#deps.registry.get(sessionId);
    if (live !== undefined && !live.closing) {
      return { ok: true, session: live };
    }
    if (live !== undefined) {
      return { ok: false, refusal: 'not-active' };
    }
    // Not recorded here now: a closed session, or one recorded by a node that stopped (an ACTIVE
    // row left by a crash is closed at the next start, recovery.ts), or none at all.
    const stored = await this.#deps.repository.getSession(sessionId);
    return { ok: false, refusal: stored === undefined ? 'not-found' : 'not-active' };
  }

  /**
   * Pauses or resumes every stream of the session, ended legs included (a stream drains its
   * socket for a while after its BYE), and gives the times the workers report it took effect.
   */
  async #applyToStreams(session: LiveSession, paused: boolean): Promise<number[]> {
    const legs = [...session.legs.values()];
    const times = await Promise.all(legs.map((leg) => this.#deps.media.setPaused(leg.streamId, paused)));
    return times.filter((t): t is number => t !== undefined);
  }

  #done(
    session: LiveSession,
    tagName: 'Pause' | 'Resume' | undefined,
    at: number,
    message: string,
  ): ControlResult {
    this.#deps.log.info(
      { sessionId: session.sessionId, tag: tagName, offsetMs: at - session.startMs },
      message,
    );
    if (tagName === undefined) {
      return { ok: true };
    }
    const tag = pauseTag(session, tagName, at);
    this.#deps.writer.addTag(session, tag);
    return { ok: true, tag };
  }
}

/** A session-level Pause or Resume tag at `at` (epoch ms). */
export function pauseTag(session: LiveSession, tagName: 'Pause' | 'Resume', at: number): Tag {
  return {
    tagName,
    tagType: 'SYSTEM_DEFINED',
    tagCreateDate: at,
    tagOffset: Math.max(0, at - session.startMs),
  };
}
