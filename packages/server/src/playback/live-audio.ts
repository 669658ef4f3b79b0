import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';
import type { Session, Track } from '../model/session.js';
import { parseRtpHeader } from '../protocol/rtp/rtp-packet.js';
import { createTrackDecoder } from './decoders/registry.js';
import type { TrackCodec, TrackDecoder } from './decoders/track-decoder.js';
import type { LivePacket } from './live-feed.js';
import type { LiveAudioFrame } from './live-frame.js';

/**
 * Live listening (issue 12, point 5): an ACTIVE session's packets, as the live feed gives them,
 * decoded to PCM and framed for the WebSocket of `/listen/<sessionId>/ws` (docs/api.md "Live
 * listening"). Track 0 is channel 0 (left), track 1 channel 1 (right); other tracks are not
 * heard, as in the stereo WAV.
 *
 * Each tap batch of a track becomes one frame: 16-bit mono PCM at the decoder's rate, stamped with
 * the recorder's arrival time of its first packet, so a client can schedule it and measure how
 * late it plays. Lost packets become silence (from the RTP timestamps, up to one second); late or
 * repeated ones are dropped: the client plays what comes, in order, without waiting.
 * The frame's layout and its encoding are in live-frame.ts.
 */

/** The tracks heard, by channel. */
export const LIVE_CHANNEL_TRACKS: readonly number[] = [0, 1];

/** A track's codec as the session's metadata says, with the payload type its audio uses. */
export interface LiveTrackCodec extends TrackCodec {
  readonly payloadType: number;
}

/**
 * `codecOf` for a session's live audio: the codec from the metadata read when the listener was
 * admitted, read again while it is not known (delayed offer: written from the ACK) or for a
 * track added since. Only audio tracks are decoded.
 */
export function liveTrackCodecs(
  repository: Pick<Repository, 'getSession'>,
  session: Session,
): (trackNumber: number) => Promise<LiveTrackCodec | undefined> {
  const tracks = new Map<number, Track>();
  for (const track of session.tracks) {
    tracks.set(track.trackNumber, track);
  }
  return async (trackNumber) => {
    let track = tracks.get(trackNumber);
    if (track === undefined || track.codec === '' || track.payloadType < 0) {
      const fresh = await repository.getSession(session.sessionId);
      track = fresh?.tracks.find((t) => t.trackNumber === trackNumber);
      if (track !== undefined) {
        tracks.set(trackNumber, track);
      }
    }
    if (
      track === undefined ||
      track.codec === '' ||
      track.payloadType < 0 ||
      track.trackMediaType !== 'AUDIO'
    ) {
      return undefined;
    }
    return { codec: track.codec, clockRateHz: track.clockRateHz, payloadType: track.payloadType };
  };
}

export interface LiveAudioOptions {
  /**
   * The codec of a track, from the session's metadata; undefined while it is not known (a delayed
   * offer before its ACK): the track's packets are then dropped and it is asked again later.
   */
  readonly codecOf: (trackNumber: number) => Promise<LiveTrackCodec | undefined>;
  readonly send: (frame: LiveAudioFrame) => void;
  readonly logger?: Logger;
  /** Injected clock for the codec retry interval. */
  readonly now?: () => number;
}

/**
 * The most batches of one track waiting to be decoded (some 2 s at the 40 ms tap tick): a decoder
 * slower than the call (G.729 through ffmpeg on a loaded machine) drops batches rather than
 * holding ever more of them and falling ever further behind.
 */
const MAX_PENDING_BATCHES = 50;
/** How often the codec of a track not known yet is looked up again. */
const CODEC_RETRY_MS = 500;
/** A timestamp jump up to this long (in seconds) is a loss, filled with silence; more, a restart. */
const MAX_GAP_S = 1;

interface ChannelState {
  readonly channel: number;
  readonly trackNumber: number;
  /** Batches of the track are decoded one after the other (decoders keep state, some are async). */
  chain: Promise<void>;
  codec: LiveTrackCodec | undefined;
  decoder: TrackDecoder | undefined;
  codecAskedAtMs: number;
  ssrc: number | undefined;
  /** RTP timestamp the next packet should carry, once one was decoded. */
  nextTimestamp: number | undefined;
  /** Batches pushed and not yet decoded. */
  pending: number;
}

/**
 * Turns one listener's live packets into frames (see the file comment). Never throws from
 * `push`; a batch it cannot decode is dropped and logged at debug.
 */
export class LiveAudioStream {
  readonly #options: LiveAudioOptions;
  readonly #now: () => number;
  readonly #channels = new Map<number, ChannelState>();
  #closed = false;
  #droppedBatches = 0;

  constructor(options: LiveAudioOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** One batch of a track (LiveFeedListener.packets). */
  push(trackNumber: number, packets: readonly LivePacket[]): void {
    if (this.#closed) {
      return;
    }
    const channel = LIVE_CHANNEL_TRACKS.indexOf(trackNumber);
    if (channel < 0 || packets.length === 0) {
      return;
    }
    let state = this.#channels.get(channel);
    if (state === undefined) {
      state = {
        channel,
        trackNumber,
        chain: Promise.resolve(),
        codec: undefined,
        decoder: undefined,
        codecAskedAtMs: -Infinity,
        ssrc: undefined,
        nextTimestamp: undefined,
        pending: 0,
      };
      this.#channels.set(channel, state);
    }
    const current = state;
    if (current.pending >= MAX_PENDING_BATCHES) {
      this.#droppedBatches++;
      return;
    }
    current.pending++;
    current.chain = current.chain
      .then(() => this.#decode(current, packets))
      .catch((error: unknown) => {
        this.#options.logger?.debug({ err: error, track: trackNumber }, 'live audio batch not decoded');
      })
      .finally(() => {
        current.pending--;
      });
  }

  /** Batches dropped because the decoder fell behind (see MAX_PENDING_BATCHES). */
  get droppedBatches(): number {
    return this.#droppedBatches;
  }

  /** Resolves once every batch pushed so far was decoded and sent. */
  async drained(): Promise<void> {
    await Promise.all([...this.#channels.values()].map((state) => state.chain));
  }

  /** Releases the decoders; later batches are ignored. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const state of this.#channels.values()) {
      const decoder = state.decoder;
      state.decoder = undefined;
      void state.chain.then(() => {
        if (decoder?.kind === 'packet') {
          decoder.close();
        }
      });
    }
  }

  async #decode(state: ChannelState, packets: readonly LivePacket[]): Promise<void> {
    if (this.#closed || !(await this.#ready(state))) {
      return;
    }
    const { codec, decoder } = state;
    if (codec === undefined || decoder === undefined) {
      return;
    }
    const payloads: Uint8Array[] = [];
    const timestamps: number[] = [];
    const arrivals: number[] = [];
    let arrivalMs: number | undefined;
    for (const packet of packets) {
      const parsed = parseRtpHeader(packet.rtp);
      // Telephone events and comfort noise carry no voice: only the track's own payload type.
      if (!parsed.ok || parsed.value.payloadType !== codec.payloadType) {
        continue;
      }
      const header = parsed.value;
      if (state.ssrc !== header.ssrc) {
        state.ssrc = header.ssrc;
        state.nextTimestamp = undefined;
      }
      if (state.nextTimestamp !== undefined) {
        const ahead = (header.timestamp - state.nextTimestamp) | 0;
        if (ahead < -MAX_GAP_S * decoder.rtpClockRateHz) {
          state.nextTimestamp = undefined; // The sender restarted its clock: follow it.
        } else if (ahead < 0) {
          continue; // Late or repeated: its place has been played.
        }
      }
      const last = timestamps.at(-1);
      if (last !== undefined && ((header.timestamp - last) | 0) <= 0) {
        continue; // Repeated or reordered within the batch.
      }
      arrivalMs ??= packet.arrivalMs;
      payloads.push(packet.rtp.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength));
      timestamps.push(header.timestamp);
      arrivals.push(packet.arrivalMs);
    }
    if (payloads.length === 0 || arrivalMs === undefined) {
      return;
    }
    const decoded =
      decoder.kind === 'byte-table'
        ? payloads.map((payload) => lookUp(decoder.table, payload))
        : await decoder.decode(payloads);
    if (this.#isClosed()) {
      return;
    }
    const ratio = decoder.sampleRateHz / decoder.rtpClockRateHz;
    const pieces: Int16Array[] = [];
    let length = 0;
    let continuous = false;
    let lastOffset = 0;
    decoded.forEach((pcm, i) => {
      const timestamp = timestamps[i] ?? 0;
      if (state.nextTimestamp !== undefined) {
        const gap = (timestamp - state.nextTimestamp) | 0;
        const filled = gap > 0 && gap <= MAX_GAP_S * decoder.rtpClockRateHz;
        if (filled) {
          const fill = new Int16Array(Math.round(gap * ratio));
          pieces.push(fill);
          length += fill.length;
        }
        if (i === 0) {
          continuous = filled || gap === 0;
        }
      }
      lastOffset = length;
      pieces.push(pcm);
      length += pcm.length;
      state.nextTimestamp = (timestamp + Math.round(pcm.length / ratio)) >>> 0;
    });
    this.#options.send({
      channel: state.channel,
      trackNumber: state.trackNumber,
      sampleRateHz: decoder.sampleRateHz,
      arrivalMs,
      pcm: concat(pieces),
      placement: { continuous, lastOffset, lastArrivalMs: arrivals.at(-1) ?? arrivalMs },
    });
  }

  /** Read through a method: TypeScript would keep the narrowing from before an await. */
  #isClosed(): boolean {
    return this.#closed;
  }

  /** Whether the track's decoder is there, creating it once its codec is known. */
  async #ready(state: ChannelState): Promise<boolean> {
    if (state.decoder !== undefined) {
      return true;
    }
    const nowMs = this.#now();
    if (nowMs - state.codecAskedAtMs < CODEC_RETRY_MS) {
      return false;
    }
    state.codecAskedAtMs = nowMs;
    const codec = await this.#options.codecOf(state.trackNumber);
    if (codec === undefined || this.#closed) {
      return false;
    }
    const decoder = await createTrackDecoder(codec, {
      ...(this.#options.logger === undefined ? {} : { logger: this.#options.logger }),
    });
    if (decoder === undefined) {
      // A codec nobody decodes (video, an unknown one): the channel stays silent.
      this.#options.logger?.debug(
        { track: state.trackNumber, codec: codec.codec },
        'live track not decodable',
      );
      return false;
    }
    if (this.#isClosed()) {
      if (decoder.kind === 'packet') {
        decoder.close();
      }
      return false;
    }
    state.codec = codec;
    state.decoder = decoder;
    return true;
  }
}

function lookUp(table: Int16Array, payload: Uint8Array): Int16Array {
  const pcm = new Int16Array(payload.length);
  for (let i = 0; i < payload.length; i++) {
    pcm[i] = table[payload[i] ?? 0] ?? 0;
  }
  return pcm;
}

function concat(pieces: readonly Int16Array[]): Int16Array {
  if (pieces.length === 1 && pieces[0] !== undefined) {
    return pieces[0];
  }
  let length = 0;
  for (const piece of pieces) {
    length += piece.length;
  }
  const out = new Int16Array(length);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
