import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/**
 * The first byte of every TLS connection: the record type of the ClientHello, handshake (22)
 * (RFC 8446 §5.1; the same in TLS 1.0-1.2). No HTTP/1 request line starts with it.
 */
const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * How long a new connection may stay silent before its first byte. After it, Node's HTTP
 * timeouts (headers, request, keep-alive) apply as on any server.
 */
export const FIRST_BYTE_TIMEOUT_MS = 30_000;

/** Node's HTTP server options given to both protocols. */
export type InnerServerOptions = Pick<
  http.ServerOptions,
  'keepAliveTimeout' | 'requestTimeout' | 'headersTimeout' | 'connectionsCheckingInterval'
>;

export interface HttpsWithPlainOptions {
  readonly key: string;
  readonly cert: string;
  /** fastify's keepAliveTimeout and requestTimeout, as it sets them on the servers it builds. */
  readonly http?: InnerServerOptions;
  /** Inactivity timeout of a socket (fastify's connectionTimeout; 0 is none). */
  readonly connectionTimeout?: number | undefined;
  readonly firstByteTimeoutMs?: number;
}

type RequestHandler = (request: http.IncomingMessage, response: http.ServerResponse) => void;

/**
 * One listening port that speaks HTTPS and plain HTTP. MediaSense serves its API over HTTPS only,
 * except getAPIVersion, which "accepts HTTP or HTTPS" on the API port (reference §1), so a client
 * may ask `http://<node>:8440/ora/infoService/info/getAPIVersion`. The first byte of a connection
 * tells which it is: a TLS handshake goes to an HTTPS server, anything else to a plain HTTP one,
 * and the API (http-api.ts) refuses every plain request but getAPIVersion.
 *
 * Both inner servers never listen: connections are handed to them with `emit('connection')`, as
 * Node documents for injecting sockets. The sniffed byte is put back with `unshift`, and both the
 * HTTP parser and TLSSocket (which feeds data already buffered on the socket to the TLS engine
 * before it takes the socket's handle) read it; the TLS path then runs on the native handle, as
 * a plain `https.Server` does, so HTTPS costs nothing more.
 *
 * fastify uses it through its `serverFactory` option: it listens and closes this server and calls
 * `closeIdleConnections` / `closeAllConnections`, which reach the connections of both.
 */
export class HttpsWithPlainServer extends net.Server {
  readonly #plain: http.Server;
  readonly #secure: https.Server;
  readonly #firstByteTimeoutMs: number;
  /** Every open connection, and those still waiting for their first byte (no request yet). */
  readonly #sockets = new Set<net.Socket>();
  readonly #waiting = new Set<net.Socket>();

  constructor(options: HttpsWithPlainOptions, handler: RequestHandler) {
    super();
    this.#firstByteTimeoutMs = options.firstByteTimeoutMs ?? FIRST_BYTE_TIMEOUT_MS;
    const serverOptions = options.http ?? {};
    this.#plain = http.createServer(serverOptions, handler);
    this.#secure = https.createServer({ ...serverOptions, key: options.key, cert: options.cert }, handler);
    for (const inner of [this.#plain, this.#secure]) {
      // Set as a property, as fastify does: not every Node 20 release reads it from the options.
      if (serverOptions.keepAliveTimeout !== undefined) {
        inner.keepAliveTimeout = serverOptions.keepAliveTimeout;
      }
      if (options.connectionTimeout !== undefined) {
        inner.setTimeout(options.connectionTimeout);
      }
    }
    this.on('connection', (socket: net.Socket) => this.#route(socket));
    // fastify answers malformed and timed-out requests through the server's 'clientError'
    // listeners; those requests reach the inner servers. Forwarded once someone listens here, so
    // that until then Node's own answers (400, 408) apply.
    // 'upgrade' (a WebSocket, live listening) is forwarded the same way: an HTTP server with no
    // 'upgrade' listener destroys such a connection, which is the right answer until one is here.
    const forwarding = new Set<string>();
    this.on('newListener', (event: string | symbol) => {
      if ((event !== 'clientError' && event !== 'upgrade') || forwarding.has(event)) {
        return;
      }
      forwarding.add(event);
      for (const inner of [this.#plain, this.#secure]) {
        inner.on(event, (...args: unknown[]) => this.emit(event, ...args));
      }
    });
    // Node's HTTP server starts tracking its connections on its own 'listening' event: the
    // periodic check that enforces headersTimeout and requestTimeout (a slow client cannot hold a
    // connection forever) and the list closeIdleConnections() walks. The inner servers never
    // listen, so they are told when this one does.
    this.on('listening', () => {
      this.#plain.emit('listening');
      this.#secure.emit('listening');
    });
  }

  /** Hands the connection to the server its first byte calls for. */
  #route(socket: net.Socket): void {
    this.#sockets.add(socket);
    this.#waiting.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#waiting.delete(socket);
    });
    // Until an inner server owns the socket, its errors (a reset before the first byte) are ours.
    const drop = (): void => {
      socket.destroy();
    };
    const stopWaiting = (): void => {
      this.#waiting.delete(socket);
      socket.off('error', drop);
      socket.off('timeout', drop);
      socket.off('end', drop);
      socket.off('readable', onReadable);
      socket.setTimeout(0);
    };
    const onReadable = (): void => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) {
        return;
      }
      stopWaiting();
      socket.unshift(first);
      const inner = first[0] === TLS_HANDSHAKE_RECORD ? this.#secure : this.#plain;
      inner.emit('connection', socket);
    };
    socket.on('error', drop);
    socket.on('end', drop);
    socket.setTimeout(this.#firstByteTimeoutMs, drop);
    socket.on('readable', onReadable);
  }

  override close(callback?: (error?: Error) => void): this {
    // The inner servers never listen; closing them stops their connection-checking timers and
    // ends idle keep-alive connections, as closing a listening http.Server does.
    this.#plain.close();
    this.#secure.close();
    // A connection that has sent nothing yet (a browser opens spare ones ahead of need) is idle
    // too, but no inner server knows it: without this the close would wait out its first-byte
    // timeout.
    this.#dropWaiting();
    return super.close(callback);
  }

  closeIdleConnections(): void {
    this.#plain.closeIdleConnections();
    this.#secure.closeIdleConnections();
    this.#dropWaiting();
  }

  closeAllConnections(): void {
    this.#plain.closeAllConnections();
    this.#secure.closeAllConnections();
    // Also those no inner server tracks: still waiting for their first byte, or mid-TLS handshake.
    for (const socket of this.#sockets) {
      socket.destroy();
    }
  }

  #dropWaiting(): void {
    for (const socket of this.#waiting) {
      socket.destroy();
    }
  }
}
