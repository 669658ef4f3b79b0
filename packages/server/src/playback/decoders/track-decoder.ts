/**
 * The decoders the WAV export uses to turn one track's RTP payloads into 16-bit mono PCM. Two
 * shapes: G.711 is a byte → sample table applied while rendering (the hot path of the export:
 * an hour of a two-track call must export in well under a second), every other codec decodes the
 * payloads of a batch of packets, in timeline order, to PCM at its own sample rate.
 */

/** What a track says about its codec: the rtpmap encoding name, clock rate and channels. */
export interface TrackCodec {
  /** rtpmap encoding name, case-insensitive ("PCMU", "G722", "opus", "L16", …). */
  readonly codec: string;
  /** rtpmap clock rate; defaults per codec when absent (RFC 3551 §6, RFC 7587 §4.1). */
  readonly clockRateHz?: number;
  /** rtpmap channel count (L16 only); default 1. */
  readonly channels?: number;
  /** The RTP payload type, for the static L16 types 10 and 11 (44.1 kHz, RFC 3551 Table 4). */
  readonly payloadType?: number;
}

interface DecoderBase {
  /** Canonical codec name ("PCMU", "G722", "G729", "OPUS", "L16"). */
  readonly codec: string;
  /** Rate of the PCM the decoder produces. */
  readonly sampleRateHz: number;
  /**
   * Rate of the RTP timestamp clock. It differs from sampleRateHz for G.722 (8000 Hz clock, 16 kHz
   * audio, RFC 3551 §4.5.2).
   */
  readonly rtpClockRateHz: number;
}

/** G.711: one byte per sample, looked up in a 256-entry table while rendering. */
export interface ByteTableDecoder extends DecoderBase {
  readonly kind: 'byte-table';
  readonly table: Int16Array;
}

/** Every other codec: payloads in, PCM out, state carried from one call to the next. */
export interface PacketDecoder extends DecoderBase {
  readonly kind: 'packet';
  /**
   * Decodes the payloads of consecutive packets of one stream, in timeline order: one PCM array
   * per payload (empty for a payload that carries no audio or cannot be decoded). Never rejects:
   * a decoding failure yields silence of the payload's length where that is known.
   */
  decode(payloads: readonly Uint8Array[]): Promise<Int16Array[]> | Int16Array[];
  /** Payloads (or parts of payloads) that could not be decoded so far. */
  readonly undecodable: number;
  /** Releases the decoder (wasm memory, a subprocess). Idempotent. */
  close(): void;
}

export type TrackDecoder = ByteTableDecoder | PacketDecoder;
