import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Repository } from '../../src/db/repository.js';
import type { Session, SessionState } from '../../src/model/session.js';
import { buildPcapFile, goertzelPower, readWavSamples, sineG711Packets, type WavSamples } from './audio.js';
import { FAR_HZ, NEAR_HZ } from './cucm-calls.js';
import { sampleSession } from './fake-repository.js';
import { spawnTracked, waitExit } from './processes.js';

/**
 * What the `verbatim export` tests share: a data directory seeded with two-party sessions whose
 * track files are real pcap captures of two tones (the near end's on track 0, the far end's on
 * track 1, as runCucmCall sends them), and ffprobe's view of an exported file.
 */

export interface MediaProbe {
  readonly formatName: string;
  readonly durationSeconds: number;
  readonly streams: readonly {
    readonly codecType: string;
    readonly codecName: string;
    readonly channels: number;
    readonly sampleRateHz: number;
  }[];
}

/** ffprobe's reading of a media file (container, duration, each stream). */
export async function probeMedia(path: string): Promise<MediaProbe> {
  const ffprobe = spawnTracked('ffprobe', 'ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=format_name,duration:stream=codec_type,codec_name,channels,sample_rate',
    '-of',
    'json',
    path,
  ]);
  const stdout: string[] = [];
  ffprobe.child.stdout?.on('data', (d: Buffer) => stdout.push(d.toString()));
  const code = await waitExit(ffprobe, 30_000);
  assert.equal(code, 0, `ffprobe ${path} exited ${code}:\n${ffprobe.output()}`);
  const json = JSON.parse(stdout.join('')) as {
    format?: { format_name?: string; duration?: string };
    streams?: { codec_type?: string; codec_name?: string; channels?: number; sample_rate?: string }[];
  };
  return {
    formatName: json.format?.format_name ?? '',
    durationSeconds: Number(json.format?.duration ?? 'NaN'),
    streams: (json.streams ?? []).map((s) => ({
      codecType: s.codec_type ?? '',
      codecName: s.codec_name ?? '',
      channels: s.channels ?? 0,
      sampleRateHz: Number(s.sample_rate ?? 'NaN'),
    })),
  };
}

export async function readWavFile(path: string): Promise<WavSamples> {
  return readWavSamples(await readFile(path));
}

/** A µ-law track file: `seconds` of a tone in 20 ms packets arriving in real time from `startMs`. */
export function toneTrackFile(startMs: number, frequencyHz: number, seconds: number): Uint8Array {
  const packets = sineG711Packets({ codec: 'PCMU', frequencyHz, count: seconds * 50, ssrc: frequencyHz });
  return buildPcapFile(
    packets.map((p, i) => ({ timestampUs: (startMs + 20 * i) * 1000, datagram: p.datagram })),
  );
}

/**
 * Stores a closed (or given-state) two-track session of `seconds`: track 0 the near tone, track
 * 1 the far tone, laid out as the recorder lays them (`<day>/<sessionId>/track<n>.pcap`).
 */
export async function seedToneSession(
  repository: Repository,
  mediaDir: string,
  sessionId: string,
  options: { readonly startMs: number; readonly seconds?: number; readonly state?: SessionState },
): Promise<Session> {
  const seconds = options.seconds ?? 3;
  const durationMs = seconds * 1000;
  const closed = options.state !== 'ACTIVE';
  const base = sampleSession({
    sessionId,
    sessionStartDate: options.startMs,
    sessionState: options.state ?? 'CLOSED_NORMAL',
  });
  const day = new Date(options.startMs).toISOString().slice(0, 10);
  const session: Session = {
    ...base,
    ...(closed ? { sessionDuration: durationMs } : {}),
    tracks: base.tracks.map((track) => ({
      ...track,
      ...(closed ? { trackDuration: durationMs } : {}),
      mediaPath: `${day}/${sessionId}/track${track.trackNumber}.pcap`,
    })),
  };
  for (const track of session.tracks) {
    const file = join(mediaDir, track.mediaPath);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(
      file,
      toneTrackFile(options.startMs, track.trackNumber === 0 ? NEAR_HZ : FAR_HZ, seconds),
    );
  }
  await repository.createSession(session);
  return session;
}

/** The share of a channel's energy at `hz` against the other tone: both tones of a mix are heard. */
export function tonePower(samples: Int16Array, sampleRateHz: number, hz: number): number {
  return goertzelPower(samples, sampleRateHz, hz, 0, samples.length);
}
