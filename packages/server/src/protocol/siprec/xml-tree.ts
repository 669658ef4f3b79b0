/**
 * A namespace-blind element tree over fast-xml-parser, for documents whose dialects differ in
 * prefixes and namespaces but agree on local names (SIPREC metadata, rs-metadata.ts). Elements and
 * attributes are keyed by lower-cased local name; only direct text is kept, trimmed. The
 * well-formedness check and the two repairs are here because they work on the XML text, before
 * any tree exists.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ok, type Result } from '../result.js';

/** One element of the document, reduced to what a reader by local names needs. */
export interface XmlElement {
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

/** Deeper nesting is not metadata; the library's own limit guards the parser's stack. */
const MAX_NESTED_TAGS = 64;

const parser = new XMLParser({
  preserveOrder: true,
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Only the five predefined entities and character references remain: the reader refuses a
  // DOCTYPE or ENTITY declaration before parsing (rs-metadata.ts).
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
export function repairTagBlanks(xml: string): string {
  return xml.replace(/<(\/?)[ \t]+([A-Za-z_][\w.:-]*)[ \t]*>/g, '<$1$2>');
}

/**
 * Quotes unquoted attribute values inside start tags (`<apkt:header label=P-Asserted-Identity>`,
 * Oracle ESBC documentation): used only when the document is otherwise not well-formed.
 */
export function repairUnquotedAttributes(xml: string): string {
  return xml.replace(/<[A-Za-z_][^<>]*>/g, (tag) =>
    tag.replace(/(\s[A-Za-z_][\w.:-]*)[ \t]*=[ \t]*([^\s"'<>/=]+)/g, '$1="$2"'),
  );
}

/** Why `xml` is not well-formed, or undefined when it is. */
export function validationProblem(xml: string): string | undefined {
  // fast-xml-parser 5 marks its bundled validator deprecated in favour of the separate
  // fast-xml-validator package, which is not a dependency; the bundled one is still shipped and
  // is the only well-formedness check available (the parser itself accepts truncated documents).
  try {
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    const verdict = XMLValidator.validate(xml, { allowBooleanAttributes: false });
    return verdict === true
      ? undefined
      : `${verdict.err.msg} (line ${verdict.err.line}, column ${verdict.err.col})`;
  } catch (cause) {
    // Not seen; a library bug must not escape a parser of wire input.
    return `the XML validator failed: ${String(cause)}`;
  }
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

/**
 * The top-level elements of `xml`, or why the library refused it: it throws on some input the
 * validator lets through (nesting over MAX_NESTED_TAGS, odd names), which is caught here.
 * Callers check validationProblem first.
 */
export function parseXmlElements(xml: string): Result<XmlElement[], string> {
  try {
    return ok(toElements(parser.parse(xml)));
  } catch (cause) {
    return { ok: false, error: String(cause) };
  }
}

export function childrenNamed(element: XmlElement, key: string): XmlElement[] {
  return element.children.filter((child) => child.key === key);
}

export function firstChildText(element: XmlElement, key: string): string | undefined {
  const text = element.children.find((child) => child.key === key)?.text;
  return text === undefined || text.length === 0 ? undefined : text;
}

export function attr(element: XmlElement, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = element.attrs.get(name);
    if (value !== undefined) {
      return value.trim();
    }
  }
  return undefined;
}
