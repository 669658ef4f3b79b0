import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SipRequest } from '../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../src/protocol/sip/parse.js';
import { encodeUtf8 } from '../../src/protocol/text.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'recording');

/**
 * A CUBE fixture as wire bytes: the files are written with LF line ends and a placeholder
 * Content-Length, so they stay readable; this restores CRLF (RFC 3261 §7) and the real length.
 * `replace` substitutes placeholders such as TO-TAG or the SDP's ports.
 */
export function cubeFixtureBytes(name: string, replace: Readonly<Record<string, string>> = {}): Uint8Array {
  let text = readFileSync(join(FIXTURES, name), 'utf8');
  for (const [from, to] of Object.entries(replace)) {
    text = text.split(from).join(to);
  }
  const split = text.indexOf('\n\n');
  const head = text.slice(0, split).split('\n');
  const body = text
    .slice(split + 2)
    .split('\n')
    .join('\r\n');
  const bodyLength = encodeUtf8(body).length;
  const headers = head.map((line) =>
    line.startsWith('Content-Length:') ? `Content-Length: ${String(bodyLength)}` : line,
  );
  return encodeUtf8(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

/** A CUBE fixture parsed by the real SIP parser. */
export function cubeFixture(name: string, replace: Readonly<Record<string, string>> = {}): SipRequest {
  const parsed = parseSipMessage(cubeFixtureBytes(name, replace));
  if (!parsed.ok || parsed.value.type !== 'request') {
    throw new Error(
      `fixture ${name} does not parse as a request: ${parsed.ok ? 'response' : parsed.error.message}`,
    );
  }
  return parsed.value;
}

/** A track as the recording model and the API's JSON both carry it. */
interface TrackOutline {
  readonly trackNumber: number;
  readonly trackMediaType: string;
  readonly codec: string;
  readonly participants: readonly { readonly deviceRef: string }[];
}

type TrackLayout = [number, string, string, string[]][];

/** Each track as [number, media type, codec, the deviceRefs of its participants]. */
export function trackLayout(tracks: readonly TrackOutline[]): TrackLayout {
  return tracks.map((t) => [
    t.trackNumber,
    t.trackMediaType,
    t.codec,
    t.participants.map((p) => p.deviceRef),
  ]);
}

/** A CUBE video fork of two parties: their audio lines (PCMU), then their video lines (H.264). */
export function videoForkLayout(first: string, second: string): TrackLayout {
  return [
    [0, 'AUDIO', 'PCMU', [first]],
    [1, 'AUDIO', 'PCMU', [second]],
    [2, 'VIDEO', 'H264', [first]],
    [3, 'VIDEO', 'H264', [second]],
  ];
}
