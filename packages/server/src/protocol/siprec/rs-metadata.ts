/**
 * SIPREC recording metadata (RFC 7865), read leniently. Every SRC writes its own dialect
 * (intake-samples §6 quirks 1-5, 16-22): three namespaces and a BroadWorks root
 * `<recording_metadata>`, prefixed and unprefixed elements, `participant_id`/`stream_id` or plain
 * `id`, four ways to say who sends which stream, vendor extension data anywhere, elements in any
 * order. So elements are matched by local name (case-insensitively: `datamode`/`dataMode`), never
 * by namespace, and the document is never validated against the RFC 7865 XSD (§6 quirk 22).
 *
 * Safety: a document over MAX_METADATA_BYTES, with a DOCTYPE or an ENTITY declaration (entity
 * expansion bombs, external entities), or not well-formed, is rejected with a typed error before
 * or instead of being walked. The XML library's exceptions are caught into the same error.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { err, ok, type Result } from '../result.js';

export const SiprecErrorCode = {
  /** The metadata document is over MAX_METADATA_BYTES. */
  MetadataTooLarge: 'VERBATIM_ERR_SIPREC_METADATA_TOO_LARGE',
  /** The document has a DOCTYPE or ENTITY declaration (never legitimate in RFC 7865 metadata). */
  MetadataDoctype: 'VERBATIM_ERR_SIPREC_METADATA_DOCTYPE',
  /** The document is not well-formed XML (truncated, mismatched tags, binary, not XML at all). */
  MetadataSyntax: 'VERBATIM_ERR_SIPREC_METADATA_SYNTAX',
  /** Well-formed XML whose root is neither `recording` nor `recording_metadata`. */
  MetadataRoot: 'VERBATIM_ERR_SIPREC_METADATA_ROOT',
} as const;

/** RFC 7865 documents are a few KB; 256 KiB bounds parse time and memory per INVITE. */
export const MAX_METADATA_BYTES = 256 * 1024;
/** Bounds on what one document can add to the session's correlation values. */
const MAX_EXTENSION_VALUES = 64;
const MAX_EXTENSION_VALUE_LENGTH = 1024;
/** Deeper nesting is not metadata; the library's own limit guards the parser's stack. */
const MAX_NESTED_TAGS = 64;

export interface MetadataParticipant {
  /** `participant_id` (RFC 7865) or `id` (Oracle, BroadWorks, 2011 drafts), as sent. */
  readonly id: string;
  /** `<nameID aor>` or `<aor>`, trimmed, as sent (scheme-less, bare numbers and tokens occur). */
  readonly aor?: string;
  /** `<name>`, trimmed and unquoted; absent when missing or blank. */
  readonly name?: string;
  /** User part of the AOR (see deviceRefOf); absent for placeholders. */
  readonly deviceRef?: string;
  /** Stream ids the participant sends, from any of the association styles. */
  readonly sends: readonly string[];
  /** Stream ids the participant receives. */
  readonly receives: readonly string[];
  /** Times as sent by the SRC (store only; the recorder's clock is the authority, quirk 18). */
  readonly associateTime?: string;
  readonly disassociateTime?: string;
  /**
   * True for a participant that names nobody: no AOR at all (also a participant known only
   * from an association element), or a known dummy such as Avaya SBCE's `sip:ASBCE@asbce.com`.
   */
  readonly placeholder: boolean;
  /** Leaf values of vendor elements inside the participant (Oracle `callingParty`, Intrado `role`). */
  readonly extensions: Readonly<Record<string, string>>;
}

export interface MetadataStream {
  /** `stream_id` or `id`, as sent; may be empty (Avaya SBCE announces a stream not yet set up). */
  readonly id: string;
  /** `<label>`, matching an SDP `a=label` (RFC 4574); opaque text, not a number. */
  readonly label?: string;
  /** `<mode>` when sent: "separate" or "mixed". */
  readonly mode?: string;
}

export interface RecordingMetadata {
  /** `<datamode>` as sent ("complete" or "partial"), RFC 7865 §6.1. */
  readonly dataMode?: string;
  readonly sessionId?: string;
  readonly groupId?: string;
  /** `<sipSessionID>` values: the recorded call's Session-ID or, for some SRCs, its Call-ID. */
  readonly sipSessionIds: readonly string[];
  /** In document order; participants known only from associations come last. */
  readonly participants: readonly MetadataParticipant[];
  readonly streams: readonly MetadataStream[];
  /**
   * Leaf values of vendor elements outside participants, by local element name as sent (or by
   * the `name`/`label` attribute of a name/value element): `ucid`, `gcid`, `callid`, `fromhdr`,
   * `extTrackingID`, `AvayaUCID`, `Role`, ... The first occurrence of a name wins.
   */
  readonly correlation: Readonly<Record<string, string>>;
  /**
   * How streams map to participants: 'associations' when the document carries any
   * `participantstreamassoc` or inline `<send>`/`<recv>` (even empty ones, e.g. on hold), else
   * 'document-order' (old OpenSIPS, intake-samples §3.7: the n-th participant sends the n-th stream).
   */
  readonly streamMapping: 'associations' | 'document-order';
}

/** One element of the document, reduced to what the metadata reader needs. */
interface XmlElement {
  /** Local name as written ("extTrackingID"). */
  readonly name: string;
  /** Local name, lower-case, for matching. */
  readonly key: string;
  /** Attributes by lower-case local name. */
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** Direct text content, trimmed. */
  readonly text: string;
}

/** Elements of RFC 7865 (and of the BroadWorks / 2011-draft dialect) that this reader interprets. */
const KNOWN_ELEMENTS: ReadonlySet<string> = new Set([
  'recording',
  'recording_metadata',
  'datamode',
  'group',
  'session',
  'participant',
  'stream',
  'sessionrecordingassoc',
  'participantsessionassoc',
  'participantstreamassoc',
  'associate-time',
  'disassociate-time',
  'start-time',
  'end-time',
  'sipsessionid',
  'group-ref',
  'label',
  'mode',
  'nameid',
  'name',
  'aor',
  'send',
  'recv',
  // The stream reference inside BroadWorks' <send><id>.
  'id',
  // BroadWorks' <recording> and <group> children (same values as the participants and headers).
  'requestor',
  'type',
  'initiator',
]);

/** Vendor containers whose children are extension values, not RFC 7865 elements. */
const EXTENSION_CONTAINERS: ReadonlySet<string> = new Set(['extensiondata']);

/** AORs that SRCs use for "nobody yet" (Avaya SBCE, intake-samples §3.2). */
const PLACEHOLDER_AORS: ReadonlySet<string> = new Set(['sip:asbce@asbce.com']);

const parser = new XMLParser({
  preserveOrder: true,
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Only the five predefined entities and character references remain: DOCTYPE is refused first.
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_NESTED_TAGS,
});

/**
 * Repairs the one typo vendor documentation shows inside tags and that an SRC built from that
 * documentation may copy: blanks after "<" or "</" (`< disassociate-time >`, CUBE guide §2.6).
 */
function repairTagBlanks(xml: string): string {
  return xml.replace(/<(\/?)[ \t]+([A-Za-z_][\w.:-]*)[ \t]*>/g, '<$1$2>');
}

/**
 * Quotes unquoted attribute values inside start tags (`<apkt:header label=P-Asserted-Identity>`,
 * Oracle ESBC documentation): used only when the document is otherwise not well-formed.
 */
function repairUnquotedAttributes(xml: string): string {
  return xml.replace(/<[A-Za-z_][^<>]*>/g, (tag) =>
    tag.replace(/(\s[A-Za-z_][\w.:-]*)[ \t]*=[ \t]*([^\s"'<>/=]+)/g, '$1="$2"'),
  );
}

function validationProblem(xml: string): string | undefined {
  // fast-xml-parser 5 marks its bundled validator deprecated in favour of the separate
  // fast-xml-validator package, which is not a dependency; the bundled one is still shipped and
  // is the only well-formedness check available (the parser itself accepts truncated documents).
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const verdict = XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (verdict === true) {
    return undefined;
  }
  return `${verdict.err.msg} (line ${verdict.err.line}, column ${verdict.err.col})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function localName(name: string): string {
  const colon = name.lastIndexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** Converts fast-xml-parser's preserveOrder output (`[{tag: [...], ':@': {...}}, {'#text': ...}]`). */
function toElements(nodes: unknown): XmlElement[] {
  if (!Array.isArray(nodes)) {
    return [];
  }
  const elements: XmlElement[] = [];
  for (const node of nodes) {
    if (!isRecord(node)) {
      continue;
    }
    for (const [tag, content] of Object.entries(node)) {
      if (tag === ':@' || tag === '#text' || tag.startsWith('?')) {
        continue;
      }
      const attrs = new Map<string, string>();
      const rawAttrs = node[':@'];
      if (isRecord(rawAttrs)) {
        for (const [attrName, attrValue] of Object.entries(rawAttrs)) {
          if (typeof attrValue === 'string') {
            attrs.set(localName(attrName).toLowerCase(), attrValue);
          }
        }
      }
      const texts: string[] = [];
      if (Array.isArray(content)) {
        for (const child of content) {
          const childText = isRecord(child) ? child['#text'] : undefined;
          if (typeof childText === 'string' || typeof childText === 'number') {
            texts.push(String(childText));
          }
        }
      }
      const name = localName(tag);
      elements.push({
        name,
        key: name.toLowerCase(),
        attrs,
        children: toElements(content),
        text: texts.join('').trim(),
      });
    }
  }
  return elements;
}

function childrenNamed(element: XmlElement, key: string): XmlElement[] {
  return element.children.filter((child) => child.key === key);
}

function firstChildText(element: XmlElement, key: string): string | undefined {
  const text = element.children.find((child) => child.key === key)?.text;
  return text === undefined || text.length === 0 ? undefined : text;
}

function attr(element: XmlElement, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = element.attrs.get(name);
    if (value !== undefined) {
      return value.trim();
    }
  }
  return undefined;
}

/** Stream ids in `<send>`/`<recv>`: the text (RFC 7865, Oracle) or `<id>` children (BroadWorks). */
function streamRefs(elements: readonly XmlElement[]): string[] {
  const refs: string[] = [];
  for (const element of elements) {
    if (element.text.length > 0) {
      refs.push(element.text);
    }
    for (const id of childrenNamed(element, 'id')) {
      if (id.text.length > 0) {
        refs.push(id.text);
      }
    }
  }
  return refs;
}

/**
 * Collects leaf values of vendor elements under `element` into `into`. A name/value element
 * (`<Parameter name="Role" value="inbound"/>`, `<apkt:header label="Call-ID"><value>…`) is kept
 * under its name; any other leaf under its local element name. Known RFC 7865 elements are
 * skipped, except inside an extension container, and so are participants (they keep their own).
 */
function collectExtensions(
  element: XmlElement,
  into: Map<string, string>,
  insideExtension: boolean,
  skipParticipants: boolean,
): void {
  for (const child of element.children) {
    if (into.size >= MAX_EXTENSION_VALUES) {
      return;
    }
    if (skipParticipants && child.key === 'participant') {
      continue;
    }
    const isExtension = insideExtension || !KNOWN_ELEMENTS.has(child.key);
    const pairName = attr(child, 'name', 'label');
    const pairValue = attr(child, 'value') ?? firstChildText(child, 'value');
    if (isExtension && pairName !== undefined && pairValue !== undefined) {
      addValue(into, pairName, pairValue);
      continue;
    }
    if (isExtension && child.children.length === 0) {
      addValue(into, child.name, child.text);
      continue;
    }
    collectExtensions(
      child,
      into,
      insideExtension || EXTENSION_CONTAINERS.has(child.key) || !KNOWN_ELEMENTS.has(child.key),
      skipParticipants,
    );
  }
}

function addValue(into: Map<string, string>, name: string, value: string): void {
  const trimmed = value.trim();
  if (name.length === 0 || trimmed.length === 0 || trimmed.length > MAX_EXTENSION_VALUE_LENGTH) {
    return;
  }
  if (!into.has(name)) {
    into.set(name, trimmed);
  }
}

function unquote(text: string): string {
  const trimmed = text.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1).trim()
    : trimmed;
}

/** Decodes %XX escapes (RFC 3261 §19.1.2) when they form valid UTF-8, else keeps the text. */
function unescapeUser(text: string): string {
  if (!text.includes('%')) {
    return text;
  }
  try {
    return decodeURIComponent(text);
  } catch {
    // A malformed escape is kept as written: the AOR is stored as sent anyway.
    return text;
  }
}

/**
 * The user part of an AOR, which is what an agent's extension or a caller's number is matched
 * against (intake-samples §6 quirk 16): `sip:+15550100@host;user=phone` → `+15550100`,
 * `tel:+15550100;phone-context=x` → `+15550100`, scheme-less `5550100@host:5060` → `5550100`,
 * a bare number or opaque token → itself, `"Name" <sip:5550100@host>` → `5550100`, doc-typo
 * blanks (`sip: 5550100 @host`) trimmed. A URI without a user part (`sip:192.0.2.1`) has none.
 */
export function deviceRefOf(aor: string): string | undefined {
  let text = aor.trim();
  const open = text.indexOf('<');
  if (open >= 0) {
    const close = text.indexOf('>', open + 1);
    text = text.slice(open + 1, close < 0 ? text.length : close).trim();
  }
  const scheme = /^(sips?|tel|pres|im):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    text = text.slice(scheme.length + 1);
  }
  const at = text.lastIndexOf('@');
  if (at < 0 && (scheme === 'sip' || scheme === 'sips')) {
    // sip:host names a host, not a user.
    return undefined;
  }
  let user = at < 0 ? text : text.slice(0, at);
  // user params (";user=phone" style, tel's ";phone-context") and a password follow the user.
  user = user.split(';', 1)[0] ?? '';
  if (at >= 0) {
    user = user.split(':', 1)[0] ?? '';
  }
  user = unescapeUser(user.trim());
  return user.length > 0 ? user : undefined;
}

function isPlaceholderAor(aor: string | undefined): boolean {
  if (aor === undefined) {
    return true;
  }
  return PLACEHOLDER_AORS.has(aor.replace(/\s+/g, '').toLowerCase());
}

interface ParticipantDraft {
  id: string;
  aor?: string;
  name?: string;
  sends: string[];
  receives: string[];
  associateTime?: string;
  disassociateTime?: string;
  extensions: Map<string, string>;
}

function readParticipant(element: XmlElement, index: number): ParticipantDraft {
  const nameId = element.children.find((child) => child.key === 'nameid');
  const aor =
    (nameId === undefined ? undefined : attr(nameId, 'aor')) ??
    (nameId === undefined ? undefined : firstChildText(nameId, 'aor')) ??
    firstChildText(element, 'aor');
  const rawName =
    (nameId === undefined ? undefined : firstChildText(nameId, 'name')) ?? firstChildText(element, 'name');
  const name = rawName === undefined ? undefined : unquote(rawName);
  const extensions = new Map<string, string>();
  collectExtensions(element, extensions, false, false);
  const draft: ParticipantDraft = {
    id: attr(element, 'participant_id', 'id') ?? `#${index}`,
    sends: streamRefs(childrenNamed(element, 'send')),
    receives: streamRefs(childrenNamed(element, 'recv')),
    extensions,
  };
  if (aor !== undefined && aor.length > 0) {
    draft.aor = aor;
  }
  if (name !== undefined && name.length > 0) {
    draft.name = name;
  }
  const associateTime = firstChildText(element, 'associate-time');
  const disassociateTime = firstChildText(element, 'disassociate-time');
  if (associateTime !== undefined) {
    draft.associateTime = associateTime;
  }
  if (disassociateTime !== undefined) {
    draft.disassociateTime = disassociateTime;
  }
  return draft;
}

function pushUnique(list: string[], values: readonly string[]): void {
  for (const value of values) {
    if (!list.includes(value)) {
      list.push(value);
    }
  }
}

function finishParticipant(draft: ParticipantDraft): MetadataParticipant {
  const placeholder = isPlaceholderAor(draft.aor);
  const deviceRef = placeholder || draft.aor === undefined ? undefined : deviceRefOf(draft.aor);
  return {
    id: draft.id,
    ...(draft.aor === undefined ? {} : { aor: draft.aor }),
    ...(draft.name === undefined ? {} : { name: draft.name }),
    ...(deviceRef === undefined ? {} : { deviceRef }),
    sends: draft.sends,
    receives: draft.receives,
    ...(draft.associateTime === undefined ? {} : { associateTime: draft.associateTime }),
    ...(draft.disassociateTime === undefined ? {} : { disassociateTime: draft.disassociateTime }),
    placeholder,
    extensions: Object.fromEntries(draft.extensions),
  };
}

interface NameAddrParts {
  readonly displayName?: string;
  readonly uri: string;
}

/** Loose name-addr reading for Ribbon's `fromhdr`/`tohdr` copies of the original From and To. */
function readHeaderCopy(value: string): NameAddrParts | undefined {
  const open = value.indexOf('<');
  if (open < 0) {
    const uri = value.split(';', 1)[0]?.trim() ?? '';
    return uri.length > 0 ? { uri } : undefined;
  }
  const close = value.indexOf('>', open);
  const uri = value.slice(open + 1, close < 0 ? value.length : close).trim();
  const displayName = unquote(value.slice(0, open));
  return uri.length === 0 ? undefined : displayName.length > 0 ? { displayName, uri } : { uri };
}

/**
 * Ribbon/Sonus copy the original From and To into `<callData><fromhdr>`/`<tohdr>`, which are more
 * reliable than their nameID (no scheme, blank names; intake-samples §3.3): a participant whose
 * device matches takes the display name from there when it has none of its own.
 */
function applyHeaderCopies(drafts: ParticipantDraft[], correlation: ReadonlyMap<string, string>): void {
  for (const key of ['fromhdr', 'tohdr']) {
    const value = [...correlation].find(([name]) => name.toLowerCase() === key)?.[1];
    const copy = value === undefined ? undefined : readHeaderCopy(value);
    if (copy === undefined) {
      continue;
    }
    const device = deviceRefOf(copy.uri);
    const match = drafts.find(
      (draft) =>
        draft.aor !== undefined &&
        !isPlaceholderAor(draft.aor) &&
        device !== undefined &&
        deviceRefOf(draft.aor) === device,
    );
    if (match !== undefined && match.name === undefined && copy.displayName !== undefined) {
      match.name = copy.displayName;
    }
  }
}

function readDocument(root: XmlElement): RecordingMetadata {
  const rootChildren = root.children;
  const dataMode = firstChildText(root, 'datamode');
  const sessions = childrenNamed(root, 'session');
  const groups = childrenNamed(root, 'group');
  const firstSession = sessions[0];
  const firstGroup = groups[0];
  const sessionId = firstSession === undefined ? undefined : attr(firstSession, 'session_id', 'id');
  const groupId =
    (firstGroup === undefined ? undefined : attr(firstGroup, 'group_id', 'id')) ??
    (firstSession === undefined ? undefined : firstChildText(firstSession, 'group-ref'));
  const sipSessionIds: string[] = [];
  for (const session of sessions) {
    pushUnique(
      sipSessionIds,
      childrenNamed(session, 'sipsessionid')
        .map((element) => element.text)
        .filter((text) => text.length > 0),
    );
  }

  const drafts: ParticipantDraft[] = [];
  const byId = new Map<string, ParticipantDraft>();
  const draftFor = (id: string): ParticipantDraft => {
    let draft = byId.get(id);
    if (draft === undefined) {
      draft = { id, sends: [], receives: [], extensions: new Map() };
      byId.set(id, draft);
      drafts.push(draft);
    }
    return draft;
  };
  let associations = false;
  for (const element of rootChildren) {
    if (element.key !== 'participant') {
      continue;
    }
    const draft = readParticipant(element, drafts.length);
    const existing = byId.get(draft.id);
    if (existing === undefined) {
      byId.set(draft.id, draft);
      drafts.push(draft);
    } else {
      // A repeated participant_id (CUBE guide caller-ID example): the later element fills gaps.
      if (existing.aor === undefined && draft.aor !== undefined) {
        existing.aor = draft.aor;
      }
      if (existing.name === undefined && draft.name !== undefined) {
        existing.name = draft.name;
      }
      pushUnique(existing.sends, draft.sends);
      pushUnique(existing.receives, draft.receives);
    }
    if (element.children.some((child) => child.key === 'send' || child.key === 'recv')) {
      associations = true;
    }
  }
  // Association elements may name participants the document does not describe (partial updates):
  // they get a placeholder entry after the described ones.
  for (const element of rootChildren) {
    if (element.key !== 'participantstreamassoc' && element.key !== 'participantsessionassoc') {
      continue;
    }
    const id = attr(element, 'participant_id', 'id');
    if (id === undefined || id.length === 0) {
      continue;
    }
    const draft = draftFor(id);
    if (element.key === 'participantstreamassoc') {
      associations = true;
      pushUnique(draft.sends, streamRefs(childrenNamed(element, 'send')));
      pushUnique(draft.receives, streamRefs(childrenNamed(element, 'recv')));
    }
    const associateTime = draft.associateTime ?? firstChildText(element, 'associate-time');
    const disassociateTime = draft.disassociateTime ?? firstChildText(element, 'disassociate-time');
    if (associateTime !== undefined) {
      draft.associateTime = associateTime;
    }
    if (disassociateTime !== undefined) {
      draft.disassociateTime = disassociateTime;
    }
  }

  const streams: MetadataStream[] = [];
  for (const element of rootChildren) {
    if (element.key !== 'stream') {
      continue;
    }
    const label = firstChildText(element, 'label');
    const mode = firstChildText(element, 'mode');
    streams.push({
      id: attr(element, 'stream_id', 'id') ?? '',
      ...(label === undefined ? {} : { label }),
      ...(mode === undefined ? {} : { mode }),
    });
  }

  const correlation = new Map<string, string>();
  collectExtensions(root, correlation, false, true);
  applyHeaderCopies(drafts, correlation);

  return {
    ...(dataMode === undefined ? {} : { dataMode }),
    ...(sessionId === undefined || sessionId.length === 0 ? {} : { sessionId }),
    ...(groupId === undefined || groupId.length === 0 ? {} : { groupId }),
    sipSessionIds,
    participants: drafts.map(finishParticipant),
    streams,
    correlation: Object.fromEntries(correlation),
    streamMapping: associations ? 'associations' : 'document-order',
  };
}

/**
 * Parses an RFC 7865 metadata document (the `application/rs-metadata+xml` part of a SIPREC
 * body, or the whole body of a metadata-only UPDATE or BYE). Never throws.
 */
export function parseRecordingMetadata(xml: string): Result<RecordingMetadata> {
  if (xml.length > MAX_METADATA_BYTES) {
    return err(
      SiprecErrorCode.MetadataTooLarge,
      `metadata document of ${xml.length} characters is over ${MAX_METADATA_BYTES}`,
    );
  }
  const bomless = xml.startsWith('\uFEFF') ? xml.slice(1) : xml;
  const trimmed = bomless.trim();
  const declaration = /<!\s*(DOCTYPE|ENTITY)/i.exec(trimmed);
  if (declaration !== null) {
    return err(
      SiprecErrorCode.MetadataDoctype,
      `metadata must not contain a ${(declaration[1] ?? '').toUpperCase()} declaration`,
      declaration.index,
    );
  }
  let text = repairTagBlanks(trimmed);
  try {
    const problem = validationProblem(text);
    if (problem !== undefined) {
      const repaired = repairUnquotedAttributes(text);
      if (repaired === text || validationProblem(repaired) !== undefined) {
        return err(SiprecErrorCode.MetadataSyntax, `metadata is not well-formed XML: ${problem}`);
      }
      text = repaired;
    }
    const roots = toElements(parser.parse(text));
    const root = roots[0];
    if (root === undefined) {
      return err(SiprecErrorCode.MetadataSyntax, 'metadata has no root element');
    }
    if (root.key !== 'recording' && root.key !== 'recording_metadata') {
      return err(
        SiprecErrorCode.MetadataRoot,
        `metadata root is <${root.name.slice(0, 64)}>, not <recording> or <recording_metadata>`,
      );
    }
    return ok(readDocument(root));
  } catch (cause) {
    // The library throws on input its validator let through (nesting limit, odd names).
    return err(SiprecErrorCode.MetadataSyntax, `metadata could not be parsed: ${String(cause)}`);
  }
}

/**
 * For each stream label, the participants that send it (RFC 7865 §6.2). When the document
 * carries no association at all (streamMapping 'document-order'), the n-th stream in document
 * order is sent by the n-th participant that is not a placeholder, as drachtio and the old
 * OpenSIPS senders assume. Streams without a label are not in the map.
 */
export function sendersByLabel(metadata: RecordingMetadata): Map<string, MetadataParticipant[]> {
  const senders = new Map<string, MetadataParticipant[]>();
  if (metadata.streamMapping === 'document-order') {
    const people = metadata.participants.filter((participant) => !participant.placeholder);
    for (const [index, stream] of metadata.streams.entries()) {
      if (stream.label === undefined) {
        continue;
      }
      const sender = people[index];
      const list = senders.get(stream.label) ?? [];
      if (sender !== undefined && !list.includes(sender)) {
        list.push(sender);
      }
      senders.set(stream.label, list);
    }
    return senders;
  }
  for (const stream of metadata.streams) {
    if (stream.label === undefined) {
      continue;
    }
    const list = senders.get(stream.label) ?? [];
    for (const participant of metadata.participants) {
      if (stream.id.length > 0 && participant.sends.includes(stream.id) && !list.includes(participant)) {
        list.push(participant);
      }
    }
    senders.set(stream.label, list);
  }
  return senders;
}

function streamKey(stream: MetadataStream): string {
  return stream.id.length > 0 ? `id:${stream.id}` : `label:${stream.label ?? ''}`;
}

function mergeParticipant(current: MetadataParticipant, update: MetadataParticipant): MetadataParticipant {
  const identity = update.aor === undefined ? current : update;
  const streamsFrom = update.sends.length > 0 || update.receives.length > 0 ? update : current;
  const associateTime = update.associateTime ?? current.associateTime;
  const disassociateTime = update.disassociateTime ?? current.disassociateTime;
  return {
    id: current.id,
    ...(identity.aor === undefined ? {} : { aor: identity.aor }),
    ...((update.name ?? identity.name) === undefined ? {} : { name: update.name ?? identity.name }),
    ...(identity.deviceRef === undefined ? {} : { deviceRef: identity.deviceRef }),
    sends: streamsFrom.sends,
    receives: streamsFrom.receives,
    ...(associateTime === undefined ? {} : { associateTime }),
    ...(disassociateTime === undefined ? {} : { disassociateTime }),
    placeholder: identity.placeholder,
    extensions: { ...current.extensions, ...update.extensions },
  };
}

/**
 * Applies a metadata update from a re-INVITE, UPDATE or BYE (RFC 7865 §6.1, RFC 7866 §7.1.1.2).
 * A document with `datamode` other than "partial" is a complete snapshot and replaces the
 * current one. A partial one changes only what it names: participants and streams by id (new
 * ones appended), a `disassociate-time` marks the participant as gone, identity fields are taken
 * from the update only when it carries an AOR, and stream associations only when it lists some
 * (an update that sends a participant without associations keeps the known ones).
 */
export function mergeMetadata(current: RecordingMetadata, update: RecordingMetadata): RecordingMetadata {
  if (update.dataMode?.trim().toLowerCase() !== 'partial') {
    return update;
  }
  const participants = [...current.participants];
  for (const participant of update.participants) {
    const index = participants.findIndex((known) => known.id === participant.id);
    const known = index < 0 ? undefined : participants[index];
    if (known === undefined) {
      participants.push(participant);
    } else {
      participants[index] = mergeParticipant(known, participant);
    }
  }
  const streams = [...current.streams];
  for (const stream of update.streams) {
    const index = streams.findIndex((known) => streamKey(known) === streamKey(stream));
    const known = index < 0 ? undefined : streams[index];
    if (known === undefined) {
      streams.push(stream);
    } else {
      streams[index] = { ...known, ...stream };
    }
  }
  const sipSessionIds = [...current.sipSessionIds];
  pushUnique(sipSessionIds, update.sipSessionIds);
  const sessionId = update.sessionId ?? current.sessionId;
  const groupId = update.groupId ?? current.groupId;
  // The update is known to say "partial" here; the merged snapshot keeps the current mode.
  const dataMode = current.dataMode ?? update.dataMode;
  return {
    dataMode,
    ...(sessionId === undefined ? {} : { sessionId }),
    ...(groupId === undefined ? {} : { groupId }),
    sipSessionIds,
    participants,
    streams,
    correlation: { ...current.correlation, ...update.correlation },
    streamMapping:
      current.streamMapping === 'associations' || update.streamMapping === 'associations'
        ? 'associations'
        : 'document-order',
  };
}
