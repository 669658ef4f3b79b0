import assert from 'node:assert/strict';
import type { PcapPacket } from '../../src/protocol/container/pcap.js';
import { parseRtpHeader } from '../../src/protocol/rtp/rtp-packet.js';
import { assertBetween, systemTags, type SessionWithTags } from './midcall-checks.js';
import { sdpMediaLines } from './sipp-scenarios.js';
import { fillSippTemplate } from './sipp-template.js';
import { dropoutsInside, toneSpan, windowsOffTone, type ToneSpan } from './tone-checks.js';
import type { RunningServer } from './verbatim-server.js';

/**
 * pauseRecording / resumeRecording as an end-to-end test drives and checks them: the two API
 * calls, the Pause / Resume tags, the WAV (silent exactly over the pause, the tone before and
 * after it where it was sent) and the track captures (no packet of the paused span).
 */

const RATE = 8000;
/** One 20 ms packet: where the pause falls inside a packet, that packet is stored or not whole. */
export const FRAME_MS = 20;
/** Timing slack of a loaded machine between a packet's send and its arrival at the recorder. */
export const SLACK_MS = 10;

export interface PausedSpan {
  /** Offsets (ms from the session start) of the Pause and Resume tags. */
  readonly pauseMs: number;
  readonly resumeMs: number;
  /** Their epoch ms (tagCreateDate): when the media workers stopped and started storing. */
  readonly pauseAt: number;
  readonly resumeAt: number;
}

/** A controlService call as a client makes it; gives the responseCode. */
export async function control(
  server: RunningServer,
  api: 'pauseRecording' | 'resumeRecording',
  sessionId: string,
): Promise<number> {
  const answer = await server.api(`/ora/controlService/control/${api}`, { requestParameters: { sessionId } });
  return answer.responseCode;
}

/** The session's system tags are exactly Pause then Resume, at the session level; their times. */
export function pausedSpan(session: SessionWithTags): PausedSpan {
  const tags = systemTags(session);
  assert.deepEqual(
    tags.map((t) => [t.tagName, t.trackNumber]),
    [
      ['Pause', undefined],
      ['Resume', undefined],
    ],
    'one Pause and one Resume tag on the session',
  );
  const [pause, resume] = tags;
  assert.ok(pause?.tagOffset !== undefined && resume?.tagOffset !== undefined, 'the tags have offsets');
  return {
    pauseMs: pause.tagOffset,
    resumeMs: resume.tagOffset,
    pauseAt: pause.tagCreateDate,
    resumeAt: resume.tagCreateDate,
  };
}

/**
 * A channel carrying `hz` with one silence: it starts within a frame of the Pause tag, ends
 * within a frame of the Resume tag and lasts the paused length to a frame; the tone is `hz` on
 * either side and lasts `toneMs` from its first sound to its last, the silence included (nothing
 * before or after the pause moved). With `startsPaused`, the channel's sender began during the
 * pause: silent until the resume, then the tone.
 */
export function assertPausedChannel(
  samples: Int16Array,
  span: PausedSpan,
  tone: { readonly hz: number; readonly toneMs?: number; readonly startsPaused?: boolean },
  label: string,
): void {
  const sound = toneSpan(samples, RATE);
  assert.ok(sound.firstSample >= 0, `${label}: no sound at all`);
  if (tone.startsPaused === true) {
    assertBetween(
      sound.startMs,
      span.resumeMs - SLACK_MS,
      span.resumeMs + FRAME_MS + SLACK_MS,
      `${label}: where sound starts after the resume (ms)`,
    );
    assert.deepEqual(dropoutsInside(samples, RATE, sound), [], `${label}: silences after the resume`);
    assert.deepEqual(
      windowsOffTone(samples, RATE, sound, tone.hz),
      [],
      `${label}: windows off ${tone.hz} Hz`,
    );
    return;
  }
  const silences = dropoutsInside(samples, RATE, sound);
  assert.equal(silences.length, 1, `${label}: one silence expected, found ${JSON.stringify(silences)}`);
  const [silence] = silences;
  assert.ok(silence !== undefined);
  const paused = span.resumeMs - span.pauseMs;
  assertBetween(
    silence.startMs,
    span.pauseMs - FRAME_MS - SLACK_MS,
    span.pauseMs + FRAME_MS + SLACK_MS,
    `${label}: where the silence starts (Pause at ${span.pauseMs} ms)`,
  );
  assertBetween(
    silence.endMs,
    span.resumeMs - SLACK_MS,
    span.resumeMs + FRAME_MS + SLACK_MS,
    `${label}: where the silence ends (Resume at ${span.resumeMs} ms)`,
  );
  assertBetween(
    silence.endMs - silence.startMs,
    paused - FRAME_MS - SLACK_MS,
    paused + FRAME_MS + SLACK_MS,
    `${label}: the silence's length (paused ${paused} ms)`,
  );
  if (tone.toneMs !== undefined) {
    assertBetween(
      sound.durationMs,
      tone.toneMs - SLACK_MS,
      tone.toneMs + SLACK_MS,
      `${label}: from the first sound to the last (ms)`,
    );
  }
  const before: ToneSpan = { ...sound, lastSample: Math.floor(silence.startMs * (RATE / 1000)) - 1 };
  const after: ToneSpan = { ...sound, firstSample: Math.ceil(silence.endMs * (RATE / 1000)) };
  assert.deepEqual(
    windowsOffTone(samples, RATE, before, tone.hz),
    [],
    `${label}: windows off ${tone.hz} Hz before the pause`,
  );
  assert.deepEqual(
    windowsOffTone(samples, RATE, after, tone.hz),
    [],
    `${label}: windows off ${tone.hz} Hz after the resume`,
  );
}

/**
 * No record of the track capture arrived inside the paused span (by the media workers' own clock,
 * which stamps the records and dates the tags), and its sequence numbers have the one gap of
 * the packets received while paused, about the paused length's worth when the sender sent
 * throughout (`sentThroughout`). Gives the number missing.
 */
export function assertNothingStoredWhilePaused(
  records: readonly PcapPacket[],
  span: PausedSpan,
  label: string,
  sentThroughout = true,
): number {
  assert.ok(records.length > 0, `${label}: the capture holds packets`);
  const inside = records.filter((r) => {
    const ms = Math.floor(r.timestampUs / 1000);
    return ms > span.pauseAt && ms < span.resumeAt;
  });
  assert.deepEqual(
    inside.map((r) => Math.floor(r.timestampUs / 1000) - span.pauseAt),
    [],
    `${label}: records stored while paused (ms after the pause)`,
  );
  const sequenceNumbers = records.map((r) => {
    const header = parseRtpHeader(r.payload);
    assert.ok(header.ok, `${label}: every record is RTP`);
    return header.value.sequenceNumber;
  });
  const gaps: number[] = [];
  for (let i = 1; i < sequenceNumbers.length; i++) {
    const step = ((sequenceNumbers[i] as number) - (sequenceNumbers[i - 1] as number) + 0x10000) % 0x10000;
    if (step !== 1) {
      gaps.push(step - 1);
    }
  }
  if (!sentThroughout) {
    assert.deepEqual(gaps, [], `${label}: sequence gaps`);
    return 0;
  }
  assert.equal(gaps.length, 1, `${label}: one sequence gap expected, found ${JSON.stringify(gaps)}`);
  const missing = gaps[0] as number;
  const expected = (span.resumeAt - span.pauseAt) / FRAME_MS;
  assertBetween(missing, expected - 2, expected + 2, `${label}: packets missing from the capture`);
  return missing;
}

/**
 * A SIPREC SRC's plain call (siprec-call.xml): one labelled sendonly PCMU stream, its metadata
 * naming `sessionId` and the party sending it, SIPp replaying `pcapPath`, BYE after `holdMs`.
 */
export function siprecCallScenario(s: {
  readonly sessionId: string;
  readonly streamId: string;
  readonly participantId: string;
  readonly aor: string;
  readonly pcapPath: string;
  readonly holdMs: number;
}): string {
  const mediaLines = sdpMediaLines([
    {
      port: '[media_port]',
      payloadTypes: [0, 101],
      lines: [
        'c=IN IP[media_ip_type] [media_ip]',
        'a=rtpmap:0 PCMU/8000',
        'a=rtpmap:101 telephone-event/8000',
        'a=fmtp:101 0-16',
        'a=ptime:20',
        'a=sendonly',
        'a=label:1',
      ],
    },
  ]);
  const metadata = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<recording xmlns="urn:ietf:params:xml:ns:recording:1">',
    '<datamode>complete</datamode>',
    `<session session_id="${s.sessionId}"><start-time>${new Date().toISOString()}</start-time></session>`,
    `<participant participant_id="${s.participantId}"><nameID aor="${s.aor}"/></participant>`,
    `<stream stream_id="${s.streamId}" session_id="${s.sessionId}"><label>1</label></stream>`,
    `<participantstreamassoc participant_id="${s.participantId}"><send>${s.streamId}</send></participantstreamassoc>`,
    '</recording>',
  ].join('\n');
  return fillSippTemplate('siprec-call.xml', {
    scenario_name: 'SIPREC SRC: one stream, no re-INVITE',
    body: fillSippTemplate('parts/siprec-multipart.txt', {
      sdp_version: 1,
      media_lines: mediaLines,
      metadata,
    }),
    answer_action: '',
    media: fillSippTemplate('parts/play-pcap.xml', { pcap: s.pcapPath }),
    hold_ms: s.holdMs,
  });
}
