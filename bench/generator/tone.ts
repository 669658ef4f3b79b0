/**
 * The audio every generated stream carries: one 20 ms G.711 frame of a steady sine tone, computed
 * once and repeated. The tone frequencies are multiples of 50 Hz, so a whole number of periods
 * fits in 160 samples and the repeated frame is seamless; each stream index gets its own tone, so
 * a listener (or a spectrum check) can tell the two sides of a recorded call apart.
 */
import { encodeAlaw, encodeMulaw } from '../../packages/server/src/protocol/codec/g711.js';

export const SAMPLE_RATE_HZ = 8000;
export const PACKET_INTERVAL_MS = 20;
export const SAMPLES_PER_PACKET = (SAMPLE_RATE_HZ * PACKET_INTERVAL_MS) / 1000;

/** RFC 3551 §6 static payload types of the two codecs the generator sends. */
export const PAYLOAD_TYPE = { PCMU: 0, PCMA: 8 } as const;
export type G711Codec = keyof typeof PAYLOAD_TYPE;

const TONES_HZ = [400, 600, 800, 1000] as const;
/** About -12 dBFS: loud enough to see on a waveform, far from clipping. */
const AMPLITUDE = 8000;

const cache = new Map<string, Uint8Array>();

export function toneFrequencyHz(toneIndex: number): number {
  return TONES_HZ[Math.abs(toneIndex) % TONES_HZ.length] ?? 400;
}

/** 160 bytes of G.711 (µ-law for payload type 0, A-law for 8) holding one 20 ms tone frame. */
export function toneFrame(payloadType: number, toneIndex: number): Uint8Array {
  const key = `${payloadType}/${toneIndex % TONES_HZ.length}`;
  const cached = cache.get(key);
  if (cached !== undefined) {
    return cached;
  }
  const frequencyHz = toneFrequencyHz(toneIndex);
  const samples = new Int16Array(SAMPLES_PER_PACKET);
  for (let i = 0; i < samples.length; i++) {
    samples[i] = Math.round(AMPLITUDE * Math.sin((2 * Math.PI * frequencyHz * i) / SAMPLE_RATE_HZ));
  }
  const frame = payloadType === PAYLOAD_TYPE.PCMA ? encodeAlaw(samples) : encodeMulaw(samples);
  cache.set(key, frame);
  return frame;
}
