import { dtmfDigitOf, type DtmfDigit, type TelephoneEvent } from '../protocol/rtp/telephone-event.js';

export interface DtmfDetection {
  readonly digit: DtmfDigit;
  /** Arrival of the event's first packet we received (epoch ms). */
  readonly at: number;
  /** Duration of the event as the sender reported it, in milliseconds. */
  readonly durationMs: number;
}

/** No packet of an unfinished event for this long: its end packets were lost (RFC 4733 §2.5.2.3). */
export const DTMF_IDLE_END_MS = 1000;

/** How far back (seconds of RTP time) a packet counts as a late one of an earlier event. */
const LATE_PACKET_WINDOW_S = 10;

interface CurrentEvent {
  /** RTP timestamp of the current segment (the event's start, or of its latest long-event segment). */
  timestamp: number;
  readonly code: number;
  readonly firstArrivalMs: number;
  lastArrivalMs: number;
  /** Duration of earlier segments of a long event (RFC 4733 §2.5.1.3), in RTP units. */
  earlierSegments: number;
  /** Longest duration seen in the current segment, in RTP units. */
  duration: number;
  ended: boolean;
  reported: boolean;
}

/**
 * Turns the telephone-event packets of one stream into one detection per key press, as RFC 4733
 * §2.5.2 describes the receiver: all packets of an event share its start timestamp; the end packet
 * is sent three times; a packet with a new timestamp starts a new event, which also ends the
 * previous one when its end packets were lost; an event longer than the 16-bit duration field
 * continues in a new segment whose timestamp is the old one plus the old duration, and stays one
 * event. An event is reported once, when it is known to be over: at its end packet, at the start
 * of the next event, after DTMF_IDLE_END_MS without packets, or when the stream closes. Events
 * other than DTMF keys (fax and modem tones, §3.2 Table 8 onwards) delimit events but are not
 * reported. Pure logic: arrival times are passed in.
 */
export class DtmfDetector {
  readonly #onDetect: (detection: DtmfDetection) => void;
  #clockRateHz: number;
  #current: CurrentEvent | undefined;

  constructor(clockRateHz: number, onDetect: (detection: DtmfDetection) => void) {
    this.#clockRateHz = clockRateHz > 0 ? clockRateHz : 8000;
    this.#onDetect = onDetect;
  }

  setClockRate(clockRateHz: number): void {
    if (clockRateHz > 0) {
      this.#clockRateHz = clockRateHz;
    }
  }

  onPacket(timestamp: number, event: TelephoneEvent, arrivalMs: number): void {
    const current = this.#current;
    if (current !== undefined) {
      // Signed 32-bit distance: the RTP timestamp wraps (RFC 3550 §5.1).
      const delta = (timestamp - current.timestamp) | 0;
      if (delta === 0 && event.event === current.code) {
        this.#update(current, event, arrivalMs);
        return;
      }
      if (delta < 0 && -delta <= LATE_PACKET_WINDOW_S * this.#clockRateHz) {
        // A late packet of an earlier segment or event: nothing new to learn from it. A timestamp
        // far in the past is rather a sender that restarted with a new random timestamp.
        return;
      }
      if (
        delta > 0 &&
        event.event === current.code &&
        !current.ended &&
        this.#continuesLongEvent(current, delta)
      ) {
        current.earlierSegments += current.duration;
        current.timestamp = timestamp;
        current.duration = 0;
        this.#update(current, event, arrivalMs);
        return;
      }
      this.#report(current);
    }
    const started: CurrentEvent = {
      timestamp,
      code: event.event,
      firstArrivalMs: arrivalMs,
      lastArrivalMs: arrivalMs,
      earlierSegments: 0,
      duration: 0,
      ended: false,
      reported: false,
    };
    this.#current = started;
    this.#update(started, event, arrivalMs);
  }

  /** Reports an unfinished event whose packets stopped (called from the worker's timer). */
  checkIdle(nowMs: number): void {
    const current = this.#current;
    if (current !== undefined && !current.reported && nowMs - current.lastArrivalMs >= DTMF_IDLE_END_MS) {
      this.#report(current);
    }
  }

  /** Reports what is still open (the stream closes). */
  finish(): void {
    if (this.#current !== undefined) {
      this.#report(this.#current);
    }
  }

  #update(current: CurrentEvent, event: TelephoneEvent, arrivalMs: number): void {
    current.lastArrivalMs = arrivalMs;
    if (event.duration > current.duration) {
      current.duration = event.duration;
    }
    if (event.end && !current.ended) {
      current.ended = true;
      this.#report(current);
    }
  }

  /**
   * RFC 4733 §2.5.1.3: a long event's next segment starts where the previous one's duration
   * reached the 16-bit maximum, at timestamp + duration. Some slack covers a sender that counted
   * the last packet interval differently.
   */
  #continuesLongEvent(current: CurrentEvent, delta: number): boolean {
    const slack = Math.round(this.#clockRateHz / 10);
    return current.duration >= 0xffff - slack && Math.abs(delta - current.duration) <= slack;
  }

  #report(current: CurrentEvent): void {
    if (current.reported) {
      return;
    }
    current.reported = true;
    const digit = dtmfDigitOf(current.code);
    if (digit === undefined) {
      return;
    }
    const totalUnits = current.earlierSegments + current.duration;
    this.#onDetect({
      digit,
      at: current.firstArrivalMs,
      durationMs: Math.round((totalUnits * 1000) / this.#clockRateHz),
    });
  }
}
