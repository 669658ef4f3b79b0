import type { Logger } from 'pino';
import { OpusDecoder } from 'opus-decoder';
import type { PacketDecoder } from './track-decoder.js';

/**
 * Opus (RFC 6716, RTP payload format RFC 7587) through the `opus-decoder` package: libopus
 * compiled to WebAssembly (MIT licence, no native build, no subprocess). Output is 48 kHz mono:
 * the RTP clock of Opus is always 48000 (RFC 7587 §4.1) and libopus downmixes a stereo stream
 * when the decoder is created with one channel.
 */

export const OPUS_SAMPLE_RATE_HZ = 48000;
/** Largest packet the wasm decoder's input buffer holds for one channel (120 ms at 256 kbit/s). */
const MAX_PACKET_BYTES = 3840;
const SAMPLES_PER_MS = OPUS_SAMPLE_RATE_HZ / 1000;
/** Frame duration of each TOC configuration, in 48 kHz samples (RFC 6716 §3.1, Table 2). */
const FRAME_SAMPLES = Int32Array.from({ length: 32 }, (_, config) => {
  if (config < 12) {
    return ([10, 20, 40, 60][config % 4] as number) * SAMPLES_PER_MS;
  }
  if (config < 16) {
    return ([10, 20][config % 2] as number) * SAMPLES_PER_MS;
  }
  return ([2.5, 5, 10, 20][config % 4] as number) * SAMPLES_PER_MS;
});

/**
 * The duration of an Opus packet in 48 kHz samples from its TOC byte, or undefined when the
 * packet breaks the framing rules of RFC 6716 §3.4 that can be checked without decoding (R1,
 * R3, R5, and the frame-count byte of code 3). libopus checks the rest.
 */
export function opusPacketSamples(packet: Uint8Array): number | undefined {
  const toc = packet[0];
  if (toc === undefined) {
    return undefined;
  }
  const frameSamples = FRAME_SAMPLES[toc >> 3] as number;
  switch (toc & 0x03) {
    case 0:
      return frameSamples;
    case 1:
      // Two frames of equal size: the rest of the packet must split in two (R3).
      return (packet.length - 1) % 2 === 0 ? 2 * frameSamples : undefined;
    case 2:
      return packet.length >= 2 ? 2 * frameSamples : undefined;
    default: {
      const countByte = packet[1];
      if (countByte === undefined) {
        return undefined;
      }
      const frames = countByte & 0x3f;
      const samples = frames * frameSamples;
      // At least one frame and at most 120 ms per packet (R5).
      return frames === 0 || samples > 120 * SAMPLES_PER_MS ? undefined : samples;
    }
  }
}

/** Creates an Opus decoder; resolves when its WebAssembly module is instantiated. */
export async function createOpusDecoder(logger?: Logger): Promise<PacketDecoder> {
  const decoder = new OpusDecoder({ sampleRate: OPUS_SAMPLE_RATE_HZ, channels: 1 });
  await decoder.ready;
  let closed = false;
  let undecodable = 0;
  const decodeOne = (payload: Uint8Array): Int16Array => {
    const expected = opusPacketSamples(payload);
    if (expected === undefined || payload.length > MAX_PACKET_BYTES) {
      undecodable++;
      return new Int16Array(0);
    }
    let decoded: Float32Array | undefined;
    try {
      const result = decoder.decodeFrame(payload);
      decoded = result.errors.length === 0 ? result.channelData[0] : undefined;
    } catch (error) {
      // The wasm glue throws on inputs it cannot take; the packet is lost, the stream goes on.
      logger?.debug({ err: error }, 'opus packet rejected by the decoder');
      decoded = undefined;
    }
    if (decoded === undefined || decoded.length === 0) {
      // A corrupt packet still covers its TOC duration of the timeline: silence, counted.
      undecodable++;
      return new Int16Array(expected);
    }
    const pcm = new Int16Array(decoded.length);
    for (let i = 0; i < decoded.length; i++) {
      const value = Math.round((decoded[i] as number) * 32768);
      pcm[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
    }
    return pcm;
  };
  return {
    kind: 'packet',
    codec: 'OPUS',
    sampleRateHz: OPUS_SAMPLE_RATE_HZ,
    rtpClockRateHz: OPUS_SAMPLE_RATE_HZ,
    get undecodable() {
      return undecodable;
    },
    decode: (payloads) => payloads.map((payload) => (closed ? new Int16Array(0) : decodeOne(payload))),
    close: () => {
      if (!closed) {
        closed = true;
        decoder.free();
      }
    },
  };
}
