import { stat } from 'node:fs/promises';
import type { Repository } from '../../db/repository.js';
import type { Session, Track } from '../../model/session.js';
import type { DescribedTrack } from '../../protocol/rtsp/describe.js';
import { resolveMediaPath } from '../../storage/session-media.js';

/**
 * What an RTSP URL names: a recorded session replayed from its track files (`/archive/<id>`), an
 * ACTIVE one forwarded as it is received (`/live/<id>`), or either mixed into one PCMU track
 * (`?mix=1`), and the streams it is made of.
 *
 *    rtsp://host:port/archive/<sessionId>[/trackID=<n>][?mix=1][&token=…]
 */

export type PresentationKind = 'archive' | 'live';

/** The parts of an RTSP Request-URI the server acts on. */
export interface RtspTarget {
  readonly kind: PresentationKind;
  readonly sessionId: string;
  /** `trackID=<n>` (a stream's control URL); undefined for the aggregate URL. */
  readonly streamId?: number;
  readonly mix: boolean;
  readonly token?: string;
  /** The URL without `/trackID=…` and without its query: the aggregate URL's path. */
  readonly base: string;
  /** The query as sent (with its `?`), or ''. Kept on every control URL so the token rides along. */
  readonly query: string;
}

const SESSION_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Reads an RTSP Request-URI; undefined when it names nothing the server serves. */
export function parseRtspTarget(uri: string): RtspTarget | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:') {
    return undefined;
  }
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const [kind, sessionId, stream, ...rest] = segments;
  if ((kind !== 'archive' && kind !== 'live') || sessionId === undefined || !SESSION_ID.test(sessionId)) {
    return undefined;
  }
  let streamId: number | undefined;
  if (stream !== undefined) {
    const match = /^trackID=(\d{1,3})$/.exec(stream);
    if (match === null || rest.length > 0) {
      return undefined;
    }
    streamId = Number(match[1]);
  }
  const mixValue = url.searchParams.get('mix');
  const token = url.searchParams.get('token') ?? undefined;
  const port = url.port === '' ? '' : `:${url.port}`;
  return {
    kind,
    sessionId,
    mix: mixValue === '1' || mixValue?.toLowerCase() === 'true',
    base: `${url.protocol}//${url.hostname}${port}/${kind}/${sessionId}`,
    query: url.search,
    ...(streamId === undefined ? {} : { streamId }),
    ...(token === undefined ? {} : { token }),
  };
}

/** One stream of a presentation, as DESCRIBE announces it and SETUP sets it up. */
export interface PresentationStream {
  /** The `trackID` of its control URL: the track number, or 0 for the mix. */
  readonly streamId: number;
  readonly media: 'audio' | 'video';
  readonly payloadType: number;
  readonly encoding: string;
  readonly clockRateHz: number;
  readonly channels?: number;
  readonly fmtp?: string;
  /** The recorded track (undefined for the mix). */
  readonly track?: Track;
  /** Absolute path of the track file (archive of one track). */
  readonly filePath?: string;
}

export interface Presentation {
  readonly target: RtspTarget;
  readonly session: Session;
  readonly streams: readonly PresentationStream[];
  /** Archive: the session's length in seconds. Live: undefined. */
  readonly durationS?: number;
  /** The mix reads tracks 0 and 1 (archive: from these files; live: from the live feed). */
  readonly mixSources?: readonly { readonly track: Track; readonly filePath: string }[];
}

export type PresentationResult =
  | { readonly ok: true; readonly presentation: Presentation }
  | { readonly ok: false; readonly status: 404 | 503; readonly reason: string };

/** The mix's stream: PCMU at 8 kHz (RFC 3551 static payload type 0), which every player decodes. */
const MIX_STREAM = {
  streamId: 0,
  media: 'audio',
  payloadType: 0,
  encoding: 'PCMU',
  clockRateHz: 8000,
} as const satisfies PresentationStream;

/**
 * Builds the presentation of a target from the session's rows: its tracks (by track number) that
 * have a codec and a file, in their original codec. An archive needs a session that is no longer
 * ACTIVE, a live one a session that is.
 */
export async function loadPresentation(
  repository: Pick<Repository, 'getSession'>,
  mediaDir: string,
  target: RtspTarget,
): Promise<PresentationResult> {
  const session = await repository.getSession(target.sessionId);
  if (session === undefined || session.sessionState === 'DELETED' || session.prunedAt !== undefined) {
    return { ok: false, status: 404, reason: 'Not Found' };
  }
  const active = session.sessionState === 'ACTIVE';
  if (target.kind === 'archive' && active) {
    // The archive is complete only once the call ends; the live URL serves it meanwhile.
    return { ok: false, status: 404, reason: 'Not Found (session is ACTIVE: use /live/)' };
  }
  if (target.kind === 'live' && !active) {
    return { ok: false, status: 404, reason: 'Not Found (session has ended: use /archive/)' };
  }
  const tracks = [...session.tracks]
    .filter((t) => t.codec !== '' && t.payloadType >= 0 && t.payloadType <= 127)
    .sort((a, b) => a.trackNumber - b.trackNumber);
  const withFiles: { track: Track; filePath: string }[] = [];
  for (const track of tracks) {
    const filePath = resolveMediaPath(mediaDir, track.mediaPath);
    // A live track has no file until its first packet: it is served from the feed anyway.
    if (filePath !== undefined && (target.kind === 'live' || (await isFile(filePath)))) {
      withFiles.push({ track, filePath });
    }
  }
  const durationS =
    target.kind === 'archive' ? Math.max(0, (session.sessionDuration ?? 0) / 1000) : undefined;
  const base = { target, session, ...(durationS === undefined ? {} : { durationS }) };
  if (target.mix) {
    // Live, the parties are tracks 0 and 1 as the live feed gives them (live-audio.ts); their
    // codecs are looked up as their packets come (a delayed offer learns them from the ACK).
    const audio = withFiles.filter((t) => t.track.trackMediaType === 'AUDIO').slice(0, 2);
    return { ok: true, presentation: { ...base, streams: [MIX_STREAM], mixSources: audio } };
  }
  if (withFiles.length === 0) {
    return { ok: false, status: 404, reason: 'Not Found (no recorded media)' };
  }
  return {
    ok: true,
    presentation: {
      ...base,
      streams: withFiles.map(({ track, filePath }) => streamOf(track, filePath)),
    },
  };
}

function streamOf(track: Track, filePath: string): PresentationStream {
  const encoding = track.codec;
  const upper = encoding.toUpperCase();
  return {
    streamId: track.trackNumber,
    media: track.trackMediaType === 'VIDEO' ? 'video' : 'audio',
    payloadType: track.payloadType,
    encoding,
    // RFC 3551 §4.5.2: G.722's RTP clock is 8000 whatever its sampling rate.
    clockRateHz: upper === 'G722' ? 8000 : track.clockRateHz,
    // RFC 7587 §7: opus is always announced with two channels.
    ...(upper === 'OPUS' ? { channels: 2 } : {}),
    // Stored packets are sent as they are; they may be FU-A fragments (RFC 6184 mode 1).
    ...(upper === 'H264' ? { fmtp: 'packetization-mode=1' } : {}),
    track,
    filePath,
  };
}

/** The SDP media sections of a presentation, each with its absolute control URL. */
export function describedTracks(presentation: Presentation): DescribedTrack[] {
  const { target } = presentation;
  return presentation.streams.map((stream) => ({
    media: stream.media,
    payloadType: stream.payloadType,
    encoding: stream.encoding,
    clockRateHz: stream.clockRateHz,
    ...(stream.channels === undefined ? {} : { channels: stream.channels }),
    ...(stream.fmtp === undefined ? {} : { fmtp: stream.fmtp }),
    control: streamControlUrl(target, stream.streamId),
  }));
}

/** A stream's control URL: the aggregate path, `/trackID=<n>`, then the query as sent. */
export function streamControlUrl(target: RtspTarget, streamId: number): string {
  return `${target.base}/trackID=${streamId}${target.query}`;
}

export function aggregateControlUrl(target: RtspTarget): string {
  return `${target.base}${target.query}`;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
