import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Hostile SIP for the end-to-end hostile-input test: real messages from the fixtures (CUCM,
 * CUBE, SIPREC SBCs, the RFC 4475 torture tests), mutated as a fuzzer or a broken controller
 * mutates them. Every choice comes from the seeded generator, so a failing run is replayed by
 * its seed.
 */

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const SEED_FOLDERS = ['sip/cucm', 'sip/rfc4475', 'siprec', 'recording'];

/**
 * The seed messages, their addresses pointed at the test (`127.0.0.1`, SIP port `sipPort`) so the
 * node's answers, BYEs included, come back to the test's own sockets instead of leaving the host.
 */
export function seedMessages(sipPort: number): Buffer[] {
  const seeds: Buffer[] = [];
  for (const folder of SEED_FOLDERS) {
    for (const name of readdirSync(join(FIXTURES, folder)).sort()) {
      if (!/\.(sip|txt)$/.test(name)) {
        continue;
      }
      const text = readFileSync(join(FIXTURES, folder, name), 'latin1')
        .replace(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g, '127.0.0.1')
        .replace(/127\.0\.0\.1:\d+/g, `127.0.0.1:${sipPort}`);
      seeds.push(Buffer.from(text, 'latin1'));
    }
  }
  return seeds;
}

type Random = () => number;

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const between = (random: Random, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));

const EXTREME_NUMBERS = ['-1', '0', '4294967296', '99999999999999999999', '1e309', 'NaN', '0x10', ''];
const JUNK_LINES = [
  'Content-Length: 99999',
  'Content-Length: -5',
  'Via: SIP/2.0/UDP',
  'Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK' + 'x'.repeat(3000),
  'Call-ID: ../../../../tmp/verbatim-canary',
  "From: <sip:x'; DROP TABLE sessions; --@127.0.0.1>;tag=1",
  'Content-Type: multipart/mixed;boundary=',
  'Content-Type: application/sdp',
  'X-Junk: ' + '\u0000\u0001\u00ff'.repeat(40),
  ':',
  ' folded continuation line',
  'CSeq: 1 BYE',
  'm=audio 0 RTP/AVP',
  'm=fuzz 2000 1 IN IP4 127.0.0.1',
  'c=IN IP4 999.999.999.999',
  'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!!',
];

/** One mutation of `seed`; a few are applied on top of each other. */
function mutateOnce(random: Random, message: Buffer): Buffer {
  const text = message.toString('latin1');
  const lines = text.split('\r\n');
  const line = between(random, 0, Math.max(0, lines.length - 1));
  switch (between(random, 0, 11)) {
    case 0: {
      // Flip a few bytes.
      const out = Buffer.from(message);
      for (let i = between(random, 1, 8); i > 0 && out.length > 0; i--) {
        out[between(random, 0, out.length - 1)] = between(random, 0, 255);
      }
      return out;
    }
    case 1:
      return message.subarray(0, between(random, 0, message.length));
    case 2: {
      const copies = between(random, 2, 300);
      lines.splice(line, 0, ...Array<string>(copies).fill(lines[line] ?? ''));
      return Buffer.from(lines.join('\r\n'), 'latin1');
    }
    case 3:
      lines.splice(line, 1);
      return Buffer.from(lines.join('\r\n'), 'latin1');
    case 4:
      lines.splice(line, 0, pick(random, JUNK_LINES));
      return Buffer.from(lines.join('\r\n'), 'latin1');
    case 5:
      return Buffer.from(text.replace(/\d+/, pick(random, EXTREME_NUMBERS)), 'latin1');
    case 6:
      return Buffer.from(text.replace(/\r\n/g, pick(random, ['\n', '\r', '', '\r\n\r\n'])), 'latin1');
    case 7:
      // A header line a hundred kilobytes long.
      lines.splice(line, 0, `X-Long: ${'a'.repeat(between(random, 1000, 100_000))}`);
      return Buffer.from(lines.join('\r\n'), 'latin1');
    case 8:
      return Buffer.from(Array.from({ length: between(random, 0, 1500) }, () => between(random, 0, 255)));
    case 9: {
      // Many m= lines: one INVITE asking for hundreds of streams.
      const media = Array.from(
        { length: between(random, 20, 1000) },
        (_, i) => `m=audio ${2000 + 2 * i} RTP/AVP 0`,
      );
      return Buffer.from(`${text}\r\n${media.join('\r\n')}\r\n`, 'latin1');
    }
    case 10:
      return Buffer.from(
        text.replace(/Call-ID: *[^\r\n]*/i, `Call-ID: hostile-${between(random, 0, 1e9)}`),
        'latin1',
      );
    default:
      // Deep nesting in whatever XML or header parameters the message has.
      return Buffer.from(
        text.replace(/<([a-z]+)/i, (whole) => whole.repeat(between(random, 100, 2000))),
        'latin1',
      );
  }
}

/** `seed` mutated one to four times. */
export function mutateSip(random: Random, seed: Buffer): Buffer {
  let message = seed;
  for (let n = between(random, 1, 4); n > 0; n--) {
    message = mutateOnce(random, message);
  }
  return message;
}

/** Random bytes, or an RTP-looking header with random fields and payload, up to 1,500 bytes. */
export function junkDatagram(random: Random): Buffer {
  const length = between(random, 0, 1500);
  const out = Buffer.from(Array.from({ length }, () => between(random, 0, 255)));
  if (length >= 12 && random() < 0.5) {
    out[0] = 0x80 | between(random, 0, 0x3f); // version 2, with random padding, extension and CSRC count
  }
  return out;
}
