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
import { aorUserPart, normaliseAor, readLooseNameAddr, unquoteDisplayName } from '../sip/aor.js';
import { err, ok, type Result } from '../result.js';
import {
  OrderedUnion,
  type MetadataParticipant,
  type MetadataStream,
  type RecordingMetadata,
} from './recording-metadata.js';
import {
  attr,
  childrenNamed,
  firstChildText,
  parseXmlElements,
  repairTagBlanks,
  repairUnquotedAttributes,
  validationProblem,
  type XmlElement,
} from './xml-tree.js';

// Callers import the SIPREC metadata API from this one module: the values and the merge too.
export type { MetadataParticipant, RecordingMetadata } from './recording-metadata.js';
export { mergeMetadata } from './metadata-merge.js';

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

function isPlaceholderAor(aor: string | undefined): boolean {
  if (aor === undefined) {
    return true;
  }
  return PLACEHOLDER_AORS.has(normaliseAor(aor));
}

interface ParticipantDraft {
  id: string;
  aor?: string;
  name?: string;
  sends: OrderedUnion;
  receives: OrderedUnion;
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
  const name = rawName === undefined ? undefined : unquoteDisplayName(rawName);
  const extensions = new Map<string, string>();
  collectExtensions(element, extensions, false, false);
  const draft: ParticipantDraft = {
    id: attr(element, 'participant_id', 'id') ?? `#${index}`,
    sends: new OrderedUnion(streamRefs(childrenNamed(element, 'send'))),
    receives: new OrderedUnion(streamRefs(childrenNamed(element, 'recv'))),
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

function finishParticipant(draft: ParticipantDraft): MetadataParticipant {
  const placeholder = isPlaceholderAor(draft.aor);
  const deviceRef = placeholder || draft.aor === undefined ? undefined : aorUserPart(draft.aor);
  return {
    id: draft.id,
    ...(draft.aor === undefined ? {} : { aor: draft.aor }),
    ...(draft.name === undefined ? {} : { name: draft.name }),
    ...(deviceRef === undefined ? {} : { deviceRef }),
    sends: draft.sends.items,
    receives: draft.receives.items,
    ...(draft.associateTime === undefined ? {} : { associateTime: draft.associateTime }),
    ...(draft.disassociateTime === undefined ? {} : { disassociateTime: draft.disassociateTime }),
    placeholder,
    extensions: Object.fromEntries(draft.extensions),
  };
}

/**
 * Ribbon/Sonus copy the original From and To into `<callData><fromhdr>`/`<tohdr>`, which are more
 * reliable than their nameID (no scheme, blank names; intake-samples §3.3): a participant whose
 * device matches takes the display name from there when it has none of its own.
 */
function applyHeaderCopies(drafts: ParticipantDraft[], correlation: ReadonlyMap<string, string>): void {
  for (const key of ['fromhdr', 'tohdr']) {
    const value = [...correlation].find(([name]) => name.toLowerCase() === key)?.[1];
    const copy = value === undefined ? undefined : readLooseNameAddr(value);
    if (copy === undefined) {
      continue;
    }
    const device = aorUserPart(copy.uri);
    const match = drafts.find(
      (draft) =>
        draft.aor !== undefined &&
        !isPlaceholderAor(draft.aor) &&
        device !== undefined &&
        aorUserPart(draft.aor) === device,
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
  const sipSessionIds = new OrderedUnion();
  for (const session of sessions) {
    sipSessionIds.add(
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
      draft = { id, sends: new OrderedUnion(), receives: new OrderedUnion(), extensions: new Map() };
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
      existing.sends.add(draft.sends.items);
      existing.receives.add(draft.receives.items);
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
      draft.sends.add(streamRefs(childrenNamed(element, 'send')));
      draft.receives.add(streamRefs(childrenNamed(element, 'recv')));
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
    sipSessionIds: sipSessionIds.items,
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
    const roots = parseXmlElements(text);
    if (!roots.ok) {
      return err(SiprecErrorCode.MetadataSyntax, `metadata could not be parsed: ${roots.error}`);
    }
    const root = roots.value[0];
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
    // The XML library's exceptions are caught where it is called (xml-tree.ts); this is the last
    // line for anything else, since a parser of wire input must not throw. The fuzz properties
    // (test/fuzz/properties/siprec.ts) have never reached it.
    return err(SiprecErrorCode.MetadataSyntax, `metadata could not be read: ${String(cause)}`);
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
