/**
 * Cuts a TCP or TLS byte stream into SIP messages (RFC 3261 §18.3): the end of the header
 * section is the first empty line, and Content-Length, mandatory on streams, says how many body
 * bytes follow. CRLFs between messages are skipped: they are RFC 5626 §3.5.1 keep-alives
 * ("\r\n\r\n" ping, "\r\n" pong) and RFC 3261 §7.5 allows them before a start line.
 *
 * Buffering is bounded: a header section, a Content-Length or a whole message over 64 KiB (the
 * limit parseSipMessage applies too) is an error, after which the framer stays failed and the
 * caller closes the connection.
 */
import { err, type ParseError } from '../result.js';
import { decodeLatin1 } from '../text.js';
import { MAX_SIP_MESSAGE_BYTES, SipErrorCode } from './errors.js';
import { parseBoundedInteger } from './syntax.js';

export type FramedItem =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | {
      readonly ok: false;
      readonly error: ParseError;
      /**
       * The header section (with its empty line) of a message refused once its headers were read
       * (its size or its Content-Length): enough to answer it (413, 400) before the connection
       * is closed.
       */
      readonly head?: Uint8Array;
    };

const LF = 0x0a;
const CR = 0x0d;
const INITIAL_CAPACITY = 4096;

interface Frame {
  /** Offset of the first body byte, relative to the start of the buffered data. */
  readonly bodyStart: number;
  readonly contentLength: number;
}

export class SipStreamFramer {
  #buffer = new Uint8Array(INITIAL_CAPACITY);
  /** Buffered data is #buffer[#start, #end). */
  #start = 0;
  #end = 0;
  /** Bytes already searched for the end of headers, relative to #start, so search is linear. */
  #scanned = 0;
  /** The header section of the message being received, once known. */
  #frame: Frame | undefined;
  #failed = false;

  /** True after an error: the stream cannot be resynchronised and must be closed. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Bytes held waiting for the rest of a message. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /** Adds bytes from the stream; returns every message completed by them, in order. */
  push(chunk: Uint8Array): FramedItem[] {
    if (this.#failed) {
      return [];
    }
    this.#append(chunk);
    const items: FramedItem[] = [];
    for (;;) {
      const item = this.#next();
      if (item === undefined) {
        break;
      }
      items.push(item);
      if (!item.ok) {
        this.#failed = true;
        this.#buffer = new Uint8Array(0);
        this.#start = 0;
        this.#end = 0;
        break;
      }
    }
    return items;
  }

  #append(chunk: Uint8Array): void {
    const length = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buffer.length) {
      if (length + chunk.length <= this.#buffer.length && this.#start > 0) {
        this.#buffer.copyWithin(0, this.#start, this.#end);
      } else {
        let capacity = Math.max(this.#buffer.length, INITIAL_CAPACITY);
        while (capacity < length + chunk.length) {
          capacity *= 2;
        }
        const grown = new Uint8Array(capacity);
        grown.set(this.#buffer.subarray(this.#start, this.#end), 0);
        this.#buffer = grown;
      }
      this.#start = 0;
      this.#end = length;
    }
    this.#buffer.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  #next(): FramedItem | undefined {
    if (this.#frame === undefined) {
      this.#skipKeepAlives();
      const frame = this.#findFrame();
      if (frame === undefined) {
        return undefined;
      }
      if (!('bodyStart' in frame)) {
        return frame;
      }
      this.#frame = frame;
    }
    const total = this.#frame.bodyStart + this.#frame.contentLength;
    if (this.#end - this.#start < total) {
      return undefined;
    }
    const bytes = this.#buffer.slice(this.#start, this.#start + total);
    this.#start += total;
    this.#scanned = 0;
    this.#frame = undefined;
    return { ok: true, bytes };
  }

  #skipKeepAlives(): void {
    const before = this.#start;
    while (
      this.#start < this.#end &&
      (this.#buffer[this.#start] === CR || this.#buffer[this.#start] === LF)
    ) {
      this.#start += 1;
    }
    if (this.#start !== before) {
      this.#scanned = 0;
    }
  }

  /** Looks for the empty line; gives the frame, an error, or undefined when more bytes are needed. */
  #findFrame(): Frame | FramedItem | undefined {
    const data = this.#buffer.subarray(this.#start, this.#end);
    // Resume one byte early so that a CR LF split across chunks is still seen.
    let index = Math.max(0, this.#scanned - 1);
    for (; index < data.length; index += 1) {
      if (data[index] !== LF) {
        continue;
      }
      // An empty line is LF LF or LF CR LF (CRLF CRLF, tolerating bare LF line ends).
      const previous = data[index - 1];
      const endsHeaders = previous === LF || (previous === CR && data[index - 2] === LF);
      if (index > 0 && endsHeaders) {
        const headerEnd = previous === LF ? index - 1 : index - 2;
        const frame = this.#frameFromHeaders(data.subarray(0, headerEnd), index + 1);
        return 'bodyStart' in frame || frame.ok ? frame : { ...frame, head: data.slice(0, index + 1) };
      }
    }
    this.#scanned = data.length;
    if (data.length > MAX_SIP_MESSAGE_BYTES) {
      return err(SipErrorCode.TooLarge, `header section over ${MAX_SIP_MESSAGE_BYTES} bytes`);
    }
    return undefined;
  }

  #frameFromHeaders(header: Uint8Array, bodyStart: number): Frame | FramedItem {
    if (bodyStart > MAX_SIP_MESSAGE_BYTES) {
      return err(SipErrorCode.TooLarge, `header section over ${MAX_SIP_MESSAGE_BYTES} bytes`);
    }
    // Latin-1 keeps one character per byte; only ASCII header names and digits matter here.
    const lines = decodeLatin1(header).split('\n');
    const values: string[] = [];
    let current: string | undefined;
    for (const rawLine of lines.slice(1)) {
      const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
      if ((line.startsWith(' ') || line.startsWith('\t')) && current !== undefined) {
        current = `${current} ${line.trim()}`.trim();
        values[values.length - 1] = current;
        continue;
      }
      current = undefined;
      const colon = line.indexOf(':');
      const name = colon < 0 ? '' : line.slice(0, colon).trim().toLowerCase();
      if (name === 'content-length' || name === 'l') {
        current = line.slice(colon + 1).trim();
        values.push(current);
      }
    }
    if (values.length === 0) {
      return err(
        SipErrorCode.ContentLength,
        'Content-Length is mandatory on stream transports (RFC 3261 §18.3)',
      );
    }
    const first = values[0] ?? '';
    if (values.some((value) => value !== first)) {
      return err(SipErrorCode.ContentLength, 'conflicting Content-Length headers');
    }
    const contentLength = parseBoundedInteger(first, MAX_SIP_MESSAGE_BYTES);
    if (contentLength === undefined) {
      return err(SipErrorCode.ContentLength, `bad or too large Content-Length "${first}"`);
    }
    if (bodyStart + contentLength > MAX_SIP_MESSAGE_BYTES) {
      // parseSipMessage would refuse the frame anyway; refusing it here bounds the buffer.
      return err(
        SipErrorCode.TooLarge,
        `message of ${bodyStart + contentLength} bytes is over ${MAX_SIP_MESSAGE_BYTES}`,
      );
    }
    return { bodyStart, contentLength };
  }
}
