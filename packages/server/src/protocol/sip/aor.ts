/**
 * Addresses of record as SRCs and controllers write them in metadata and header copies: often
 * not RFC 3261 URIs at all (no scheme, bare numbers, opaque tokens, blanks from documentation
 * typos). These lenient readers stand beside the strict parser of uri.ts, which answers a typed
 * error for such text; here the value is kept as sent and only its parts are read.
 */

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
export function aorUserPart(aor: string): string | undefined {
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

/** An AOR in the form two AORs are compared in for equality of spelling: no blanks, lower case. */
export function normaliseAor(aor: string): string {
  return aor.replace(/\s+/g, '').toLowerCase();
}

/** A display name without its surrounding quotes and blanks (`"Ann Lee" ` → `Ann Lee`). */
export function unquoteDisplayName(text: string): string {
  const trimmed = text.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1).trim()
    : trimmed;
}

interface LooseNameAddr {
  readonly displayName?: string;
  readonly uri: string;
}

/**
 * A name-addr or addr-spec read loosely: the URI between `<` and `>` (or up to the first `;`
 * without them) and the display name before it. Used for Ribbon's `fromhdr`/`tohdr` copies of the
 * original From and To, which the strict parseNameAddr may refuse.
 */
export function readLooseNameAddr(value: string): LooseNameAddr | undefined {
  const open = value.indexOf('<');
  if (open < 0) {
    const uri = value.split(';', 1)[0]?.trim() ?? '';
    return uri.length > 0 ? { uri } : undefined;
  }
  const close = value.indexOf('>', open);
  const uri = value.slice(open + 1, close < 0 ? value.length : close).trim();
  const displayName = unquoteDisplayName(value.slice(0, open));
  return uri.length === 0 ? undefined : displayName.length > 0 ? { displayName, uri } : { uri };
}
