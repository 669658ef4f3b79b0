import type { ParseError } from '../protocol/result.js';

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

/**
 * Receives every complete message (a datagram, or one framed message of a stream). A stream
 * message refused for its size after its header section was read comes with `refusedFor` and
 * its header section only, so that it can be answered (413) before the connection is closed.
 */
export type SipMessageHandler = (
  bytes: Uint8Array,
  source: SipTransportPeer,
  refusedFor?: ParseError,
) => void;

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
   * `onError`, when given, also hears of the failure (a refused connection to the proxy of an
   * outbound call: RFC 3261 §17.1.1.2 tells the transaction user at once, not after Timer B).
   */
  send(bytes: Uint8Array, peer: SipTransportAddress, onError?: (code: string) => void): void;
  /** Whether a connection to `peer` is open (always false for UDP). */
  isConnected(peer: SipTransportAddress): boolean;
  counters(): Readonly<Record<string, number>>;
  close(): Promise<void>;
}

export function peerKey(peer: SipTransportAddress): string {
  return `${peer.address}:${peer.port}`;
}

/** The system error code (ECONNRESET, EPIPE…), a bounded set to key rate-limited lines by. */
export function errorCode(error: Error): string {
  const code = 'code' in error ? error.code : undefined;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'other';
}

/** The system clock for rate-limited log lines: its timers never keep the process alive. */
export const unrefTimer = {
  now: (): number => Date.now(),
  setTimeout: (callback: () => void, delayMs: number): unknown => setTimeout(callback, delayMs).unref(),
};
