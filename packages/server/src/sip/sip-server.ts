import type { Logger } from 'pino';
import { openSipListeners, type SipListeners } from '../transport/sip-listeners.js';
import type { OutboundCaller } from './outbound-types.js';
import type { Clock } from './timers.js';
import type { SipPeer, SipServerDelegate } from './types.js';
import { SipUasCore } from './uas-core.js';

export interface SipServerOptions {
  readonly bind: string;
  /** UDP and TCP listen on this one number; 0 picks an ephemeral port for both. */
  readonly udpTcpPort: number;
  /** SIP over TLS on its own port (0 picks one); absent disables TLS. PEM strings. */
  readonly tls?: { readonly port: number; readonly key: string; readonly cert: string };
  /** Host for our Contact header (and the Via of our BYE). */
  readonly advertise: string;
  /** INVITEs from other peers get 403. */
  isTrusted(peer: SipPeer): boolean;
  readonly delegate: SipServerDelegate;
  readonly logger: Logger;
  /** Injected timers for tests; the system clock otherwise. */
  readonly clock?: Clock;
  /** "Verbatim/<version>" in Server and User-Agent headers. */
  readonly userAgent?: string;
  /** Idle TCP/TLS connections are closed after this long (default 5 minutes). */
  readonly connectionIdleTimeoutMs?: number;
  readonly maxTransactions?: number;
  readonly maxDialogs?: number;
  /** New-dialog INVITEs per second per source address (uas-core.ts); 0 or absent: no limit. */
  readonly sourceInviteRate?: number;
}

export interface SipServerPorts {
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly tlsPort?: number;
}

export interface SipServer extends OutboundCaller {
  start(): Promise<SipServerPorts>;
  close(): Promise<void>;
  /** SIP core counters plus `<protocol>.<name>` counters of each transport. */
  counters(): Readonly<Record<string, number>>;
}

/**
 * The SIP server: the transports of transport/ under the core of uas-core.ts, a UAS for the
 * controllers' recording calls and a UAC for direct outbound recording (`call`).
 */
export function createSipServer(options: SipServerOptions): SipServer {
  const core = new SipUasCore({
    advertise: options.advertise,
    isTrusted: (peer) => options.isTrusted(peer),
    delegate: options.delegate,
    logger: options.logger,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
    ...(options.maxTransactions === undefined ? {} : { maxTransactions: options.maxTransactions }),
    ...(options.maxDialogs === undefined ? {} : { maxDialogs: options.maxDialogs }),
    ...(options.sourceInviteRate === undefined ? {} : { sourceInviteRate: options.sourceInviteRate }),
  });
  let listeners: SipListeners | undefined;
  let starting: Promise<SipServerPorts> | undefined;

  return {
    start(): Promise<SipServerPorts> {
      starting ??= (async () => {
        const opened = await openSipListeners({
          bind: options.bind,
          udpTcpPort: options.udpTcpPort,
          ...(options.tls === undefined ? {} : { tls: options.tls }),
          logger: options.logger,
          onMessage: (bytes, source, refusedFor) => {
            core.receive(bytes, source, refusedFor);
          },
          ...(options.connectionIdleTimeoutMs === undefined
            ? {}
            : { idleTimeoutMs: options.connectionIdleTimeoutMs }),
        });
        listeners = opened;
        core.attach(opened.udp);
        core.attach(opened.tcp);
        if (opened.tls !== undefined) {
          core.attach(opened.tls);
        }
        options.logger.info(
          { udpPort: opened.udp.port, tcpPort: opened.tcp.port, tlsPort: opened.tls?.port },
          'sip listening',
        );
        return {
          udpPort: opened.udp.port,
          tcpPort: opened.tcp.port,
          ...(opened.tls === undefined ? {} : { tlsPort: opened.tls.port }),
        };
      })();
      return starting;
    },
    call(request) {
      return core.call(request);
    },
    async close(): Promise<void> {
      core.close();
      await listeners?.close();
    },
    counters(): Readonly<Record<string, number>> {
      const out: Record<string, number> = { ...core.counters() };
      const transports = listeners === undefined ? [] : [listeners.udp, listeners.tcp, listeners.tls];
      for (const transport of transports) {
        if (transport !== undefined) {
          for (const [name, value] of Object.entries(transport.counters())) {
            out[`${transport.protocol}.${name}`] = value;
          }
        }
      }
      return out;
    },
  };
}
