import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { MAX_RTSP_HEADER_BYTES, RtspErrorCode } from '../../protocol/rtsp/errors.js';
import { RtspStreamFramer } from '../../protocol/rtsp/framer.js';
import {
  cseqOfHead,
  interleavedFrame,
  parseRtspRequest,
  serializeRtspResponse,
  type RtspRequest,
} from '../../protocol/rtsp/message.js';
import type { RtspPlaySession } from './play-session.js';

/** What the server answers a request with; the connection adds CSeq, Server, Date and Session. */
export interface Reply {
  readonly status: number;
  readonly reason?: string;
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: Uint8Array;
  readonly session?: RtspPlaySession | undefined;
}

/** What a connection needs of its server. */
export interface RtspConnectionHost {
  handle(connection: RtspConnection, request: RtspRequest): Promise<Reply>;
  count(name: 'malformed' | 'floodClosed' | 'requests'): void;
  session(id: string): RtspPlaySession | undefined;
  readonly sessionTimeoutS: number;
}

export interface RtspConnectionLimits {
  readonly sessionTimeoutS: number;
  readonly maxRequestsPerSecond: number;
  readonly maxSendBufferBytes: number;
}

const SERVER_NAME = 'Verbatim';

/** One TCP connection: framing, requests answered in order, interleaved packets out. */
export class RtspConnection {
  readonly #server: RtspConnectionHost;
  readonly #socket: Socket;
  readonly #limits: RtspConnectionLimits;
  readonly #log: Logger;
  readonly #framer = new RtspStreamFramer();
  /** Requests are answered in order: each waits for the one before (RFC 2326 §12.17). */
  #queue: Promise<void> = Promise.resolve();
  #windowStartMs = 0;
  #windowRequests = 0;
  #closed = false;
  /** The RTSP sessions this connection was answered about, for RTCP proof of life. */
  readonly #sessionIds = new Set<string>();
  readonly remoteAddress: string;
  readonly localAddress: string;

  constructor(server: RtspConnectionHost, socket: Socket, limits: RtspConnectionLimits, log: Logger) {
    this.#server = server;
    this.#socket = socket;
    this.#limits = limits;
    this.#log = log;
    this.remoteAddress = normaliseAddress(socket.remoteAddress ?? '');
    this.localAddress = normaliseAddress(socket.localAddress ?? '127.0.0.1');
    socket.setNoDelay(true);
    // A connection that says nothing for two session timeouts (no keep-alive, no RTCP) is gone.
    socket.setTimeout(limits.sessionTimeoutS * 2000, () => {
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('error', () => {
      // ECONNRESET from a player that vanished: 'close' follows and cleans up.
    });
    socket.once('close', () => {
      this.#closed = true;
    });
  }

  destroy(): void {
    this.#socket.destroy();
  }

  writeFrame(channel: number, packet: Uint8Array): boolean {
    if (this.#closed || this.#socket.writableLength > this.#limits.maxSendBufferBytes) {
      return false;
    }
    this.#socket.write(interleavedFrame(channel, packet));
    return true;
  }

  #onData(chunk: Buffer): void {
    for (const item of this.#framer.push(chunk)) {
      switch (item.kind) {
        case 'interleaved':
          // RTCP receiver reports from the client: proof of life for its sessions.
          for (const id of this.#sessionIds) {
            this.#server.session(id)?.touch();
          }
          break;
        case 'error': {
          this.#server.count('malformed');
          this.#log.warn(
            { remote: this.remoteAddress, reason: item.error.message },
            'RTSP connection closed: a request the stream cannot be read past',
          );
          const cseq = item.head === undefined ? undefined : cseqOfHead(item.head);
          this.#enqueue(() => {
            this.#write({ status: 413 }, cseq);
            this.#socket.end();
            return Promise.resolve();
          });
          return;
        }
        case 'request': {
          if (!this.#admit()) {
            return;
          }
          const parsed = parseRtspRequest(item.head, item.body);
          if (!parsed.ok) {
            this.#server.count('malformed');
            const cseq = cseqOfHead(item.head.subarray(0, MAX_RTSP_HEADER_BYTES));
            const status = parsed.error.code === RtspErrorCode.Version ? 505 : 400;
            this.#enqueue(() => {
              this.#write(
                {
                  status,
                  reason: `${status === 505 ? 'RTSP Version Not Supported' : 'Bad Request'} (${parsed.error.message})`,
                },
                cseq,
              );
              return Promise.resolve();
            });
            break;
          }
          const request = parsed.value;
          this.#enqueue(async () => {
            const reply = await this.#server.handle(this, request).catch((error: unknown) => {
              this.#log.error({ err: error, method: request.method }, 'RTSP request failed');
              return { status: 500 } satisfies Reply;
            });
            this.#write(reply, request.cseq);
          });
          break;
        }
      }
    }
  }

  /** Counts the request against the flood limit; closes the connection beyond it. */
  #admit(): boolean {
    this.#server.count('requests');
    const now = Date.now();
    if (now - this.#windowStartMs >= 1000) {
      this.#windowStartMs = now;
      this.#windowRequests = 0;
    }
    this.#windowRequests += 1;
    if (this.#windowRequests > this.#limits.maxRequestsPerSecond) {
      this.#server.count('floodClosed');
      this.#log.warn({ remote: this.remoteAddress }, 'RTSP connection closed: request flood');
      this.#socket.destroy();
      return false;
    }
    return true;
  }

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((error: unknown) => {
      this.#log.error({ err: error }, 'RTSP connection task failed');
    });
  }

  #write(reply: Reply, cseq: number | undefined): void {
    if (this.#closed) {
      return;
    }
    const headers: (readonly [string, string])[] = [];
    if (cseq !== undefined) {
      headers.push(['CSeq', String(cseq)]);
    }
    headers.push(['Server', SERVER_NAME], ['Date', new Date().toUTCString()]);
    if (reply.session !== undefined) {
      this.#sessionIds.add(reply.session.id);
      headers.push(['Session', `${reply.session.id};timeout=${this.#server.sessionTimeoutS}`]);
    }
    headers.push(...(reply.headers ?? []));
    this.#socket.write(
      serializeRtspResponse({
        status: reply.status,
        ...(reply.reason === undefined ? {} : { reason: reply.reason }),
        headers,
        ...(reply.body === undefined ? {} : { body: reply.body }),
      }),
    );
  }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, so UDP sends go to the address family the sockets use. */
function normaliseAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
