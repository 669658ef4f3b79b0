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

/**
 * A base port for sipp's `-mp`: sipp binds base..base+3 (audio RTP/RTCP, video RTP/RTCP). The block
 * is taken from 10000-19999, below the Verbatim RTP ranges the tests use (20000+) and below the
 * kernel's ephemeral range (32768+), where a port picked at random is otherwise often already taken
 * by some short-lived client socket. Each port of the block is checked free right now.
 */
export async function freeSippMediaPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10000 + 4 * Math.floor(Math.random() * 2500);
    const free = await Promise.all([0, 1, 2, 3].map((offset) => udpPortFree(base + offset)));
    if (free.every(Boolean)) {
      return base;
    }
  }
  throw new Error('no free block of four UDP ports for sipp media');
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/**
 * The RTP range of the one test that holds thousands of ports at once (the INVITE flood): above
 * the kernel's ephemeral range (32768-60999) and apart from every other test's ports (SIPp media
 * 10000-19999, random RTP blocks from 20000), so a test file running beside it never finds its
 * ports taken. Only one file may use it.
 */
export const FLOOD_RTP_RANGE = { min: 61000, max: 64999 } as const;

/** A random even-aligned block of UDP ports for RTP, away from the ephemeral range. */
export function randomRtpRange(size = 200): { min: number; max: number } {
  const min = 20000 + 2 * Math.floor(Math.random() * 5000);
  return { min, max: min + size - 1 };
}
