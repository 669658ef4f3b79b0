import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MediaEngine, MediaEvent } from '../media/media-engine.js';
import { EMPTY_TRACK_STATS, type TrackStats } from '../model/session.js';
import type { ServerDialog } from '../sip/types.js';
import { DtmfTagger } from './dtmf-tags.js';
import type { LegOpener } from './leg-opener.js';
import type { Leg, LiveSession } from './live-session.js';
import type { SessionRegistry } from './session-registry.js';
import type { SessionWriter } from './session-writer.js';
import { trackWriteFailureReason } from './write-health.js';

/**
 * After a BYE the leg's socket stays open this long before its track is closed: the last RTP
 * packets a phone sends before hanging up can still be in flight behind the BYE, and a recorder
 * must not drop them (the benchmark saw exactly the last packet of a stream go missing).
 */
export const BYE_DRAIN_MS = 250;

interface SessionLifecycleDeps {
  readonly media: MediaEngine;
  readonly registry: SessionRegistry;
  readonly writer: SessionWriter;
  readonly opener: LegOpener;
  readonly log: Logger;
  readonly now: () => number;
  /** Quiet time that ends a burst of DTMF digits (dtmf-tags.ts); tests shorten it. */
  readonly dtmfBurstGapMs?: number;
}

/**
 * How legs and sessions end: BYE, a lost ACK, a media timeout or a write error reported by the
 * media engine, shutdown, or an INVITE that is not answered after all. A session closes when its
 * last leg has ended: CLOSED_NORMAL, or CLOSED_ERROR when an error reason was noted on the way.
 */
export class SessionLifecycle {
  readonly #deps: SessionLifecycleDeps;
  readonly #dtmf: DtmfTagger;

  constructor(deps: SessionLifecycleDeps) {
    this.#deps = deps;
    this.#dtmf = new DtmfTagger({
      emit: (session, tag) => {
        deps.writer.addTag(session, tag);
      },
      log: deps.log,
      ...(deps.dtmfBurstGapMs === undefined ? {} : { gapMs: deps.dtmfBurstGapMs }),
    });
  }

  /** DTMF digits not tagged because their session had its most DTMF tags. */
  get droppedDtmfDigits(): number {
    return this.#dtmf.droppedDigits;
  }

  /** Ends legs: their streams drain and close, their tracks get duration and statistics. */
  endLegs(session: LiveSession, legs: readonly Leg[], errorReason?: string, drainMs = 0): void {
    if (errorReason !== undefined) {
      session.errorReason ??= errorReason;
    }
    const endMs = this.#deps.now();
    for (const leg of legs) {
      if (leg.ended) {
        continue;
      }
      leg.ended = true;
      // Silence is expected from the BYE on: the gap count stops here, not at the close after the
      // drain (docs/media.md "Gaps and silence").
      this.#deps.media.setHeld?.(leg.streamId, true);
      const closing = (drainMs > 0 ? delay(drainMs) : Promise.resolve())
        .then(() => this.#deps.media.closeStream(leg.streamId))
        .then(
          (stats) => stats,
          (error: unknown): TrackStats => {
            this.#deps.log.error({ err: error, streamId: leg.streamId }, 'closing the track failed');
            session.errorReason ??= `track ${leg.trackNumber} could not be closed`;
            return this.#deps.media.getStats(leg.streamId) ?? EMPTY_TRACK_STATS;
          },
        );
      this.#deps.writer.enqueue(session, async () => {
        const stats = await closing;
        this.#deps.registry.streamClosed(leg.streamId);
        // The closed stream has reported its last key press: its burst is tagged now, before the
        // track's end and the session's close are written.
        for (const tag of this.#dtmf.finishLeg(session, leg)) {
          await this.#deps.writer.storeTag(session, tag);
        }
        // A silent video line is not a failed recording (one-way video, camera off); a silent
        // audio line is: a voice is missing. One heard only while the recording was paused is not.
        if (stats.packets === 0 && (stats.paused ?? 0) === 0 && leg.video !== true) {
          session.errorReason ??= `track ${leg.trackNumber}: no media received`;
        }
        await this.#deps.writer.writeEndedTrack(session, leg, endMs, stats);
      });
    }
    this.#maybeClose(session, endMs);
  }

  /** Ends every leg of the session as an error, sending BYE on their dialogs. */
  failSession(session: LiveSession, reason: string): void {
    const open = [...session.legs.values()].filter((leg) => !leg.ended);
    const dialogs = new Set(open.map((leg) => leg.dialog).filter((d): d is ServerDialog => d !== undefined));
    for (const dialog of dialogs) {
      if (!dialog.terminated) {
        dialog.bye();
      }
    }
    this.endLegs(session, open, reason);
  }

  /** Gives back what an INVITE that will not be answered took. */
  async abandon(session: LiveSession, opened: readonly Leg[], reserved: readonly number[]): Promise<void> {
    for (const n of reserved) {
      session.reservedTracks.delete(n);
    }
    await this.#deps.opener.giveBack(opened);
    if (!session.persisted && session.legs.size === 0 && session.reservedTracks.size === 0) {
      this.#deps.registry.forget(session);
    }
  }

  #maybeClose(session: LiveSession, endMs: number): void {
    const allEnded = [...session.legs.values()].every((leg) => leg.ended);
    if (!allEnded || session.reservedTracks.size > 0 || session.closing) {
      return;
    }
    session.closing = true;
    this.#deps.registry.forget(session);
    if (session.pausedByApi) {
      this.#deps.registry.rememberPausedCall(session, endMs);
    }
    if (session.legs.size < session.expectedLegs) {
      session.errorReason ??= `only ${session.legs.size} of ${session.expectedLegs} legs arrived`;
    }
    this.#deps.writer.close(session, endMs);
  }

  /** What the media engine reports about a stream: a key press, silence, or a failed write. */
  onMediaEvent(event: MediaEvent): void {
    const entry = this.#deps.registry.byStream(event.streamId);
    if (entry === undefined) {
      return;
    }
    const { session, leg } = entry;
    switch (event.type) {
      case 'first-packet':
        return;
      case 'dtmf':
        // Key presses become one track tag per burst of digits (dtmf-tags.ts).
        this.#dtmf.onDigit(session, leg, event.digit, event.at);
        return;
      case 'media-timeout': {
        if (leg.inactive || session.paused) {
          // On hold the sender sends nothing by design; the timeout re-arms with the next packet.
          this.#deps.log.debug(
            { sessionId: session.sessionId, track: leg.trackNumber },
            'no media while on hold',
          );
          return;
        }
        if (leg.video === true) {
          // Video may stop or never start (camera off) while the voices go on: not a failure.
          this.#deps.log.info({ sessionId: session.sessionId, track: leg.trackNumber }, 'no video received');
          return;
        }
        const reason = event.lastPacketAt === undefined ? 'no media received' : 'media stopped';
        this.#deps.log.warn(
          { sessionId: session.sessionId, track: leg.trackNumber },
          `${reason}: ending the session`,
        );
        this.failSession(session, `track ${leg.trackNumber}: ${reason}`);
        return;
      }
      case 'stream-error': {
        // The track file could not be written (disk full, I/O error, read-only remount): the
        // session ends CLOSED_ERROR with the disk's reason, keeping what was written
        // (docs/media.md "When the disk fails").
        const reason =
          event.code === undefined
            ? `track ${leg.trackNumber}: ${event.message}`
            : trackWriteFailureReason(event.code);
        this.#deps.log.error(
          { sessionId: session.sessionId, track: leg.trackNumber, message: event.message, reason },
          'track write failed: ending the session',
        );
        this.failSession(session, reason);
        return;
      }
    }
  }
}
