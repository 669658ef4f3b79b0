import assert from 'node:assert/strict';
import { PcapReader, type PcapPacket } from '../../src/protocol/container/pcap.js';
import { readWavSamples, type WavSamples } from './audio.js';
import type { RunningServer } from './verbatim-server.js';
import { waitFor } from './wait.js';

/**
 * What the end-to-end tests read back through the MediaSense API, as a client would: sessions
 * found with getSessions, the WAV of a session and the raw capture of a track.
 */

export interface SessionJson {
  sessionId: string;
  sessionState: string;
  /** Why a CLOSED_ERROR session ended in error (a Verbatim extension). */
  closeReason?: string;
  sessionStartDate: number;
  sessionDuration?: number;
  callControllerType: string;
  callControllerIP: string;
  ccid: string;
  urls: { wavUrl: string; rtspUrl: string; mp4Url: string; httpUrl: string };
  tracks: {
    trackNumber: number;
    codec: string;
    stats: { packets: number; dropped: number; lost: number };
    trackDuration?: number;
    participants: {
      deviceRef: string;
      deviceId?: string;
      xRefCi?: string;
      isConference: boolean;
      participantStartDate?: number;
      participantDuration?: number;
    }[];
  }[];
}

export type SessionField = 'xRefCi' | 'ccid' | 'deviceRef';

/**
 * The getSessions request for sessions of the last ten minutes whose `field` equals `value`; with
 * no field, every session of that window.
 */
export function sessionsQuery(field?: SessionField, value?: string): unknown {
  const now = Date.now();
  return {
    requestParameters: [
      {
        fieldName: 'sessionStartDate',
        fieldConditions: [{ fieldOperator: 'between', fieldValues: [now - 600_000, now + 60_000] }],
        ...(field === undefined ? {} : { paramConnector: 'AND' }),
      },
      ...(field === undefined || value === undefined
        ? []
        : [{ fieldName: field, fieldConditions: [{ fieldOperator: 'equals', fieldValues: [value] }] }]),
    ],
  };
}

/** Every session of the last ten minutes whose `field` equals `value` (every one without a field). */
export async function sessionsWhere<S extends SessionJson = SessionJson>(
  server: RunningServer,
  field?: SessionField,
  value?: string,
): Promise<S[]> {
  const response = await server.api('/ora/queryService/query/getSessions', sessionsQuery(field, value));
  // 2001 is MediaSense's "no results" (an empty list, not a failure).
  assert.ok(
    response.responseCode === 2000 || response.responseCode === 2001,
    `getSessions failed: ${JSON.stringify(response)}`,
  );
  return (response.responseBody?.sessions ?? []) as S[];
}

/** The session's tracks, in order, stored `packets[n]` packets each and lost none. */
export function assertStoredPackets(session: SessionJson, packets: readonly number[]): void {
  assert.deepEqual(
    session.tracks.map((t) => [t.stats.packets, t.stats.lost]),
    packets.map((count) => [count, 0]),
  );
}

/** Waits for a session whose `field` equals `value` and for which `predicate` holds. */
export async function findSessionBy(
  server: RunningServer,
  field: SessionField,
  value: string,
  predicate: (s: SessionJson) => boolean,
): Promise<SessionJson> {
  return waitFor(async () => (await sessionsWhere(server, field, value)).find(predicate), {
    timeoutMs: 15_000,
    what: `a session with ${field} ${value}`,
  });
}

export async function downloadWav(
  server: RunningServer,
  session: SessionJson,
): Promise<{ wav: WavSamples; bytes: Uint8Array }> {
  const response = await fetch(session.urls.wavUrl, {
    headers: { cookie: `JSESSIONID=${server.jsessionId}` },
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'audio/wav');
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { wav: readWavSamples(bytes), bytes };
}

/**
 * The records of a track capture (ExportRaw), in file order, as a client downloads it; `what`
 * names the track in the messages.
 */
export async function downloadRawRecords(
  server: { readonly baseUrl: string; readonly jsessionId: string },
  session: { readonly sessionId: string },
  trackNumber: number,
  what = 'the raw track',
): Promise<PcapPacket[]> {
  const response = await fetch(
    `${server.baseUrl}/mma/ExportRaw?recording=${encodeURIComponent(`${session.sessionId}-TRACK${trackNumber}`)}`,
    { headers: { cookie: `JSESSIONID=${server.jsessionId}` } },
  );
  assert.equal(response.status, 200, `${what} downloads`);
  assert.equal(response.headers.get('content-type'), 'application/vnd.tcpdump.pcap');
  const reader = new PcapReader();
  const records = reader.push(new Uint8Array(await response.arrayBuffer()));
  assert.equal(reader.error, undefined, `${what} is a readable capture`);
  assert.equal(reader.end().truncatedTailBytes, 0, `${what} has no torn tail`);
  return records;
}

/** The RTP datagrams stored in a track capture (ExportRaw), in file order. */
export async function downloadRawTrack(
  server: RunningServer,
  session: SessionJson,
  trackNumber: number,
): Promise<Uint8Array[]> {
  return (await downloadRawRecords(server, session, trackNumber)).map((p) => p.payload.slice());
}
