import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../rate-limited-log.js';
import {
  errorCode,
  unrefTimer,
  type SipMessageHandler,
  type SipTransport,
  type SipTransportAddress,
} from './sip-transport.js';

export interface UdpSipTransportOptions {
  readonly bind: string;
  /** 0 picks an ephemeral port. */
  readonly port: number;
  readonly logger: Logger;
  readonly onMessage: SipMessageHandler;
}

const SIP_UDP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * SIP over UDP (RFC 3261 §18.1.1, §18.2.1): one datagram is one message. Framing and parsing
 * happen above; this layer only counts datagrams and keeps the socket alive on send errors.
 */
export async function createUdpSipTransport(options: UdpSipTransportOptions): Promise<SipTransport> {
  const socket = dgram.createSocket({
    type: isIPv6(options.bind) ? 'udp6' : 'udp4',
    reuseAddr: false,
    // A burst of call setups (hundreds of INVITEs, ACKs and BYEs a second) must survive a short
    // stall of the event loop (GC, a database checkpoint): with the default ~200 KB the kernel
    // drops datagrams and every controller retransmits after T1 (500 ms). Linux caps the value at
    // net.core.rmem_max without an error.
    recvBufferSize: SIP_UDP_RECEIVE_BUFFER_BYTES,
  });
  const logger = options.logger.child({ component: 'sip-udp' });
  const counts = { datagramsReceived: 0, datagramsSent: 0, sendErrors: 0, socketErrors: 0 };
  // A peer that vanished answers with ICMP unreachable: counted, one warn line per reason a second.
  const notices = new RateLimitedLog(logger, { timer: unrefTimer });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(error);
    };
    socket.once('error', onError);
    socket.bind(options.port, options.bind, () => {
      socket.off('error', onError);
      resolve();
    });
  });

  socket.on('error', (error) => {
    // After bind, errors are per datagram (ICMP unreachable surfaced by the OS): count and go on.
    counts.socketErrors++;
    notices.note(`socket-${errorCode(error)}`, 'udp socket error', { error: error.message }, Date.now());
  });
  socket.on('message', (message, rinfo) => {
    counts.datagramsReceived++;
    options.onMessage(new Uint8Array(message.buffer, message.byteOffset, message.byteLength), {
      protocol: 'udp',
      address: rinfo.address,
      port: rinfo.port,
    });
  });

  const port = socket.address().port;
  let closed = false;

  return {
    protocol: 'udp',
    reliable: false,
    port,
    send(bytes: Uint8Array, peer: SipTransportAddress, onError?: (code: string) => void): void {
      if (closed) {
        counts.sendErrors++;
        onError?.('closed');
        return;
      }
      socket.send(bytes, peer.port, peer.address, (error) => {
        if (error) {
          counts.sendErrors++;
          onError?.(errorCode(error));
          notices.note(
            `send-${errorCode(error)}`,
            'udp send failed',
            { peer, error: error.message },
            Date.now(),
          );
        } else {
          counts.datagramsSent++;
        }
      });
    },
    isConnected(): boolean {
      return false;
    },
    counters(): Readonly<Record<string, number>> {
      return { ...counts };
    },
    close(): Promise<void> {
      if (closed) {
        return Promise.resolve();
      }
      closed = true;
      notices.flush(Date.now(), true);
      return new Promise<void>((resolve) => {
        socket.close(() => {
          resolve();
        });
      });
    },
  };
}
