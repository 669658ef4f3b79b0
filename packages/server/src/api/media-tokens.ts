import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Repository } from '../db/repository.js';
import type { Principal } from './authenticator.js';

/**
 * Short-lived media tokens: the API hands out media URLs (`rtspUrl`, the live-listening page) that
 * carry a token, so that a player which cannot send the API's cookie or prompt for a password
 * (VLC, ffmpeg, an `<audio>` element) can still open them. A token names one session and one user,
 * and expires; it proves nothing else. It is an HMAC-SHA256 over `sessionId`, user and expiry with a
 * key app.ts keeps in the database (model/shared-secret.ts): tokens outlive a restart, and every
 * node sharing the database accepts them.
 *
 * Format (URL-safe, no padding): `<expiry seconds, base36>.<base64url(username)>.<base64url(mac)>`.
 */

/** How long a media token is valid by default: long enough to play a call found by a search. */
export const MEDIA_TOKEN_TTL_S = 3600;

/** The key's length: as long as the HMAC-SHA256 output. */
export const MEDIA_TOKEN_KEY_BYTES = 32;

export interface MediaTokenOptions {
  readonly repository: Pick<Repository, 'getUser'>;
  readonly now: () => number;
  readonly ttlSeconds?: number;
  /** The HMAC key; a random one when absent (tests pass one to get stable tokens). */
  readonly key?: Uint8Array;
}

export class MediaTokens {
  readonly #repository: Pick<Repository, 'getUser'>;
  readonly #now: () => number;
  readonly #ttlSeconds: number;
  readonly #key: Uint8Array;

  constructor(options: MediaTokenOptions) {
    this.#repository = options.repository;
    this.#now = options.now;
    this.#ttlSeconds = options.ttlSeconds ?? MEDIA_TOKEN_TTL_S;
    this.#key = options.key ?? randomBytes(MEDIA_TOKEN_KEY_BYTES);
  }

  /** A token for `username` to play `sessionId`, valid for the configured time from now. */
  issue(sessionId: string, username: string): string {
    const expiry = Math.floor(this.#now() / 1000) + this.#ttlSeconds;
    const expiryText = expiry.toString(36);
    const user = Buffer.from(username, 'utf8').toString('base64url');
    return `${expiryText}.${user}.${this.#mac(sessionId, expiryText, user).toString('base64url')}`;
  }

  /**
   * The user a valid, unexpired token for `sessionId` was issued to, with the role they have now
   * (a user removed since gets nothing); undefined for anything else, never an exception.
   */
  async verify(token: string, sessionId: string): Promise<Principal | undefined> {
    const parts = token.split('.');
    if (parts.length !== 3) {
      return undefined;
    }
    const [expiryText = '', user = '', macText = ''] = parts;
    if (!/^[0-9a-z]{1,12}$/.test(expiryText) || !/^[A-Za-z0-9_-]{1,400}$/.test(user)) {
      return undefined;
    }
    const expiry = parseInt(expiryText, 36);
    if (!(expiry * 1000 > this.#now())) {
      return undefined;
    }
    const given = Buffer.from(macText, 'base64url');
    const expected = this.#mac(sessionId, expiryText, user);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return undefined;
    }
    const account = await this.#repository.getUser(Buffer.from(user, 'base64url').toString('utf8'));
    return account === undefined
      ? undefined
      : { username: account.username, role: account.role, via: 'token' };
  }

  #mac(sessionId: string, expiryText: string, user: string): Buffer {
    // Newlines separate the fields: none of them can contain one (base36, base64url, session ids).
    return createHmac('sha256', this.#key).update(`${sessionId}\n${expiryText}\n${user}`).digest();
  }
}
