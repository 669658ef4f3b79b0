import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeader, type SipRequest } from '../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../src/protocol/sip/parse.js';
import { encodeUtf8 } from '../../src/protocol/text.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'siprec');

/** Every SIPREC fixture file (`*.sip`), sorted. */
export function siprecFixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((name) => name.endsWith('.sip'))
    .sort();
}

export interface FixtureOptions {
  /** Line ends of the whole message; CRLF (RFC 3261 §7) unless a test wants bare LF. */
  readonly lineEnding?: 'crlf' | 'lf';
}

/**
 * A SIPREC fixture as wire bytes. The files are stored with LF line ends and a placeholder
 * Content-Length so they stay readable and editable; this restores the wire line ends and puts
 * the real body length in place of the digits, keeping the header's own spacing (Ribbon's
 * `Content-Length:  3304` has two blanks, Twilio-style lines end with a blank).
 */
export function siprecFixtureBytes(name: string, options: FixtureOptions = {}): Uint8Array {
  const eol = options.lineEnding === 'lf' ? '\n' : '\r\n';
  const text = readFileSync(join(FIXTURES, name), 'utf8');
  const split = text.indexOf('\n\n');
  if (split < 0) {
    throw new Error(`fixture ${name} has no empty line after its headers`);
  }
  const body = text
    .slice(split + 2)
    .split('\n')
    .join(eol);
  const bodyLength = encodeUtf8(body).length;
  const head = text
    .slice(0, split)
    .split('\n')
    .map((line) => line.replace(/^((?:Content-Length|l)[ \t]*:[ \t]*)[0-9]+/i, `$1${String(bodyLength)}`));
  return encodeUtf8(`${head.join(eol)}${eol}${eol}${body}`);
}

/** A SIPREC fixture parsed by the project's SIP parser; throws when it does not parse. */
export function siprecFixture(name: string, options: FixtureOptions = {}): SipRequest {
  const parsed = parseSipMessage(siprecFixtureBytes(name, options));
  if (!parsed.ok || parsed.value.type !== 'request') {
    throw new Error(
      `fixture ${name} does not parse as a request: ${parsed.ok ? 'response' : `${parsed.error.code} ${parsed.error.message}`}`,
    );
  }
  return parsed.value;
}

/** The Content-Type header of a fixture request ('' when it has none). */
export function contentTypeOf(request: SipRequest): string {
  return getHeader(request, 'Content-Type') ?? '';
}

/** The SIP and SIPREC session ids among a call's correlation values. */
export function sessionIds(
  correlation: Readonly<Record<string, string>> | undefined,
): Record<string, unknown> {
  return {
    sipSessionId: correlation?.sipSessionId,
    siprecSessionId: correlation?.siprecSessionId,
    sipSessionID: correlation?.sipSessionID,
  };
}

/** The session ids cube-siprec-invite.sip carries, as sent. */
export const CUBE_SIPREC_SESSION_IDS = {
  sipSessionId: '7d1f3c2a9b8e4f5a8c6d0e1f2a3b4c5d;remote=00000000000000000000000000000000',
  siprecSessionId: 'HWa34c9av1/JqgdPy1A1CA==',
  sipSessionID: '2b7e151628aed2a6abf7158809cf4f3c;remote=3ad77bb40d7a3660a89ecaf32466ef97',
};
