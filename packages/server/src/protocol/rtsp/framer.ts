/**
 * Cuts an RTSP TCP stream into its items: requests (a header section ended by an empty line, then
 * Content-Length bytes of body) and interleaved binary frames (RFC 2326 §10.12: `$`, a channel
 * byte, a 16-bit length, then the RTP or RTCP packet; clients send RTCP receiver reports this way).
 * CR and LF bytes between items are skipped (some clients send a bare CRLF as a keep-alive).
 *
 * Buffering is bounded: a header section over MAX_RTSP_HEADER_BYTES or a Content-Length over
 * MAX_RTSP_BODY_BYTES is an error, after which the framer stays failed and the caller closes the
 * connection (the stream cannot be resynchronised). An interleaved frame is at most 65535 bytes by
 * construction.
 */
import { err, type ParseError } from '../result.js';
import { decodeLatin1 } from '../text.js';
import { MAX_RTSP_BODY_BYTES, MAX_RTSP_HEADER_BYTES, RtspErrorCode } from './errors.js';

export type RtspStreamItem =
  | { readonly kind: 'request'; readonly head: Uint8Array; readonly body: Uint8Array }
  | { readonly kind: 'interleaved'; readonly channel: number; readonly packet: Uint8Array }
  | {
      readonly kind: 'error';
      readonly error: ParseError;
      /** The header section of a request refused for its Content-Length, to answer it (413). */
      readonly head?: Uint8Array;
    };

const DOLLAR = 0x24;
const CR = 0x0d;
const LF = 0x0a;
const INTERLEAVED_HEADER_BYTES = 4;
const CONTENT_LENGTH = /^content-length[ \t]*:[ \t]*([0-9]{1,12})[ \t]*$/im;

function tooLarge(message: string): RtspStreamItem & { kind: 'error' } {
  return { kind: 'error', error: err(RtspErrorCode.TooLarge, message).error };
}

export class RtspStreamFramer {
  #buffer = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  /** Bytes already searched for the end of the header section, relative to #start. */
  #scanned = 0;
  #failed = false;

  /** True after an error: the caller must close the connection. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Bytes held waiting for the rest of an item. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /** Adds bytes from the stream; returns every item they complete, in order. */
  push(chunk: Uint8Array): RtspStreamItem[] {
    const items: RtspStreamItem[] = [];
    if (this.#failed) {
      return items;
    }
    this.#append(chunk);
    for (;;) {
      const item = this.#next();
      if (item === undefined) {
        break;
      }
      items.push(item);
      if (item.kind === 'error') {
        this.#failed = true;
        this.#start = this.#end = 0;
        break;
      }
    }
    return items;
  }

  #append(chunk: Uint8Array): void {
    const held = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buffer.length) {
      const size = Math.max(this.#buffer.length, held + chunk.length);
      const next = size > this.#buffer.length ? new Uint8Array(size * 2) : this.#buffer;
      next.set(this.#buffer.subarray(this.#start, this.#end), 0);
      this.#buffer = next;
      this.#start = 0;
      this.#end = held;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  #next(): RtspStreamItem | undefined {
    while (this.#start < this.#end && this.#scanned === 0) {
      const byte = this.#buffer[this.#start];
      if (byte !== CR && byte !== LF) {
        break;
      }
      this.#start += 1;
    }
    const available = this.#end - this.#start;
    if (available === 0) {
      return undefined;
    }
    if (this.#buffer[this.#start] === DOLLAR && this.#scanned === 0) {
      if (available < INTERLEAVED_HEADER_BYTES) {
        return undefined;
      }
      const channel = this.#buffer[this.#start + 1] ?? 0;
      const length = ((this.#buffer[this.#start + 2] ?? 0) << 8) | (this.#buffer[this.#start + 3] ?? 0);
      if (available < INTERLEAVED_HEADER_BYTES + length) {
        return undefined;
      }
      const from = this.#start + INTERLEAVED_HEADER_BYTES;
      const packet = this.#buffer.slice(from, from + length);
      this.#start = from + length;
      return { kind: 'interleaved', channel, packet };
    }
    const headEnd = this.#findHeadEnd();
    if (headEnd === undefined) {
      return available > MAX_RTSP_HEADER_BYTES
        ? tooLarge(`header section over ${MAX_RTSP_HEADER_BYTES} bytes`)
        : undefined;
    }
    const head = this.#buffer.subarray(this.#start, this.#start + headEnd);
    if (head.length > MAX_RTSP_HEADER_BYTES) {
      return tooLarge(`header section over ${MAX_RTSP_HEADER_BYTES} bytes`);
    }
    const match = CONTENT_LENGTH.exec(decodeLatin1(head));
    const bodyLength = match?.[1] === undefined ? 0 : Number(match[1]);
    if (bodyLength > MAX_RTSP_BODY_BYTES) {
      return {
        ...tooLarge(`Content-Length ${bodyLength} over ${MAX_RTSP_BODY_BYTES} bytes`),
        head: head.slice(),
      };
    }
    if (available < headEnd + bodyLength) {
      return undefined;
    }
    const item: RtspStreamItem = {
      kind: 'request',
      head: head.slice(),
      body: this.#buffer.slice(this.#start + headEnd, this.#start + headEnd + bodyLength),
    };
    this.#start += headEnd + bodyLength;
    this.#scanned = 0;
    return item;
  }

  /** Length of the header section including its empty line (CRLFCRLF or LFLF), when complete. */
  #findHeadEnd(): number | undefined {
    const from = this.#start + Math.max(0, this.#scanned - 3);
    for (let i = from; i < this.#end; i++) {
      if (this.#buffer[i] !== LF) {
        continue;
      }
      const next = this.#buffer[i + 1];
      if (next === LF) {
        return i + 2 - this.#start;
      }
      if (next === CR && this.#buffer[i + 2] === LF) {
        return i + 3 - this.#start;
      }
    }
    // Keep the request's position even if it starts with '$' after the first chunk.
    this.#scanned = Math.max(1, this.#end - this.#start);
    return undefined;
  }
}
