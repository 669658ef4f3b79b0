import type { Logger } from 'pino';
import type { Tag } from '../model/session.js';
import type { DtmfDigit } from '../protocol/rtp/telephone-event.js';
import type { Leg, LiveSession } from './live-session.js';

/**
 * DTMF key presses as tags without flooding the session (issue 10): the digits a track sends in
 * one burst (an account number, a menu choice) become one SYSTEM_DEFINED tag of that track,
 * `DTMF:<digits>` (e.g. `DTMF:4711#`), whose offset is the first digit's, counted from the track
 * start like every track tag. A burst ends when no digit has come for {@link DTMF_BURST_GAP_MS},
 * when it holds {@link MAX_DTMF_DIGITS_PER_TAG} digits, or when the track ends. A session gets at
 * most {@link MAX_DTMF_TAGS_PER_SESSION} such tags; the digits past that are counted and logged,
 * not tagged (they stay in the recording: event packets are stored with the audio).
 */

/** Quiet time that ends a burst: people enter a number at about a digit a second. */
export const DTMF_BURST_GAP_MS = 2000;
/** Digits in one tag: `DTMF:` and 64 digits stay far under the 255-character tag name limit. */
export const MAX_DTMF_DIGITS_PER_TAG = 64;
/** DTMF tags in one session; with full tags 3,200 digits, more than any IVR dialogue. */
export const MAX_DTMF_TAGS_PER_SESSION = 50;

interface Burst {
  readonly leg: Leg;
  digits: string;
  readonly firstAt: number;
  timer?: NodeJS.Timeout;
}

interface SessionDtmf {
  tags: number;
  dropped: number;
  readonly bursts: Map<Leg, Burst>;
}

export interface DtmfTaggerOptions {
  /** Stores and announces a finished burst's tag (SessionWriter.addTag). */
  readonly emit: (session: LiveSession, tag: Tag) => void;
  readonly log: Logger;
  readonly gapMs?: number;
  readonly maxTagsPerSession?: number;
}

export class DtmfTagger {
  readonly #options: DtmfTaggerOptions;
  readonly #sessions = new WeakMap<LiveSession, SessionDtmf>();
  /** Digits not tagged because their session had its most DTMF tags, over every session. */
  #droppedDigits = 0;

  constructor(options: DtmfTaggerOptions) {
    this.#options = options;
  }

  get droppedDigits(): number {
    return this.#droppedDigits;
  }

  /** One key press reported by the media engine (`at`: arrival of its first packet). */
  onDigit(session: LiveSession, leg: Leg, digit: DtmfDigit, at: number): void {
    const state = this.#state(session);
    let burst = state.bursts.get(leg);
    if (burst === undefined) {
      burst = { leg, digits: '', firstAt: at };
      state.bursts.set(leg, burst);
    }
    burst.digits += digit;
    clearTimeout(burst.timer);
    if (burst.digits.length >= MAX_DTMF_DIGITS_PER_TAG) {
      this.#finishBurst(session, state, burst, this.#options.emit);
      return;
    }
    const open = burst;
    burst.timer = setTimeout(() => {
      // An ended track's burst is written by finishLeg, in order before the session's close.
      if (!open.leg.ended) {
        this.#finishBurst(session, state, open, this.#options.emit);
      }
    }, this.#options.gapMs ?? DTMF_BURST_GAP_MS);
    // A pending burst never keeps the process alive; the track's end writes it anyway.
    burst.timer.unref();
  }

  /**
   * The tag of the leg's unfinished burst, if any, when its track ends: the caller stores it
   * before the track's end is written, so it is never written after the session closed.
   */
  finishLeg(session: LiveSession, leg: Leg): Tag[] {
    const state = this.#sessions.get(session);
    const burst = state?.bursts.get(leg);
    if (state === undefined || burst === undefined) {
      return [];
    }
    const tags: Tag[] = [];
    this.#finishBurst(session, state, burst, (_s, tag) => tags.push(tag));
    if (state.dropped > 0 && state.bursts.size === 0) {
      this.#options.log.info(
        { sessionId: session.sessionId, droppedDigits: state.dropped, tags: state.tags },
        'DTMF digits past the per-session tag limit were not tagged',
      );
    }
    return tags;
  }

  #state(session: LiveSession): SessionDtmf {
    let state = this.#sessions.get(session);
    if (state === undefined) {
      state = { tags: 0, dropped: 0, bursts: new Map() };
      this.#sessions.set(session, state);
    }
    return state;
  }

  #finishBurst(
    session: LiveSession,
    state: SessionDtmf,
    burst: Burst,
    emit: (session: LiveSession, tag: Tag) => void,
  ): void {
    clearTimeout(burst.timer);
    state.bursts.delete(burst.leg);
    if (state.tags >= (this.#options.maxTagsPerSession ?? MAX_DTMF_TAGS_PER_SESSION)) {
      if (state.dropped === 0) {
        this.#options.log.warn(
          { sessionId: session.sessionId, tags: state.tags },
          'the session has its most DTMF tags: further digits are counted, not tagged',
        );
      }
      state.dropped += burst.digits.length;
      this.#droppedDigits += burst.digits.length;
      return;
    }
    state.tags++;
    emit(session, {
      tagName: `DTMF:${burst.digits}`,
      tagType: 'SYSTEM_DEFINED',
      tagCreateDate: burst.firstAt,
      tagOffset: Math.max(0, burst.firstAt - burst.leg.startMs),
      trackNumber: burst.leg.trackNumber,
    });
  }
}
