/**
 * The SIP transport layer (RFC 3261 §18) as the transaction layer sees it: bytes in, bytes out,
 * one listener per protocol. These types mirror `SipPeer` in sip/types.ts structurally; they are
 * declared here because transport/ sits below sip/ and cannot import from it.
 */

export type SipTransportProtocol = 'udp' | 'tcp' | 'tls';

export interface SipTransportPeer {
  readonly protocol: SipTransportProtocol;
  readonly address: string;
  readonly port: number;
}

export interface SipTransportAddress {
  readonly address: string;
  readonly port: number;
}

/** Receives every complete message (a datagram, or one framed message of a stream). */
export type SipMessageHandler = (bytes: Uint8Array, source: SipTransportPeer) => void;

export interface SipTransport {
  readonly protocol: SipTransportProtocol;
  /** True for TCP and TLS: RFC 3261 §17 timers that only cover packet loss are then skipped. */
  readonly reliable: boolean;
  /** The bound local port. */
  readonly port: number;
  /**
   * Sends one whole message. Streams write to the connection kept for `peer` (RFC 3261 §18.2.2:
   * a response goes back over the connection the request came on) and open one when none exists.
   * Failures are counted and logged, never thrown: SIP recovers through its own timers.
   */
  send(bytes: Uint8Array, peer: SipTransportAddress): void;
  /** Whether a connection to `peer` is open (always false for UDP). */
  isConnected(peer: SipTransportAddress): boolean;
  counters(): Readonly<Record<string, number>>;
  close(): Promise<void>;
}

export function peerKey(peer: SipTransportAddress): string {
  return `${peer.address}:${peer.port}`;
}
