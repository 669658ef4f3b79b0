import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt (RFC 7914). The stored form is self-describing,
 * `scrypt$N$r$p$<salt base64>$<hash base64>`, so the cost can be raised later and old hashes
 * still verify with the parameters they were made with.
 */

/** N = 2^14, r = 8, p = 1: the RFC 7914 §2 interactive-login parameters (16 MiB, tens of ms). */
const DEFAULT_COST = { N: 16384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Upper bounds for parameters read from a stored hash, so a corrupt row cannot exhaust memory. */
const MAX_COST_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_KEY_BYTES = 64;

function scryptAsync(
  password: string,
  salt: Buffer,
  keyBytes: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyBytes, options, (error, key) => {
      if (error) {
        reject(error);
      } else {
        resolve(key);
      }
    });
  });
}

/** Room for scrypt's working memory (128·N·r bytes) with margin; node's default is 32 MiB. */
function maxmemFor(N: number, r: number): number {
  return 256 * N * r;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const { N, r, p } = DEFAULT_COST;
  const key = await scryptAsync(password, salt, KEY_BYTES, { N, r, p, maxmem: maxmemFor(N, r) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    return undefined;
  }
  const [, nText = '', rText = '', pText = '', saltText = '', keyText = ''] = parts;
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  const isPowerOfTwo = Number.isSafeInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!isPowerOfTwo || N > MAX_COST_N) {
    return undefined;
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > MAX_R || !Number.isSafeInteger(p) || p < 1 || p > MAX_P) {
    return undefined;
  }
  const salt = Buffer.from(saltText, 'base64');
  const key = Buffer.from(keyText, 'base64');
  if (salt.length === 0 || key.length === 0 || key.length > MAX_KEY_BYTES) {
    return undefined;
  }
  return { N, r, p, salt, key };
}

/**
 * True when `password` matches `stored`. A malformed stored hash verifies as false (and never
 * throws), so a damaged user row locks that user out instead of crashing the sign-in route.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (parsed === undefined) {
    return false;
  }
  const { N, r, p, salt, key } = parsed;
  const candidate = await scryptAsync(password, salt, key.length, { N, r, p, maxmem: maxmemFor(N, r) });
  // Constant-time comparison: the time taken must not reveal how many leading bytes matched.
  return candidate.length === key.length && timingSafeEqual(candidate, key);
}

/**
 * A valid hash of a random password, verified against when the user does not exist, so that an
 * unknown user name takes as long to reject as a wrong password (no user enumeration by timing).
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}
