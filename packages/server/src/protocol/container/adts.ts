import { err, ok, type Result } from '../result.js';

/**
 * ADTS (ISO/IEC 13818-7 §6.2, ISO/IEC 14496-3 §1.A.2): AAC frames each behind a 7- or 9-byte
 * header whose 13-bit `aac_frame_length` counts the whole frame. The MP4 export splits the output
 * of its parallel AAC encoders into frames to join them (playback/mp4-export.ts).
 */

export const ADTS_ERR_SYNC = 'VERBATIM_ERR_ADTS_SYNC';
export const ADTS_ERR_LENGTH = 'VERBATIM_ERR_ADTS_LENGTH';

const ADTS_MIN_HEADER_BYTES = 7;

/** The frames of an ADTS stream, as views into `bytes`. */
export function splitAdtsFrames(bytes: Uint8Array): Result<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + ADTS_MIN_HEADER_BYTES > bytes.length) {
      return err(ADTS_ERR_LENGTH, `${bytes.length - at} bytes after the last frame are no header`, at);
    }
    if (bytes[at] !== 0xff || ((bytes[at + 1] ?? 0) & 0xf6) !== 0xf0) {
      return err(ADTS_ERR_SYNC, 'no ADTS syncword where a frame should start', at);
    }
    const length =
      (((bytes[at + 3] ?? 0) & 0x03) << 11) | ((bytes[at + 4] ?? 0) << 3) | ((bytes[at + 5] ?? 0) >>> 5);
    if (length < ADTS_MIN_HEADER_BYTES || at + length > bytes.length) {
      return err(ADTS_ERR_LENGTH, `an ADTS frame of ${length} bytes does not fit`, at);
    }
    frames.push(bytes.subarray(at, at + length));
    at += length;
  }
  return ok(frames);
}
