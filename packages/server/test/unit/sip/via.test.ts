import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getHeader, type SipRequest } from '../../../src/protocol/sip/message.js';
import { salvageRequest } from '../../../src/sip/salvage.js';
import { annotateTopVia, responseDestination } from '../../../src/sip/via.js';

function request(via: string): SipRequest {
  return {
    type: 'request',
    method: 'OPTIONS',
    requestUri: 'sip:a@b',
    headers: [{ name: 'Via', value: via }],
    body: new Uint8Array(),
  };
}

const udpSource = { protocol: 'udp', address: '10.0.0.9', port: 40000 } as const;
const never = (): boolean => false;

describe('top Via handling (RFC 3261 §18.2.1, §18.2.2, RFC 3581)', () => {
  it('MUST add received when the sent-by host is a name or another address', () => {
    const annotated = annotateTopVia(
      request('SIP/2.0/UDP cucm.example.com:5060;branch=z9hG4bK1'),
      'cucm.example.com',
      udpSource,
    );
    assert.equal(
      getHeader(annotated, 'Via'),
      'SIP/2.0/UDP cucm.example.com:5060;branch=z9hG4bK1;received=10.0.0.9',
    );
  });

  it('adds nothing when sent-by is the source address and rport is absent', () => {
    const annotated = annotateTopVia(
      request('SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1'),
      '10.0.0.9',
      udpSource,
    );
    assert.equal(getHeader(annotated, 'Via'), 'SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1');
  });

  it('MUST fill an empty rport with the source port and add received', () => {
    const annotated = annotateTopVia(
      request('SIP/2.0/UDP 10.0.0.9:5060;rport;branch=z9hG4bK1'),
      '10.0.0.9',
      udpSource,
    );
    assert.equal(
      getHeader(annotated, 'Via'),
      'SIP/2.0/UDP 10.0.0.9:5060;rport=40000;branch=z9hG4bK1;received=10.0.0.9',
    );
  });

  it('sends UDP responses to the source port with rport, else to the sent-by port (default 5060)', () => {
    assert.deepEqual(responseDestination({ port: 5070, rport: true }, udpSource, never), {
      address: '10.0.0.9',
      port: 40000,
    });
    assert.deepEqual(responseDestination({ port: 5070, rport: false }, udpSource, never), {
      address: '10.0.0.9',
      port: 5070,
    });
    assert.deepEqual(responseDestination({ rport: false }, udpSource, never), {
      address: '10.0.0.9',
      port: 5060,
    });
  });

  it('reuses an open TCP connection, else connects to the sent-by port (5061 for TLS)', () => {
    const tcp = { protocol: 'tcp', address: '10.0.0.9', port: 51000 } as const;
    assert.deepEqual(
      responseDestination({ port: 5060, rport: false }, tcp, () => true),
      { address: '10.0.0.9', port: 51000 },
    );
    assert.deepEqual(responseDestination({ rport: false }, { ...tcp, protocol: 'tls' }, never), {
      address: '10.0.0.9',
      port: 5061,
    });
  });
});

describe('salvaging a malformed request for a 400 (RFC 3261 §18.3)', () => {
  const head = [
    'INVITE sip:1@127.0.0.1 SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1',
    'From: <sip:2@127.0.0.1>;tag=a',
    'To: <sip:1@127.0.0.1>',
    'Call-ID: abc',
    'CSeq: 1 INVITE',
  ];

  it('keeps the headers a response copies', () => {
    const salvaged = salvageRequest(Buffer.from([...head, 'Content-Length: 99', '', 'v=0'].join('\r\n')));
    assert.ok(salvaged, 'salvaged');
    assert.equal(salvaged.method, 'INVITE');
    assert.equal(getHeader(salvaged, 'Call-ID'), 'abc');
  });

  it('answers a request missing From, To or Call-ID: the Via and CSeq are enough to reach the client', () => {
    const salvaged = salvageRequest(Buffer.from([head[0], head[1], head[5], '', ''].join('\r\n')));
    assert.ok(salvaged, 'salvaged');
    assert.equal(getHeader(salvaged, 'Call-ID'), undefined);
    assert.equal(
      salvageRequest(Buffer.from([head[0], head[2], head[4], head[5], '', ''].join('\r\n'))),
      undefined,
    );
  });

  it('gives nothing for an ACK, a response, or a request missing CSeq', () => {
    assert.equal(
      salvageRequest(
        Buffer.from([...head.slice(0, 5), 'CSeq: 1 ACK'].join('\r\n').replace(/^INVITE/, 'ACK')),
      ),
      undefined,
    );
    assert.equal(salvageRequest(Buffer.from(['SIP/2.0 200 OK', ...head.slice(1)].join('\r\n'))), undefined);
    assert.equal(salvageRequest(Buffer.from(head.slice(0, 5).join('\r\n'))), undefined);
  });
});
