import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SipResponse } from '../../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../../src/protocol/sip/parse.js';
import { readMessageFields } from '../../../src/sip/message-fields.js';
import { TransactionTable, type Inbound } from '../../../src/sip/transaction-table.js';
import type { SipPeer } from '../../../src/sip/types.js';
import { FakeClock } from './support/fake-clock.js';
import { FakeTransport } from './support/fake-transport.js';
import { sipRequest, type RequestOptions } from './support/sip-messages.js';

const peer: SipPeer = { protocol: 'udp', address: '127.0.0.1', port: 5062 };

function harness(): {
  table: TransactionTable;
  clock: FakeClock;
  sent: SipResponse[];
  inbound: (o: Partial<RequestOptions>) => Inbound;
} {
  const clock = new FakeClock();
  const transport = new FakeTransport('udp', () => clock.now());
  const sent: SipResponse[] = [];
  const table = new TransactionTable({
    clock,
    sendResponse: (response) => {
      sent.push(response);
    },
    onAbsorbed: () => undefined,
    onNonTwoxxAckTimeout: () => undefined,
  });
  const inbound = (o: Partial<RequestOptions>): Inbound => {
    const parsed = parseSipMessage(
      Buffer.from(
        sipRequest({
          method: 'INVITE',
          viaPort: 5062,
          branch: 'z9hG4bKtable1',
          fromTag: 'f1',
          callId: 'c1@127.0.0.1',
          cseq: 1,
          ...o,
        }),
        'utf8',
      ),
    );
    assert.ok(parsed.ok && parsed.value.type === 'request');
    const fields = readMessageFields(parsed.value);
    assert.ok(fields.ok);
    return { request: parsed.value, fields: fields.value, source: peer, transport };
  };
  return { table, clock, sent, inbound };
}

describe('TransactionTable (RFC 3261 §17.2.3 matching)', () => {
  it('matches the ACK and the CANCEL of an INVITE by branch, and nothing with another branch', () => {
    const { table, inbound } = harness();
    const entry = table.createInvite(inbound({}));
    const ack = inbound({ method: 'ACK', toTag: 't1' });
    assert.equal(table.findServer(ack.fields, 'INVITE', ack.request), entry);
    const cancel = inbound({ method: 'CANCEL' });
    assert.equal(table.findServer(cancel.fields, 'INVITE', cancel.request), entry);
    assert.equal(table.findServer(cancel.fields, 'CANCEL', cancel.request), undefined);
    const other = inbound({ method: 'CANCEL', branch: 'z9hG4bKtable2' });
    assert.equal(table.findServer(other.fields, 'INVITE', other.request), undefined);
    table.close();
  });

  it('matches RFC 2543 peers (no magic cookie) by Request-URI, From tag, Call-ID, CSeq and Via', () => {
    const { table, inbound } = harness();
    const entry = table.createInvite(inbound({ branch: 'old1' }));
    const cancel = inbound({ method: 'CANCEL', branch: 'old1' });
    assert.equal(table.findServer(cancel.fields, 'INVITE', cancel.request), entry);
    const ack = inbound({ method: 'ACK', branch: 'old1', toTag: 't1' });
    assert.equal(table.findServer(ack.fields, 'INVITE', ack.request), entry, 'the To tag is not in the key');
    const otherUri = inbound({ method: 'CANCEL', branch: 'old1', requestUri: 'sip:other@127.0.0.1' });
    assert.equal(table.findServer(otherUri.fields, 'INVITE', otherUri.request), undefined);
    const otherSeq = inbound({ method: 'CANCEL', branch: 'old1', cseq: 2 });
    assert.equal(table.findServer(otherSeq.fields, 'INVITE', otherSeq.request), undefined);
    table.close();
  });

  it('counts server and client transactions and forgets a server transaction when it terminates', () => {
    const { table, clock, sent, inbound } = harness();
    const request = inbound({ method: 'OPTIONS' });
    const tx = table.createNonInvite(request);
    assert.equal(table.serverCount, 1);
    assert.equal(table.size, 1);
    tx.respond({ type: 'response', status: 200, reason: 'OK', headers: [], body: new Uint8Array(0) });
    assert.equal(sent.length, 1, 'the response goes out through the host');
    clock.advance(64 * 500);
    assert.equal(table.findServer(request.fields, 'OPTIONS', request.request), undefined);
    assert.equal(table.serverCount, 0);
    table.close();
    assert.equal(clock.pendingTimers, 0);
  });
});
