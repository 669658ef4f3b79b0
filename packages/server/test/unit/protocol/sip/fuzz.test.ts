/**
 * Hostile input: random bytes and random damage to valid messages must always give a Result,
 * never an exception. The generator is seeded so that a failure can be replayed; set
 * VERBATIM_FUZZ_SEED to try other seeds.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSipMessage } from '../../../../src/protocol/sip/parse.js';
import { serializeSipMessage } from '../../../../src/protocol/sip/serialize.js';
import { SipStreamFramer } from '../../../../src/protocol/sip/framer.js';
import { parseCSeq, parseNameAddr, parseVia } from '../../../../src/protocol/sip/headers.js';
import { parseSipUri } from '../../../../src/protocol/sip/uri.js';
import type { Result } from '../../../../src/protocol/result.js';
import { seededRandom } from '../../../support/seeded-random.js';
import { listFixtures, loadFixture } from './fixtures.js';

const SEED = Number(process.env.VERBATIM_FUZZ_SEED ?? 20240611);

const INTERESTING = Array.from('\r\n \t:;,"<>@=?%\\/[]0123456789', (ch) => ch.charCodeAt(0)).concat([
  0, 0xff, 0xc3,
]);

function assertResult(result: Result<unknown>, context: string): void {
  assert.equal(typeof result.ok, 'boolean', context);
  if (!result.ok) {
    assert.match(result.error.code, /^VERBATIM_ERR_SIP_[A-Z_]+$/, context);
    assert.equal(typeof result.error.message, 'string', context);
  }
}

function mutate(bytes: Uint8Array, next: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(next() * n);
  const out = [...bytes];
  const edits = 1 + pick(4);
  for (let edit = 0; edit < edits; edit += 1) {
    const at = pick(out.length + 1);
    switch (pick(6)) {
      case 0:
        out.length = at; // truncate
        break;
      case 1:
        if (at < out.length) {
          out[at] = pick(256);
        }
        break;
      case 2:
        out.splice(at, 0, INTERESTING[pick(INTERESTING.length)] ?? 0);
        break;
      case 3:
        out.splice(at, 1 + pick(20));
        break;
      case 4:
        out.splice(at, 0, ...out.slice(pick(out.length), pick(out.length)));
        break;
      default:
        if (at < out.length) {
          out[at] = INTERESTING[pick(INTERESTING.length)] ?? 0;
        }
    }
  }
  return Uint8Array.from(out);
}

function checkMessage(bytes: Uint8Array, context: string): void {
  const result = parseSipMessage(bytes);
  assertResult(result, context);
  if (result.ok) {
    // Whatever we accept, we must be able to write back in a form we accept again.
    const again = parseSipMessage(serializeSipMessage(result.value));
    assert.ok(
      again.ok,
      `${context}: reserialized message did not parse: ${again.ok ? '' : again.error.message}`,
    );
  }
}

void describe(`parsers never throw (seed ${SEED})`, () => {
  const fixtures = [
    ...listFixtures('rfc4475').map((n) => loadFixture('rfc4475', n)),
    ...listFixtures('cucm').map((n) => loadFixture('cucm', n)),
  ];

  void it('parseSipMessage on random bytes', () => {
    const next = seededRandom(SEED);
    for (let round = 0; round < 2000; round += 1) {
      const length = Math.floor(next() * 300);
      const bytes = new Uint8Array(length);
      for (let index = 0; index < length; index += 1) {
        bytes[index] =
          next() < 0.5
            ? (INTERESTING[Math.floor(next() * INTERESTING.length)] ?? 0)
            : Math.floor(next() * 256);
      }
      checkMessage(bytes, `random round ${round}`);
    }
  });

  void it('parseSipMessage on truncations of every fixture', () => {
    for (const [index, fixture] of fixtures.entries()) {
      for (let cut = 0; cut <= fixture.length; cut += 7) {
        checkMessage(fixture.subarray(0, cut), `fixture ${index} cut ${cut}`);
      }
    }
  });

  void it('parseSipMessage on random mutations of every fixture', () => {
    const next = seededRandom(SEED + 1);
    for (const [index, fixture] of fixtures.entries()) {
      for (let round = 0; round < 150; round += 1) {
        checkMessage(mutate(fixture, next), `fixture ${index} mutation ${round}`);
      }
    }
  });

  void it('header and URI parsers on random text', () => {
    const next = seededRandom(SEED + 2);
    const alphabet = 'sip:SIP/2.0UDPa@b.c;tag=x<>",\\ \t[]:%0159?&-~';
    for (let round = 0; round < 3000; round += 1) {
      let value = '';
      const length = Math.floor(next() * 60);
      for (let index = 0; index < length; index += 1) {
        value += alphabet[Math.floor(next() * alphabet.length)] ?? '';
      }
      assertResult(parseSipUri(value), `uri ${JSON.stringify(value)}`);
      assertResult(parseNameAddr(value), `name-addr ${JSON.stringify(value)}`);
      assertResult(parseVia(value), `via ${JSON.stringify(value)}`);
      assertResult(parseCSeq(value), `cseq ${JSON.stringify(value)}`);
    }
  });

  void it('SipStreamFramer on mutated streams cut into random chunks', () => {
    const next = seededRandom(SEED + 3);
    for (let round = 0; round < 300; round += 1) {
      const framer = new SipStreamFramer();
      const source = fixtures[Math.floor(next() * fixtures.length)] ?? new Uint8Array(0);
      const stream = mutate(Uint8Array.from([...source, ...source]), next);
      let offset = 0;
      while (offset < stream.length) {
        const size = 1 + Math.floor(next() * 200);
        for (const item of framer.push(stream.subarray(offset, offset + size))) {
          if (item.ok) {
            assertResult(parseSipMessage(item.bytes), `framed round ${round}`);
          } else {
            assert.match(item.error.code, /^VERBATIM_ERR_SIP_/);
          }
        }
        offset += size;
      }
    }
  });
});
