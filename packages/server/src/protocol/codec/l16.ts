/**
 * L16: uncompressed 16-bit signed linear audio in network byte order (big-endian), channels
 * interleaved sample by sample (RFC 3551 §4.5.11, §4.1). The RTP clock rate is the sampling rate
 * and one timestamp unit is one sample frame whatever the channel count.
 */

/**
 * Decodes an L16 payload of `channels` interleaved channels to mono 16-bit samples: the channels
 * of a frame are averaged, since a recording channel is mono. Trailing bytes that do not make a
 * whole frame (a damaged payload) are ignored.
 */
export function decodeL16(payload: Uint8Array, channels = 1): Int16Array {
  const channelCount = Number.isInteger(channels) && channels >= 1 ? channels : 1;
  const frameBytes = 2 * channelCount;
  const frames = Math.floor(payload.length / frameBytes);
  const out = new Int16Array(frames);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (channelCount === 1) {
    for (let i = 0; i < frames; i++) {
      out[i] = view.getInt16(2 * i, false);
    }
    return out;
  }
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channelCount; c++) {
      sum += view.getInt16(i * frameBytes + 2 * c, false);
    }
    // The mean of int16 values is within the int16 range; rounding keeps silence at 0.
    out[i] = Math.round(sum / channelCount);
  }
  return out;
}

/** Encodes mono 16-bit samples as an L16 payload (used by tests and fixtures). */
export function encodeL16(samples: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    view.setInt16(2 * i, samples[i] ?? 0, false);
  }
  return out;
}
