import dgram from 'node:dgram';
import net from 'node:net';
import { parseSipMessage } from '../../../../src/protocol/sip/parse.js';
import { getHeader, type SipMessage, type SipResponse } from '../../../../src/protocol/sip/message.js';
import { SipStreamFramer } from '../../../../src/protocol/sip/framer.js';
import { waitFor } from '../../../support/wait.js';

export interface Received {
  readonly message: SipMessage;
  readonly atMs: number;
}

abstract class RawClient {
  readonly received: Received[] = [];
  /** Every message as it arrived, also those the strict parser refuses (a 400 without Call-ID). */
  readonly raw: string[] = [];

  protected record(bytes: Uint8Array): void {
    this.raw.push(Buffer.from(bytes).toString('latin1'));
    const parsed = parseSipMessage(bytes);
    if (parsed.ok) {
      this.received.push({ message: parsed.value, atMs: Date.now() });
    }
  }

  responses(status: number, cseqMethod?: string): SipResponse[] {
    return this.received
      .map((r) => r.message)
      .filter(
        (m): m is SipResponse =>
          m.type === 'response' &&
          m.status === status &&
          (cseqMethod === undefined || (getHeader(m, 'CSeq') ?? '').endsWith(` ${cseqMethod}`)),
      );
  }

  async waitForResponse(
    status: number,
    cseqMethod?: string,
    count = 1,
    timeoutMs = 3000,
  ): Promise<SipResponse> {
    await waitFor(() => this.responses(status, cseqMethod).length >= count, {
      timeoutMs,
      intervalMs: 10,
      what: `${count}x ${status} ${cseqMethod ?? ''}`,
    });
    const response = this.responses(status, cseqMethod)[count - 1];
    if (response === undefined) {
      throw new Error('unreachable');
    }
    return response;
  }
}

export class UdpClient extends RawClient {
  readonly #socket: dgram.Socket;
  readonly port: number;

  private constructor(socket: dgram.Socket) {
    super();
    this.#socket = socket;
    this.port = socket.address().port;
    socket.on('message', (message) => {
      this.record(message);
    });
  }

  /** `address` is the local source address: any of 127.0.0.0/8 on Linux, to act as another peer. */
  static async open(address = '127.0.0.1'): Promise<UdpClient> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, resolve));
    return new UdpClient(socket);
  }

  async send(data: string | Uint8Array, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, '127.0.0.1', (error) => {
        if (error) {
          reject(error);
        } else {
          resolve();
        }
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

export class TcpClient extends RawClient {
  readonly #socket: net.Socket;
  readonly #framer = new SipStreamFramer();
  readonly port: number;
  closedByPeer = false;

  private constructor(socket: net.Socket) {
    super();
    this.#socket = socket;
    this.port = socket.localPort ?? 0;
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.#framer.push(chunk)) {
        if (frame.ok) {
          this.record(frame.bytes);
        }
      }
    });
    socket.on('close', () => {
      this.closedByPeer = true;
    });
    socket.on('error', () => {
      this.closedByPeer = true;
    });
  }

  static async connect(port: number): Promise<TcpClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new TcpClient(socket);
  }

  async send(data: string | Uint8Array): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#socket.write(typeof data === 'string' ? Buffer.from(data) : data, (error) => {
        if (error) {
          reject(error);
        } else {
          resolve();
        }
      });
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
