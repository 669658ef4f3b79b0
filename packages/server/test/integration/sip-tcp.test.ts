import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { getHeader, type SipRequest } from '../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../src/protocol/sip/parse.js';
import { SipStreamFramer } from '../../src/protocol/sip/framer.js';
import { decodeUtf8 } from '../../src/protocol/text.js';
import type { SipServer } from '../../src/sip/sip-server.js';
import { acceptWithOffer, loopbackSipServer, toTagOf } from '../unit/sip/support/loopback-sip-server.js';
import { TcpClient } from '../unit/sip/support/raw-clients.js';
import { waitFor } from '../support/wait.js';
import { ANSWER_SDP, CallScript, freshOptions } from '../unit/sip/support/sip-messages.js';

describe('SIP server over real TCP and TLS connections', () => {
  let server: SipServer;
  let tcpPort = 0;
  let tlsPort = 0;
  let certDir = '';
  let certPem = '';
  const clients: TcpClient[] = [];
  const acks: SipRequest[] = [];

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'verbatim-sip-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(certDir, 'key.pem'),
        '-out',
        join(certDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    certPem = readFileSync(join(certDir, 'cert.pem'), 'utf8');
    server = loopbackSipServer(
      { onInvite: (invite) => acceptWithOffer(invite, { onAck: (ack) => acks.push(ack) }) },
      { tls: { port: 0, key: readFileSync(join(certDir, 'key.pem'), 'utf8'), cert: certPem } },
    );
    const ports = await server.start();
    tcpPort = ports.tcpPort;
    tlsPort = ports.tlsPort ?? 0;
  });

  after(async () => {
    await server.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  afterEach(() => {
    for (const client of clients.splice(0)) {
      client.close();
    }
  });

  async function connect(): Promise<TcpClient> {
    const client = await TcpClient.connect(tcpPort);
    clients.push(client);
    return client;
  }

  it('frames an INVITE split across writes and answers over the same connection', async () => {
    const client = await connect();
    const call = new CallScript(client.port, 'TCP');
    const invite = call.invite();
    for (const [start, end] of [
      [0, 7],
      [7, 120],
      [120, invite.length],
    ] as const) {
      await client.send(invite.slice(start, end));
    }
    await client.waitForResponse(100, 'INVITE');
    const ok = await client.waitForResponse(200, 'INVITE');
    assert.equal(getHeader(ok, 'Contact'), `<sip:verbatim@127.0.0.1:${tcpPort};transport=tcp>`);
    await client.send(call.ackFor2xx(toTagOf(ok), ANSWER_SDP));
    const ack = await waitFor(() => acks.find((a) => getHeader(a, 'Call-ID') === call.callId), {
      timeoutMs: 2000,
      what: 'onAck',
    });
    assert.equal(decodeUtf8(ack.body), ANSWER_SDP);
  });

  it('answers two messages that arrive in one write', async () => {
    const client = await connect();
    await client.send(freshOptions(client.port, 'TCP') + freshOptions(client.port, 'TCP'));
    await client.waitForResponse(200, 'OPTIONS', 2);
  });

  it('closes a connection whose Content-Length is bad while other connections keep working', async () => {
    const bad = await connect();
    const good = await connect();
    await bad.send(freshOptions(bad.port, 'TCP').replace('Content-Length: 0', 'Content-Length: abc'));
    await waitFor(() => bad.closedByPeer, { timeoutMs: 2000, what: 'server closing the bad connection' });
    assert.ok((server.counters()['tcp.framingErrors'] ?? 0) >= 1, 'framing error counted');
    await good.send(freshOptions(good.port, 'TCP'));
    await good.waitForResponse(200, 'OPTIONS');
  });

  it('answers OPTIONS over TLS', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: certPem });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      const framer = new SipStreamFramer();
      const statuses: number[] = [];
      socket.on('data', (chunk: Buffer) => {
        for (const frame of framer.push(chunk)) {
          const parsed = frame.ok ? parseSipMessage(frame.bytes) : undefined;
          if (parsed?.ok === true && parsed.value.type === 'response') {
            statuses.push(parsed.value.status);
          }
        }
      });
      socket.write(freshOptions(socket.localPort ?? 0, 'TLS'));
      await waitFor(() => statuses.includes(200), { timeoutMs: 3000, what: '200 over TLS' });
    } finally {
      socket.destroy();
    }
  });
});
