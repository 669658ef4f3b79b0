import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MULAW_TO_LINEAR } from '../../../src/protocol/codec/g711.js';
import { serializeRtpPacket } from '../../../src/protocol/rtp/rtp-packet.js';
import {
  openTrackTimeline,
  prepareTrack,
  type PreparedTrack,
  type TrackSource,
  type TrackTimelineOptions,
} from '../../../src/playback/track-timeline.js';
import { buildPcapFile, type CapturedDatagram } from '../../support/audio.js';

/**
 * What the track-timeline tests share: crafted packets written as a pcap track file, and the
 * timeline read back as mono PCM at 8 kHz.
 */

export const SESSION_START_MS = 1_700_000_000_000;
export const PCMU: Omit<TrackSource, 'filePath'> = { codec: 'PCMU', payloadType: 0 };

/** μ-law byte of packet `index`: distinct, and never one of the two bytes that decode to 0. */
export function byteOf(index: number): number {
  return 0x10 + index;
}

export interface PacketSpec {
  /** Arrival, ms after the session start (may be fractional or negative). */
  readonly atMs: number;
  readonly seq: number;
  readonly timestamp: number;
  readonly ssrc?: number;
  readonly payloadType?: number;
  readonly marker?: boolean;
  readonly payload?: Uint8Array;
  /** A whole datagram that is not built as RTP (RTCP). */
  readonly raw?: Uint8Array;
}

function datagram(spec: PacketSpec, index: number): CapturedDatagram {
  return {
    timestampUs: Math.round((SESSION_START_MS + spec.atMs) * 1000),
    datagram:
      spec.raw ??
      serializeRtpPacket(
        {
          marker: spec.marker ?? false,
          payloadType: spec.payloadType ?? 0,
          sequenceNumber: spec.seq,
          timestamp: spec.timestamp,
          ssrc: spec.ssrc ?? 0xabc,
        },
        spec.payload ?? new Uint8Array(160).fill(byteOf(index)),
      ),
  };
}

/** A temporary directory of track files, one per call of `trackOf`. */
export class TrackFiles {
  #dir = '';
  #count = 0;

  async open(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'verbatim-timeline-'));
  }

  async close(): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
  }

  path(name: string): string {
    return join(this.#dir, name);
  }

  /** Writes the packets (in the given order, which is arrival order) as a track file. */
  async trackOf(
    packets: readonly PacketSpec[] | Uint8Array,
    codec: Omit<TrackSource, 'filePath'> = PCMU,
  ): Promise<PreparedTrack> {
    const filePath = this.path(`track${this.#count++}.pcap`);
    const bytes = packets instanceof Uint8Array ? packets : buildPcapFile(packets.map(datagram));
    await writeFile(filePath, bytes);
    return prepareTrack({ ...codec, filePath }, undefined);
  }
}

/** Renders frames [0, frames) of a mono timeline, `window` frames at a time. */
export async function renderMono(
  track: PreparedTrack,
  frames: number,
  options: Partial<TrackTimelineOptions> = {},
  window = frames,
): Promise<Int16Array> {
  const timeline = await openTrackTimeline(track, {
    outputRateHz: 8000,
    sessionStartMs: SESSION_START_MS,
    ...options,
  });
  assert.ok(timeline !== undefined);
  const out = new Int16Array(frames);
  try {
    for (let start = 0; start < frames; start += window) {
      const end = Math.min(start + window, frames);
      await timeline.prepare(end);
      const part = new Int16Array(end - start);
      timeline.render(start, end, part, 0, 1);
      out.set(part, start);
    }
  } finally {
    timeline.close();
  }
  return out;
}

/** Where each packet's samples went: [first frame, byte] for every run of one byte's value. */
export function runs(samples: Int16Array): [number, number][] {
  const found: [number, number][] = [];
  let previous: number | undefined;
  samples.forEach((sample, frame) => {
    if (sample !== previous) {
      const byte = MULAW_TO_LINEAR.indexOf(sample);
      found.push([frame, sample === 0 ? 0 : byte]);
      previous = sample;
    }
  });
  return found;
}

export { seededRandom } from '../../support/seeded-random.js';

/**
 * A network's jitter on one packet, in ms: 0–4 ms on most packets, 5–30 ms on one in ten, and a
 * spike of up to 120 ms on one in two hundred (packets overtake each other).
 */
export function networkJitterMs(random: () => number): number {
  const draw = random();
  const size = random();
  if (draw < 0.005) {
    return 30 + size * 90;
  }
  if (draw < 0.1) {
    return 5 + size * 25;
  }
  return size * 4;
}
