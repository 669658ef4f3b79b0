import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { connect, createSecureContext, createServer, type Server } from 'node:tls';
import { pino } from 'pino';
import { ensureCertificate } from '../../src/transport/tls-certificate.js';

// The certificate `verbatim serve` generates on first start (selfsigned, in process).

const logger = pino({ level: 'silent' });

void describe('ensureCertificate', () => {
  let dir = '';
  let server: Server | undefined;

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-tls-'));
  });

  after(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('generates a self-signed pair on first use, key mode 0600, that node:tls accepts', async () => {
    const dataDir = join(dir, 'first');
    const pair = await ensureCertificate(dataDir, logger, {
      commonName: 'rec.example',
      ipAddresses: ['192.0.2.10'],
    });
    assert.match(pair.key, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(pair.cert, /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await stat(join(dataDir, 'tls', 'server.key'))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(join(dataDir, 'tls'))).sort(), ['server.crt', 'server.key']);
    assert.doesNotThrow(() => createSecureContext({ key: pair.key, cert: pair.cert }));
    const x509 = new X509Certificate(pair.cert);
    assert.match(x509.subject, /CN=rec\.example/);
    assert.match(x509.subjectAltName ?? '', /DNS:rec\.example/);
    assert.match(x509.subjectAltName ?? '', /DNS:localhost/);
    assert.match(x509.subjectAltName ?? '', /IP Address:192\.0\.2\.10/);
    assert.equal(x509.publicKey.asymmetricKeyType, 'ec');
    const validDays = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / 86_400_000;
    assert.equal(Math.round(validDays), 825);
  });

  void it('reuses the stored pair on the next start, byte for byte', async () => {
    const dataDir = join(dir, 'first');
    const first = await ensureCertificate(dataDir, logger);
    const keyBefore = await stat(join(dataDir, 'tls', 'server.key'));
    const again = await ensureCertificate(dataDir, logger, { commonName: 'other.example' });
    assert.deepEqual(again, first);
    assert.equal((await stat(join(dataDir, 'tls', 'server.key'))).mtimeMs, keyBefore.mtimeMs);
    assert.match(new X509Certificate(again.cert).subject, /CN=rec\.example/);
  });

  void it('signs the certificate with its own key, valid from now, with the default SANs', async () => {
    const pair = await ensureCertificate(join(dir, 'defaults'), logger, { ipAddresses: ['2001:db8::5'] });
    const x509 = new X509Certificate(pair.cert);
    assert.equal(x509.checkPrivateKey(createPrivateKey(pair.key)), true);
    assert.equal(x509.verify(x509.publicKey), true, 'self-signed');
    assert.equal(x509.issuer, x509.subject);
    assert.equal(x509.ca, true, 'a root clients can pin, as openssl req -x509 made');
    const now = Date.now();
    assert.ok(Date.parse(x509.validFrom) <= now + 1000 && Date.parse(x509.validTo) > now);
    const names = x509.subjectAltName ?? '';
    for (const name of [
      `DNS:${os.hostname() || 'localhost'}`,
      'DNS:localhost',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
      'IP Address:2001:DB8:0:0:0:0:0:5',
    ]) {
      assert.ok(names.includes(name), `${name} in ${names}`);
    }
    assert.equal(x509.checkIP('2001:db8::5'), '2001:db8::5');
    assert.equal(x509.checkHost('localhost'), 'localhost');
  });

  void it('completes a TLS handshake for localhost with the generated pair', async () => {
    const pair = await ensureCertificate(join(dir, 'handshake'), logger);
    const tlsServer = createServer({ key: pair.key, cert: pair.cert }, (socket) => socket.end('hello'));
    server = tlsServer;
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    const address = tlsServer.address();
    assert.ok(typeof address === 'object' && address !== null);
    const received = await new Promise<string>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port: address.port, servername: 'localhost', ca: pair.cert },
        () => {
          let text = '';
          socket.setEncoding('utf8');
          socket.on('data', (chunk: string) => (text += chunk));
          socket.on('end', () => resolve(text));
        },
      );
      socket.on('error', reject);
    });
    assert.equal(received, 'hello');
    await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    server = undefined;
  });

  void it('refuses to replace half of an operator-supplied pair', async () => {
    const dataDir = join(dir, 'half');
    await mkdir(join(dataDir, 'tls'), { recursive: true });
    await writeFile(join(dataDir, 'tls', 'server.crt'), 'operator certificate');
    await assert.rejects(ensureCertificate(dataDir, logger), {
      code: 'VERBATIM_ERR_TLS_INCOMPLETE_PAIR',
      message: /server\.crt exists but .*server\.key does not/,
    });
  });
});
