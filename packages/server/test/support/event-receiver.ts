import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * An event subscriber's receiver for tests: a real Node HTTP or HTTPS server that records every
 * POST it takes (a 2xx) and can refuse (`status`) or go away (`close`) and come back on its port.
 */

export interface Body {
  readonly eventType: string;
  readonly eventAction: string;
  readonly eventBody: Record<string, unknown>;
}

export interface Received {
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** A receiver that records every POST and answers `status` (a function, so tests can change it). */
export class Receiver {
  readonly received: Received[] = [];
  status = 200;
  #server: http.Server | https.Server;
  #port = 0;
  #waiters: (() => void)[] = [];

  constructor(tls?: { key: string; cert: string }) {
    const handler = (request: http.IncomingMessage, response: http.ServerResponse): void => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const status = this.status;
        if (status >= 200 && status < 300) {
          this.received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: request.headers });
        }
        response.writeHead(status).end(status >= 300 ? 'not now' : '');
        for (const waiter of this.#waiters.splice(0)) {
          waiter();
        }
      });
    };
    this.#server = tls === undefined ? http.createServer(handler) : https.createServer(tls, handler);
  }

  get url(): string {
    return `${this.#server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${this.#port}/events`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening (connections refused) until `listen()` again, on the same port. */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Resolves once `count` events were taken. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`receiver got ${this.received.length} events, wanted ${count}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  bodies(): Body[] {
    return this.received.map((r) => JSON.parse(r.body) as never);
  }
}
