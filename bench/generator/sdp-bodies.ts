/**
 * The SDP the generator writes as a call controller, and what it reads from the recorder's SDP.
 * The generator only sends media (a=sendonly, as CUCM and CUBE do towards a recorder), so the
 * port in its own m= lines is nominal: the recorder never sends there, pins only the source
 * address from c= and latches the source port from the first packet it receives.
 */
import { err, ok, type Result } from '../../packages/server/src/protocol/result.js';
import { parseSdp } from '../../packages/server/src/protocol/sdp/sdp.js';
import { decodeUtf8 } from '../../packages/server/src/protocol/text.js';
import type { G711Codec } from './tone.js';
import { PAYLOAD_TYPE } from './tone.js';

/** Dynamic payload type CUCM and IOS use for RFC 4733 telephone-event. */
const TELEPHONE_EVENT_PT = 101;
/** First nominal media port; phones and gateways use even ports from such a range. */
const NOMINAL_PORT_BASE = 16384;
const NOMINAL_PORT_COUNT = 8000;

export interface MediaDestination {
  /** Position of the m= line in the recorder's SDP. */
  readonly index: number;
  readonly host: string;
  readonly port: number;
}

export function nominalMediaPort(streamNumber: number): number {
  return NOMINAL_PORT_BASE + 2 * (Math.abs(streamNumber) % NOMINAL_PORT_COUNT);
}

function audioLines(codec: G711Codec, port: number): string[] {
  const pt = PAYLOAD_TYPE[codec];
  return [
    `m=audio ${port} RTP/AVP ${pt} ${TELEPHONE_EVENT_PT}`,
    `a=rtpmap:${pt} ${codec}/8000`,
    `a=rtpmap:${TELEPHONE_EVENT_PT} telephone-event/8000`,
    `a=fmtp:${TELEPHONE_EVENT_PT} 0-15`,
    'a=ptime:20',
    'a=sendonly',
  ];
}

/**
 * CUCM's answer in the ACK of a delayed-offer call (intake-samples §1.1): one m=audio with the
 * one codec the phone is locked to plus telephone-event, a=sendonly.
 */
export function cucmAckAnswer(
  localAddress: string,
  sessionId: number,
  codec: G711Codec,
  port: number,
): string {
  return [
    'v=0',
    `o=CiscoSystemsCCM-SIP ${sessionId} 1 IN IP4 ${localAddress}`,
    's=SIP Call',
    `c=IN IP4 ${localAddress}`,
    'b=TIAS:64000',
    'b=AS:64',
    't=0 0',
    ...audioLines(codec, port),
    '',
  ].join('\r\n');
}

/** CUBE dial-peer forking's early offer (intake-samples §2.1): two sendonly m=audio lines. */
export function cubeOffer(
  localAddress: string,
  sessionId: number,
  codec: G711Codec,
  ports: readonly number[],
): string {
  return [
    'v=0',
    `o=CiscoSystemsSIP-GW-UserAgent ${sessionId} 1 IN IP4 ${localAddress}`,
    's=SIP Call',
    `c=IN IP4 ${localAddress}`,
    't=0 0',
    ...ports.flatMap((port) => audioLines(codec, port)),
    '',
  ].join('\r\n');
}

/**
 * Where to send media according to the recorder's SDP: each audio line with a port, its c=
 * address (the media one, else the session one, else the recorder's SIP host). When
 * `requiredCodec` is given, every returned line must offer it.
 */
export function readMediaDestinations(
  body: Uint8Array,
  fallbackHost: string,
  requiredCodec?: G711Codec,
): Result<MediaDestination[]> {
  const parsed = parseSdp(decodeUtf8(body));
  if (!parsed.ok) {
    return parsed;
  }
  const destinations: MediaDestination[] = [];
  for (const media of parsed.value.media) {
    if (media.type !== 'audio' || media.port === 0) {
      continue;
    }
    if (
      requiredCodec !== undefined &&
      !media.codecs.some((c) => c.payloadType === PAYLOAD_TYPE[requiredCodec])
    ) {
      return err(
        'VERBATIM_ERR_BENCH_CODEC_NOT_OFFERED',
        `m= line ${media.index} does not offer ${requiredCodec}`,
      );
    }
    destinations.push({
      index: media.index,
      host: media.connectionAddress ?? fallbackHost,
      port: media.port,
    });
  }
  return ok(destinations);
}
