import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/sip/', import.meta.url));

/** Reads a fixture as the exact bytes on disk. */
export function loadFixture(area: string, name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${FIXTURES}${area}/${name}`));
}

export function listFixtures(area: string): string[] {
  return readdirSync(`${FIXTURES}${area}`)
    .filter((name) => name.endsWith('.txt'))
    .sort();
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** Lines joined with CRLF, the wire form; the last element is usually '' or a body. */
export function crlf(...lines: string[]): Uint8Array {
  return text(lines.join('\r\n'));
}
