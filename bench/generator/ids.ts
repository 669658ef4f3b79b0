/**
 * Identifiers the generator writes into SIP: unique within the process by a counter and across
 * processes by a random nonce, so calls of two benchmark runs against the same database never
 * collide (RFC 3261 §8.1.1.4 Call-ID, §19.3 tags, §8.1.1.7 branch with the magic cookie).
 */
import { randomBytes, randomInt } from 'node:crypto';

const nonce = randomBytes(4).toString('hex');
let counter = 0;

export function uniqueToken(): string {
  counter++;
  return `${counter.toString(36)}${nonce}`;
}

/** RFC 3261 §8.1.1.7: a branch starts with the magic cookie "z9hG4bK". */
export function newBranch(): string {
  return `z9hG4bK${uniqueToken()}`;
}

export function newCallId(localAddress: string): string {
  return `${uniqueToken()}@${localAddress}`;
}

export function newTag(): string {
  return uniqueToken();
}

/** A random SSRC (RFC 3550 §8.1: chosen at random so that streams do not collide). */
export function newSsrc(): number {
  return randomBytes(4).readUInt32BE(0);
}

/** Random first sequence number and timestamp (RFC 3550 §5.1). */
export function randomSequence(): number {
  return randomInt(0, 0x10000);
}

export function randomTimestamp(): number {
  return randomBytes(4).readUInt32BE(0);
}

// CUCM call-leg identifiers are decimal numbers; a random base keeps runs apart.
let refCiNext = 10_000_000 + 2 * randomInt(0, 40_000_000);

/** x-refci (near end) and x-farendrefci of one new CUCM call. */
export function newRefCiPair(): { nearRefCi: string; farRefCi: string } {
  const near = refCiNext;
  refCiNext += 2;
  return { nearRefCi: String(near), farRefCi: String(near + 1) };
}

const guidHigh = randomBytes(4).readUInt32BE(0);
const guidLow = randomBytes(4).readUInt32BE(0);
let guidCounter = 0;

/**
 * A Cisco-Guid in the decimal-group form CUCM and IOS write (intake-samples §1.1, §2.1): four
 * 32-bit numbers, each as ten zero-padded digits, such as 0131359744-0000065536-0000000001-0745980426.
 */
export function newCiscoGuid(): string {
  guidCounter = (guidCounter + 1) >>> 0;
  return [guidHigh, 65536, guidCounter, guidLow].map((n) => String(n).padStart(10, '0')).join('-');
}
