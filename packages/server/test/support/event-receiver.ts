import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait.js';

/**
 * A webhook receiver as an integrator would run one: an HTTP or HTTPS server that records every
 * POST (path, headers, body) and answers 200. It can be stopped and started again on the same
 * port, to play a receiver that is down for a while.
 */

export interface ReceivedEvent {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly json: EventEnvelope;
}

/** The MediaSense event envelope (reference §8.3). */
export interface EventEnvelope {
  readonly eventType: string;
  readonly eventAction: string;
  readonly forwardedEvent?: string;
  readonly eventBody: Record<string, unknown>;
}

export class EventReceiver {
  readonly received: ReceivedEvent[] = [];
  /** What the receiver answers; a status outside 2xx records nothing (the node must retry). */
  status = 200;
  #server: Server | undefined;
  #port = 0;
  readonly #tls: { key: string; cert: string } | undefined;

  private constructor(tls: { key: string; cert: string } | undefined) {
    this.#tls = tls;
  }

  static async start(tls?: { key: string; cert: string }): Promise<EventReceiver> {
    const receiver = new EventReceiver(tls);
    await receiver.listen();
    return receiver;
  }

  get port(): number {
    return this.#port;
  }

  url(path: string): string {
    return `${this.#tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.#port}${path}`;
  }

  /** Listens (again) on the receiver's port; a first start takes a free one. */
  async listen(): Promise<void> {
    const handler = (
      request: import('node:http').IncomingMessage,
      response: import('node:http').ServerResponse,
    ) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: EventEnvelope;
        try {
          json = JSON.parse(body) as EventEnvelope;
        } catch {
          response.writeHead(400).end();
          return;
        }
        const status = this.status;
        if (status >= 200 && status < 300) {
          this.received.push({ path: request.url ?? '', headers: request.headers, body, json });
        }
        response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
      });
    };
    const server =
      this.#tls === undefined ? createHttpServer(handler) : createHttpsServer(this.#tls, handler);
    // The port of a stopped receiver may be held a moment longer by the kernel: try again briefly.
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          server.once('error', () => resolve(false));
          server.listen(this.#port, '127.0.0.1', () => resolve(true));
        }),
      { timeoutMs: 10_000, intervalMs: 100, what: `the receiver to listen on port ${this.#port}` },
    );
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops every open connection: the node's next attempt fails. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) {
      return;
    }
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Resolves once `count` events were taken, on any path. */
  async waitForCount(count: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.received.length >= count, {
      timeoutMs,
      what: `${count} events at the receiver (${this.received.length} so far)`,
    });
  }

  /** The envelopes taken, in arrival order. */
  bodies(): EventEnvelope[] {
    return this.received.map((event) => event.json);
  }

  /** The events received on `path`, in arrival order. */
  on(path: string): ReceivedEvent[] {
    return this.received.filter((event) => event.path === path);
  }

  async waitFor(
    path: string,
    predicate: (events: ReceivedEvent[]) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<ReceivedEvent[]> {
    return waitFor(() => (predicate(this.on(path)) ? this.on(path) : undefined), { timeoutMs, what });
  }
}

/** Whether an event's X-Verbatim-Signature is the HMAC-SHA256 of `<t>.<body>` under `secret`. */
export function signatureVerifies(event: ReceivedEvent, secret: string): boolean {
  const header = event.headers['x-verbatim-signature'];
  if (typeof header !== 'string') {
    return false;
  }
  const fields = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = fields.get('t');
  const v1 = fields.get('v1');
  if (t === undefined || v1 === undefined) {
    return false;
  }
  const expected = createHmac('sha256', secret).update(`${t}.${event.body}`).digest();
  const given = Buffer.from(v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
