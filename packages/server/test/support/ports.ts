import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** A port free for both UDP and TCP on 127.0.0.1 right now (SIP listens on both). */
export async function freeUdpTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        const { port: p } = socket.address();
        socket.close(() => resolve(p));
      });
    });
    if (await tcpPortFree(port)) {
      return port;
    }
  }
  throw new Error('no free UDP+TCP port found');
}

export async function freeTcpPort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A random even-aligned block of UDP ports for RTP, away from the ephemeral range. */
export function randomRtpRange(size = 200): { min: number; max: number } {
  const min = 20000 + 2 * Math.floor(Math.random() * 5000);
  return { min, max: min + size - 1 };
}
