import type { Logger } from 'pino';
import { createStreamSipTransport } from './sip-stream-transport.js';
import type { SipMessageHandler, SipTransport } from './sip-transport.js';
import { createUdpSipTransport } from './sip-udp-transport.js';

export interface SipListenersOptions {
  readonly bind: string;
  /** UDP and TCP share this number (RFC 3261 §18: one port, both transports). 0 picks one. */
  readonly udpTcpPort: number;
  /** TLS on its own port (0 picks one); absent disables TLS. */
  readonly tls?: { readonly port: number; readonly key: string; readonly cert: string };
  readonly logger: Logger;
  readonly onMessage: SipMessageHandler;
  readonly idleTimeoutMs?: number;
}

export interface SipListeners {
  readonly udp: SipTransport;
  readonly tcp: SipTransport;
  readonly tls?: SipTransport;
  close(): Promise<void>;
}

/** How often an ephemeral UDP port is tried again when its TCP twin is taken by someone else. */
const SAME_PORT_ATTEMPTS = 8;

/**
 * Opens UDP and TCP on the same port number, then TLS. With port 0 the kernel picks the UDP port
 * and TCP must bind the same number; when that TCP port is busy the UDP socket is closed and
 * another ephemeral port is tried. A fixed port that is busy fails at once.
 */
export async function openSipListeners(options: SipListenersOptions): Promise<SipListeners> {
  const streamBase = {
    bind: options.bind,
    logger: options.logger,
    onMessage: options.onMessage,
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
  };
  let udp: SipTransport | undefined;
  let tcp: SipTransport | undefined;
  for (let attempt = 1; tcp === undefined; attempt++) {
    udp = await createUdpSipTransport({
      bind: options.bind,
      port: options.udpTcpPort,
      logger: options.logger,
      onMessage: options.onMessage,
    });
    try {
      tcp = await createStreamSipTransport({ ...streamBase, port: udp.port });
    } catch (error) {
      await udp.close();
      const busy = error instanceof Error && 'code' in error && error.code === 'EADDRINUSE';
      if (!busy || options.udpTcpPort !== 0 || attempt >= SAME_PORT_ATTEMPTS) {
        throw error;
      }
      options.logger.debug({ port: udp.port, attempt }, 'tcp twin of the udp port is busy, trying another');
    }
  }
  if (udp === undefined) {
    throw new Error('unreachable: udp transport missing after binding');
  }
  const udpTransport = udp;
  const tcpTransport = tcp;
  let tlsTransport: SipTransport | undefined;
  if (options.tls !== undefined) {
    try {
      tlsTransport = await createStreamSipTransport({
        ...streamBase,
        port: options.tls.port,
        tls: { key: options.tls.key, cert: options.tls.cert },
      });
    } catch (error) {
      await Promise.all([udpTransport.close(), tcpTransport.close()]);
      throw error;
    }
  }
  const all = [udpTransport, tcpTransport, ...(tlsTransport === undefined ? [] : [tlsTransport])];
  return {
    udp: udpTransport,
    tcp: tcpTransport,
    ...(tlsTransport === undefined ? {} : { tls: tlsTransport }),
    async close(): Promise<void> {
      await Promise.all(all.map((t) => t.close()));
    },
  };
}
