/**
 * Text <-> bytes for the pure protocol layer. TextEncoder/TextDecoder are available in every
 * JavaScript runtime Verbatim runs on, but are not part of the ECMAScript library typings that
 * protocol/ is compiled against (tsconfig.protocol.json has no Node or DOM types), so their
 * minimal shape is declared here once.
 */
declare const TextEncoder: new () => { encode(input: string): Uint8Array };
declare const TextDecoder: new (
  label?: string,
  options?: { fatal?: boolean },
) => { decode(input: Uint8Array): string };

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');
const latin1Decoder = new TextDecoder('latin1');

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Decodes UTF-8, replacing invalid sequences with U+FFFD (never throws). */
export function decodeUtf8(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** One character per byte: keeps byte offsets equal to string offsets (used for framing). */
export function decodeLatin1(bytes: Uint8Array): string {
  return latin1Decoder.decode(bytes);
}
