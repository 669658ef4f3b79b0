import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Repository } from '../../src/db/repository.js';
import type { Session, SessionState } from '../../src/model/session.js';
import { encodeMulaw } from '../../src/protocol/codec/g711.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { buildPcapFile } from './audio.js';
import { sampleSession } from './fake-repository.js';

/** A real G.711 track file: `packets` 20 ms RTP packets of a steady tone from `startMs`. */
export function pcapOfTone(startMs: number, packets: number): Uint8Array {
  const payload = encodeMulaw(new Array<number>(160).fill(-2000));
  return buildPcapFile(
    Array.from({ length: packets }, (_, i) => ({
      timestampUs: (startMs + 20 * i) * 1000,
      datagram: serializeRtpPacket(
        { marker: false, payloadType: 0, sequenceNumber: i, timestamp: 160 * i, ssrc: 7 },
        payload,
      ),
    })),
  );
}

export interface SeededSession {
  readonly session: Session;
  /** The session's folder under the media directory (`<day>/<sessionId>`). */
  readonly folder: string;
  /** Its two track files and a cached export beside them, absolute paths. */
  readonly files: readonly string[];
}

/**
 * Stores a two-track session as the recorder lays it out: `<day>/<sessionId>/track<n>.pcap` real
 * pcap files (a second of tone each, unless `packets` says otherwise) and a cached export in the
 * same folder, plus a tag.
 */
export async function seedRecordedSession(
  repository: Repository,
  mediaDir: string,
  sessionId: string,
  options: { readonly state?: SessionState; readonly startMs?: number; readonly packets?: number } = {},
): Promise<SeededSession> {
  const startMs = options.startMs ?? 1_750_000_000_000;
  const base = sampleSession({
    sessionId,
    sessionStartDate: startMs,
    ...(options.state === undefined ? {} : { sessionState: options.state }),
    tags: [{ tagName: 'Keep', tagType: 'USER_DEFINED', tagCreateDate: startMs }],
  });
  const day = new Date(startMs).toISOString().slice(0, 10);
  const session: Session = {
    ...base,
    tracks: base.tracks.map((track) => ({
      ...track,
      mediaPath: `${day}/${sessionId}/track${track.trackNumber}.pcap`,
    })),
  };
  const folder = join(mediaDir, day, sessionId);
  const files = [...session.tracks.map((t) => join(mediaDir, t.mediaPath)), join(folder, 'cache.wav')];
  await mkdir(folder, { recursive: true });
  for (const file of files) {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, pcapOfTone(startMs, options.packets ?? 50));
  }
  await repository.createSession(session);
  return { session, folder, files };
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
