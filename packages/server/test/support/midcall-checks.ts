import assert from 'node:assert/strict';
import { analyseChannel } from './cucm-calls.js';
import type { SessionJson } from './session-api.js';

/**
 * Checks shared by the end-to-end tests of mid-call events (hold, pause, transfer): the parts of
 * the session object they read beyond cucm-calls' SessionJson, and the WAV cut at tag offsets.
 */

export interface TagJson {
  tagName: string;
  tagType: string;
  tagCreateDate: number;
  tagOffset?: number;
  trackNumber?: number;
}

type TrackJson = SessionJson['tracks'][number];
type ParticipantJson = TrackJson['participants'][number];

/** The session object with its tags and the participants' display names (a Verbatim extension). */
export type SessionWithTags = Omit<SessionJson, 'tracks'> & {
  tags: TagJson[];
  tracks: (Omit<TrackJson, 'participants'> & { participants: (ParticipantJson & { name?: string })[] })[];
};

/** The session's system tags as [name, offset, trackNumber], in offset order. */
export function systemTags(session: SessionWithTags): TagJson[] {
  return session.tags
    .filter((t) => t.tagType === 'SYSTEM_DEFINED')
    .sort((a, b) => (a.tagOffset ?? 0) - (b.tagOffset ?? 0));
}

/** The offset of the only system tag named `name` (and naming `trackNumber`, when given). */
export function tagOffset(session: SessionWithTags, name: string, trackNumber?: number): number {
  const found = systemTags(session).filter(
    (t) => t.tagName === name && (trackNumber === undefined || t.trackNumber === trackNumber),
  );
  assert.equal(found.length, 1, `one ${name} tag expected, found ${JSON.stringify(session.tags)}`);
  const offset = found[0]?.tagOffset;
  assert.ok(offset !== undefined, `the ${name} tag has an offset`);
  return offset;
}

/** Samples of a channel from `fromMs` to `toMs` on the session timeline (8 kHz unless told). */
export function slice(samples: Int16Array, fromMs: number, toMs: number, sampleRateHz = 8000): Int16Array {
  const perMs = sampleRateHz / 1000;
  return samples.subarray(Math.max(0, Math.round(fromMs * perMs)), Math.round(toMs * perMs));
}

/** No sound at all (no 100 ms window above the level analyseChannel calls sound). */
export function assertQuiet(samples: Int16Array, label: string): void {
  const channel = analyseChannel(samples);
  assert.ok(
    channel.firstMs < 0,
    `${label}: sound from ${channel.firstMs} ms to ${channel.lastMs} ms where silence was expected`,
  );
  const loudest = samples.reduce((max, s) => Math.max(max, Math.abs(s)), 0);
  assert.ok(loudest <= 64, `${label}: a sample reaches ${loudest} where silence was expected`);
}

/** `value` lies in [min, max]; the message says what was measured. */
export function assertBetween(value: number, min: number, max: number, what: string): void {
  assert.ok(value >= min && value <= max, `${what} is ${value}, expected ${min}..${max}`);
}
