import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { getHeader, getHeaders, type SipResponse } from '../../src/protocol/sip/message.js';
import { buildNodeMetrics } from '../../src/api/metrics-route.js';
import { MAX_SIP_MESSAGE_BYTES } from '../../src/protocol/sip/errors.js';
import { zeroCounters } from '../../src/recording/live-session.js';
import {
  MAX_SIP_HEADER_FIELD_CHARS,
  MAX_SIP_HEADER_FIELDS,
  MAX_SIP_VIAS,
} from '../../src/sip/message-limits.js';
import type { SipServer } from '../../src/sip/sip-server.js';
import type { IncomingInvite } from '../../src/sip/types.js';
import { FakeClock } from '../unit/sip/support/fake-clock.js';
import { acceptWithOffer, loopbackSipServer, toTagOf } from '../unit/sip/support/loopback-sip-server.js';
import { TcpClient, UdpClient } from '../unit/sip/support/raw-clients.js';
import { CallScript, OFFER_SDP, freshOptions } from '../unit/sip/support/sip-messages.js';
import { waitFor } from '../support/wait.js';

/** The counter after `before`, once it moved by `by`. */
async function counterMoves(server: SipServer, name: string, from: number, by: number): Promise<void> {
  await waitFor(() => (server.counters()[name] ?? 0) >= from + by, {
    timeoutMs: 3000,
    what: `${name} to reach ${from + by} (is ${server.counters()[name] ?? 0})`,
  });
  assert.equal(server.counters()[name], from + by, name);
}

/** The final response to the request with CSeq `seq` (each test uses its own CSeq number). */
async function finalResponse(
  client: UdpClient | TcpClient,
  seq: number,
  status: number,
): Promise<SipResponse> {
  return waitFor(
    () =>
      client.received
        .map((r) => r.message)
        .find(
          (m): m is SipResponse =>
            m.type === 'response' && m.status === status && getHeader(m, 'CSeq') === `${seq} INVITE`,
        ),
    { timeoutMs: 3000, intervalMs: 10, what: `${status} to CSeq ${seq}` },
  );
}

function statusLine(response: SipResponse): string {
  return `${response.status} ${response.reason}`;
}

describe('SIP input limits over real sockets', () => {
  let server: SipServer;
  let port = 0;
  let client: UdpClient;

  before(async () => {
    server = loopbackSipServer({ onInvite: (invite) => acceptWithOffer(invite, {}) });
    port = (await server.start()).udpPort;
    client = await UdpClient.open();
  });

  after(async () => {
    await client.close();
    await server.close();
  });

  it(`answers 400 "Too Many Header Fields" to a request with more than ${MAX_SIP_HEADER_FIELDS} header values`, async () => {
    const before = server.counters().overLimitHeaderFields ?? 0;
    const extra = Array.from({ length: MAX_SIP_HEADER_FIELDS }, (_, i) => `X-Filler-${i}: ${i}`);
    await client.send(new CallScript(client.port).invite({ cseq: 101, extraHeaders: extra }), port);
    const answer = await finalResponse(client, 101, 400);
    assert.equal(statusLine(answer), '400 Too Many Header Fields');
    assert.match(getHeader(answer, 'Warning') ?? '', /^399 127\.0\.0\.1 ".*at most 256"/);
    await counterMoves(server, 'overLimitHeaderFields', before, 1);
  });

  it(`answers 400 "Too Many Via Header Fields" past ${MAX_SIP_VIAS} Vias, the list form counted by value`, async () => {
    const before = server.counters().overLimitVias ?? 0;
    const proxies = Array.from(
      { length: MAX_SIP_VIAS },
      (_, i) => `SIP/2.0/UDP 10.9.${i >> 8}.${i & 255};branch=z9hG4bKp${i}`,
    );
    const request = new CallScript(client.port).invite({
      cseq: 102,
      extraHeaders: [`Via: ${proxies.join(', ')}`],
    });
    await client.send(request, port);
    const answer = await finalResponse(client, 102, 400);
    assert.equal(statusLine(answer), '400 Too Many Via Header Fields');
    await counterMoves(server, 'overLimitVias', before, 1);
  });

  it(`answers 400 "Header Field Too Long" to a header field over ${MAX_SIP_HEADER_FIELD_CHARS} characters`, async () => {
    const before = server.counters().overLimitHeaderFieldLength ?? 0;
    const long = `X-Long: ${'a'.repeat(MAX_SIP_HEADER_FIELD_CHARS)}`;
    await client.send(new CallScript(client.port).invite({ cseq: 103, extraHeaders: [long] }), port);
    const answer = await finalResponse(client, 103, 400);
    assert.equal(statusLine(answer), '400 Header Field Too Long');
    await counterMoves(server, 'overLimitHeaderFieldLength', before, 1);
  });

  it('answers 400 "Bad Content-Length" when Content-Length says more than the datagram holds', async () => {
    const before = server.counters();
    const call = new CallScript(client.port);
    const request = call
      .invite({ cseq: 104, body: OFFER_SDP })
      .replace(/Content-Length: \d+/, `Content-Length: ${OFFER_SDP.length + 50}`);
    await client.send(request, port);
    const answer = await finalResponse(client, 104, 400);
    assert.equal(statusLine(answer), '400 Bad Content-Length');
    assert.match(getHeader(answer, 'Warning') ?? '', /larger than the \d+ bytes received/);
    await counterMoves(server, 'malformed', before.malformed ?? 0, 1);
    assert.equal(server.counters().badRequestsAnswered, (before.badRequestsAnswered ?? 0) + 1);
  });

  it('names a missing mandatory header in the 400 reason phrase; without a Via nothing can be answered', async () => {
    const before = server.counters();
    const noCallId = new CallScript(client.port).invite({ cseq: 105 }).replace(/Call-ID: [^\r]*\r\n/, '');
    await client.send(noCallId, port);
    // The 400 has no Call-ID to copy (§8.2.6.2), so the strict parser refuses it: read it raw.
    const answer = await waitFor(() => client.raw.find((m) => m.includes('CSeq: 105 INVITE')), {
      timeoutMs: 3000,
      what: 'the 400',
    });
    assert.match(answer, /^SIP\/2\.0 400 Missing Call-ID Header Field\r\n/);
    const noVia = new CallScript(client.port).invite({ cseq: 106 }).replace(/Via: [^\r]*\r\n/, '');
    await client.send(noVia, port);
    await counterMoves(server, 'malformed', before.malformed ?? 0, 2);
    assert.equal(server.counters().dropped, (before.dropped ?? 0) + 1, 'the Via-less request is dropped');
  });

  it('parses a datagram of the largest UDP size: a datagram cannot exceed the 64 KiB cap', async () => {
    // IPv4 UDP carries at most 65,507 bytes, under MAX_SIP_MESSAGE_BYTES (65,536): over UDP the
    // cap never triggers, so the 413 answer is for streams (next test).
    assert.ok(65_507 < MAX_SIP_MESSAGE_BYTES);
    const filler = `X-Filler: ${'b'.repeat(7000)}`;
    const request = new CallScript(client.port).invite({ cseq: 107, extraHeaders: Array(9).fill(filler) });
    assert.ok(Buffer.byteLength(request) > 63_000 && Buffer.byteLength(request) < 65_507);
    await client.send(request, port);
    await finalResponse(client, 107, 200);
  });

  it('answers 413 to a TCP message whose Content-Length takes it over the cap, then closes the connection', async () => {
    const before = server.counters();
    const tcp = await TcpClient.connect(port);
    const call = new CallScript(tcp.port, 'TCP');
    const head = call
      .invite({ cseq: 108 })
      .replace('Content-Length: 0', `Content-Length: ${MAX_SIP_MESSAGE_BYTES}`);
    await tcp.send(head);
    const answer = await finalResponse(tcp, 108, 413);
    assert.equal(statusLine(answer), '413 Request Entity Too Large');
    await waitFor(() => tcp.closedByPeer, { timeoutMs: 3000, what: 'the connection closed' });
    assert.equal(server.counters()['tcp.framingErrors'], (before['tcp.framingErrors'] ?? 0) + 1);
    assert.equal(server.counters().malformed, (before.malformed ?? 0) + 1);
    tcp.close();
  });

  it('answers 400 "Bad Content-Length" to a TCP message without Content-Length, then closes the connection', async () => {
    const before = server.counters()['tcp.framingErrors'] ?? 0;
    const tcp = await TcpClient.connect(port);
    const call = new CallScript(tcp.port, 'TCP');
    await tcp.send(call.invite({ cseq: 109 }).replace('Content-Length: 0\r\n', ''));
    const answer = await finalResponse(tcp, 109, 400);
    assert.equal(statusLine(answer), '400 Bad Content-Length');
    assert.match(getHeader(answer, 'Warning') ?? '', /mandatory on stream transports/);
    await waitFor(() => tcp.closedByPeer, { timeoutMs: 3000, what: 'the connection closed' });
    assert.equal(server.counters()['tcp.framingErrors'], before + 1);
    tcp.close();
  });

  it('closes without an answer a TCP stream whose header section never ends within the cap', async () => {
    const before = server.counters()['tcp.framingErrors'] ?? 0;
    const tcp = await TcpClient.connect(port);
    await tcp.send(`INVITE sip:a@127.0.0.1 SIP/2.0\r\nX-Endless: ${'c'.repeat(MAX_SIP_MESSAGE_BYTES)}`);
    await waitFor(() => tcp.closedByPeer, { timeoutMs: 3000, what: 'the connection closed' });
    assert.equal(tcp.received.length, 0);
    assert.equal(server.counters()['tcp.framingErrors'], before + 1);
    tcp.close();
  });
});

describe('per-source limit on new-dialog INVITEs over real UDP', () => {
  let server: SipServer;
  let port = 0;
  const clock = new FakeClock();
  const invites: IncomingInvite[] = [];

  before(async () => {
    clock.advance(1_000_000);
    server = loopbackSipServer(
      {
        onInvite: (invite) => {
          invites.push(invite);
          acceptWithOffer(invite, {});
        },
      },
      // 1 a second, a burst of 2; the clock stands still, so no token comes back during the test.
      { sourceInviteRate: 1, clock },
    );
    port = (await server.start()).udpPort;
  });

  after(async () => {
    await server.close();
  });

  it('answers a burst over the limit 503 with Retry-After, leaves another source alone and charges no retransmission', async () => {
    const flooder = await UdpClient.open('127.0.0.1');
    const other = await UdpClient.open('127.0.0.2');
    try {
      const first = new CallScript(flooder.port);
      await flooder.send(first.invite(), port);
      const ok = await flooder.waitForResponse(200, 'INVITE');
      // Retransmissions of the accepted INVITE (same branch) are absorbed, never charged.
      const absorbed = server.counters().retransmissionsAbsorbed ?? 0;
      for (let i = 0; i < 5; i++) {
        await flooder.send(first.invite(), port);
      }
      await counterMoves(server, 'retransmissionsAbsorbed', absorbed, 5);
      assert.equal(invites.filter((i) => i.callId === first.callId).length, 1);
      await flooder.send(first.ackFor2xx(toTagOf(ok)), port);

      const second = new CallScript(flooder.port);
      await flooder.send(second.invite(), port);
      await waitFor(() => invites.some((i) => i.callId === second.callId), {
        timeoutMs: 3000,
        what: 'the 2nd call',
      });
      assert.equal(server.counters().sourceRateLimited ?? 0, 0, 'the burst of 2 took both new calls');

      const refused = [
        new CallScript(flooder.port),
        new CallScript(flooder.port),
        new CallScript(flooder.port),
      ];
      for (const call of refused) {
        await flooder.send(call.invite(), port);
      }
      const busy = await flooder.waitForResponse(503, 'INVITE', 3);
      assert.equal(getHeader(busy, 'Retry-After'), '1');
      assert.equal(server.counters().sourceRateLimited, 3);
      assert.equal(
        invites.filter((i) => refused.some((c) => c.callId === i.callId)).length,
        0,
        'refused INVITEs never reach the delegate',
      );
      assert.equal(
        flooder
          .responses(100, 'INVITE')
          .filter((r) => refused.some((c) => getHeader(r, 'Call-ID') === c.callId)).length,
        0,
      );

      const elsewhere = new CallScript(other.port);
      await other.send(elsewhere.invite(), port);
      const accepted = await other.waitForResponse(200, 'INVITE');
      assert.equal(getHeader(accepted, 'Call-ID'), elsewhere.callId);
      assert.ok(getHeaders(accepted, 'Via')[0]?.includes('received=127.0.0.2'));
      assert.equal(server.counters().sourceRateLimited, 3, 'the other source was not limited');

      // The refusals reach /metrics by reason.
      const metrics = buildNodeMetrics({
        recordingCounters: () => zeroCounters(),
        activeSessions: () => 0,
        admission: () => ({ level: 'open', refusals: {}, entered: [] }),
        mediaCounters: () => undefined,
        sipCounters: () => server.counters(),
      });
      assert.match(await metrics.scrape(), /^verbatim_sip_refused_total\{reason="source_rate_limited"\} 3$/m);

      // Requests inside a dialog are never charged: OPTIONS and BYE pass while the source is limited.
      await flooder.send(freshOptions(flooder.port), port);
      await flooder.waitForResponse(200, 'OPTIONS');
      await flooder.send(first.inDialog('BYE', toTagOf(ok), 102), port);
      await flooder.waitForResponse(200, 'BYE');
      assert.equal(server.counters().sourceRateLimited, 3);
    } finally {
      await flooder.close();
      await other.close();
    }
  });
});

describe('log lines under a flood of malformed datagrams', () => {
  it('logs a bounded number of warn lines, counting every datagram, without a stack', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'debug' },
      {
        write(line: string): void {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        },
      },
    );
    const server = loopbackSipServer({ onInvite: (invite) => acceptWithOffer(invite, {}) }, { logger });
    const port = (await server.start()).udpPort;
    const client = await UdpClient.open();
    const flood = 2000;
    const startedAt = Date.now();
    try {
      lines.length = 0;
      for (let i = 0; i < flood; i++) {
        const junk =
          i % 2 === 0
            ? Buffer.from(`GARBAGE ${i}\r\n\r\n`)
            : new CallScript(client.port).invite({ cseq: i }).replace(/CSeq: [^\r]*/, 'CSeq: x INVITE');
        await client.send(junk, port);
      }
      await waitFor(() => (server.counters().malformed ?? 0) >= flood, {
        timeoutMs: 10_000,
        what: 'every datagram counted',
      });
      await client.send(freshOptions(client.port), port);
      await client.waitForResponse(200, 'OPTIONS');
    } finally {
      await client.close();
      await server.close();
    }
    const seconds = Math.ceil((Date.now() - startedAt) / 1000);
    assert.equal(server.counters().malformed, flood);
    const warns = lines.filter((l) => l.level === 40);
    // Two reasons (a bad start line, a bad CSeq): one line each a second, plus the flush at close.
    assert.ok(warns.length <= 2 * (seconds + 2), `${warns.length} warn lines in ${seconds} s`);
    assert.ok(warns.length >= 2);
    const counted = warns.reduce((sum, l) => sum + (typeof l.count === 'number' ? l.count : 0), 0);
    assert.equal(counted, flood, 'the lines count every malformed datagram');
    assert.ok(
      lines.every((l) => l.level !== 50 && l.err === undefined),
      'no error line, no stack',
    );
  });
});
