/**
 * The RTCP packets the RTSP server sends (RFC 3550 §6): a sender report with the source's CNAME,
 * and BYE when a stream ends. The sender report pairs an NTP wall-clock time with the RTP
 * timestamp of the same instant, which is what lets a client line the tracks of a session up.
 *
 *    SR:   |V=2|P|RC=0|  PT=200  |  length = 6   |  SSRC  | NTP msw | NTP lsw | RTP ts |
 *          | sender's packet count | sender's octet count |
 *    SDES: |V=2|P|SC=1|  PT=202  |  length  |  SSRC  | CNAME=1 | len | text … | 0 … pad to 32 bits |
 *    BYE:  |V=2|P|SC=1|  PT=203  |  length = 1   |  SSRC  |
 */
import { encodeUtf8 } from '../text.js';

export interface SenderReportFields {
  readonly ssrc: number;
  /** The wall-clock time of the report, epoch milliseconds. */
  readonly wallClockMs: number;
  /** The RTP timestamp of the same instant, on the stream's clock. */
  readonly rtpTimestamp: number;
  readonly packetCount: number;
  readonly octetCount: number;
  /** The canonical name of the source (the same for every track of a session, RFC 3550 §6.5.1). */
  readonly cname: string;
}

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2208988800;
const MAX_CNAME_BYTES = 255;

function u32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = (value >>> 24) & 0xff;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

function senderReport(fields: SenderReportFields): Uint8Array {
  const out = new Uint8Array(28);
  out[0] = 0x80;
  out[1] = 200;
  out[3] = 6;
  u32(out, 4, fields.ssrc >>> 0);
  const seconds = Math.floor(fields.wallClockMs / 1000);
  const fraction = Math.floor(((fields.wallClockMs - seconds * 1000) / 1000) * 0x100000000);
  u32(out, 8, (seconds + NTP_UNIX_OFFSET_S) >>> 0);
  u32(out, 12, Math.min(fraction, 0xffffffff) >>> 0);
  u32(out, 16, fields.rtpTimestamp >>> 0);
  u32(out, 20, fields.packetCount >>> 0);
  u32(out, 24, fields.octetCount >>> 0);
  return out;
}

function sdes(ssrc: number, cname: string): Uint8Array {
  const text = encodeUtf8(cname).subarray(0, MAX_CNAME_BYTES);
  // Header and SSRC (8), CNAME item (2 + text), at least one null octet ending the item list.
  const length = Math.ceil((8 + 2 + text.length + 1) / 4) * 4;
  const out = new Uint8Array(length);
  out[0] = 0x81;
  out[1] = 202;
  out[2] = ((length / 4 - 1) >>> 8) & 0xff;
  out[3] = (length / 4 - 1) & 0xff;
  u32(out, 4, ssrc >>> 0);
  out[8] = 1;
  out[9] = text.length;
  out.set(text, 10);
  return out;
}

function bye(ssrc: number): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = 0x81;
  out[1] = 203;
  out[3] = 1;
  u32(out, 4, ssrc >>> 0);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A compound RTCP packet: SR then SDES CNAME (RFC 3550 §6.1 makes both mandatory). */
export function rtcpSenderReport(fields: SenderReportFields): Uint8Array {
  return concat([senderReport(fields), sdes(fields.ssrc, fields.cname)]);
}

/** SR, SDES and BYE: the stream ends (a client ends its playback when every stream said BYE). */
export function rtcpSenderReportAndBye(fields: SenderReportFields): Uint8Array {
  return concat([senderReport(fields), sdes(fields.ssrc, fields.cname), bye(fields.ssrc)]);
}
