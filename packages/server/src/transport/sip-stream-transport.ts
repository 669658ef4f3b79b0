import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../rate-limited-log.js';
import { SipStreamFramer } from '../protocol/sip/framer.js';
import {
  errorCode,
  unrefTimer,
  peerKey,
  type SipMessageHandler,
  type SipTransport,
  type SipTransportAddress,
  type SipTransportProtocol,
} from './sip-transport.js';

export interface StreamSipTransportOptions {
  readonly bind: string;
  /** 0 picks an ephemeral port. */
  readonly port: number;
  readonly logger: Logger;
  readonly onMessage: SipMessageHandler;
  /** PEM key and certificate: present for TLS, absent for TCP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** A connection with no traffic for this long is closed (the peer reconnects when it needs to). */
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_CONNECTIONS = 4096;

interface Connection {
  readonly socket: net.Socket;
  readonly framer: SipStreamFramer;
}

/**
 * SIP over TCP or TLS (RFC 3261 §18, RFC 5630 for TLS): a byte stream framed by Content-Length.
 * Connections are kept by the peer's `address:port` so that responses and in-dialog requests go
 * back over the connection the peer opened (§18.2.2). A framing error leaves the stream at an
 * unknown position, so that connection is closed (after counting); other connections go on.
 */
export async function createStreamSipTransport(options: StreamSipTransportOptions): Promise<SipTransport> {
  const protocol: SipTransportProtocol = options.tls === undefined ? 'tcp' : 'tls';
  const logger = options.logger.child({ component: `sip-${protocol}` });
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const connections = new Map<string, Connection>();
  const counts = {
    connectionsAccepted: 0,
    connectionsOpened: 0,
    connectionsRefused: 0,
    connectionsIdleClosed: 0,
    connectionErrors: 0,
    framingErrors: 0,
    messagesReceived: 0,
    messagesSent: 0,
    sendErrors: 0,
  };
  let closed = false;
  // Peers that vanish, reset or send junk are expected on a network edge: counted, and one warn
  // line per reason a second at most, without a stack.
  const notices = new RateLimitedLog(logger, { timer: unrefTimer });
  const notice = (reason: string, message: string, fields: Readonly<Record<string, unknown>>): void => {
    notices.note(reason, message, fields, Date.now());
  };

  const adopt = (socket: net.Socket, key: string, address: string, port: number): Connection => {
    const connection: Connection = { socket, framer: new SipStreamFramer() };
    connections.set(key, connection);
    socket.setNoDelay(true);
    socket.setTimeout(idleTimeoutMs);
    socket.on('timeout', () => {
      counts.connectionsIdleClosed++;
      logger.debug({ peer: key }, 'closing idle connection');
      socket.destroy();
    });
    socket.on('error', (error) => {
      counts.connectionErrors++;
      notice(`connection-${errorCode(error)}`, 'connection error', { peer: key, error: error.message });
    });
    socket.on('close', () => {
      if (connections.get(key) === connection) {
        connections.delete(key);
      }
    });
    socket.on('data', (chunk: Buffer) => {
      for (const frame of connection.framer.push(chunk)) {
        if (!frame.ok) {
          // The stream cannot be cut into messages any more (RFC 3261 §18.3): the connection is
          // closed. A message refused for its size whose headers were read is answered first.
          counts.framingErrors++;
          notice(frame.error.code, 'framing error, closing', { peer: key, detail: frame.error.message });
          if (frame.head === undefined) {
            socket.destroy();
          } else {
            options.onMessage(frame.head, { protocol, address, port }, frame.error);
            socket.end(() => socket.destroy());
          }
          return;
        }
        counts.messagesReceived++;
        options.onMessage(frame.bytes, { protocol, address, port });
      }
    });
    return connection;
  };

  const onConnection = (socket: net.Socket): void => {
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    if (address === undefined || port === undefined) {
      // The peer went away between accept and this callback.
      counts.connectionsRefused++;
      socket.destroy();
      return;
    }
    counts.connectionsAccepted++;
    const key = peerKey({ address, port });
    connections.get(key)?.socket.destroy();
    adopt(socket, key, address, port);
  };

  const server =
    options.tls === undefined
      ? net.createServer(onConnection)
      : tls.createServer({ key: options.tls.key, cert: options.tls.cert }, onConnection);
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.on('drop', () => {
    counts.connectionsRefused++;
  });
  if (options.tls !== undefined) {
    server.on('tlsClientError', (error: Error) => {
      counts.connectionsRefused++;
      notice(`tls-${errorCode(error)}`, 'tls handshake failed', { error: error.message });
    });
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(error);
    };
    server.once('error', onError);
    server.listen({ port: options.port, host: options.bind, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => {
    logger.warn({ err: error }, 'listener error');
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : options.port;

  const connect = (peer: SipTransportAddress): Connection => {
    // RFC 3261 §18.2.2: when the connection a request came on is gone, a new one is opened.
    counts.connectionsOpened++;
    const socket =
      options.tls === undefined
        ? net.connect({ host: peer.address, port: peer.port })
        : tls.connect({ host: peer.address, port: peer.port });
    return adopt(socket, peerKey(peer), peer.address, peer.port);
  };

  return {
    protocol,
    reliable: true,
    port: boundPort,
    send(bytes: Uint8Array, peer: SipTransportAddress, onError?: (code: string) => void): void {
      if (closed) {
        counts.sendErrors++;
        onError?.('closed');
        return;
      }
      const connection = connections.get(peerKey(peer)) ?? connect(peer);
      if (connection.socket.destroyed) {
        counts.sendErrors++;
        onError?.('closed');
        return;
      }
      connection.socket.write(bytes, (error) => {
        if (error) {
          counts.sendErrors++;
          // A refused connect surfaces here as ERR_SOCKET_CLOSED_BEFORE_CONNECTION.
          onError?.(errorCode(error));
          notice(`send-${errorCode(error)}`, 'stream send failed', { peer, error: error.message });
        } else {
          counts.messagesSent++;
        }
      });
    },
    isConnected(peer: SipTransportAddress): boolean {
      const connection = connections.get(peerKey(peer));
      return connection !== undefined && !connection.socket.destroyed;
    },
    counters(): Readonly<Record<string, number>> {
      return { ...counts, connectionsOpen: connections.size };
    },
    close(): Promise<void> {
      if (closed) {
        return Promise.resolve();
      }
      closed = true;
      notices.flush(Date.now(), true);
      return new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        for (const connection of connections.values()) {
          connection.socket.destroy();
        }
        connections.clear();
      });
    },
  };
}
