/**
 * MIME Content-Type values (RFC 2045 §5.1) and multipart bodies (RFC 2046 §5.1), as SIP carries
 * them (RFC 3261 §7.4, RFC 5621). SIPREC (RFC 7866 §9) sends SDP and recording metadata as one
 * multipart/mixed body, and SBCs bend the syntax in many ways (intake-samples §6 quirk 10): the
 * boundary quoted or not and written with spaces, CRLF or bare LF, trailing spaces after a
 * delimiter, no closing delimiter, parts without headers. Splitting is therefore lenient about
 * layout and strict about size. Bytes in, values out; never throws.
 */
import { err, ok, type Result } from '../result.js';
import { decodeLatin1 } from '../text.js';

export const MultipartErrorCode = {
  /** The Content-Type value is empty or has no "type/subtype". */
  ContentType: 'VERBATIM_ERR_MULTIPART_CONTENT_TYPE',
  /** A multipart Content-Type without a usable boundary parameter (RFC 2046 §5.1.1). */
  NoBoundary: 'VERBATIM_ERR_MULTIPART_NO_BOUNDARY',
  /** The body contains no delimiter line for the declared boundary. */
  BoundaryNotFound: 'VERBATIM_ERR_MULTIPART_BOUNDARY_NOT_FOUND',
  /** More body parts than MAX_MULTIPART_PARTS. */
  TooManyParts: 'VERBATIM_ERR_MULTIPART_TOO_MANY_PARTS',
  /** One body part is over MAX_MULTIPART_PART_BYTES. */
  PartTooLarge: 'VERBATIM_ERR_MULTIPART_PART_TOO_LARGE',
  /** The whole body is over MAX_MULTIPART_BODY_BYTES. */
  BodyTooLarge: 'VERBATIM_ERR_MULTIPART_BODY_TOO_LARGE',
} as const;

/** SIPREC sends two or three parts (SDP, metadata, sometimes ISUP GTD); 16 leaves room and bounds work. */
export const MAX_MULTIPART_PARTS = 16;
/** Above the 64 KiB SIP message cap, so only a body assembled some other way can reach it. */
export const MAX_MULTIPART_BODY_BYTES = 1024 * 1024;
/** Same cap as the metadata document (rs-metadata.ts). */
export const MAX_MULTIPART_PART_BYTES = 256 * 1024;
/** RFC 2046 §5.1.1 allows 1 to 70 characters; longer ones are tolerated up to this bound. */
const MAX_BOUNDARY_LENGTH = 200;

export interface ContentType {
  /** "type/subtype", lower-case, with any whitespace around "/" removed ("multipart/mixed"). */
  readonly mediaType: string;
  readonly type: string;
  readonly subtype: string;
  /** Parameters by lower-case name; quoted values unquoted (RFC 2045 §5.1 quoted-string). */
  readonly params: ReadonlyMap<string, string>;
}

export interface MultipartHeader {
  /** As written (compare case-insensitively, RFC 2045 §5.1). */
  readonly name: string;
  readonly value: string;
}

export interface MultipartPart {
  /** The part's header fields in order; empty when the part has none (RFC 2046 §5.1.1). */
  readonly headers: readonly MultipartHeader[];
  /** The part's Content-Type when present and readable. */
  readonly contentType?: ContentType;
  /** The disposition type of Content-Disposition, lower-case ("session", "recording-session"). */
  readonly disposition?: string;
  readonly body: Uint8Array;
}

export interface SplitLimits {
  readonly maxParts?: number;
  readonly maxPartBytes?: number;
  readonly maxBodyBytes?: number;
}

/**
 * A part header line: a token (RFC 2045 §5.1: no SP, CTLs or tspecials such as "=" and "<"),
 * optional blanks, a colon (RFC 5322 §2.2, leniently). `v=0` and `<?xml` are not header lines.
 */
const HEADER_LINE = /^[!#$%&'*+.^_`{|}~0-9A-Za-z-]+[ \t]*:/;

function isBlank(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t';
}

function isBlankOrLineEnd(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

/** Trims SP, HTAB, CR and LF by index: a regex for the trailing run is quadratic on inner blanks. */
function trimBlanks(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isBlankOrLineEnd(text[start])) {
    start += 1;
  }
  while (end > start && isBlankOrLineEnd(text[end - 1])) {
    end -= 1;
  }
  return text.slice(start, end);
}

/**
 * Parses `type/subtype *(; name=value)` leniently: blanks anywhere around "/", ";" and "=",
 * quoted or unquoted values, a parameter without "=" ignored. Parameter names are lower-cased
 * and values kept as written (a boundary is case-sensitive).
 */
export function parseContentType(text: string): Result<ContentType> {
  const semicolon = text.indexOf(';');
  const head = (semicolon < 0 ? text : text.slice(0, semicolon)).replace(/[ \t\r\n]+/g, '');
  const slash = head.indexOf('/');
  if (slash <= 0 || slash === head.length - 1) {
    return err(MultipartErrorCode.ContentType, `Content-Type "${text.slice(0, 80)}" has no type/subtype`);
  }
  const mediaType = head.toLowerCase();
  const params = new Map<string, string>();
  let position = semicolon < 0 ? text.length : semicolon + 1;
  while (position < text.length) {
    // The first "=" or ";" from here; searching for each on its own would scan to the end of
    // the text for every parameter without a value (quadratic on "a/b;;;;…").
    let equals = position;
    while (equals < text.length && text[equals] !== '=' && text[equals] !== ';') {
      equals += 1;
    }
    if (text[equals] !== '=') {
      // A parameter without a value; skip it.
      position = equals + 1;
      continue;
    }
    const name = trimBlanks(text.slice(position, equals)).toLowerCase();
    let index = equals + 1;
    while (isBlank(text[index])) {
      index += 1;
    }
    let value: string;
    if (text[index] === '"') {
      // quoted-string with quoted-pair (RFC 5322 §3.2.4); an unterminated one runs to the end.
      let collected = '';
      index += 1;
      while (index < text.length && text[index] !== '"') {
        if (text[index] === '\\' && index + 1 < text.length) {
          index += 1;
        }
        collected += text[index] ?? '';
        index += 1;
      }
      value = collected;
      const after = text.indexOf(';', index);
      position = after < 0 ? text.length : after + 1;
    } else {
      const end = text.indexOf(';', index);
      value = trimBlanks(text.slice(index, end < 0 ? text.length : end));
      position = end < 0 ? text.length : end + 1;
    }
    if (name.length > 0 && !params.has(name)) {
      params.set(name, value);
    }
  }
  return ok({
    mediaType,
    type: mediaType.slice(0, slash),
    subtype: mediaType.slice(slash + 1),
    params,
  });
}

/** The disposition type of a Content-Disposition value (RFC 3261 §20.11), lower-case. */
export function parseDispositionType(text: string): string | undefined {
  const type = trimBlanks(text.split(';', 1)[0] ?? '').toLowerCase();
  return type.length > 0 ? type : undefined;
}

/** The first value of a part header, by case-insensitive name. */
export function partHeader(part: MultipartPart, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return part.headers.find((header) => header.name.toLowerCase() === wanted)?.value;
}

/** The boundary parameter of a multipart Content-Type, checked for length. */
export function boundaryOf(contentType: ContentType): Result<string> {
  const boundary = contentType.params.get('boundary');
  if (boundary === undefined || boundary.length === 0) {
    return err(MultipartErrorCode.NoBoundary, `${contentType.mediaType} without a boundary parameter`);
  }
  if (boundary.length > MAX_BOUNDARY_LENGTH) {
    return err(
      MultipartErrorCode.NoBoundary,
      `boundary of ${boundary.length} characters is over ${MAX_BOUNDARY_LENGTH}`,
    );
  }
  return ok(boundary);
}

interface Line {
  /** Offset of the first character of the line. */
  readonly start: number;
  /** Offset of the line end (the CR of CRLF, the LF, or the end of the text). */
  readonly end: number;
  /** Offset of the next line. */
  readonly next: number;
}

function* lines(text: string, from: number, to: number): Generator<Line> {
  let start = from;
  while (start < to) {
    const lf = text.indexOf('\n', start);
    const lineEnd = lf < 0 || lf >= to ? to : lf;
    const end = lineEnd > start && text[lineEnd - 1] === '\r' ? lineEnd - 1 : lineEnd;
    yield { start, end, next: lineEnd === to ? to : lineEnd + 1 };
    start = lineEnd === to ? to : lineEnd + 1;
  }
}

type Delimiter = 'part' | 'close' | undefined;

/**
 * RFC 2046 §5.1.1: a delimiter line is "--" boundary, then "--" for the close delimiter, then
 * optional linear white space (which Oracle sends). Any other text after the boundary means the
 * line is content that merely starts like a delimiter.
 */
function delimiterKind(text: string, line: Line, dashBoundary: string): Delimiter {
  if (!text.startsWith(dashBoundary, line.start)) {
    return undefined;
  }
  let rest = text.slice(line.start + dashBoundary.length, line.end);
  let kind: Delimiter = 'part';
  if (rest.startsWith('--')) {
    kind = 'close';
    rest = rest.slice(2);
  }
  return /^[ \t]*$/.test(rest) ? kind : undefined;
}

/** Where the line break before `offset` starts (the delimiter owns the CRLF before it). */
function contentEndBefore(text: string, offset: number, floor: number): number {
  let end = offset;
  if (end > floor && text[end - 1] === '\n') {
    end -= 1;
    if (end > floor && text[end - 1] === '\r') {
      end -= 1;
    }
  }
  return end;
}

/**
 * Reads the headers of one part. They end at an empty line; a part that starts with a line
 * that is not `name: value` (for example `v=0`) has no headers and all of it is content, which
 * is how some vendors' parts without headers or without the empty line look.
 */
function readPart(bytes: Uint8Array, text: string, start: number, end: number): MultipartPart {
  const headers: { name: string; value: string }[] = [];
  let bodyStart = start;
  for (const line of lines(text, start, end)) {
    const content = text.slice(line.start, line.end);
    if (content.length === 0) {
      bodyStart = line.next;
      break;
    }
    const previous = headers[headers.length - 1];
    if (isBlank(content[0]) && previous !== undefined) {
      // Folded header line (RFC 5322 §2.2.3).
      previous.value = `${previous.value} ${trimBlanks(content)}`;
      bodyStart = line.next;
      continue;
    }
    if (!HEADER_LINE.test(content)) {
      bodyStart = line.start;
      break;
    }
    const colon = content.indexOf(':');
    headers.push({ name: trimBlanks(content.slice(0, colon)), value: trimBlanks(content.slice(colon + 1)) });
    bodyStart = line.next;
  }
  const typeHeader = headers.find((h) => h.name.toLowerCase() === 'content-type');
  const contentType = typeHeader === undefined ? undefined : parseContentType(typeHeader.value);
  const dispositionHeader = headers.find((h) => h.name.toLowerCase() === 'content-disposition');
  const disposition =
    dispositionHeader === undefined ? undefined : parseDispositionType(dispositionHeader.value);
  return {
    headers,
    ...(contentType?.ok === true ? { contentType: contentType.value } : {}),
    ...(disposition === undefined ? {} : { disposition }),
    body: bytes.slice(bodyStart, Math.max(bodyStart, end)),
  };
}

/**
 * Splits a multipart body (RFC 2046 §5.1.1) at the given boundary. The preamble before the
 * first delimiter and the epilogue after the close delimiter are discarded. A body that ends
 * without the close delimiter (SEMS, Ribbon) ends its last part at the end of the body.
 */
export function splitMultipart(
  body: Uint8Array,
  boundary: string,
  limits: SplitLimits = {},
): Result<MultipartPart[]> {
  const maxBodyBytes = limits.maxBodyBytes ?? MAX_MULTIPART_BODY_BYTES;
  const maxParts = limits.maxParts ?? MAX_MULTIPART_PARTS;
  const maxPartBytes = limits.maxPartBytes ?? MAX_MULTIPART_PART_BYTES;
  if (body.length > maxBodyBytes) {
    return err(
      MultipartErrorCode.BodyTooLarge,
      `multipart body of ${body.length} bytes is over ${maxBodyBytes}`,
    );
  }
  if (boundary.length === 0) {
    return err(MultipartErrorCode.NoBoundary, 'empty boundary');
  }
  // One character per byte, so string offsets are byte offsets into `body`.
  const text = decodeLatin1(body);
  const dashBoundary = `--${boundary}`;
  const parts: MultipartPart[] = [];
  let partStart: number | undefined;
  let closed = false;
  for (const line of lines(text, 0, text.length)) {
    const kind = delimiterKind(text, line, dashBoundary);
    if (kind === undefined) {
      continue;
    }
    if (partStart !== undefined) {
      const partEnd = contentEndBefore(text, line.start, partStart);
      if (partEnd - partStart > maxPartBytes) {
        return err(
          MultipartErrorCode.PartTooLarge,
          `body part ${parts.length} of ${partEnd - partStart} bytes is over ${maxPartBytes}`,
          partStart,
        );
      }
      parts.push(readPart(body, text, partStart, partEnd));
    }
    if (kind === 'close') {
      closed = true;
      partStart = undefined;
      break;
    }
    if (parts.length >= maxParts) {
      return err(MultipartErrorCode.TooManyParts, `more than ${maxParts} body parts`, line.start);
    }
    partStart = line.next;
  }
  if (!closed && partStart !== undefined) {
    if (text.length - partStart > maxPartBytes) {
      return err(
        MultipartErrorCode.PartTooLarge,
        `body part ${parts.length} of ${text.length - partStart} bytes is over ${maxPartBytes}`,
        partStart,
      );
    }
    parts.push(readPart(body, text, partStart, text.length));
  }
  if (parts.length === 0 && !closed) {
    return err(
      MultipartErrorCode.BoundaryNotFound,
      `no "--${boundary.slice(0, 80)}" delimiter line in the body`,
    );
  }
  return ok(parts);
}

/** Parses the Content-Type and splits the body in one step (for callers holding both). */
export function parseMultipart(
  contentType: string,
  body: Uint8Array,
  limits: SplitLimits = {},
): Result<MultipartPart[]> {
  const type = parseContentType(contentType);
  if (!type.ok) {
    return type;
  }
  const boundary = boundaryOf(type.value);
  if (!boundary.ok) {
    return boundary;
  }
  return splitMultipart(body, boundary.value, limits);
}
