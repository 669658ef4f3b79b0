import { parse as parseSdpText } from 'sdp-transform';
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

const MAX_SDP_BYTES = 64 * 1024;

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
  const sessionAddress = parsed.connection?.ip;
  const sessionDirection = directionOf(parsed.direction);
  const media: SdpMedia[] = [];
  for (const [index, m] of parsed.media.entries()) {
    if (typeof m.port !== 'number' || !Number.isInteger(m.port) || m.port < 0 || m.port > 65535) {
      return err('VERBATIM_ERR_SDP_MEDIA_PORT', `m= line ${index} has no valid port`);
    }
    // sdp-transform types `payloads` as a string but yields a number for a one-entry list.
    const rawPayloads: unknown = m.payloads;
    const payloadList =
      typeof rawPayloads === 'number'
        ? String(rawPayloads)
        : typeof rawPayloads === 'string'
          ? rawPayloads
          : '';
    const payloadTypes = payloadList
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '')
      .map(Number);
    if (payloadTypes.some((pt) => !Number.isInteger(pt) || pt < 0 || pt > 127)) {
      if (m.protocol.includes('RTP')) {
        return err('VERBATIM_ERR_SDP_PAYLOAD_TYPE', `m= line ${index} has an invalid payload type list`);
      }
    }
    const codecs: MediaCodec[] = [];
    for (const pt of payloadTypes) {
      const rtpmap = m.rtp.find((r) => r.payload === pt);
      const fmtp = m.fmtp.find((f) => f.payload === pt)?.config;
      const known = STATIC_PAYLOAD_TYPES[pt];
      const name = rtpmap?.codec.toUpperCase() ?? known?.name;
      if (name === undefined) {
        continue;
      }
      const codec: MediaCodec = {
        payloadType: pt,
        encodingName: name,
        clockRateHz: rtpmap?.rate ?? known?.rate ?? 8000,
      };
      codecs.push(fmtp === undefined ? codec : { ...codec, fmtp });
    }
    const address = m.connection?.ip ?? sessionAddress;
    const label = (m as { label?: string | number }).label;
    const entry: SdpMedia = {
      index,
      type: m.type,
      port: m.port,
      protocol: m.protocol,
      codecs,
      direction: directionOf(m.direction) ?? sessionDirection ?? 'sendrecv',
      ...(address === undefined ? {} : { connectionAddress: address }),
      ...(label === undefined ? {} : { label: String(label) }),
      ...(typeof m.ptime === 'number' ? { ptimeMs: m.ptime } : {}),
    };
    media.push(entry);
  }
  return ok({ media });
}

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

function directionOf(value: string | undefined): MediaDirection | undefined {
  return value !== undefined && DIRECTIONS.has(value) ? (value as MediaDirection) : undefined;
}

/** Codecs Verbatim decodes today (the WAV export); others are future work of the codec issue. */
const RECORDABLE_AUDIO = new Set(['PCMU', 'PCMA']);

export function isRecordableAudioCodec(codec: MediaCodec): boolean {
  return RECORDABLE_AUDIO.has(codec.encodingName) && codec.clockRateHz === 8000;
}

/** The first recordable codec of an m= line, in the sender's order of preference. */
export function chooseAudioCodec(media: SdpMedia): MediaCodec | undefined {
  return media.codecs.find(isRecordableAudioCodec);
}

export function findTelephoneEvent(media: SdpMedia): MediaCodec | undefined {
  return media.codecs.find((c) => c.encodingName === 'TELEPHONE-EVENT' && c.clockRateHz === 8000);
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
 * every codec it records, plus telephone-event. CUCM answers in the ACK with the one codec the
 * phone is locked to.
 */
export function buildRecorderOffer(origin: SdpOrigin, port: number): string {
  const lines = [
    ...header(origin),
    `m=audio ${port} RTP/AVP 0 8 101`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=fmtp:101 0-15',
    'a=ptime:20',
    'a=recvonly',
  ];
  return lines.join('\r\n') + '\r\n';
}

/**
 * The answer to an early offer (RFC 3264 §6): each m= line in order; a recordable audio line is
 * accepted recvonly on its given port with the offered payload type kept (the endpoints already
 * chose the codec), other lines are refused with port 0.
 */
export function buildRecorderAnswer(
  origin: SdpOrigin,
  offer: SessionDescription,
  ports: ReadonlyMap<number, number>,
): string {
  const lines = header(origin);
  for (const media of offer.media) {
    const port = ports.get(media.index);
    const codec = chooseAudioCodec(media);
    if (port === undefined || codec === undefined || media.type !== 'audio') {
      const firstPayload = media.codecs[0]?.payloadType ?? 0;
      lines.push(`m=${media.type} 0 ${media.protocol} ${firstPayload}`);
      continue;
    }
    const events = findTelephoneEvent(media);
    const payloads =
      events === undefined ? `${codec.payloadType}` : `${codec.payloadType} ${events.payloadType}`;
    lines.push(`m=audio ${port} RTP/AVP ${payloads}`);
    lines.push(`a=rtpmap:${codec.payloadType} ${codec.encodingName}/${codec.clockRateHz}`);
    if (events !== undefined) {
      lines.push(`a=rtpmap:${events.payloadType} telephone-event/8000`);
      lines.push(`a=fmtp:${events.payloadType} ${events.fmtp ?? '0-15'}`);
    }
    if (media.ptimeMs !== undefined) {
      lines.push(`a=ptime:${media.ptimeMs}`);
    }
    if (media.label !== undefined) {
      lines.push(`a=label:${media.label}`);
    }
    lines.push('a=recvonly');
  }
  return lines.join('\r\n') + '\r\n';
}
