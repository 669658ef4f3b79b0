import type { Logger } from 'pino';
import { encodeMulaw } from '../../protocol/codec/g711.js';
import { LiveAudioStream, type LiveTrackCodec } from '../live-audio.js';
import type { LivePacket } from '../live-feed.js';
import { LiveMixer, MIX_RATE_HZ } from '../live-mixer.js';
import type { TimedPacket } from './packet-queues.js';

/**
 * `/live/<id>?mix=1`: the live feed's packets of both parties decoded (live-audio.ts), placed on
 * one clock (live-mixer.ts) and sent as one PCMU stream, a 20 ms packet at a time, `delayMs`
 * behind the wall clock so that the parties' jitter has been absorbed. The pacer is drift-free:
 * packet k is due at `originMs + delayMs + (k + 1) × 20 ms`, computed from the start each time,
 * never by chaining fixed sleeps; a pacer woken late sends what became due at once, and one that
 * fell far behind (a stalled event loop) skips ahead rather than bursting seconds of audio.
 *
 * Packet k carries mixer samples [160k, 160k + 160), which were captured at `originMs + 20k` ms:
 * its RTP time is that instant on the presentation's clock (npt × 8000), so the stream's sender
 * reports (wall clock ↔ RTP time of now) describe it exactly.
 */

const PACKET_FRAMES = 160;
const PACKET_MS = (PACKET_FRAMES * 1000) / MIX_RATE_HZ;
/** Default playout delay: a few tap ticks (40 ms) and the network's jitter. */
export const LIVE_MIX_DELAY_MS = 160;
/** A pacer this many packets late skips the excess instead of sending it all at once. */
const MAX_CATCH_UP_PACKETS = 10;

export interface LiveMixSourceOptions {
  readonly codecOf: (trackNumber: number) => Promise<LiveTrackCodec | undefined>;
  /** Session start (epoch ms): npt 0 of the presentation. */
  readonly sessionStartMs: number;
  /** The instant playback starts (epoch ms): the mixer's sample 0. */
  readonly originMs: number;
  readonly delayMs?: number;
  readonly now: () => number;
  readonly logger: Logger;
  readonly send: (packet: TimedPacket) => void;
  /** The call ended and its last audio was sent. */
  readonly onEnd: () => void;
}

export class LiveMixSource {
  readonly #options: LiveMixSourceOptions;
  readonly #delayMs: number;
  readonly #mixer: LiveMixer;
  readonly #audio: LiveAudioStream;
  /** RTP time (npt × 8000) of mixer sample 0. */
  readonly #rtpOrigin: number;
  #sent = 0;
  #marker = true;
  #timer: NodeJS.Timeout | undefined;
  #endAtMs: number | undefined;
  #closed = false;

  constructor(options: LiveMixSourceOptions) {
    this.#options = options;
    this.#delayMs = options.delayMs ?? LIVE_MIX_DELAY_MS;
    // Audio later than its place by most of the delay would be dropped: re-anchor it instead.
    this.#mixer = new LiveMixer({
      originMs: options.originMs,
      lateSlackMs: Math.max(PACKET_MS, this.#delayMs - 3 * PACKET_MS),
    });
    this.#rtpOrigin = Math.round(((options.originMs - options.sessionStartMs) * MIX_RATE_HZ) / 1000);
    this.#audio = new LiveAudioStream({
      codecOf: options.codecOf,
      logger: options.logger,
      now: options.now,
      send: (frame) => {
        if (!this.#closed) {
          this.#mixer.push(frame);
        }
      },
    });
  }

  /** Starts the pacer. */
  start(): void {
    this.#schedule();
  }

  /** A batch of one track's packets from the live feed. */
  packets(trackNumber: number, packets: readonly LivePacket[]): void {
    this.#audio.push(trackNumber, packets);
  }

  /**
   * The call ended: once what was decoded has been played out (the delay after the last packet),
   * `onEnd`.
   */
  end(): void {
    if (this.#closed || this.#endAtMs !== undefined) {
      return;
    }
    this.#endAtMs = Infinity;
    void this.#audio.drained().then(() => {
      this.#endAtMs = this.#options.now() + this.#delayMs + PACKET_MS;
    });
  }

  /** Mixing counters, for the log. */
  get counters(): { lateSamples: number; reanchors: number; droppedBatches: number } {
    return {
      lateSamples: this.#mixer.lateSamples,
      reanchors: this.#mixer.reanchors,
      droppedBatches: this.#audio.droppedBatches,
    };
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#audio.close();
  }

  #dueAtMs(packetIndex: number): number {
    return this.#options.originMs + this.#delayMs + (packetIndex + 1) * PACKET_MS;
  }

  #schedule(): void {
    if (this.#closed) {
      return;
    }
    const waitMs = Math.max(0, this.#dueAtMs(this.#sent) - this.#options.now());
    this.#timer = setTimeout(() => {
      this.#tick();
    }, waitMs);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#closed) {
      return;
    }
    const nowMs = this.#options.now();
    const due = Math.floor((nowMs - this.#options.originMs - this.#delayMs) / PACKET_MS);
    if (due - this.#sent > MAX_CATCH_UP_PACKETS) {
      const skipped = due - this.#sent - MAX_CATCH_UP_PACKETS;
      this.#mixer.skip(skipped * PACKET_FRAMES);
      this.#sent += skipped;
      this.#marker = true;
    }
    while (this.#sent < due) {
      const rtpTime = this.#rtpOrigin + this.#sent * PACKET_FRAMES;
      this.#options.send({
        offsetS: rtpTime / MIX_RATE_HZ,
        payload: encodeMulaw(this.#mixer.take(PACKET_FRAMES)),
        marker: this.#marker,
        rtpTime,
      });
      this.#marker = false;
      this.#sent += 1;
    }
    if (this.#endAtMs !== undefined && nowMs >= this.#endAtMs) {
      this.close();
      this.#options.onEnd();
      return;
    }
    this.#schedule();
  }
}
