import { randomBytes } from 'node:crypto';

/** A random tag or branch suffix: 64 bits, well above the 32 bits RFC 3261 §19.3 asks for. */
export function randomToken(): string {
  return randomBytes(8).toString('hex');
}

/** A host as written in a URI or a Via sent-by: an IPv6 address goes in brackets. */
export function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
