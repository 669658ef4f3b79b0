/**
 * The API calls of the session page: the session itself, its waveform (a Verbatim extension,
 * docs/api.md "Waveform") and its tags. Media URLs are used by their path only: the session
 * object names the node by its advertised address, which may not be the origin this page was
 * loaded from, and only a same-origin request carries the sign-in cookie the downloads accept.
 */
import type { SessionJson } from '../../../server/src/api/session-json.ts';
import type { Waveform } from '../../../server/src/playback/waveform.ts';
import { getApi, postApi } from './client.ts';

export type { SessionJson, Waveform };

/** The session, or undefined when the node knows no such id (2001). */
export async function getSession(sessionId: string, signal?: AbortSignal): Promise<SessionJson | undefined> {
  const envelope = await getApi(
    '/ora/queryService/query/getSessionBySessionId',
    { value: sessionId },
    signal,
  );
  return (envelope.responseBody as { sessions?: SessionJson[] } | undefined)?.sessions?.[0];
}

/** Buckets the page asks for: about one per pixel of a wide waveform. */
export const WAVEFORM_BUCKETS = 2000;

export async function getWaveform(sessionId: string, signal?: AbortSignal): Promise<Waveform> {
  const envelope = await getApi(
    `/recordedMedia/oramedia/peaks/${encodeURIComponent(sessionId)}.json`,
    { buckets: WAVEFORM_BUCKETS },
    signal,
  );
  const waveform = envelope.responseBody as Waveform | undefined;
  if (waveform === undefined) {
    throw new Error('The waveform answer carried no waveform.');
  }
  return waveform;
}

const MANAGE = '/ora/managementService/manage';

/** Adds a user tag at `offsetMs` from the session start (at least 1: the API refuses 0). */
export async function addTag(sessionId: string, tagName: string, offsetMs: number): Promise<void> {
  await postApi(`${MANAGE}/addSessionTag`, {
    sessionId,
    tagName,
    tagOffset: Math.max(1, Math.round(offsetMs)),
  });
}

/** Removes the user tag of that name (at that offset when it has one). */
export async function deleteTag(sessionId: string, tagName: string, offsetMs?: number): Promise<void> {
  await postApi(`${MANAGE}/deleteSessionTag`, {
    sessionId,
    tagName,
    ...(offsetMs === undefined ? {} : { tagOffset: offsetMs }),
  });
}

/** The path (and query) of a media URL, so the request stays on this page's origin. */
export function samePath(url: string): string {
  try {
    const parsed = new URL(url, window.location.href);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
}
