/**
 * H.264 over RTP (RFC 6184), receiving side: the NAL units of a stream's payloads in the
 * non-interleaved mode (§6.3), which is what call video uses (packetization-mode 0 or 1):
 *
 * - a single NAL unit packet (NAL type 1–23, §5.6) is one NAL unit;
 * - STAP-A (type 24, §5.7.1): a one-byte header, then NAL units each preceded by a 16-bit size;
 * - FU-A (type 28, §5.8): a fragment of one NAL unit: FU indicator (F, NRI, type 28), FU header
 *   (S start, E end, R, original type), then the fragment; the NAL header is rebuilt from the
 *   indicator's F/NRI and the FU header's type.
 *
 * Interleaved types (STAP-B 25, MTAP 26-27, FU-B 29) are not used in non-interleaved mode and are
 * skipped, as are reserved types (0, 30, 31). Payloads are hostile: every size is checked against
 * the packet, and a malformed packet yields a count, never an exception. A fragmented NAL unit
 * whose fragments are not consecutive in sequence number (a fragment lost) is dropped whole: the
 * decoder conceals a missing slice better than a truncated one.
 */

export const H264_NAL_STAP_A = 24;
export const H264_NAL_FU_A = 28;
export const H264_NAL_IDR = 5;
export const H264_NAL_SPS = 7;
export const H264_NAL_PPS = 8;
export const H264_NAL_AUD = 9;

/** The type of a NAL unit (the low five bits of its first byte). */
export function nalType(nal: Uint8Array): number {
  return (nal[0] ?? 0) & 0x1f;
}

export interface H264DepacketizerStats {
  /** Packets that could not be read (a size past the end, an empty payload, F bit set). */
  readonly malformed: number;
  /** Packets of a type the non-interleaved mode does not use. */
  readonly unsupported: number;
  /** Fragmented NAL units dropped because a fragment was missing. */
  readonly incompleteFragments: number;
}

/** Turns one RTP stream's H.264 payloads, in sequence order, into NAL units. */
export class H264Depacketizer {
  #fragments: Uint8Array[] = [];
  #fragmentHeader = 0;
  #lastSequence = -1;
  #malformed = 0;
  #unsupported = 0;
  #incomplete = 0;

  get stats(): H264DepacketizerStats {
    return {
      malformed: this.#malformed,
      unsupported: this.#unsupported,
      incompleteFragments: this.#incomplete,
    };
  }

  /** The NAL units this payload completes (views into `payload`, or a new buffer for FU-A). */
  push(payload: Uint8Array, sequenceNumber: number): Uint8Array[] {
    const consecutive = this.#lastSequence < 0 || ((this.#lastSequence + 1) & 0xffff) === sequenceNumber;
    this.#lastSequence = sequenceNumber & 0xffff;
    const first = payload[0];
    if (first === undefined || (first & 0x80) !== 0) {
      // Empty, or the forbidden_zero_bit set (§5.3: a syntax violation).
      this.#malformed++;
      this.#dropFragments();
      return [];
    }
    const type = first & 0x1f;
    if (type !== H264_NAL_FU_A && this.#fragments.length > 0) {
      // A fragmented unit never got its end fragment.
      this.#dropFragments();
    }
    if (type >= 1 && type <= 23) {
      return [payload];
    }
    if (type === H264_NAL_STAP_A) {
      return this.#stapA(payload);
    }
    if (type === H264_NAL_FU_A) {
      return this.#fuA(payload, consecutive);
    }
    this.#unsupported++;
    return [];
  }

  #stapA(payload: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let offset = 1;
    while (offset < payload.length) {
      if (offset + 2 > payload.length) {
        this.#malformed++;
        return out;
      }
      const size = ((payload[offset] ?? 0) << 8) | (payload[offset + 1] ?? 0);
      offset += 2;
      if (size === 0 || offset + size > payload.length) {
        this.#malformed++;
        return out;
      }
      out.push(payload.subarray(offset, offset + size));
      offset += size;
    }
    return out;
  }

  #fuA(payload: Uint8Array, consecutive: boolean): Uint8Array[] {
    if (payload.length < 3) {
      this.#malformed++;
      this.#dropFragments();
      return [];
    }
    const indicator = payload[0] ?? 0;
    const header = payload[1] ?? 0;
    const start = (header & 0x80) !== 0;
    const end = (header & 0x40) !== 0;
    const data = payload.subarray(2);
    if (start) {
      if (this.#fragments.length > 0) {
        this.#dropFragments();
      }
      this.#fragmentHeader = (indicator & 0xe0) | (header & 0x1f);
      this.#fragments = [data];
    } else if (this.#fragments.length === 0) {
      // A middle or end fragment without its start (lost, or the recording began mid-unit).
      return [];
    } else if (!consecutive) {
      this.#dropFragments();
      return [];
    } else {
      this.#fragments.push(data);
    }
    if (!end) {
      return [];
    }
    const size = this.#fragments.reduce((sum, part) => sum + part.length, 1);
    const nal = new Uint8Array(size);
    nal[0] = this.#fragmentHeader;
    let at = 1;
    for (const part of this.#fragments) {
      nal.set(part, at);
      at += part.length;
    }
    this.#fragments = [];
    return [nal];
  }

  #dropFragments(): void {
    if (this.#fragments.length > 0) {
      this.#incomplete++;
      this.#fragments = [];
    }
  }
}
