import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  dtmfDigitOf,
  parseTelephoneEvent,
  serializeTelephoneEvent,
} from '../../../../src/protocol/rtp/telephone-event.js';

void describe('parseTelephoneEvent', () => {
  void it('reads event, end bit, volume and duration (RFC 4733 §2.3)', () => {
    // From sipp's dtmf_2833_1.pcap: digit 1, volume 10, then the end packet at duration 0x08c0.
    const start = parseTelephoneEvent(Uint8Array.from([0x01, 0x0a, 0x00, 0x00]));
    assert.deepEqual(start, { ok: true, value: { event: 1, end: false, volume: 10, duration: 0 } });
    const end = parseTelephoneEvent(Uint8Array.from([0x01, 0x8a, 0x08, 0xc0]));
    assert.deepEqual(end, { ok: true, value: { event: 1, end: true, volume: 10, duration: 0x08c0 } });
  });

  void it('ignores the reserved bit and reads only the first block of a longer payload', () => {
    const parsed = parseTelephoneEvent(Uint8Array.from([0x0b, 0x7f, 0xff, 0xff, 0x05, 0x80, 0, 1]));
    assert.deepEqual(parsed, { ok: true, value: { event: 11, end: false, volume: 63, duration: 0xffff } });
  });

  void it('returns VERBATIM_ERR_RTP_EVENT_TOO_SHORT for fewer than 4 bytes', () => {
    for (const length of [0, 1, 3]) {
      const parsed = parseTelephoneEvent(new Uint8Array(length));
      assert.ok(!parsed.ok);
      assert.equal(parsed.error.code, 'VERBATIM_ERR_RTP_EVENT_TOO_SHORT');
    }
  });

  void it('round-trips through serializeTelephoneEvent', () => {
    const event = { event: 16, end: true, volume: 20, duration: 1234 };
    assert.deepEqual(parseTelephoneEvent(serializeTelephoneEvent(event)), { ok: true, value: event });
  });
});

void describe('dtmfDigitOf', () => {
  void it('maps the RFC 4733 §3.2 codes 0-16 and nothing else', () => {
    const digits = Array.from({ length: 17 }, (_, code) => dtmfDigitOf(code));
    // Written out independently of the source table, so that a wrong entry there is caught.
    assert.deepEqual(digits, [...Array.from('0123456789*#ABCD'), 'flash']);
    assert.equal(dtmfDigitOf(17), undefined);
    assert.equal(dtmfDigitOf(32), undefined);
    assert.equal(dtmfDigitOf(-1), undefined);
  });
});
