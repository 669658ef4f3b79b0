/**
 * `tagNameRegEx` of subscribeToEvents: a Java regular expression (DG90-p37) that a tag event's
 * tag name must match for the event to be delivered. MediaSense ran it with Java's
 * String.matches, so the whole name must match; here it runs on the JavaScript engine, which has
 * no timeout, for every tag event of the node. So a pattern is accepted only when it means the
 * same in both engines as far as can be told, and cannot take long on a tag name (at most 255
 * characters): no quantifier inside a repeated group, no alternation inside a repeated group, no
 * back-reference, at most 3 unbounded quantifiers and 8 optional ones. What is refused comes back
 * with a reason the API shows in its `detail`.
 */

export const MAX_TAG_NAME_REGEX_LENGTH = 256;
/** `*`, `+`, `{n,}` and `{n,m}` with m > n + 1: each multiplies the work by up to the name length. */
const MAX_UNBOUNDED_QUANTIFIERS = 3;
/** `?` and `{n,n+1}`: each doubles the work at most. */
const MAX_OPTIONAL_QUANTIFIERS = 8;

export type TagNameRegExParse =
  | {
      readonly ok: true;
      /** The JavaScript pattern run (anchored, flags applied). */
      readonly regex: RegExp;
      readonly matches: (tagName: string) => boolean;
    }
  | { readonly ok: false; readonly reason: string };

interface Group {
  /** A quantifier or an alternation seen directly or in a nested group. */
  quantified: boolean;
  alternation: boolean;
}

/** Parses a subscription's tagNameRegEx; pure (no I/O), so the API validates input with it. */
export function parseTagNameRegEx(source: string): TagNameRegExParse {
  if (source.length === 0) {
    return refuse('is empty');
  }
  if (source.length > MAX_TAG_NAME_REGEX_LENGTH) {
    return refuse(`is longer than ${MAX_TAG_NAME_REGEX_LENGTH} characters (${source.length})`);
  }
  let flags = '';
  let body = source;
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(body);
  if (leading !== null) {
    const wanted = leading[1] ?? '';
    if (!/^[ims]+$/.test(wanted)) {
      return refuse(
        `uses the inline flags (?${wanted}); only (?i), (?m) and (?s) at the start are supported`,
      );
    }
    flags = [...new Set(wanted)].join('');
    body = body.slice(leading[0].length);
  }
  const translated = translate(body);
  if (!translated.ok) {
    return translated;
  }
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${translated.pattern})$`, flags);
  } catch (error: unknown) {
    return refuse(
      `is not a valid regular expression (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return { ok: true, regex, matches: (tagName) => regex.test(tagName) };
}

function refuse(reason: string): { readonly ok: false; readonly reason: string } {
  return { ok: false, reason: `tagNameRegEx ${reason}` };
}

/**
 * Walks the pattern once: rewrites the Java-only forms JavaScript can express (`\Q…\E`, `\A`,
 * `\z`, `\Z`), refuses the ones it cannot or that would be read differently, and counts the
 * quantifiers per group.
 */
function translate(body: string): { ok: true; pattern: string } | { ok: false; reason: string } {
  let out = '';
  const groups: Group[] = [{ quantified: false, alternation: false }];
  let unbounded = 0;
  let optional = 0;
  /** The atom just written was a closing group: a quantifier on it repeats that group. */
  let closed: Group | undefined;
  let atomStart = true;
  let i = 0;
  const current = (): Group => groups[groups.length - 1] as Group;
  while (i < body.length) {
    const ch = body[i] as string;
    if (ch === '\\') {
      const next = body[i + 1];
      if (next === undefined) {
        return refuse('ends with a lone backslash');
      }
      if (next === 'Q') {
        const end = body.indexOf('\\E', i + 2);
        const literal = body.slice(i + 2, end === -1 ? body.length : end);
        out += `(?:${literal.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')})`;
        i = end === -1 ? body.length : end + 2;
        closed = undefined;
        atomStart = false;
        continue;
      }
      if (next === 'A') {
        out += '^';
      } else if (next === 'z' || next === 'Z') {
        out += '$';
      } else if (/[1-9k]/.test(next)) {
        return refuse('uses a back-reference, which is not supported (it can take exponential time)');
      } else if (/[pPhHRXGEe]/.test(next)) {
        return refuse(`uses \\${next}, which is not supported`);
      } else {
        out += `\\${next}`;
      }
      i += 2;
      closed = undefined;
      atomStart = false;
      continue;
    }
    if (ch === '[') {
      const end = classEnd(body, i);
      if (end === -1) {
        return refuse('has an unclosed character class, or one starting with ] (write \\] instead)');
      }
      const content = body.slice(i, end + 1);
      if (content.includes('&&') || /\[.+\[/.test(content)) {
        return refuse('uses a character class intersection or union, which is not supported');
      }
      if (/\\[pPhH]/.test(content)) {
        return refuse('uses \\p or \\h in a character class, which is not supported');
      }
      out += content;
      i = end + 1;
      closed = undefined;
      atomStart = false;
      continue;
    }
    if (ch === '(') {
      if (body.startsWith('(?>', i)) {
        return refuse('uses an atomic group (?>…), which is not supported');
      }
      if (/^\(\?[a-zA-Z-]*[:)]/.test(body.slice(i)) && !body.startsWith('(?:', i)) {
        return refuse('uses inline flags inside the pattern; only a leading (?i) is supported');
      }
      groups.push({ quantified: false, alternation: false });
      out += ch;
      i++;
      closed = undefined;
      atomStart = true;
      continue;
    }
    if (ch === ')') {
      if (groups.length === 1) {
        return refuse('has an unbalanced )');
      }
      const group = groups.pop() as Group;
      const parent = current();
      parent.quantified ||= group.quantified;
      out += ch;
      i++;
      closed = group;
      atomStart = false;
      continue;
    }
    if (ch === '|') {
      current().alternation = true;
      out += ch;
      i++;
      closed = undefined;
      atomStart = true;
      continue;
    }
    const quantifier = readQuantifier(body, i);
    if (quantifier !== undefined) {
      if (atomStart) {
        return refuse(`has a quantifier with nothing to repeat at position ${i}`);
      }
      const after = body[i + quantifier.text.length];
      if (after === '+') {
        return refuse('uses a possessive quantifier, which is not supported');
      }
      if (quantifier.repeats && closed !== undefined && (closed.quantified || closed.alternation)) {
        return refuse(
          'repeats a group that holds a quantifier or an alternation (nested quantifiers can take exponential time)',
        );
      }
      if (quantifier.kind === 'unbounded') {
        unbounded++;
      } else if (quantifier.kind === 'optional') {
        optional++;
      }
      if (quantifier.kind !== 'exact') {
        current().quantified = true;
      }
      out += quantifier.text;
      i += quantifier.text.length;
      if (after === '?') {
        // A lazy quantifier: the same in both engines.
        out += '?';
        i++;
      }
      closed = undefined;
      atomStart = false;
      continue;
    }
    out += ch;
    i++;
    closed = undefined;
    atomStart = false;
  }
  if (groups.length !== 1) {
    return refuse('has an unclosed (');
  }
  if (unbounded > MAX_UNBOUNDED_QUANTIFIERS) {
    return refuse(`has more than ${MAX_UNBOUNDED_QUANTIFIERS} unbounded quantifiers (*, +, {n,})`);
  }
  if (optional > MAX_OPTIONAL_QUANTIFIERS) {
    return refuse(`has more than ${MAX_OPTIONAL_QUANTIFIERS} optional quantifiers (?)`);
  }
  return { ok: true, pattern: out };
}

interface Quantifier {
  readonly text: string;
  readonly kind: 'unbounded' | 'optional' | 'exact';
  /** Repeats its atom more than once. */
  readonly repeats: boolean;
}

function readQuantifier(body: string, i: number): Quantifier | undefined {
  const ch = body[i];
  if (ch === '*' || ch === '+') {
    return { text: ch, kind: 'unbounded', repeats: true };
  }
  if (ch === '?') {
    return { text: ch, kind: 'optional', repeats: false };
  }
  if (ch !== '{') {
    return undefined;
  }
  const match = /^\{(\d+)(,(\d*))?\}/.exec(body.slice(i));
  if (match === null) {
    return undefined;
  }
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : match[3] === '' ? Infinity : Number(match[3]);
  const kind = max === min ? 'exact' : max - min <= 1 ? 'optional' : 'unbounded';
  return { text: match[0], kind, repeats: max > 1 };
}

/** The index of the `]` closing the class opened at `start`, or -1. */
function classEnd(body: string, start: number): number {
  let i = start + 1;
  if (body[i] === '^') {
    i++;
  }
  // Java reads a `]` first in a class as a literal, JavaScript `[]` as an empty class: refused.
  if (body[i] === ']') {
    return -1;
  }
  while (i < body.length) {
    if (body[i] === '\\') {
      i += 2;
      continue;
    }
    if (body[i] === ']') {
      return i;
    }
    i++;
  }
  return -1;
}
