import { createSocket, type Socket } from 'node:dgram';
import { pino } from 'pino';
import {
  createMediaEngine,
  type MediaEngineOptions,
  type RtpMediaEngine,
} from '../../src/media/create-media-engine.js';
import type { MediaEvent } from '../../src/media/media-engine.js';
import type { TrackStats } from '../../src/model/session.js';
import { waitFor } from './wait.js';

// The media engine and the UDP peers that feed it, on 127.0.0.1, for the integration tests.

/** A range of ports at a random place, so parallel test files rarely meet (EADDRINUSE is retried). */
export function randomEnginePorts(size = 200): { rtpPortMin: number; rtpPortMax: number } {
  const min = 20000 + 2 * Math.floor(Math.random() * 10000);
  return { rtpPortMin: min, rtpPortMax: min + size - 1 };
}

/**
 * A media engine on loopback with statistics every 50 ms and a silent log, and the events it has
 * emitted so far; `overrides` changes any option.
 */
export async function loopbackMediaEngine(
  overrides: Partial<MediaEngineOptions> = {},
): Promise<{ engine: RtpMediaEngine; events: MediaEvent[] }> {
  const engine = await createMediaEngine({
    bind: '127.0.0.1',
    ...randomEnginePorts(),
    mediaTimeoutMs: 60_000,
    statsIntervalMs: 50,
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
  const events: MediaEvent[] = [];
  engine.onEvent((event) => events.push(event));
  return { engine, events };
}

/** Polls the engine's statistics of `streamId` until `want` holds, and returns them. */
export function statsReach(
  engine: RtpMediaEngine,
  streamId: string,
  want: (s: TrackStats) => boolean,
  timeoutMs = 10_000,
): Promise<TrackStats> {
  return waitFor(
    () => {
      const stats = engine.getStats(streamId);
      return stats !== undefined && want(stats) ? stats : undefined;
    },
    { timeoutMs, what: `statistics of ${streamId}` },
  );
}

/** A UDP socket bound to an ephemeral port of `address`. */
export async function boundUdpSocket(address = '127.0.0.1'): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve());
  });
  return socket;
}

/** Sends one datagram to `port` on 127.0.0.1; resolves once it has left. */
export function sendUdp(socket: Socket, bytes: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.send(bytes, port, '127.0.0.1', (error) => (error ? reject(error) : resolve()));
  });
}

export async function closeSockets(sockets: readonly Socket[]): Promise<void> {
  await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
}
