import { err, ok, type Result } from '../result.js';

/**
 * The canonical 44-byte RIFF/WAVE header for linear PCM (Microsoft "Multimedia Programming
 * Interface and Data Specifications 1.0", 1991, and the WAVE PCM format tag 1):
 *
 *    offset  size  field
 *         0     4  "RIFF"
 *         4     4  RIFF chunk size = 36 + data bytes (little-endian, as every field)
 *         8     4  "WAVE"
 *        12     4  "fmt "
 *        16     4  fmt chunk size = 16
 *        20     2  format tag = 1 (PCM)
 *        22     2  channels
 *        24     4  sample rate (Hz)
 *        28     4  byte rate = sample rate × block align
 *        32     2  block align = channels × bits per sample / 8
 *        34     2  bits per sample
 *        36     4  "data"
 *        40     4  data bytes
 *        44        samples, interleaved by channel
 */
export const WAV_HEADER_BYTES = 44;

/**
 * Pass as `dataBytes` when the length is not known in advance (a live stream). Both size fields
 * are then written as 0xFFFFFFFF, which ffmpeg, sox and browsers read as "the data runs to the
 * end of the file". A known length larger than a RIFF file can describe is written the same way.
 */
export const WAV_UNKNOWN_DATA_BYTES = 0xffffffff;

export interface WavFormat {
  sampleRateHz: number;
  channels: number;
  bitsPerSample: number;
  /** Bytes of sample data after the header; see WAV_UNKNOWN_DATA_BYTES. */
  dataBytes: number;
}

export const WAV_ERR_TOO_SHORT = 'VERBATIM_ERR_WAV_TOO_SHORT';
export const WAV_ERR_NOT_RIFF = 'VERBATIM_ERR_WAV_NOT_RIFF';
export const WAV_ERR_BAD_FMT = 'VERBATIM_ERR_WAV_BAD_FMT';
export const WAV_ERR_NO_DATA = 'VERBATIM_ERR_WAV_NO_DATA';

function writeAscii(view: DataView, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) {
    view.setUint8(offset + i, text.charCodeAt(i));
  }
}

function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

/** Encodes the 44-byte PCM header. Throws a RangeError on a format a WAV file cannot carry. */
export function encodeWavHeader(format: WavFormat): Uint8Array {
  const { sampleRateHz, channels, bitsPerSample, dataBytes } = format;
  if (
    !isUint(sampleRateHz, 0xffffffff) ||
    sampleRateHz === 0 ||
    !isUint(channels, 0xffff) ||
    channels === 0 ||
    !isUint(bitsPerSample, 0xffff) ||
    bitsPerSample === 0 ||
    bitsPerSample % 8 !== 0 ||
    !isUint(dataBytes, Number.MAX_SAFE_INTEGER)
  ) {
    throw new RangeError('invalid WAV format');
  }
  const blockAlign = (channels * bitsPerSample) / 8;
  const dataField = Math.min(dataBytes, WAV_UNKNOWN_DATA_BYTES);
  const riffField = dataField > WAV_UNKNOWN_DATA_BYTES - 36 ? WAV_UNKNOWN_DATA_BYTES : 36 + dataField;
  const out = new Uint8Array(WAV_HEADER_BYTES);
  const view = new DataView(out.buffer);
  writeAscii(view, 0, 'RIFF');
  view.setUint32(4, riffField, true);
  writeAscii(view, 8, 'WAVE');
  writeAscii(view, 12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRateHz, true);
  view.setUint32(28, (sampleRateHz * blockAlign) >>> 0, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, bitsPerSample, true);
  writeAscii(view, 36, 'data');
  view.setUint32(40, dataField, true);
  return out;
}

/** What parseWavHeader finds: the format and where the samples are. */
export interface WavInfo extends WavFormat {
  /** 1 = PCM, 3 = IEEE float, 6 = A-law, 7 = µ-law (WAVE_FORMAT_EXTENSIBLE is resolved). */
  formatTag: number;
  blockAlign: number;
  /** Offset of the first sample byte. */
  dataOffset: number;
}

function readAscii(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(
    bytes[offset] ?? 0,
    bytes[offset + 1] ?? 0,
    bytes[offset + 2] ?? 0,
    bytes[offset + 3] ?? 0,
  );
}

/**
 * Reads a WAV header by walking the RIFF chunks (so files from other tools, with LIST or fact
 * chunks before the data, are read too) up to the start of the "data" chunk. `bytes` needs only
 * hold the file up to there. The data size is reported as declared.
 */
export function parseWavHeader(bytes: Uint8Array): Result<WavInfo> {
  if (bytes.length < 12) {
    return err(WAV_ERR_TOO_SHORT, 'shorter than a RIFF header', 0);
  }
  if (readAscii(bytes, 0) !== 'RIFF' || readAscii(bytes, 8) !== 'WAVE') {
    return err(WAV_ERR_NOT_RIFF, 'not a RIFF/WAVE file', 0);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes'> | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = readAscii(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'data') {
      if (fmt === undefined) {
        return err(WAV_ERR_BAD_FMT, 'data chunk before any fmt chunk', offset);
      }
      return ok({ ...fmt, dataOffset: body, dataBytes: size });
    }
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) {
        return err(WAV_ERR_BAD_FMT, `fmt chunk of ${size} bytes is too short`, offset);
      }
      let formatTag = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in the first two bytes of its sub-format GUID.
      if (formatTag === 0xfffe && size >= 40 && body + 26 <= bytes.length) {
        formatTag = view.getUint16(body + 24, true);
      }
      fmt = {
        formatTag,
        channels: view.getUint16(body + 2, true),
        sampleRateHz: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bitsPerSample: view.getUint16(body + 14, true),
      };
      if (fmt.channels === 0 || fmt.sampleRateHz === 0 || fmt.blockAlign === 0) {
        return err(WAV_ERR_BAD_FMT, 'fmt chunk has zero channels, rate or block size', body);
      }
    }
    // RIFF chunks are padded to an even size.
    offset = body + size + (size & 1);
  }
  return err(WAV_ERR_NO_DATA, 'no data chunk found', offset);
}
