import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { ensureCertificate } from '../../src/transport/tls-certificate.js';
import { FakeRepository } from '../support/fake-repository.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';

/**
 * A stopping node must not wait forever on a client that holds a request open: a browser that
 * stopped reading a recording, a request sent halfway. Such a connection is not idle, so the
 * server's close alone would wait for it (up to Node's 60 s header timeout, or for ever on a
 * stalled response); the API cuts it after a short drain (HTTP_DRAIN_MS).
 */

/** Opens a connection that sends half a request and waits; resolves once the server closed it. */
function halfRequest(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    socket.write('GET /ora/infoService/info/getAPIVersion HTTP/1.1\r\nHost: x\r\nX-Slow: ');
  });
}

void describe('API shutdown with a client holding a request open (integration)', () => {
  void it('closes over plain HTTP, cutting the half-sent request', async () => {
    const app = await buildTestHttpApi({ repository: new FakeRepository() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const cut = halfRequest(socket);
    // close() resolving at all is the point: without the cut it waits for the client.
    await app.close();
    await cut;
  });

  void it('closes over HTTPS too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verbatim-api-shutdown-'));
    try {
      const certificate = await ensureCertificate(dir, pino({ level: 'silent' }), {
        commonName: 'localhost',
        ipAddresses: ['127.0.0.1'],
      });
      const app = await buildTestHttpApi({
        repository: new FakeRepository(),
        tls: true,
        https: { key: certificate.key, cert: certificate.cert },
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as { port: number };
      const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
      await new Promise((resolve) => socket.once('secureConnect', resolve));
      const cut = halfRequest(socket);
      await app.close();
      await cut;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Resolves once the server closed `socket`. */
function closedByServer(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

void describe('API shutdown with a silent connection over plain HTTP (integration)', () => {
  void it('drops it at once: it sent nothing, so there is nothing to drain', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const app = await buildTestHttpApi({ repository: new FakeRepository(), logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    // A browser's spare connection: Node counts it as busy until a request completes on it.
    const silent = connect(port, '127.0.0.1');
    await new Promise((resolve) => silent.once('connect', resolve));
    const closed = closedByServer(silent);
    await app.close();
    await closed;
    assert.deepEqual(
      lines.filter((line) => line.includes('cutting the API connections')),
      [],
      'closed without waiting for the drain',
    );
  });
});

void describe('API shutdown with silent connections on the HTTPS port (integration)', () => {
  void it('does not wait for connections that sent nothing or only half a TLS handshake', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verbatim-api-shutdown-'));
    try {
      const certificate = await ensureCertificate(dir, pino({ level: 'silent' }), {
        commonName: 'localhost',
        ipAddresses: ['127.0.0.1'],
      });
      const app = await buildTestHttpApi({
        repository: new FakeRepository(),
        tls: true,
        https: { key: certificate.key, cert: certificate.cert },
      });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as { port: number };
      // A browser's spare connection: open, silent (the server's first-byte wait is 30 s).
      const silent = connect(port, '127.0.0.1');
      await new Promise((resolve) => silent.once('connect', resolve));
      // A TLS record header announcing a ClientHello that never comes: mid-handshake.
      const handshaking = connect(port, '127.0.0.1');
      await new Promise((resolve) => handshaking.once('connect', resolve));
      handshaking.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
      const closed = Promise.all([closedByServer(silent), closedByServer(handshaking)]);
      await app.close();
      await closed;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
