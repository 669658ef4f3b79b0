import type { TrackStats } from '../model/session.js';
import { GAP_THRESHOLD_MS } from '../model/session-health.js';
import { AudioContentCheck } from './audio-content.js';

/**
 * RFC 3550 Appendix A.1: a forward jump of fewer than MAX_DROPOUT sequence numbers is a gap
 * (the packets in between are lost); a jump further back than MAX_MISORDER is not a late packet
 * but a restart of the sender, confirmed when the next packet follows it.
 * https://www.rfc-editor.org/rfc/rfc3550#appendix-A.1
 */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 0x10000;
/** Sequence numbers remembered for duplicate detection; must exceed MAX_MISORDER. */
const WINDOW = 128;
const WINDOW_WORDS = WINDOW / 32;

const GAP_THRESHOLD_US = GAP_THRESHOLD_MS * 1000;
/** #gapFromUs before the first stored packet: the wait for the first packet is no gap. */
const GAPS_IDLE = -1;
/** #gapFromUs while the recording is paused or the line on hold: silence is expected. */
const GAPS_SUSPENDED = -2;

/**
 * Reception statistics of one stream. `onPacket` runs once per packet accepted for the track, so
 * it only updates numbers in place: no allocation, no logging. A packet accepted but then not
 * written to the track file (`setUnstored`) leaves `packets` and `bytes` for `unstored` in the
 * snapshot; it still counts in the sequence numbers, so it is no gap in `lost`.
 */
export class StreamStatistics {
  #packets = 0;
  #bytes = 0;
  #duplicated = 0;
  #reordered = 0;
  #dropped = 0;
  #srtpAuthFailures = 0;
  #kernelDropped = 0;
  #unreadAtClose = 0;
  #unstored = 0;
  #unstoredPayloadBytes = 0;
  /** Packets received while the recording was paused: never stored. */
  #paused = 0;
  /** Arrival (epoch µs) of the last packet accepted, stored or paused, or -1 before any. */
  #lastHeardUs = -1;

  /** Losses of earlier segments (before an SSRC change or a sender restart). */
  #lostBefore = 0;
  #started = false;
  #ssrc = 0;
  /** Extended sequence numbers of the current segment: first, highest, unique packets seen. */
  #baseExt = 0;
  #maxExt = 0;
  #receivedInSegment = 0;
  /** RFC 3550 A.1 bad_seq: the sequence number that would confirm a large jump, or -1. */
  #badSeq = -1;
  readonly #seen = new Uint32Array(WINDOW_WORDS);

  #clockRateHz: number;
  #jitterMs = 0;
  #haveTransit = false;
  #lastTransitArrivalUs = 0;
  #lastTransitTimestamp = 0;

  #firstArrivalUs = -1;
  #lastArrivalUs = -1;

  /**
   * Gaps longer than GAP_THRESHOLD_MS (docs/media.md "Gaps and silence"): measured from the last
   * stored packet, or from the end of a pause or hold; GAPS_IDLE or GAPS_SUSPENDED when not.
   */
  #gapFromUs = GAPS_IDLE;
  #gapPaused = false;
  #gapHeld = false;
  /**
   * The last packet was comfort noise or a silence descriptor (onSilenceAnnounced): the sender
   * said it goes quiet (VAD), so the silence after it is no gap.
   */
  #silenceAnnounced = false;
  #gaps = 0;
  #gapUs = 0;
  #longestGapUs = 0;

  /** Whether the stored G.711 audio was only silence; fed by the stream (RtpStream.#receive). */
  readonly audio = new AudioContentCheck();

  constructor(clockRateHz: number) {
    this.#clockRateHz = clockRateHz;
  }

  /** Packets accepted so far, stored or not (the snapshot's `packets` is the stored ones). */
  get packets(): number {
    return this.#packets;
  }

  /** Arrival time (epoch µs) of the last stored packet, or -1 before any. */
  get lastArrivalUs(): number {
    return this.#lastArrivalUs;
  }

  /** A new clock rate applies from the next packet; the jitter estimate restarts its transit. */
  setClockRate(clockRateHz: number): void {
    if (clockRateHz > 0 && clockRateHz !== this.#clockRateHz) {
      this.#clockRateHz = clockRateHz;
      this.#haveTransit = false;
    }
  }

  /** A datagram that was not stored: not RTP, or from a source that is not this stream's. */
  onDropped(): void {
    this.#dropped++;
  }

  /** An SRTP packet whose authentication tag (or MKI) was wrong: not stored, not in `dropped`. */
  onSrtpAuthFailure(): void {
    this.#srtpAuthFailures++;
  }

  /** The socket's drop counter as the kernel reports it now (it only grows). */
  setKernelDropped(total: number): void {
    this.#kernelDropped = Math.max(this.#kernelDropped, total);
  }

  /** Datagrams left on the socket when the stream closed. */
  setUnreadAtClose(count: number): void {
    this.#unreadAtClose = count;
  }

  /**
   * Packets accepted and not written to the track file, and their payload bytes, as the track
   * writer counts them (they only grow).
   */
  setUnstored(count: number, payloadBytes: number): void {
    this.#unstored = count;
    this.#unstoredPayloadBytes = payloadBytes;
  }

  /** Datagrams read from the RTP socket so far, stored or not. */
  get datagrams(): number {
    return this.#packets + this.#paused + this.#dropped + this.#srtpAuthFailures;
  }

  /**
   * Arrival time (epoch µs) of the last packet of the stream's sender, stored or dropped because
   * the recording was paused, or -1 before any: the sender is alive while it sends, paused or not.
   */
  get lastHeardUs(): number {
    return this.#lastHeardUs;
  }

  /**
   * An RTP packet of the stream's sender received while the recording was paused: it is not
   * stored, and counts in `paused` rather than in `packets`. Its sequence number still counts, so
   * the pause is no gap in `lost`.
   */
  onPaused(ssrc: number, sequenceNumber: number, timestamp: number, arrivalUs: number): void {
    this.#paused++;
    this.#lastHeardUs = arrivalUs;
    this.#countSequence(ssrc, sequenceNumber, timestamp, arrivalUs);
  }

  /** An RTP packet accepted for the track. `timestamp` is the 32-bit RTP timestamp, `arrivalUs` epoch µs. */
  onPacket(
    ssrc: number,
    sequenceNumber: number,
    timestamp: number,
    payloadBytes: number,
    arrivalUs: number,
  ): void {
    this.#packets++;
    this.#bytes += payloadBytes;
    if (this.#firstArrivalUs < 0) {
      this.#firstArrivalUs = arrivalUs;
    }
    this.#lastArrivalUs = arrivalUs;
    this.#lastHeardUs = arrivalUs;
    const gapFrom = this.#gapFromUs;
    if (gapFrom >= 0) {
      if (arrivalUs - gapFrom > GAP_THRESHOLD_US) {
        this.#addGap(arrivalUs - gapFrom);
      }
      this.#gapFromUs = arrivalUs;
    } else if (gapFrom === GAPS_IDLE) {
      this.#gapFromUs = arrivalUs;
    }
    this.#silenceAnnounced = false;
    this.#countSequence(ssrc, sequenceNumber, timestamp, arrivalUs);
  }

  /**
   * The recording paused or resumed (pauseRecording) at `nowUs`: no gap is counted while it is,
   * and the silence before it counts up to `nowUs`.
   */
  setGapsPaused(paused: boolean, nowUs: number): void {
    if (paused !== this.#gapPaused) {
      this.#gapPaused = paused;
      this.#updateGapSuspension(nowUs);
    }
  }

  /** The line went on hold or resumed at `nowUs` (a re-INVITE): as setGapsPaused. */
  setGapsHeld(held: boolean, nowUs: number): void {
    if (held !== this.#gapHeld) {
      this.#gapHeld = held;
      this.#updateGapSuspension(nowUs);
    }
  }

  /**
   * The packet just counted was comfort noise (RFC 3389) or a codec's silence descriptor: a
   * sender with voice activity detection stops sending until the voice comes back, which is no
   * gap. Holds until the next packet.
   */
  onSilenceAnnounced(): void {
    this.#silenceAnnounced = true;
  }

  /** The stream closes at `nowUs` (the BYE): silence since the last packet up to it is a gap too. */
  endGaps(nowUs: number): void {
    this.#closeGap(nowUs);
    this.#gapFromUs = GAPS_SUSPENDED;
  }

  #updateGapSuspension(nowUs: number): void {
    if (this.#gapPaused || this.#gapHeld) {
      this.#closeGap(nowUs);
      this.#gapFromUs = GAPS_SUSPENDED;
    } else if (this.#gapFromUs === GAPS_SUSPENDED) {
      // Measured again from the resume, once the stream has started at all.
      this.#gapFromUs = this.#firstArrivalUs < 0 ? GAPS_IDLE : nowUs;
      this.#silenceAnnounced = false;
    }
  }

  #closeGap(nowUs: number): void {
    const from = this.#gapFromUs;
    if (from >= 0 && nowUs - from > GAP_THRESHOLD_US) {
      this.#addGap(nowUs - from);
    }
  }

  #addGap(us: number): void {
    if (this.#silenceAnnounced) {
      return;
    }
    this.#gaps++;
    this.#gapUs += us;
    if (us > this.#longestGapUs) {
      this.#longestGapUs = us;
    }
  }

  /** Sequence numbers (loss, duplicates, reordering) and jitter of a packet, stored or paused. */
  #countSequence(ssrc: number, sequenceNumber: number, timestamp: number, arrivalUs: number): void {
    if (!this.#started || ssrc !== this.#ssrc) {
      // A new SSRC is a new sequence space (RFC 3550 §8.2); its packets are kept and counted.
      this.#startSegment(sequenceNumber);
      this.#ssrc = ssrc;
      this.#started = true;
      this.#haveTransit = false;
      this.#updateJitter(timestamp, arrivalUs);
      return;
    }

    const forward = (sequenceNumber - (this.#maxExt % SEQ_MOD) + SEQ_MOD) % SEQ_MOD;
    let ext: number;
    if (forward < MAX_DROPOUT) {
      ext = this.#maxExt + forward;
    } else if (forward <= SEQ_MOD - MAX_MISORDER) {
      // A large jump: restart only when the next packet confirms it (RFC 3550 A.1).
      if (sequenceNumber === this.#badSeq) {
        this.#startSegment(sequenceNumber);
        this.#haveTransit = false;
        this.#updateJitter(timestamp, arrivalUs);
      } else {
        this.#badSeq = (sequenceNumber + 1) % SEQ_MOD;
      }
      return;
    } else {
      ext = this.#maxExt - (SEQ_MOD - forward);
    }
    this.#badSeq = -1;

    if (ext <= this.#maxExt && this.#isSeen(ext)) {
      this.#duplicated++;
      return;
    }
    if (ext > this.#maxExt) {
      this.#advanceTo(ext);
    } else {
      this.#reordered++;
      if (ext < this.#baseExt) {
        // The segment's first packet was itself late: the segment starts earlier.
        this.#baseExt = ext;
      }
    }
    this.#markSeen(ext);
    this.#receivedInSegment++;
    this.#updateJitter(timestamp, arrivalUs);
  }

  snapshot(): TrackStats {
    const base = {
      packets: this.#packets - this.#unstored,
      bytes: this.#bytes - this.#unstoredPayloadBytes,
      lost: this.#lost(),
      duplicated: this.#duplicated,
      reordered: this.#reordered,
      jitterMs: Math.round(this.#jitterMs * 1000) / 1000,
      dropped: this.#dropped,
      srtpAuthFailures: this.#srtpAuthFailures,
      kernelDropped: this.#kernelDropped,
      unreadAtClose: this.#unreadAtClose,
      unstored: this.#unstored,
      paused: this.#paused,
      ...(this.#gaps === 0
        ? {}
        : {
            gaps: this.#gaps,
            gapMs: Math.round(this.#gapUs / 1000),
            longestGapMs: Math.round(this.#longestGapUs / 1000),
          }),
      ...(this.audio.content === undefined ? {} : { content: this.audio.content }),
    };
    if (this.#firstArrivalUs < 0) {
      return base;
    }
    return {
      ...base,
      firstPacketAt: Math.floor(this.#firstArrivalUs / 1000),
      lastPacketAt: Math.floor(this.#lastArrivalUs / 1000),
    };
  }

  #lost(): number {
    const current = this.#started ? this.#maxExt - this.#baseExt + 1 - this.#receivedInSegment : 0;
    return this.#lostBefore + Math.max(0, current);
  }

  #startSegment(sequenceNumber: number): void {
    if (this.#started) {
      this.#lostBefore += Math.max(0, this.#maxExt - this.#baseExt + 1 - this.#receivedInSegment);
    }
    // Start one cycle up so that late packets of the first cycle keep a positive extended number.
    const ext = SEQ_MOD + sequenceNumber;
    this.#baseExt = ext;
    this.#maxExt = ext;
    this.#receivedInSegment = 1;
    this.#badSeq = -1;
    this.#seen.fill(0);
    this.#markSeen(ext);
  }

  #advanceTo(ext: number): void {
    const distance = ext - this.#maxExt;
    if (distance >= WINDOW) {
      this.#seen.fill(0);
    } else {
      // The slots of the sequence numbers we move past are reused for the new ones.
      for (let e = this.#maxExt + 1; e <= ext; e++) {
        const slot = e % WINDOW;
        this.#seen[slot >>> 5] = (this.#seen[slot >>> 5] ?? 0) & ~(1 << (slot & 31));
      }
    }
    this.#maxExt = ext;
  }

  #isSeen(ext: number): boolean {
    if (this.#maxExt - ext >= WINDOW) {
      return false;
    }
    const slot = ext % WINDOW;
    return ((this.#seen[slot >>> 5] ?? 0) & (1 << (slot & 31))) !== 0;
  }

  #markSeen(ext: number): void {
    const slot = ext % WINDOW;
    this.#seen[slot >>> 5] = (this.#seen[slot >>> 5] ?? 0) | (1 << (slot & 31));
  }

  /**
   * Interarrival jitter, RFC 3550 §6.4.1 and A.8: J += (|D| - J) / 16, where D compares the
   * spacing of arrivals with the spacing of RTP timestamps. Computed in milliseconds; the signed
   * 32-bit timestamp difference survives the timestamp wrapping around.
   * https://www.rfc-editor.org/rfc/rfc3550#section-6.4.1
   */
  #updateJitter(timestamp: number, arrivalUs: number): void {
    if (this.#haveTransit) {
      const arrivalDeltaMs = (arrivalUs - this.#lastTransitArrivalUs) / 1000;
      const timestampDeltaMs = (((timestamp - this.#lastTransitTimestamp) | 0) * 1000) / this.#clockRateHz;
      const d = Math.abs(arrivalDeltaMs - timestampDeltaMs);
      this.#jitterMs += (d - this.#jitterMs) / 16;
    }
    this.#haveTransit = true;
    this.#lastTransitArrivalUs = arrivalUs;
    this.#lastTransitTimestamp = timestamp;
  }
}
