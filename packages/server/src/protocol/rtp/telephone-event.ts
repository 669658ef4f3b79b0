import { err, ok, type Result } from '../result.js';

/**
 * The RTP payload of named telephone events, RFC 4733 §2.3
 * (https://www.rfc-editor.org/rfc/rfc4733#section-2.3):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     event     |E|R| volume    |          duration             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Every packet of one event carries the RTP timestamp of the event's start and the duration so
 * far, in units of the RTP clock; the last one has E set and is sent three times (§2.5.1.4).
 */
export interface TelephoneEvent {
  /** Event code, RFC 4733 §3.2 for DTMF (0–9, 10 `*`, 11 `#`, 12–15 A–D, 16 flash). */
  readonly event: number;
  /** E: this packet ends the event. */
  readonly end: boolean;
  /** Power level of the tone, 0 to 63 in −dBm0 (larger is quieter). */
  readonly volume: number;
  /** Duration of the event so far, in RTP timestamp units. */
  readonly duration: number;
}

export const TELEPHONE_EVENT_BYTES = 4;

export const RTP_EVENT_ERR_TOO_SHORT = 'VERBATIM_ERR_RTP_EVENT_TOO_SHORT';

/**
 * Parses the first event block of a telephone-event payload (the payload only: no RTP header).
 * RFC 4733 §2.5.1.5 allows several blocks in one packet for events too short to get a packet of
 * their own; no DTMF sender packs them, and only the first is read.
 */
export function parseTelephoneEvent(payload: Uint8Array): Result<TelephoneEvent> {
  if (payload.length < TELEPHONE_EVENT_BYTES) {
    return err(
      RTP_EVENT_ERR_TOO_SHORT,
      `telephone-event payload of ${payload.length} bytes is shorter than 4`,
      0,
    );
  }
  const flags = payload[1] ?? 0;
  return ok({
    event: payload[0] ?? 0,
    end: (flags & 0x80) !== 0,
    // The R bit (0x40) is reserved: senders set it to 0 and receivers ignore it.
    volume: flags & 0x3f,
    duration: ((payload[2] ?? 0) << 8) | (payload[3] ?? 0),
  });
}

/** Builds one event block (tests and tools; the recorder never sends). */
export function serializeTelephoneEvent(event: TelephoneEvent): Uint8Array {
  return Uint8Array.from([
    event.event & 0xff,
    (event.end ? 0x80 : 0) | (event.volume & 0x3f),
    (event.duration >>> 8) & 0xff,
    event.duration & 0xff,
  ]);
}

export type DtmfDigit =
  '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D' | 'flash';

const DTMF_DIGITS: readonly DtmfDigit[] = [
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
  '*',
  '#',
  'A',
  'B',
  'C',
  'D',
  'flash',
];

/** The DTMF key of an event code (RFC 4733 §3.2, Table 7), or undefined for any other event. */
export function dtmfDigitOf(event: number): DtmfDigit | undefined {
  return DTMF_DIGITS[event];
}
