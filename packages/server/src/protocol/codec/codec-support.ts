/**
 * What Verbatim does with each RTP payload format it may be offered (DESIGN.md §1.2). Every
 * format is recorded: the packets are stored as they arrive whatever they carry. `decoded` formats
 * are also turned into audio by the exports; anything else is `stored` raw, and a session with such
 * a track is flagged `undecodable` so that nobody believes it is playable when it is not
 * (MediaSense silently dropped such calls). The names are the upper-case rtpmap encoding names,
 * which is also how the API names a track's codec.
 */

export type CodecHandling = 'decoded' | 'stored';

/** RTP payload formats that are not media of their own and never become a track's codec. */
const AUXILIARY = new Set(['TELEPHONE-EVENT', 'CN', 'RED', 'ULPFEC', 'FLEXFEC', 'RTX']);

/**
 * Formats the exports decode, with the RTP clock rates they decode at (undefined: any rate).
 * G.722 is signalled at 8000 although it carries 16 kHz audio (RFC 3551 §4.5.2); Opus is always
 * 48000 (RFC 7587 §7); L16 may come at any rate (RFC 3551 §4.5.11).
 */
const DECODED: ReadonlyMap<string, readonly number[] | undefined> = new Map([
  ['PCMU', [8000]],
  ['PCMA', [8000]],
  ['G722', [8000]],
  ['G729', [8000]],
  ['G729A', [8000]],
  ['OPUS', [48000]],
  ['L16', undefined],
]);

export function isAuxiliaryPayload(encodingName: string): boolean {
  return AUXILIARY.has(encodingName.toUpperCase());
}

export function codecHandling(encodingName: string, clockRateHz: number): CodecHandling {
  const rates = DECODED.get(encodingName.toUpperCase());
  if (!DECODED.has(encodingName.toUpperCase())) {
    return 'stored';
  }
  return rates === undefined || rates.includes(clockRateHz) ? 'decoded' : 'stored';
}

/** True for a track codec the exports cannot turn into audio ("" = not known yet is not flagged). */
export function isUndecodableCodec(encodingName: string, clockRateHz: number): boolean {
  return encodingName !== '' && codecHandling(encodingName, clockRateHz) === 'stored';
}
