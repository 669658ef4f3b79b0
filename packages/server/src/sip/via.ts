import type { SipHeader, SipRequest } from '../protocol/sip/message.js';
import type { SipTransportAddress, SipTransportPeer } from '../transport/sip-transport.js';

/** RFC 3261 §8.1.1.7: a branch starting with this cookie is unique per transaction. */
export const MAGIC_COOKIE = 'z9hG4bK';

/** The default port of a transport (RFC 3261 §19.1.2; 5061 for TLS). */
export function defaultPort(protocol: SipTransportPeer['protocol']): number {
  return protocol === 'tls' ? 5061 : 5060;
}

function normaliseHost(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * Adds `received` and fills an empty `rport` in the top Via of a request, as the server
 * transport must on receipt (RFC 3261 §18.2.1, RFC 3581 §4). The response copies this Via
 * (§8.2.6.2), and the UDP response goes to the address it names (§18.2.2).
 *
 * `topViaHost` is the sent-by host of the top Via as parsed. Parameters are rewritten on the raw
 * header text so that everything else in the Via is kept byte for byte.
 */
export function annotateTopVia(
  request: SipRequest,
  topViaHost: string,
  source: SipTransportPeer,
): SipRequest {
  const index = request.headers.findIndex((h) => h.name.toLowerCase() === 'via');
  const header = index < 0 ? undefined : request.headers[index];
  if (header === undefined) {
    return request;
  }
  const [sentBy = '', ...params] = header.value.split(';');
  let hasRport = false;
  const kept: string[] = [];
  for (const param of params) {
    const name = (param.split('=')[0] ?? '').trim().toLowerCase();
    if (name === 'received') {
      // Ours replaces any value already there: only the receiving transport knows the source.
      continue;
    }
    if (name === 'rport') {
      hasRport = true;
      // RFC 3581 §4: "the server MUST insert a "rport" parameter ... with the source port".
      kept.push(`rport=${source.port}`);
      continue;
    }
    kept.push(param.trim());
  }
  // RFC 3261 §18.2.1: "received" when sent-by is a name or an address other than the source;
  // RFC 3581 §4 asks for it whenever rport is present.
  if (hasRport || normaliseHost(topViaHost) !== normaliseHost(source.address)) {
    kept.push(`received=${source.address}`);
  }
  const value = [sentBy.trimEnd(), ...kept].join(';');
  const headers: SipHeader[] = [...request.headers];
  headers[index] = { name: header.name, value };
  return { ...request, headers };
}

/** What the response routing needs from the top Via as received (before annotation). */
export interface TopViaRouting {
  readonly port?: number;
  /** The Via carried an `rport` parameter (RFC 3581). */
  readonly rport: boolean;
}

/**
 * Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4). Reliable transports reuse the
 * connection the request came on while it is open. Otherwise the response goes to the
 * `received` address, which after annotation is always the packet source: at the source port
 * when `rport` was asked for, else at the sent-by port.
 */
export function responseDestination(
  via: TopViaRouting,
  source: SipTransportPeer,
  isConnected: (peer: SipTransportAddress) => boolean,
): SipTransportAddress {
  if (source.protocol !== 'udp' && isConnected(source)) {
    return { address: source.address, port: source.port };
  }
  if (source.protocol === 'udp' && via.rport) {
    return { address: source.address, port: source.port };
  }
  return { address: source.address, port: via.port ?? defaultPort(source.protocol) };
}
