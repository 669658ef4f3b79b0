import { parseSipMessage } from '../../../../src/protocol/sip/parse.js';
import type { SipMessage } from '../../../../src/protocol/sip/message.js';
import type {
  SipTransport,
  SipTransportAddress,
  SipTransportProtocol,
} from '../../../../src/transport/sip-transport.js';

export interface SentMessage {
  readonly message: SipMessage;
  readonly to: SipTransportAddress;
  readonly atMs: number;
}

/** Records what the core sends, parsed, with the destination and the (fake) time of sending. */
export class FakeTransport implements SipTransport {
  readonly protocol: SipTransportProtocol;
  readonly reliable: boolean;
  readonly port = 5060;
  readonly sent: SentMessage[] = [];
  readonly connected = new Set<string>();
  /** Set: every send fails with this code (a refused connection), reported through `onError`. */
  failWith: string | undefined;
  readonly #now: () => number;

  constructor(protocol: SipTransportProtocol, now: () => number) {
    this.protocol = protocol;
    this.reliable = protocol !== 'udp';
    this.#now = now;
  }

  send(bytes: Uint8Array, peer: SipTransportAddress, onError?: (code: string) => void): void {
    if (this.failWith !== undefined) {
      onError?.(this.failWith);
      return;
    }
    const parsed = parseSipMessage(bytes);
    if (!parsed.ok) {
      throw new Error(`core sent an unparsable message: ${parsed.error.message}`);
    }
    this.sent.push({ message: parsed.value, to: peer, atMs: this.#now() });
  }

  isConnected(peer: SipTransportAddress): boolean {
    return this.connected.has(`${peer.address}:${peer.port}`);
  }

  counters(): Readonly<Record<string, number>> {
    return {};
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  responses(status?: number): (SipMessage & { type: 'response' })[] {
    return this.sent
      .map((s) => s.message)
      .filter(
        (m): m is SipMessage & { type: 'response' } =>
          m.type === 'response' && (status === undefined || m.status === status),
      );
  }

  requests(method: string): (SipMessage & { type: 'request' })[] {
    return this.sent
      .map((s) => s.message)
      .filter((m): m is SipMessage & { type: 'request' } => m.type === 'request' && m.method === method);
  }
}
