import { parse as parseSdpText } from 'sdp-transform';
import { codecHandling, isAuxiliaryPayload } from '../codec/codec-support.js';
import { err, ok, type Result } from '../result.js';

/**
 * The parts of an SDP body (RFC 4566) that a recorder needs, and the two bodies it writes: the
 * recvonly offer of a delayed-offer 200 OK and the recvonly answer to an early offer (RFC 3264).
 * Parsing of the grammar is delegated to sdp-transform; this module turns its loose output into
 * checked values and never throws.
 */

export type MediaDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface MediaCodec {
  readonly payloadType: number;
  /** Upper-case encoding name as in a=rtpmap ("PCMU", "TELEPHONE-EVENT"). */
  readonly encodingName: string;
  readonly clockRateHz: number;
  /** The rtpmap encoding parameters (audio channels: `opus/48000/2`, `L16/16000/2`), as written. */
  readonly channels?: number;
  readonly fmtp?: string;
}

export interface SdpMedia {
  /** Position of the m= line in the body, from 0. */
  readonly index: number;
  readonly type: string;
  readonly port: number;
  readonly protocol: string;
  /** In m= line order (the order of preference). */
  readonly codecs: readonly MediaCodec[];
  readonly direction: MediaDirection;
  /** c= of the media, else of the session; absent when neither is present. */
  readonly connectionAddress?: string;
  readonly label?: string;
  readonly ptimeMs?: number;
  /** The raw values of the line's RFC 4568 `a=crypto` attributes, in order (SDES-SRTP). */
  readonly crypto: readonly string[];
}

export interface SessionDescription {
  readonly media: readonly SdpMedia[];
}

/** RFC 3551 §6 static payload types that recorders meet. */
const STATIC_PAYLOAD_TYPES: Readonly<Record<number, { name: string; rate: number }>> = {
  0: { name: 'PCMU', rate: 8000 },
  3: { name: 'GSM', rate: 8000 },
  4: { name: 'G723', rate: 8000 },
  8: { name: 'PCMA', rate: 8000 },
  9: { name: 'G722', rate: 8000 },
  13: { name: 'CN', rate: 8000 },
  18: { name: 'G729', rate: 8000 },
  34: { name: 'H263', rate: 90000 },
};

export const MAX_SDP_BYTES = 64 * 1024;

export function parseSdp(text: string): Result<SessionDescription> {
  if (text.length > MAX_SDP_BYTES) {
    return err(
      'VERBATIM_ERR_SDP_TOO_LARGE',
      `SDP body of ${text.length} characters exceeds ${MAX_SDP_BYTES}`,
    );
  }
  if (!/^v=0\s*$/m.test(text.split(/\r?\n/, 1)[0] ?? '')) {
    return err('VERBATIM_ERR_SDP_VERSION', 'SDP must start with "v=0"', 0);
  }
  let parsed: ReturnType<typeof parseSdpText>;
  try {
    parsed = parseSdpText(text);
  } catch (cause) {
    // sdp-transform is regex based and should not throw, but a library bug must not take the call down.
    return err('VERBATIM_ERR_SDP_SYNTAX', `SDP could not be parsed: ${String(cause)}`);
  }
  const sessionAddress = textOf(parsed.connection?.ip);
  const sessionDirection = directionOf(parsed.direction);
  const media: SdpMedia[] = [];
  for (const [index, m] of parsed.media.entries()) {
    if (typeof m.port !== 'number' || !Number.isInteger(m.port) || m.port < 0 || m.port > 65535) {
      return err('VERBATIM_ERR_SDP_MEDIA_PORT', `m= line ${index} has no valid port`);
    }
    // sdp-transform turns every field that reads as a number into one (`m=fuzz 2000 1 …` gives
    // the protocol 1, `a=rtpmap:0 123/8000` the codec 123), whatever its type says; textOf
    // gives back the text as written (the library converts only when the round trip is exact).
    const type = textOf(m.type) ?? '';
    const protocol = textOf(m.protocol) ?? '';
    const payloadTypes = (textOf(m.payloads) ?? '')
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '')
      .map(Number);
    if (payloadTypes.some((pt) => !Number.isInteger(pt) || pt < 0 || pt > 127)) {
      if (protocol.includes('RTP')) {
        return err('VERBATIM_ERR_SDP_PAYLOAD_TYPE', `m= line ${index} has an invalid payload type list`);
      }
    }
    const rtpmaps = Array.isArray(m.rtp) ? m.rtp : [];
    const fmtps = Array.isArray(m.fmtp) ? m.fmtp : [];
    const codecs: MediaCodec[] = [];
    for (const pt of payloadTypes) {
      const rtpmap = rtpmaps.find((r) => r.payload === pt);
      const fmtp = textOf(fmtps.find((f) => f.payload === pt)?.config);
      const known = STATIC_PAYLOAD_TYPES[pt];
      const name = textOf(rtpmap?.codec)?.toUpperCase() ?? known?.name;
      if (name === undefined) {
        continue;
      }
      const channels = Number(rtpmap?.encoding);
      // `a=rtpmap:0 PCMU/` leaves the rate empty: the static rate (or 8000) stands in for it.
      const rate: unknown = rtpmap?.rate;
      const codec: MediaCodec = {
        payloadType: pt,
        encodingName: name,
        clockRateHz: isPositiveInteger(rate) ? rate : (known?.rate ?? 8000),
        ...(Number.isInteger(channels) && channels > 0 ? { channels } : {}),
      };
      codecs.push(fmtp === undefined ? codec : { ...codec, fmtp });
    }
    const address = textOf(m.connection?.ip) ?? sessionAddress;
    const label = textOf((m as { label?: unknown }).label);
    const crypto = (Array.isArray(m.crypto) ? m.crypto : []).map((c) =>
      [c.id, c.suite, c.config, c.sessionConfig]
        .map(textOf)
        .filter((part) => part !== undefined)
        .join(' '),
    );
    const entry: SdpMedia = {
      index,
      type,
      port: m.port,
      protocol,
      codecs,
      direction: directionOf(m.direction) ?? sessionDirection ?? 'sendrecv',
      ...(address === undefined ? {} : { connectionAddress: address }),
      ...(label === undefined ? {} : { label }),
      ...(typeof m.ptime === 'number' ? { ptimeMs: m.ptime } : {}),
      crypto,
    };
    media.push(entry);
  }
  return ok({ media });
}

/** A field of sdp-transform's output as the text it was written as; undefined when absent. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return value;
  }
  return typeof value === 'number' ? String(value) : undefined;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function directionOf(value: unknown): MediaDirection | undefined {
  return typeof value === 'string' && DIRECTIONS.has(value) ? (value as MediaDirection) : undefined;
}

/**
 * The codec to record of an m= line: the first one Verbatim decodes, in the sender's order of
 * preference; else the first media format at all (recorded raw, the session flagged undecodable).
 * A recorder cannot negotiate (the endpoints chose the codec before inviting it), so it takes what
 * it is given rather than lose the call. Undefined only when the line carries no media format
 * (telephone-event or comfort noise alone).
 */
export function chooseAudioCodec(media: SdpMedia): MediaCodec | undefined {
  const formats = media.codecs.filter((c) => !isAuxiliaryPayload(c.encodingName));
  return formats.find((c) => codecHandling(c.encodingName, c.clockRateHz) === 'decoded') ?? formats[0];
}

/** The RFC 4733 telephone-event format of a line (at the audio codec's rate, usually 8000). */
export function findTelephoneEvent(media: SdpMedia): MediaCodec | undefined {
  return media.codecs.find((c) => c.encodingName === 'TELEPHONE-EVENT');
}

/** True when a c= address of 0.0.0.0 (RFC 3264 §8.4 hold, old style) leaves no media source. */
export function isHoldAddress(address: string | undefined): boolean {
  return address === '0.0.0.0' || address === '::';
}

export interface SdpOrigin {
  readonly sessionId: string;
  readonly sessionVersion: number;
  readonly address: string;
}

function header(origin: SdpOrigin): string[] {
  const ipVersion = origin.address.includes(':') ? 'IP6' : 'IP4';
  return [
    'v=0',
    `o=Verbatim ${origin.sessionId} ${origin.sessionVersion} IN ${ipVersion} ${origin.address}`,
    's=Verbatim recording',
    `c=IN ${ipVersion} ${origin.address}`,
    't=0 0',
  ];
}

/**
 * Verbatim's offer in a delayed-offer 200 OK (DESIGN.md §1.2): one recvonly audio stream with
 * the codecs a Cisco phone may be locked to (G.711, G.722, G.729), plus telephone-event. CUCM answers in the ACK with the one codec the
 * phone is locked to.
 */
export function buildRecorderOffer(origin: SdpOrigin, port: number): string {
  const lines = [
    ...header(origin),
    `m=audio ${port} RTP/AVP 0 8 9 18 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:18 G729/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    'a=ptime:20',
    'a=recvonly',
  ];
  return lines.join('\r\n') + '\r\n';
}

/** RTP profiles Verbatim receives: plain RTP and SDES-keyed SRTP (RFC 3551, RFC 4585, RFC 3711). */
const RTP_PROFILES = new Set(['RTP/AVP', 'RTP/AVPF', 'RTP/SAVP', 'RTP/SAVPF']);

export function isRtpProfile(protocol: string): boolean {
  return RTP_PROFILES.has(protocol.toUpperCase());
}

/** True for the SRTP profiles, whose lines need an `a=crypto` key (RFC 4568). */
export function isSecureProfile(protocol: string): boolean {
  return /^RTP\/SAVPF?$/i.test(protocol);
}

/**
 * The answer to an early offer (RFC 3264 §6): each m= line in order; a line given a port (audio,
 * or video that is recorded) is accepted recvonly on it with the offered payload type kept (the
 * endpoints already chose the codec), other lines are refused with port 0. `crypto` holds our `a=crypto` value for
 * each SRTP line (by m= line index); an SRTP line without one is refused.
 */
export function buildRecorderAnswer(
  origin: SdpOrigin,
  offer: SessionDescription,
  ports: ReadonlyMap<number, number>,
  crypto: ReadonlyMap<number, string> = new Map(),
): string {
  const lines = header(origin);
  for (const media of offer.media) {
    const port = ports.get(media.index);
    const codec = chooseAudioCodec(media);
    const cryptoValue = crypto.get(media.index);
    const secure = isSecureProfile(media.protocol);
    if (
      port === undefined ||
      codec === undefined ||
      (media.type !== 'audio' && media.type !== 'video') ||
      !isRtpProfile(media.protocol) ||
      (secure && cryptoValue === undefined)
    ) {
      const firstPayload = media.codecs[0]?.payloadType ?? 0;
      lines.push(`m=${media.type} 0 ${media.protocol} ${firstPayload}`);
      continue;
    }
    const events = media.type === 'audio' ? findTelephoneEvent(media) : undefined;
    const payloads =
      events === undefined ? `${codec.payloadType}` : `${codec.payloadType} ${events.payloadType}`;
    lines.push(`m=${media.type} ${port} ${secure ? media.protocol : 'RTP/AVP'} ${payloads}`);
    // The format is echoed as offered (RFC 3264 §6.1): its name, rate, channels and fmtp, which
    // Opus, G.729 Annex B and L16 senders rely on.
    const channels = codec.channels === undefined ? '' : `/${codec.channels}`;
    lines.push(`a=rtpmap:${codec.payloadType} ${codec.encodingName}/${codec.clockRateHz}${channels}`);
    if (codec.fmtp !== undefined) {
      lines.push(`a=fmtp:${codec.payloadType} ${codec.fmtp}`);
    }
    if (events !== undefined) {
      lines.push(`a=rtpmap:${events.payloadType} telephone-event/${events.clockRateHz}`);
      lines.push(`a=fmtp:${events.payloadType} ${events.fmtp ?? '0-15'}`);
    }
    if (media.ptimeMs !== undefined) {
      lines.push(`a=ptime:${media.ptimeMs}`);
    }
    if (media.label !== undefined) {
      lines.push(`a=label:${media.label}`);
    }
    if (secure && cryptoValue !== undefined) {
      lines.push(`a=crypto:${cryptoValue}`);
    }
    lines.push('a=recvonly');
  }
  return lines.join('\r\n') + '\r\n';
}
