import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Repository } from '../db/repository.js';
import { ROLES, type Role } from '../model/user.js';
import type {
  RtspAccess,
  RtspAccessDecision,
  RtspAccessRequest,
  RtspPlayRecord,
  RtspUser,
} from '../playback/rtsp/rtsp-access.js';
import { expectedDigestResponse, parseAuthorization } from '../protocol/rtsp/headers.js';
import type { AuditTrail } from './audit-trail.js';
import { storeDigestHa1 } from './authenticator.js';
import { RTSP_DIGEST_REALM, md5Hex } from './digest-ha1.js';
import type { MediaTokens } from './media-tokens.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
import { allows, rolesWith } from './permissions.js';
import { RESPONSE_CODES } from './envelope.js';

/**
 * Who may play over RTSP (playback/rtsp/rtsp-access.ts): an API user with HTTP Basic (MediaSense
 * 9.1+ requires credentials on RTSP, addendum §6) or Digest (RFC 2617/7616 with MD5, which ffmpeg
 * and GStreamer prefer when offered), or the media token of the `rtspUrl` the API handed out.
 * The role must hold `play`, as for the WAV download; each playback is audited.
 *
 * Digest nonces are stateless: the issue time and an HMAC of it under a key drawn at start, valid
 * for NONCE_TTL_S (then answered `stale=true`, and clients retry without asking the user). Nonce
 * counts are not tracked: a captured request can be replayed within the nonce's life, but only to
 * open the same URL, which the captor could watch on the wire anyway.
 */

const NONCE_TTL_S = 600;
const NONCE_MAC_BYTES = 16;
/**
 * Basic credentials run scrypt (tens of ms, 16 MiB, on libuv's thread pool, which the disk writes
 * of the recording share): at most this many at once, and a few waiting; beyond, 503 at once, so
 * a flood of guesses cannot queue up work or starve the recorder's file I/O.
 */
const MAX_PASSWORD_CHECKS = 2;
const MAX_WAITING_CHECKS = 8;
/**
 * A player sends the same Basic credentials on DESCRIBE and each SETUP: once proved, they are
 * remembered (by a SHA-256 of the header value, never the password) for this long.
 */
const PROVED_BASIC_TTL_MS = 60_000;
const MAX_PROVED_BASIC = 256;

export interface RtspAccessOptions {
  readonly repository: Pick<Repository, 'getUser' | 'updateUser'>;
  readonly mediaTokens: Pick<MediaTokens, 'verify'>;
  readonly audit: Pick<AuditTrail, 'record'>;
  readonly now: () => number;
}

export class ApiRtspAccess implements RtspAccess {
  readonly #repository: Pick<Repository, 'getUser' | 'updateUser'>;
  readonly #tokens: Pick<MediaTokens, 'verify'>;
  readonly #audit: Pick<AuditTrail, 'record'>;
  readonly #now: () => number;
  readonly #nonceKey = randomBytes(32);
  readonly #provedBasic = new Map<string, { user: RtspUser; expiresAt: number }>();
  readonly #checking = new Map<string, Promise<RtspUser | undefined | 'busy'>>();
  #checksRunning = 0;
  readonly #checksWaiting: (() => void)[] = [];

  constructor(options: RtspAccessOptions) {
    this.#repository = options.repository;
    this.#tokens = options.mediaTokens;
    this.#audit = options.audit;
    this.#now = options.now;
  }

  async authorize(request: RtspAccessRequest): Promise<RtspAccessDecision> {
    let user: RtspUser | undefined;
    let stale = false;
    if (request.token !== undefined) {
      const principal = await this.#tokens.verify(request.token, request.sessionId);
      user =
        principal === undefined
          ? undefined
          : { username: principal.username, role: principal.role, via: 'token' };
    }
    if (user === undefined && request.authorization !== undefined) {
      const parsed = parseAuthorization(request.authorization);
      const credentials = parsed.ok ? parsed.value : undefined;
      if (credentials?.scheme === 'basic') {
        const proved = await this.#provedOrChecked(credentials.token);
        if (proved === 'busy') {
          return { kind: 'busy' };
        }
        user = proved;
      } else if (credentials?.scheme === 'digest') {
        const checked = await this.#digest(request, credentials.digest);
        user = checked.user;
        stale = checked.stale;
      }
    }
    if (user === undefined) {
      return { kind: 'unauthorized', challenges: this.#challenges(stale) };
    }
    const role = user.role;
    if (!isRole(role) || !allows(role, 'play')) {
      return {
        kind: 'forbidden',
        message: `playback needs one of the roles ${rolesWith('play').join(', ')}`,
      };
    }
    return { kind: 'allowed', user };
  }

  async played(record: RtspPlayRecord): Promise<void> {
    await this.#audit.record({
      username: record.user.username,
      role: record.user.role,
      action: `rtsp:${record.what}`,
      target: record.sessionId,
      outcome: record.found ? RESPONSE_CODES.success : RESPONSE_CODES.mediaNotFound,
      source: record.source,
      detail: { via: record.user.via },
    });
  }

  /** Basic and Digest, Digest last: clients take the strongest scheme they know (RFC 7235 §4.1). */
  #challenges(stale: boolean): string[] {
    return [
      `Basic realm="${RTSP_DIGEST_REALM}"`,
      `Digest realm="${RTSP_DIGEST_REALM}", nonce="${this.#nonce()}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`,
    ];
  }

  /** Basic credentials from the cache of proved ones, or checked within the password-check budget. */
  async #provedOrChecked(token: string): Promise<RtspUser | undefined | 'busy'> {
    const key = createHash('sha256').update(token).digest('base64');
    const now = this.#now();
    const cached = this.#provedBasic.get(key);
    if (cached !== undefined && cached.expiresAt > now) {
      return cached.user;
    }
    this.#provedBasic.delete(key);
    // Players started together with the same credentials share one check.
    const running = this.#checking.get(key);
    if (running !== undefined) {
      return running;
    }
    const check = this.#check(key, token, now);
    this.#checking.set(key, check);
    try {
      return await check;
    } finally {
      this.#checking.delete(key);
    }
  }

  async #check(key: string, token: string, now: number): Promise<RtspUser | undefined | 'busy'> {
    if (this.#checksRunning >= MAX_PASSWORD_CHECKS) {
      if (this.#checksWaiting.length >= MAX_WAITING_CHECKS) {
        return 'busy';
      }
      // The slot is handed over by the check that finishes (it does not decrement the count).
      await new Promise<void>((resolve) => {
        this.#checksWaiting.push(resolve);
      });
    } else {
      this.#checksRunning += 1;
    }
    try {
      const user = await this.#basic(token);
      if (user !== undefined) {
        if (this.#provedBasic.size >= MAX_PROVED_BASIC) {
          this.#provedBasic.clear();
        }
        // A role change or a removed user is seen within the cache's lifetime.
        this.#provedBasic.set(key, { user, expiresAt: now + PROVED_BASIC_TTL_MS });
      }
      return user;
    } finally {
      const next = this.#checksWaiting.shift();
      if (next === undefined) {
        this.#checksRunning -= 1;
      } else {
        next();
      }
    }
  }

  async #basic(token: string): Promise<RtspUser | undefined> {
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    // RFC 7617 §2: the user-id cannot contain a colon, so the first colon separates the two.
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      return undefined;
    }
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const account = await this.#repository.getUser(username);
    // An unknown user costs the same scrypt run as a wrong password (no enumeration by timing).
    const matches = await verifyPassword(password, account?.passwordHash ?? (await dummyPasswordHash()));
    if (account === undefined || !matches) {
      return undefined;
    }
    await storeDigestHa1(this.#repository, account, password);
    return { username: account.username, role: account.role, via: 'basic' };
  }

  async #digest(
    request: RtspAccessRequest,
    credentials: Parameters<typeof expectedDigestResponse>[2],
  ): Promise<{ user?: RtspUser; stale: boolean }> {
    if (credentials.realm !== RTSP_DIGEST_REALM || !sameUri(credentials.uri, request.uri)) {
      return { stale: false };
    }
    const nonceAge = this.#nonceAgeS(credentials.nonce);
    if (nonceAge === undefined) {
      return { stale: false };
    }
    const account = await this.#repository.getUser(credentials.username);
    if (account?.digestHa1 === undefined) {
      return { stale: false };
    }
    const expected = expectedDigestResponse(account.digestHa1, request.method, credentials, md5Hex);
    if (expected === undefined || !equalText(expected, credentials.response)) {
      return { stale: false };
    }
    if (nonceAge > NONCE_TTL_S) {
      // The right password with an old nonce: RFC 2617 §3.2.1 stale=true, the client retries.
      return { stale: true };
    }
    return { user: { username: account.username, role: account.role, via: 'digest' }, stale: false };
  }

  #nonce(): string {
    const issued = Math.floor(this.#now() / 1000).toString(36);
    return `${issued}.${this.#nonceMac(issued)}`;
  }

  #nonceMac(issued: string): string {
    return createHmac('sha256', this.#nonceKey)
      .update(issued)
      .digest()
      .subarray(0, NONCE_MAC_BYTES)
      .toString('base64url');
  }

  /** Seconds since a nonce this node issued was made; undefined for one it did not issue. */
  #nonceAgeS(nonce: string): number | undefined {
    const [issued = '', mac = '', ...rest] = nonce.split('.');
    if (rest.length > 0 || !/^[0-9a-z]{1,12}$/.test(issued) || !equalText(mac, this.#nonceMac(issued))) {
      return undefined;
    }
    return Math.floor(this.#now() / 1000) - parseInt(issued, 36);
  }
}

/** The Digest `uri` names the request: the Request-URI as sent, or its path (some clients). */
function sameUri(digestUri: string, requestUri: string): boolean {
  if (digestUri === requestUri) {
    return true;
  }
  try {
    const url = new URL(requestUri);
    return digestUri === `${url.pathname}${url.search}` || digestUri === url.pathname;
  } catch {
    return false;
  }
}

function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function isRole(role: string): role is Role {
  return (ROLES as readonly string[]).includes(role);
}
