import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';

import {
  aesCmKeystream,
  checkSrtpParams,
  createSrtpKeyAndSalt,
  deriveSrtpSessionKeys,
  estimateIndex,
  SRTP_DROP_AUTH,
  SRTP_DROP_MALFORMED,
  SRTP_DROP_REPLAY,
  SrtpReceiveContext,
  SrtpSendContext,
  type SrtpParams,
} from '../../../src/media/srtp.js';
import { serializeRtpPacket } from '../../../src/protocol/rtp/rtp-packet.js';
import type { SrtpSuite } from '../../../src/protocol/sdp/sdes.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// RFC 3711 Appendix B.3.
const B3_MASTER_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const B3_MASTER_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');

function params(suite: SrtpSuite = 'AES_CM_128_HMAC_SHA1_80', extra: Partial<SrtpParams> = {}): SrtpParams {
  return { suite, masterKey: B3_MASTER_KEY, masterSalt: B3_MASTER_SALT, ...extra };
}

function rtp(
  seq: number,
  options: { ssrc?: number; payload?: Uint8Array; csrcs?: number[] } = {},
): Uint8Array {
  const payload = options.payload ?? new Uint8Array(160).map((_, i) => (seq + i * 7) & 0xff);
  return serializeRtpPacket(
    {
      marker: false,
      payloadType: 8,
      sequenceNumber: seq & 0xffff,
      timestamp: (seq * 160) >>> 0,
      ssrc: options.ssrc ?? 0x11223344,
      ...(options.csrcs === undefined ? {} : { csrcs: options.csrcs }),
    },
    payload,
  );
}

/** Unprotects a copy (unprotect decrypts in place) and returns the outcome and the plain bytes. */
function receive(context: SrtpReceiveContext, srtp: Uint8Array): { length: number; plain: Buffer } {
  const copy = Buffer.from(srtp);
  const length = context.unprotect(copy);
  return { length, plain: length >= 0 ? copy.subarray(0, length) : Buffer.alloc(0) };
}

void describe('SRTP key derivation and keystream (RFC 3711 Appendix B)', () => {
  void it('derives the B.3 session encryption key, salt and authentication key', () => {
    const keys = deriveSrtpSessionKeys(B3_MASTER_KEY, B3_MASTER_SALT);
    assert.equal(keys.encryptionKey.toString('hex'), 'c61e7a93744f39ee10734afe3ff7a087');
    assert.equal(keys.salt.toString('hex'), '30cbbc08863d8c85d49db34a9ae1');
    assert.equal(keys.authKey.toString('hex'), 'cebe321f6ff7716b6fd4ab49af256a156d38baa4');
  });

  void it('produces the B.2 AES-CM keystream, including the carry at block 0xFF00', () => {
    const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
    const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
    const keystream = aesCmKeystream(key, iv, 0xff02 * 16);
    const block = (n: number): string => keystream.subarray(n * 16, n * 16 + 16).toString('hex');
    assert.equal(block(0x0000), 'e03ead0935c95e80e166b16dd92b4eb4');
    assert.equal(block(0x0001), 'd23513162b02d0f72a43a2fe4a5f97ab');
    assert.equal(block(0x0002), '41e95b3bb0a2e8dd477901e4fca894c0');
    assert.equal(block(0xfeff), 'ec8cdf7398607cb0f2d21675ea9ea1e4');
    assert.equal(block(0xff00), '362b7c3c6773516318a077d7fc5073ae');
    assert.equal(block(0xff01), '6a2cc3787889374fbeb4c81b17ba6c44');
  });
});

void describe('SrtpSendContext', () => {
  void it('matches an independent AES-128-CTR and HMAC-SHA1 computation of the same packet', () => {
    const ssrc = 0xdeadbeef;
    const seq = 0x1234;
    const plain = rtp(seq, { ssrc });
    const srtp = new SrtpSendContext(params()).protect(plain, 3);
    const keys = deriveSrtpSessionKeys(B3_MASTER_KEY, B3_MASTER_SALT);
    // IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), RFC 3711 §4.1.1.
    const iv = Buffer.alloc(16);
    keys.salt.copy(iv, 0);
    iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    const index = 3 * 65536 + seq;
    const indexBytes = Buffer.alloc(6);
    indexBytes.writeUIntBE(index, 0, 6);
    for (let i = 0; i < 6; i++) {
      iv[8 + i] = (iv[8 + i] ?? 0) ^ (indexBytes[i] ?? 0);
    }
    const cipher = createCipheriv('aes-128-ctr', keys.encryptionKey, iv);
    const encrypted = cipher.update(plain.subarray(12));
    assert.deepEqual(srtp.subarray(12, plain.length), encrypted);
    assert.deepEqual(srtp.subarray(0, 12), Buffer.from(plain.subarray(0, 12)));
    const roc = Buffer.alloc(4);
    roc.writeUInt32BE(3);
    const tag = createHmac('sha1', keys.authKey)
      .update(srtp.subarray(0, plain.length))
      .update(roc)
      .digest()
      .subarray(0, 10);
    assert.deepEqual(srtp.subarray(plain.length), tag);
    assert.equal(srtp.length, plain.length + 10);
  });
});

void describe('SrtpReceiveContext', () => {
  for (const [suite, tagBytes] of [
    ['AES_CM_128_HMAC_SHA1_80', 10],
    ['AES_CM_128_HMAC_SHA1_32', 4],
  ] as const) {
    void it(`round-trips ${suite} packets (tag of ${tagBytes} bytes)`, () => {
      const sender = new SrtpSendContext(params(suite));
      const receiver = new SrtpReceiveContext(params(suite));
      for (let seq = 100; seq < 110; seq++) {
        const plain = rtp(seq, { csrcs: seq === 105 ? [1, 2] : [] });
        const srtp = sender.protect(plain);
        assert.equal(srtp.length, plain.length + tagBytes);
        assert.notDeepEqual(srtp.subarray(12, plain.length), Buffer.from(plain.subarray(12)));
        const { length, plain: decrypted } = receive(receiver, srtp);
        assert.equal(length, plain.length);
        assert.deepEqual(decrypted, Buffer.from(plain));
      }
    });
  }

  void it('rejects a tampered payload, header or tag without moving its state', () => {
    const sender = new SrtpSendContext(params());
    const receiver = new SrtpReceiveContext(params());
    assert.equal(receive(receiver, sender.protect(rtp(1))).length, 172);
    const good = sender.protect(rtp(2));
    for (const offset of [1, 5, 20, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[offset] = (bad[offset] ?? 0) ^ 0x01;
      assert.equal(receive(receiver, bad).length, SRTP_DROP_AUTH, `byte ${offset} flipped`);
    }
    // A forged packet far ahead must not have advanced the window: the genuine one still passes.
    const forged = Buffer.from(sender.protect(rtp(3)));
    forged[3] = 0x50;
    assert.equal(receive(receiver, forged).length, SRTP_DROP_AUTH);
    assert.equal(receive(receiver, good).length, 172);
  });

  void it('rejects every packet under a wrong key', () => {
    const sender = new SrtpSendContext(params());
    const wrongKey = Buffer.from(B3_MASTER_KEY);
    wrongKey[0] = (wrongKey[0] ?? 0) ^ 0xff;
    const receiver = new SrtpReceiveContext(params('AES_CM_128_HMAC_SHA1_80', { masterKey: wrongKey }));
    for (let seq = 0; seq < 5; seq++) {
      assert.equal(receive(receiver, sender.protect(rtp(seq))).length, SRTP_DROP_AUTH);
    }
  });

  void it('drops replays and packets older than the 64-packet window, accepts late packets within it', () => {
    const sender = new SrtpSendContext(params());
    const receiver = new SrtpReceiveContext(params());
    const packets = new Map<number, Buffer>();
    for (let seq = 1000; seq < 1100; seq++) {
      packets.set(seq, sender.protect(rtp(seq)));
    }
    const at = (seq: number): Buffer => packets.get(seq) ?? assert.fail(`no packet ${seq}`);
    assert.ok(receive(receiver, at(1000)).length > 0);
    assert.equal(receive(receiver, at(1000)).length, SRTP_DROP_REPLAY);
    assert.ok(receive(receiver, at(1070)).length > 0);
    // 1010 is 60 behind the highest (1070): late but inside the window, and new.
    assert.ok(receive(receiver, at(1010)).length > 0);
    assert.equal(receive(receiver, at(1010)).length, SRTP_DROP_REPLAY);
    // 1006 is 64 behind: outside the window, even though never received.
    assert.equal(receive(receiver, at(1006)).length, SRTP_DROP_REPLAY);
    assert.equal(receive(receiver, at(1070)).length, SRTP_DROP_REPLAY);
    assert.ok(receive(receiver, at(1071)).length > 0);
  });

  void it('follows the rollover counter across a sequence number wrap, also for late packets', () => {
    const sender = new SrtpSendContext(params());
    const receiver = new SrtpReceiveContext(params());
    const sent: { seq: number; srtp: Buffer; plain: Uint8Array }[] = [];
    for (let n = 65530; n < 65542; n++) {
      const plain = rtp(n);
      sent.push({ seq: n & 0xffff, srtp: sender.protect(plain), plain });
    }
    // Deliver 65530–65533, then jump past the wrap, then the late 65534/65535 (ROC 0 again).
    const order = [0, 1, 2, 3, 7, 8, 4, 5, 6, 9, 10, 11];
    for (const i of order) {
      const packet = sent[i] ?? assert.fail(`no packet ${i}`);
      const { length, plain } = receive(receiver, packet.srtp);
      assert.equal(length, packet.plain.length, `seq ${packet.seq}`);
      assert.deepEqual(plain, Buffer.from(packet.plain));
    }
  });

  void it('checks the MKI and rejects a packet carrying another one', () => {
    const withMki = params('AES_CM_128_HMAC_SHA1_32', { mki: Uint8Array.from([0, 7]) });
    const sender = new SrtpSendContext(withMki);
    const receiver = new SrtpReceiveContext(withMki);
    const srtp = sender.protect(rtp(1));
    assert.equal(srtp.length, 172 + 2 + 4);
    assert.equal(receive(receiver, srtp).length, 172);
    const other = new SrtpSendContext({ ...withMki, mki: Uint8Array.from([0, 8]) }).protect(rtp(2));
    assert.equal(receive(receiver, other).length, SRTP_DROP_AUTH);
  });

  void it('calls too short or non-RTP datagrams malformed', () => {
    const receiver = new SrtpReceiveContext(params());
    assert.equal(receiver.unprotect(new Uint8Array(21)), SRTP_DROP_MALFORMED);
    const notRtp = new Uint8Array(40);
    assert.equal(receiver.unprotect(notRtp), SRTP_DROP_MALFORMED);
    // An extension header claiming more words than the packet holds.
    const overrun = Buffer.from(new SrtpSendContext(params()).protect(rtp(1)));
    overrun[0] = 0x90;
    overrun.writeUInt16BE(0x4000, 14);
    assert.equal(receiver.unprotect(overrun), SRTP_DROP_MALFORMED);
  });

  void it('keeps its state for the same key, and continues the ROC under a new key', () => {
    const receiver = new SrtpReceiveContext(params());
    const oldSender = new SrtpSendContext(params());
    const first = oldSender.protect(rtp(5));
    assert.ok(receive(receiver, first).length > 0);
    receiver.rekey(params());
    assert.equal(receive(receiver, first).length, SRTP_DROP_REPLAY);
    const newKey = createSrtpKeyAndSalt();
    const newParams = params('AES_CM_128_HMAC_SHA1_80', {
      masterKey: newKey.subarray(0, 16),
      masterSalt: newKey.subarray(16),
    });
    receiver.rekey(newParams);
    assert.equal(receive(receiver, oldSender.protect(rtp(6))).length, SRTP_DROP_AUTH);
    assert.equal(receive(receiver, new SrtpSendContext(newParams).protect(rtp(7))).length, 172);
  });

  void it('keeps a separate sequence space per SSRC', () => {
    const sender = new SrtpSendContext(params());
    const receiver = new SrtpReceiveContext(params());
    assert.ok(receive(receiver, sender.protect(rtp(40000, { ssrc: 1 }))).length > 0);
    assert.ok(receive(receiver, sender.protect(rtp(10, { ssrc: 2 }))).length > 0);
    assert.ok(receive(receiver, sender.protect(rtp(40001, { ssrc: 1 }))).length > 0);
    assert.ok(receive(receiver, sender.protect(rtp(11, { ssrc: 2 }))).length > 0);
  });
});

void describe('estimateIndex (RFC 3711 Appendix A)', () => {
  void it('guesses ROC - 1, ROC or ROC + 1 by distance to the highest sequence number', () => {
    assert.equal(estimateIndex(100, 101), 101);
    assert.equal(estimateIndex(65535, 2), 65536 + 2);
    assert.equal(estimateIndex(65536 + 3, 65534), 65534);
    assert.equal(estimateIndex(3 * 65536 + 40000, 39000), 3 * 65536 + 39000);
    assert.equal(estimateIndex(10, 65000), -536);
  });
});

void describe('checkSrtpParams', () => {
  void it('accepts the B.3 keys and names what is wrong otherwise', () => {
    assert.equal(checkSrtpParams(params()), undefined);
    assert.match(
      checkSrtpParams(params('AES_CM_128_HMAC_SHA1_80', { masterKey: new Uint8Array(15) })) ?? '',
      /16/,
    );
    assert.match(
      checkSrtpParams(params('AES_CM_128_HMAC_SHA1_80', { masterSalt: new Uint8Array(16) })) ?? '',
      /14/,
    );
    assert.match(checkSrtpParams({ ...params(), suite: 'F8_128_HMAC_SHA1_80' as SrtpSuite }) ?? '', /suite/);
    assert.equal(createSrtpKeyAndSalt().length, 30);
  });
});
