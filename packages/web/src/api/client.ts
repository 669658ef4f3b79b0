/**
 * A small typed client of the /ora API for the web app. Same origin, so the JSESSIONID cookie
 * signIn sets rides along by itself (`credentials: 'same-origin'`). Every answer is a MediaSense
 * envelope; application errors come back as HTTP 200 with a non-2000 responseCode, so callers
 * branch on the code, never on the HTTP status. The types and codes are the server's own.
 */
import { RESPONSE_CODES, type Envelope } from '../../server/src/api/envelope.ts';
import type { SessionJson } from '../../server/src/api/session-json.ts';

export { RESPONSE_CODES };
export type { SessionJson };

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

/** POSTs `{requestParameters}` to an /ora API and returns the envelope of a 2000 or 2001 answer. */
export async function callApi(path: string, requestParameters: unknown): Promise<Envelope> {
  let answer: unknown;
  try {
    const response = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestParameters }),
    });
    answer = await response.json();
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

const AUTH = '/ora/authenticationService/authentication';

export async function signIn(username: string, password: string): Promise<void> {
  await callApi(`${AUTH}/signIn`, { username, password });
}

export async function signOut(): Promise<void> {
  await callApi(`${AUTH}/signOut`, {});
}

/** Sessions that started in the last `days` days, newest first as the server orders them. */
export async function recentSessions(days: number, now: number = Date.now()): Promise<SessionJson[]> {
  const envelope = await callApi('/ora/queryService/query/getSessions', [
    {
      fieldName: 'sessionStartDate',
      fieldConditions: [{ fieldOperator: 'between', fieldValues: [now - days * 86_400_000, now + 60_000] }],
    },
  ]);
  const body = envelope.responseBody as { sessions?: SessionJson[] } | undefined;
  return body?.sessions ?? [];
}
