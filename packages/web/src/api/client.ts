/**
 * A small typed client of the /ora API for the web apps. Same origin, so the JSESSIONID cookie
 * signIn sets rides along by itself (`credentials: 'same-origin'`). Every answer is a MediaSense
 * envelope; application errors come back as HTTP 200 with a non-2000 responseCode, so callers
 * branch on the code, never on the HTTP status. The types and codes are the server's own.
 */
import { RESPONSE_CODES, type Envelope } from '../../../server/src/api/envelope.ts';

export { RESPONSE_CODES };
export type { Envelope };

/** The API refused or could not answer: `code` is the envelope's responseCode (0: no answer). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && typeof (value as Envelope).responseCode === 'number';
}

async function envelopeOf(request: Promise<Response>): Promise<Envelope> {
  let answer: unknown;
  try {
    answer = await (await request).json();
  } catch (error) {
    throw new ApiError(0, `The server could not be reached (${String(error)}).`);
  }
  if (!isEnvelope(answer)) {
    throw new ApiError(0, 'The server answered something that is not an API answer.');
  }
  if (answer.responseCode !== RESPONSE_CODES.success && answer.responseCode !== RESPONSE_CODES.noResults) {
    throw new ApiError(answer.responseCode, answer.detail ?? answer.responseMessage);
  }
  return answer;
}

/** POSTs `{requestParameters}` to an /ora API and returns the envelope of a 2000 or 2001 answer. */
export function postApi(path: string, requestParameters: unknown, signal?: AbortSignal): Promise<Envelope> {
  return postApiBody(path, { requestParameters }, signal);
}

/** POSTs a whole body (getSessions also takes pageParameters and sortParameters beside it). */
export function postApiBody(path: string, body: unknown, signal?: AbortSignal): Promise<Envelope> {
  return envelopeOf(
    fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...(signal === undefined ? {} : { signal }),
    }),
  );
}

/** GETs an /ora API with `query` as its query string (undefined values left out). */
export function getApi(
  path: string,
  query: Readonly<Record<string, string | number | undefined>> = {},
  signal?: AbortSignal,
): Promise<Envelope> {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) {
      search.set(name, String(value));
    }
  }
  const text = search.toString();
  return envelopeOf(
    fetch(text === '' ? path : `${path}?${text}`, {
      credentials: 'same-origin',
      ...(signal === undefined ? {} : { signal }),
    }),
  );
}

/** A sentence for the user: the API's own detail, or what went wrong reaching it. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError && error.code === RESPONSE_CODES.authenticationFailed) {
    return 'Wrong user name or password.';
  }
  if (error instanceof ApiError && error.code === RESPONSE_CODES.forbidden) {
    return `Your role does not permit this (${error.message}).`;
  }
  return error instanceof Error ? error.message : String(error);
}
