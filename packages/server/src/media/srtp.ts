import { createCipheriv, createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Cipher, KeyObject } from 'node:crypto';

import {
  SRTP_MASTER_KEY_BYTES,
  SRTP_MASTER_SALT_BYTES,
  SRTP_SUITES,
  type SrtpSuite,
} from '../protocol/sdp/sdes.js';

/**
 * SRTP, RFC 3711 (https://www.rfc-editor.org/rfc/rfc3711), for the two SDES suites
 * AES_CM_128_HMAC_SHA1_80 and _32: AES-128 in counter mode for the payload, HMAC-SHA1 over
 * header, payload and rollover counter, truncated to 80 or 32 bits, session keys derived once
 * with a key derivation rate of 0. The recorder only receives: `SrtpReceiveContext` checks and
 * decrypts; `SrtpSendContext` exists for tests and tools.
 *
 *     0                   1                   2                   3
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+<+
 *    |V=2|P|X|  CC   |M|     PT      |       sequence number         | |
 *    |                           timestamp                           | |
 *    |           synchronization source (SSRC) identifier            | |
 *    |                       ... CSRC, extension ...                 | |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |
 *  +>|                         payload  ...                          | |
 *  | |                       ... padding, count                      | |
 *  | +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+<+
 *  | ~                     SRTP MKI (OPTIONAL)                       ~ |
 *  | :                 authentication tag (RECOMMENDED)              : |
 *  +- Encrypted Portion                       Authenticated Portion ---+
 */

export interface SrtpParams {
  readonly suite: SrtpSuite;
  /** 16 bytes. */
  readonly masterKey: Uint8Array;
  /** 14 bytes. */
  readonly masterSalt: Uint8Array;
  /** The MKI every packet carries before its tag (RFC 3711 §3.1), when the key has one. */
  readonly mki?: Uint8Array;
}

/** The session keys of the SRTP direction (labels 0–2 of RFC 3711 §4.3.1). */
export interface SrtpSessionKeys {
  readonly encryptionKey: Buffer;
  readonly authKey: Buffer;
  readonly salt: Buffer;
}

/** Why `unprotect` refused a packet (its return value is negative); see `SrtpReceiveContext`. */
export const SRTP_DROP_MALFORMED = -1;
export const SRTP_DROP_AUTH = -2;
export const SRTP_DROP_REPLAY = -3;

const AES_BLOCK_BYTES = 16;
const SESSION_KEY_BYTES = 16;
const SESSION_AUTH_KEY_BYTES = 20;
const SESSION_SALT_BYTES = 14;
const LABEL_RTP_ENCRYPTION = 0x00;
const LABEL_RTP_AUTH = 0x01;
const LABEL_RTP_SALT = 0x02;
const SEQ_MOD = 0x10000;
/** RFC 3711 §3.3.2: the replay list SHOULD be at least 64 packets wide. */
export const SRTP_REPLAY_WINDOW = 64;
/** Per-SSRC states kept at once: a stream has one sender SSRC, a restart or a fork adds one more. */
const MAX_SSRC_STATES = 8;

export function srtpTagBytes(suite: SrtpSuite): number {
  // RFC 4568 §6.2.1 and §6.2.2: 80-bit and 32-bit HMAC-SHA1 tags.
  return suite === 'AES_CM_128_HMAC_SHA1_32' ? 4 : 10;
}

/** A problem with the parameters themselves, or undefined when they are usable. */
export function checkSrtpParams(params: SrtpParams): string | undefined {
  if (!SRTP_SUITES.includes(params.suite)) {
    return `unsupported SRTP suite ${params.suite}`;
  }
  if (params.masterKey.length !== SRTP_MASTER_KEY_BYTES) {
    return `SRTP master key of ${params.masterKey.length} bytes, not 16`;
  }
  if (params.masterSalt.length !== SRTP_MASTER_SALT_BYTES) {
    return `SRTP master salt of ${params.masterSalt.length} bytes, not 14`;
  }
  if (params.mki !== undefined && (params.mki.length < 1 || params.mki.length > 128)) {
    return `SRTP MKI of ${params.mki.length} bytes, not 1 to 128`;
  }
  return undefined;
}

/** 30 random bytes: a master key and salt for our own `a=crypto` answer (RFC 4568 §7.1.2). */
export function createSrtpKeyAndSalt(): Uint8Array {
  return new Uint8Array(randomBytes(SRTP_MASTER_KEY_BYTES + SRTP_MASTER_SALT_BYTES));
}

/**
 * An AES-128 ECB cipher used as the block function of counter mode. node:crypto cannot re-IV a
 * CTR cipher object, and creating one per packet costs more than the AES itself; an ECB encryptor
 * with padding off is stateless across `update` calls, so one object per key encrypts the counter
 * blocks of every packet (RFC 3711 §4.1.1).
 */
function blockCipher(key: Uint8Array): Cipher {
  const cipher = createCipheriv('aes-128-ecb', key, null);
  cipher.setAutoPadding(false);
  return cipher;
}

/**
 * `length` bytes of AES-CM keystream (RFC 3711 §4.1.1): the AES encryption of iv, iv + 1, …
 * as 128-bit big-endian integers. Exported for the Appendix B.2 test vectors.
 */
export function aesCmKeystream(key: Uint8Array, iv: Uint8Array, length: number): Buffer {
  const blocks = Math.ceil(length / AES_BLOCK_BYTES);
  const counters = Buffer.alloc(blocks * AES_BLOCK_BYTES);
  const counter = Buffer.from(iv);
  for (let block = 0; block < blocks; block++) {
    counter.copy(counters, block * AES_BLOCK_BYTES);
    for (let i = AES_BLOCK_BYTES - 1; i >= 0; i--) {
      counter[i] = ((counter[i] ?? 0) + 1) & 0xff;
      if (counter[i] !== 0) {
        break;
      }
    }
  }
  return blockCipher(key).update(counters).subarray(0, length);
}

/**
 * The SRTP key derivation of RFC 3711 §4.3.1–§4.3.3 with a key derivation rate of 0 (r = 0):
 * x = (label << 48) XOR master salt, and each session key is the AES-CM keystream of the master
 * key with IV = x · 2^16.
 */
export function deriveSrtpSessionKeys(masterKey: Uint8Array, masterSalt: Uint8Array): SrtpSessionKeys {
  const derive = (label: number, length: number): Buffer => {
    const iv = Buffer.alloc(AES_BLOCK_BYTES);
    iv.set(masterSalt, 0);
    // key_id = label || r (48 bits of zero) is right-aligned in the 112-bit salt: the label
    // lands on byte 7 of the 14-byte salt.
    iv[7] = (iv[7] ?? 0) ^ label;
    return aesCmKeystream(masterKey, iv, length);
  };
  return {
    encryptionKey: derive(LABEL_RTP_ENCRYPTION, SESSION_KEY_BYTES),
    authKey: derive(LABEL_RTP_AUTH, SESSION_AUTH_KEY_BYTES),
    salt: derive(LABEL_RTP_SALT, SESSION_SALT_BYTES),
  };
}

/** The per-packet crypto of one key: block cipher, MAC key, IV and counter buffers reused. */
class PacketCrypto {
  readonly suite: SrtpSuite;
  readonly tagBytes: number;
  readonly mki: Uint8Array | undefined;
  readonly #masterKey: Buffer;
  readonly #masterSalt: Buffer;
  readonly #cipher: Cipher;
  readonly #authKey: KeyObject;
  readonly #salt: Buffer;
  readonly #roc = Buffer.alloc(4);
  /** Counter blocks for one packet; grown when a larger packet arrives. */
  #counters = Buffer.alloc(AES_BLOCK_BYTES * 12);

  constructor(params: SrtpParams) {
    this.suite = params.suite;
    this.tagBytes = srtpTagBytes(params.suite);
    this.mki = params.mki === undefined ? undefined : Buffer.from(params.mki);
    this.#masterKey = Buffer.from(params.masterKey);
    this.#masterSalt = Buffer.from(params.masterSalt);
    const keys = deriveSrtpSessionKeys(params.masterKey, params.masterSalt);
    this.#cipher = blockCipher(keys.encryptionKey);
    this.#authKey = createSecretKey(keys.authKey);
    this.#salt = keys.salt;
  }

  sameKeyAs(params: SrtpParams): boolean {
    return (
      params.suite === this.suite &&
      this.#masterKey.equals(params.masterKey) &&
      this.#masterSalt.equals(params.masterSalt) &&
      (params.mki === undefined
        ? this.mki === undefined
        : this.mki !== undefined && Buffer.from(this.mki).equals(params.mki))
    );
  }

  /** The full HMAC-SHA1 of `authenticated || ROC` (RFC 3711 §4.2), to be truncated by the caller. */
  mac(authenticated: Uint8Array, roc: number): Buffer {
    this.#roc.writeUInt32BE(roc >>> 0, 0);
    return createHmac('sha1', this.#authKey).update(authenticated).update(this.#roc).digest();
  }

  /**
   * XORs the keystream of packet `index` of `ssrc` into data (RFC 3711 §4.1.1):
   * IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16). Encryption and decryption are the same.
   */
  applyKeystream(data: Uint8Array, ssrc: number, index: number): void {
    const length = data.length;
    if (length === 0) {
      return;
    }
    const blocks = Math.ceil(length / AES_BLOCK_BYTES);
    if (this.#counters.length < blocks * AES_BLOCK_BYTES) {
      this.#counters = Buffer.alloc(blocks * AES_BLOCK_BYTES);
    }
    const counters = this.#counters;
    const salt = this.#salt;
    // The first block: salt in bytes 0–13, SSRC XORed into bytes 4–7, the 48-bit index into
    // bytes 8–13, and bytes 14–15 the block counter. Later blocks differ only in 14–15, since a
    // packet of at most 65 535 bytes needs fewer than 2^16 blocks.
    salt.copy(counters, 0, 0, SESSION_SALT_BYTES);
    counters[4] = (salt[4] ?? 0) ^ (ssrc >>> 24);
    counters[5] = (salt[5] ?? 0) ^ ((ssrc >>> 16) & 0xff);
    counters[6] = (salt[6] ?? 0) ^ ((ssrc >>> 8) & 0xff);
    counters[7] = (salt[7] ?? 0) ^ (ssrc & 0xff);
    const high = Math.floor(index / 0x1000000);
    const low = index % 0x1000000;
    counters[8] = (salt[8] ?? 0) ^ ((high >>> 16) & 0xff);
    counters[9] = (salt[9] ?? 0) ^ ((high >>> 8) & 0xff);
    counters[10] = (salt[10] ?? 0) ^ (high & 0xff);
    counters[11] = (salt[11] ?? 0) ^ ((low >>> 16) & 0xff);
    counters[12] = (salt[12] ?? 0) ^ ((low >>> 8) & 0xff);
    counters[13] = (salt[13] ?? 0) ^ (low & 0xff);
    counters[14] = 0;
    counters[15] = 0;
    for (let block = 1; block < blocks; block++) {
      const offset = block * AES_BLOCK_BYTES;
      counters.copy(counters, offset, 0, 14);
      counters[offset + 14] = block >>> 8;
      counters[offset + 15] = block & 0xff;
    }
    const keystream = this.#cipher.update(counters.subarray(0, blocks * AES_BLOCK_BYTES));
    for (let i = 0; i < length; i++) {
      data[i] = (data[i] ?? 0) ^ (keystream[i] ?? 0);
    }
  }
}

/** Receive state of one SSRC (RFC 3711 §3.2.1): the highest authenticated index and the replay list. */
interface SsrcState {
  /** Highest packet index authenticated so far: ROC · 2^16 + s_l. */
  highestIndex: number;
  /** Slot i % 64 holds the last authenticated index i that fell into it (RFC 3711 §3.3.2). */
  readonly seen: Float64Array;
}

/**
 * The length of the RTP header (fixed part, CSRC list, extension) of an SRTP packet, or -1 when
 * it runs past `limit`. The header is in the clear, and the encrypted portion starts after it.
 */
function rtpHeaderBytes(packet: Uint8Array, limit: number): number {
  const first = packet[0] ?? 0;
  if (first >>> 6 !== 2) {
    return -1;
  }
  let length = 12 + 4 * (first & 0x0f);
  if ((first & 0x10) !== 0) {
    if (length + 4 > limit) {
      return -1;
    }
    length += 4 + 4 * (((packet[length + 2] ?? 0) << 8) | (packet[length + 3] ?? 0));
  }
  return length > limit ? -1 : length;
}

/**
 * Receives one SRTP stream (one master key, any number of SSRCs). `unprotect` authenticates a
 * packet BEFORE decrypting it (RFC 3711 §3.3 steps 4–6), rejects replays within the 64-packet
 * window and packets older than it, and only then decrypts the payload in place and commits the
 * new rollover counter. A packet that fails leaves the state untouched, so forged packets cannot
 * move the window or the ROC.
 */
export class SrtpReceiveContext {
  #crypto: PacketCrypto;
  readonly #states = new Map<number, SsrcState>();
  #lastSsrc = -1;
  #lastState: SsrcState | undefined;

  constructor(params: SrtpParams) {
    this.#crypto = new PacketCrypto(params);
  }

  get suite(): SrtpSuite {
    return this.#crypto.suite;
  }

  /**
   * New keys for the same stream (a re-INVITE with a new `a=crypto`). The sequence numbers go on,
   * so the ROC and replay state stay; the same key again changes nothing.
   */
  rekey(params: SrtpParams): void {
    if (!this.#crypto.sameKeyAs(params)) {
      this.#crypto = new PacketCrypto(params);
    }
  }

  /**
   * Checks and decrypts `packet` in place. Returns the length of the plain RTP packet (header
   * and payload, without MKI and tag) at the start of `packet`, or SRTP_DROP_MALFORMED (too short
   * for header and tag, not version 2), SRTP_DROP_AUTH (wrong tag or unknown MKI) or
   * SRTP_DROP_REPLAY (seen before, or older than the replay window).
   */
  unprotect(packet: Uint8Array): number {
    const crypto = this.#crypto;
    const mki = crypto.mki;
    const mkiBytes = mki === undefined ? 0 : mki.length;
    const authenticatedEnd = packet.length - crypto.tagBytes - mkiBytes;
    const headerBytes = authenticatedEnd < 12 ? -1 : rtpHeaderBytes(packet, authenticatedEnd);
    if (headerBytes < 0) {
      return SRTP_DROP_MALFORMED;
    }
    if (mki !== undefined && !equalBytes(packet, authenticatedEnd, mki)) {
      return SRTP_DROP_AUTH;
    }
    const sequenceNumber = ((packet[2] ?? 0) << 8) | (packet[3] ?? 0);
    const ssrc =
      (((packet[8] ?? 0) << 24) | ((packet[9] ?? 0) << 16) | ((packet[10] ?? 0) << 8) | (packet[11] ?? 0)) >>>
      0;
    const state = ssrc === this.#lastSsrc ? this.#lastState : this.#states.get(ssrc);
    const index = state === undefined ? sequenceNumber : estimateIndex(state.highestIndex, sequenceNumber);
    if (state !== undefined) {
      const behind = state.highestIndex - index;
      if (
        index < 0 ||
        behind >= SRTP_REPLAY_WINDOW ||
        (behind >= 0 && state.seen[index % SRTP_REPLAY_WINDOW] === index)
      ) {
        return SRTP_DROP_REPLAY;
      }
    }
    const roc = Math.floor(index / SEQ_MOD);
    const authenticated = packet.subarray(0, authenticatedEnd);
    const tagStart = authenticatedEnd + mkiBytes;
    const expected = crypto.mac(authenticated, roc);
    if (
      !timingSafeEqual(
        expected.subarray(0, crypto.tagBytes),
        packet.subarray(tagStart, tagStart + crypto.tagBytes),
      )
    ) {
      return SRTP_DROP_AUTH;
    }
    crypto.applyKeystream(packet.subarray(headerBytes, authenticatedEnd), ssrc, index);
    this.#commit(ssrc, state, index);
    return authenticatedEnd;
  }

  #commit(ssrc: number, existing: SsrcState | undefined, index: number): void {
    let state = existing;
    if (state === undefined) {
      if (this.#states.size >= MAX_SSRC_STATES) {
        const oldest = this.#states.keys().next();
        if (oldest.done !== true) {
          this.#states.delete(oldest.value);
        }
      }
      state = { highestIndex: index, seen: new Float64Array(SRTP_REPLAY_WINDOW).fill(-1) };
      this.#states.set(ssrc, state);
    }
    state.seen[index % SRTP_REPLAY_WINDOW] = index;
    if (index > state.highestIndex) {
      state.highestIndex = index;
    }
    this.#lastSsrc = ssrc;
    this.#lastState = state;
  }
}

/**
 * RFC 3711 §3.3.1 and Appendix A: the index of a packet with sequence number `seq`, given the
 * highest index so far (ROC · 2^16 + s_l): the guess v ∈ {ROC − 1, ROC, ROC + 1} that puts the
 * packet closest to s_l. A result below 0 is a packet from before the first one received.
 */
export function estimateIndex(highestIndex: number, seq: number): number {
  const roc = Math.floor(highestIndex / SEQ_MOD);
  const sl = highestIndex % SEQ_MOD;
  let v = roc;
  if (sl < SEQ_MOD / 2) {
    if (seq - sl > SEQ_MOD / 2) {
      v = roc - 1;
    }
  } else if (sl - SEQ_MOD / 2 > seq) {
    v = roc + 1;
  }
  return v * SEQ_MOD + seq;
}

/**
 * Protects RTP packets (tests and tools only: the recorder never sends). Keeps the sender's ROC
 * (RFC 3711 §3.3.1: incremented when the sequence number wraps), per SSRC.
 */
export class SrtpSendContext {
  readonly #crypto: PacketCrypto;
  readonly #indexes = new Map<number, number>();

  constructor(params: SrtpParams) {
    this.#crypto = new PacketCrypto(params);
  }

  /**
   * The SRTP packet for the plain RTP `packet`. `roc` overrides the rollover counter (to test
   * wrong guesses); otherwise it follows the sequence numbers as a sender's does.
   */
  protect(packet: Uint8Array, roc?: number): Buffer {
    const crypto = this.#crypto;
    const headerBytes = rtpHeaderBytes(packet, packet.length);
    if (headerBytes < 0) {
      throw new RangeError('not an RTP packet');
    }
    const seq = ((packet[2] ?? 0) << 8) | (packet[3] ?? 0);
    const ssrc = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength).readUInt32BE(8);
    const previous = this.#indexes.get(ssrc);
    const index =
      roc !== undefined ? roc * SEQ_MOD + seq : previous === undefined ? seq : estimateIndex(previous, seq);
    this.#indexes.set(ssrc, Math.max(previous ?? index, index));
    const mkiBytes = crypto.mki?.length ?? 0;
    const out = Buffer.alloc(packet.length + mkiBytes + crypto.tagBytes);
    out.set(packet, 0);
    crypto.applyKeystream(out.subarray(headerBytes, packet.length), ssrc, index);
    if (crypto.mki !== undefined) {
      out.set(crypto.mki, packet.length);
    }
    const tag = crypto.mac(out.subarray(0, packet.length), Math.floor(index / SEQ_MOD));
    tag.copy(out, packet.length + mkiBytes, 0, crypto.tagBytes);
    return out;
  }
}

function equalBytes(packet: Uint8Array, offset: number, expected: Uint8Array): boolean {
  for (let i = 0; i < expected.length; i++) {
    if (packet[offset + i] !== expected[i]) {
      return false;
    }
  }
  return true;
}
