import assert from 'node:assert/strict';
import type { TagJson } from '../../src/api/session-json.js';
import { analyseChannel, assertTone } from './cucm-calls.js';
import { downloadWav, type SessionJson } from './session-api.js';
import type { RunningServer } from './verbatim-server.js';

/**
 * Checks shared by the end-to-end tests of mid-call events (hold, pause, transfer): the parts of
 * the session object they read beyond cucm-calls' SessionJson, and the WAV cut at tag offsets.
 */

type TrackJson = SessionJson['tracks'][number];
type ParticipantJson = TrackJson['participants'][number];

/** The session object with its tags and the participants' display names (a Verbatim extension). */
export type SessionWithTags = Omit<SessionJson, 'tracks'> & {
  tags: TagJson[];
  tracks: (Omit<TrackJson, 'participants'> & {
    participants: (ParticipantJson & { name?: string })[];
    tags?: TagJson[];
  })[];
};

/**
 * The system tags of the session and of its tracks (hold tags are track tags, reference §5.2),
 * in offset order.
 */
export function systemTags(session: SessionWithTags): TagJson[] {
  return [...session.tags, ...session.tracks.flatMap((t) => t.tags ?? [])]
    .filter((t) => t.tagType === 'SYSTEM_DEFINED')
    .sort((a, b) => (a.tagOffset ?? 0) - (b.tagOffset ?? 0));
}

/** Slack for a loaded two-core machine between a SIPp pause ending and Verbatim's tag. */
export const LATE_MS = 1500;

/**
 * The session's system tags are exactly `start` then `end` (on `trackNumber`, or on no track), the
 * first `startMs` into the session and the second `lengthMs` after it, each up to LATE_MS late.
 * Gives their offsets: where the interruption (hold, pause) they mark begins and ends.
 */
export function assertInterruption(
  session: SessionWithTags,
  tags: { start: string; end: string; trackNumber?: number; what: string },
  expected: { startMs: number; lengthMs: number },
): { fromMs: number; toMs: number } {
  assert.deepEqual(
    systemTags(session).map((t) => [t.tagName, t.trackNumber]),
    [
      [tags.start, tags.trackNumber],
      [tags.end, tags.trackNumber],
    ],
  );
  const fromMs = tagOffset(session, tags.start, tags.trackNumber);
  const toMs = tagOffset(session, tags.end, tags.trackNumber);
  const { startMs, lengthMs } = expected;
  assertBetween(fromMs, startMs, startMs + LATE_MS, `the ${tags.start} offset (ms)`);
  assertBetween(toMs - fromMs, lengthMs, lengthMs + LATE_MS, `the ${tags.what} (ms)`);
  return { fromMs, toMs };
}

/** The two channels of a session's 8 kHz stereo WAV, and where it ends (ms). */
export async function stereoChannels(
  server: RunningServer,
  session: SessionJson,
): Promise<{ left: Int16Array; right: Int16Array; endMs: number }> {
  const { wav } = await downloadWav(server, session);
  assert.equal(wav.channels, 2);
  assert.equal(wav.sampleRateHz, 8000);
  const [left, right] = wav.channelSamples;
  assert.ok(left !== undefined && right !== undefined);
  return { left, right, endMs: (left.length * 1000) / wav.sampleRateHz };
}

/**
 * A channel carries `beforeHz` up to an interruption, nothing during it and `afterHz` from its
 * end to `endMs`, each tone for about `seconds`.
 */
export function assertInterruptedTone(
  samples: Int16Array,
  span: { fromMs: number; toMs: number; endMs: number },
  tone: { beforeHz: number; afterHz: number; seconds: number },
  labels: { before: string; during: string; after: string },
): void {
  assertTone(slice(samples, 0, span.fromMs), tone.beforeHz, tone.seconds, labels.before);
  assertQuiet(slice(samples, span.fromMs, span.toMs), labels.during);
  assertTone(slice(samples, span.toMs, span.endMs), tone.afterHz, tone.seconds, labels.after);
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
