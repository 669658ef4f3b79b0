import type { Logger } from 'pino';
import { G722_RTP_CLOCK_RATE_HZ, G722_SAMPLE_RATE_HZ } from '../../protocol/codec/g722.js';
import { isResampleRate } from '../../protocol/codec/resample.js';
import { createG711Decoder } from './g711-decoder.js';
import { createG722Decoder } from './g722-decoder.js';
import { G729_SAMPLE_RATE_HZ, createG729Decoder } from './g729-decoder.js';
import { createL16Decoder } from './l16-decoder.js';
import { OPUS_SAMPLE_RATE_HZ, createOpusDecoder } from './opus-decoder.js';
import type { TrackCodec, TrackDecoder } from './track-decoder.js';

/**
 * The decoder registry: which decoder a track's codec gets, and at what rate it produces audio.
 * Codecs without a decoder here (MP4A-LATM, H264, anything unknown) are stored and exported as a
 * silent channel; the registry never fails because of a codec.
 *
 * | codec (rtpmap name) | decoder | PCM rate |
 * |---|---|---|
 * | PCMU, PCMA | G.711 table lookup (protocol/codec/g711.ts) | 8 kHz |
 * | G722 | own TypeScript decoder (protocol/codec/g722.ts) | 16 kHz (RTP clock 8000) |
 * | L16 | protocol/codec/l16.ts, channels averaged | the clock rate |
 * | OPUS | opus-decoder (libopus in WebAssembly) | 48 kHz |
 * | G729, G729A, G729B, G729AB | the ffmpeg binary as a subprocess | 8 kHz |
 */

export type DecodableCodec = 'PCMU' | 'PCMA' | 'G722' | 'G729' | 'OPUS' | 'L16';

export interface DecoderDescription {
  readonly codec: DecodableCodec;
  readonly sampleRateHz: number;
  readonly rtpClockRateHz: number;
  /** L16 only. */
  readonly channels: number;
}

export interface CreateDecoderOptions {
  logger?: Logger;
  /** The ffmpeg binary for G.729; default `ffmpeg` from PATH. */
  ffmpegPath?: string;
}

/** rtpmap names are case-insensitive (RFC 4566 §6); "G.729a" style spellings occur in configs. */
function canonicalName(codec: string): string {
  return codec.trim().toUpperCase().replace(/[.\s]/g, '');
}

/** The static L16 payload types are 44.1 kHz (RFC 3551 §6, Table 4): 10 stereo, 11 mono. */
const L16_STATIC_RATE_HZ = 44100;

/** Which decoder a track's codec gets, or undefined for a codec exported as silence. */
export function describeDecoder(track: TrackCodec): DecoderDescription | undefined {
  switch (canonicalName(track.codec)) {
    case 'PCMU':
      return { codec: 'PCMU', sampleRateHz: 8000, rtpClockRateHz: 8000, channels: 1 };
    case 'PCMA':
      return { codec: 'PCMA', sampleRateHz: 8000, rtpClockRateHz: 8000, channels: 1 };
    case 'G722':
      return {
        codec: 'G722',
        sampleRateHz: G722_SAMPLE_RATE_HZ,
        rtpClockRateHz: G722_RTP_CLOCK_RATE_HZ,
        channels: 1,
      };
    case 'G729':
    case 'G729A':
    case 'G729B':
    case 'G729AB':
      return {
        codec: 'G729',
        sampleRateHz: G729_SAMPLE_RATE_HZ,
        rtpClockRateHz: G729_SAMPLE_RATE_HZ,
        channels: 1,
      };
    case 'OPUS':
      return {
        codec: 'OPUS',
        sampleRateHz: OPUS_SAMPLE_RATE_HZ,
        rtpClockRateHz: OPUS_SAMPLE_RATE_HZ,
        channels: 1,
      };
    case 'L16': {
      const staticType = track.payloadType === 10 || track.payloadType === 11;
      const rateHz = track.clockRateHz ?? (staticType ? L16_STATIC_RATE_HZ : 8000);
      const channels = track.channels ?? (track.payloadType === 10 ? 2 : 1);
      if (!isResampleRate(rateHz) || !Number.isInteger(channels) || channels < 1 || channels > 8) {
        return undefined;
      }
      return { codec: 'L16', sampleRateHz: rateHz, rtpClockRateHz: rateHz, channels };
    }
    default:
      return undefined;
  }
}

/**
 * A new decoder for one track (decoders keep state: one per track and export stream), or
 * undefined for a codec exported as silence. Never rejects: a decoder that cannot be created
 * (the Opus wasm module failing to load) is logged and the track is silent.
 */
export async function createTrackDecoder(
  track: TrackCodec,
  options: CreateDecoderOptions = {},
): Promise<TrackDecoder | undefined> {
  const description = describeDecoder(track);
  switch (description?.codec) {
    case undefined:
      return undefined;
    case 'PCMU':
    case 'PCMA':
      return createG711Decoder(description.codec);
    case 'G722':
      return createG722Decoder();
    case 'L16':
      return createL16Decoder(description.sampleRateHz, description.channels);
    case 'G729':
      return createG729Decoder({
        ...(options.logger === undefined ? {} : { logger: options.logger }),
        ...(options.ffmpegPath === undefined ? {} : { ffmpegPath: options.ffmpegPath }),
      });
    case 'OPUS':
      try {
        return await createOpusDecoder(options.logger);
      } catch (error) {
        options.logger?.warn({ err: error }, 'the Opus decoder failed to start; the track is silent');
        return undefined;
      }
  }
}
