/**
 * The few FLV structures the MP4 export needs to hand H.264 frames to ffmpeg with a timestamp each
 * (Adobe "Video File Format Specification" v10, E.2-E.4.3; ISO/IEC 14496-15 §5.2.4.1 for the
 * decoder configuration record): a video-only file header, then one tag per sequence header or
 * frame. Raw Annex-B H.264 carries no timing, FLV does (milliseconds), and ffmpeg reads it from a
 * pipe.
 */

/** `FLV`, version 1, video only, header length 9, then PreviousTagSize0 = 0. */
export function encodeFlvHeader(): Uint8Array {
  return Uint8Array.of(0x46, 0x4c, 0x56, 0x01, 0x01, 0x00, 0x00, 0x00, 0x09, 0, 0, 0, 0);
}

const TAG_VIDEO = 9;
const CODEC_AVC = 7;
const TAG_HEADER_BYTES = 11;
const VIDEO_HEADER_BYTES = 5;

/**
 * One video tag (header, AVC video data, PreviousTagSize). `sequenceHeader`: the body is an
 * AVCDecoderConfigurationRecord; otherwise the body is length-prefixed NAL units of one frame.
 * The composition time is 0: call video has no B-frames, so decode and presentation times agree.
 */
export function encodeFlvVideoTag(options: {
  timestampMs: number;
  keyframe: boolean;
  sequenceHeader: boolean;
  body: Uint8Array;
}): Uint8Array {
  const dataSize = VIDEO_HEADER_BYTES + options.body.length;
  const out = new Uint8Array(TAG_HEADER_BYTES + dataSize + 4);
  const view = new DataView(out.buffer);
  const ts = Math.max(0, Math.floor(options.timestampMs)) >>> 0;
  out[0] = TAG_VIDEO;
  out[1] = (dataSize >>> 16) & 0xff;
  out[2] = (dataSize >>> 8) & 0xff;
  out[3] = dataSize & 0xff;
  out[4] = (ts >>> 16) & 0xff;
  out[5] = (ts >>> 8) & 0xff;
  out[6] = ts & 0xff;
  // TimestampExtended: the upper 8 bits of the 32-bit timestamp. StreamID (3 bytes) stays 0.
  out[7] = (ts >>> 24) & 0xff;
  out[11] = ((options.keyframe ? 1 : 2) << 4) | CODEC_AVC;
  out[12] = options.sequenceHeader ? 0 : 1;
  // CompositionTime (3 bytes) 0.
  out.set(options.body, TAG_HEADER_BYTES + VIDEO_HEADER_BYTES);
  view.setUint32(TAG_HEADER_BYTES + dataSize, TAG_HEADER_BYTES + dataSize);
  return out;
}

/** An AVCDecoderConfigurationRecord with one SPS and one PPS, 4-byte NAL lengths. */
export function encodeAvcDecoderConfig(sps: Uint8Array, pps: Uint8Array): Uint8Array {
  const out = new Uint8Array(11 + sps.length + pps.length);
  out[0] = 1; // configurationVersion
  out[1] = sps[1] ?? 0x42; // AVCProfileIndication
  out[2] = sps[2] ?? 0; // profile_compatibility
  out[3] = sps[3] ?? 0x1e; // AVCLevelIndication
  out[4] = 0xff; // reserved 6 bits, lengthSizeMinusOne = 3
  out[5] = 0xe1; // reserved 3 bits, numOfSequenceParameterSets = 1
  out[6] = (sps.length >>> 8) & 0xff;
  out[7] = sps.length & 0xff;
  out.set(sps, 8);
  let at = 8 + sps.length;
  out[at++] = 1; // numOfPictureParameterSets
  out[at++] = (pps.length >>> 8) & 0xff;
  out[at++] = pps.length & 0xff;
  out.set(pps, at);
  return out;
}

/** NAL units as AVCC: each preceded by its 4-byte big-endian length. */
export function encodeAvccNalUnits(nals: readonly Uint8Array[]): Uint8Array {
  const size = nals.reduce((sum, nal) => sum + 4 + nal.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const nal of nals) {
    view.setUint32(at, nal.length);
    out.set(nal, at + 4);
    at += 4 + nal.length;
  }
  return out;
}
