import { DEFAULT_API_MAX_REQUESTS } from '../config/options.js';

/**
 * The limits on what one API request may ask of the node (docs/api.md "Limits"). The API port is
 * open to every client on the network, so each input is bounded before it costs memory, stack or
 * SQL; each exceeded limit is answered in the MediaSense envelope with a `detail` naming it.
 */

/**
 * Largest request body, in bytes. The largest body real clients send (a getSessions of a few
 * clauses) is under 2 KiB and the largest query the other limits accept is about 40 KiB;
 * 128 KiB leaves room for long values while a full set of concurrent requests holds at most
 * 25 × 128 KiB of body text.
 */
export const MAX_BODY_BYTES = 128 * 1024;

/**
 * Deepest nesting of arrays and objects in a body. A getSessions body nests 5 deep (body,
 * requestParameters, clause, fieldConditions, condition, fieldValues); 32 is far above any real
 * body and far below what would strain the code that walks a parsed body.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Clauses in one getSessions `requestParameters`. Real clients send 1 to 4 (one per field); a
 * clause per field of the query language (12) twice over still fits.
 */
export const MAX_QUERY_CLAUSES = 32;

/**
 * Conditions in one clause. Real clients send 1 to 3 (e.g. two states OR-ed); 16 lets a client
 * list a dozen extensions or states. With {@link MAX_QUERY_CLAUSES} a query has at most 512
 * conditions, so the WHERE expression SQLite parses stays at about half of its default limit on
 * expression depth (1,000): 8,000 conditions failed there with "expression tree too large".
 */
export const MAX_CONDITIONS_PER_CLAUSE = 16;

/**
 * Characters in one text value of a condition (ccid, device, xRefCi, controller, codec). The
 * stored values are identifiers of at most a few dozen characters (a SIP Call-ID, an extension,
 * an address); a longer value can match nothing, and the limit keeps each LIKE pattern small.
 */
export const MAX_QUERY_VALUE_LENGTH = 256;

/** Characters in a tag name where tags are queried: MediaSense's limit on a tag name. */
export const MAX_TAG_NAME_LENGTH = 255;

/** `/ora` requests handled at once when `--api-max-requests` is not given (config/options.ts says why 25). */
export const MAX_CONCURRENT_ORA_REQUESTS = DEFAULT_API_MAX_REQUESTS;

/**
 * How long a stopping node lets API responses in flight finish before it cuts their connections.
 * Long enough for any API answer and for a download's last chunk on a LAN; short enough that a
 * stop never waits on a browser that stopped reading a recording.
 */
export const HTTP_DRAIN_MS = 2_000;
