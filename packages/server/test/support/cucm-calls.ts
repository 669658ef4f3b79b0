import assert from 'node:assert/strict';
import { join } from 'node:path';
import { dominantFrequencyHz, rmsLevel, sineG711Packets } from './audio.js';
import { downloadWav, findSessionBy, type SessionJson } from './session-api.js';
import { writeSippRtpPcap } from './sipp-pcap.js';
import { runSippToEnd } from './sipp-process.js';
import { cucmLegScenario, type CucmFarEndUpdate, type CucmLegScenario } from './sipp-scenarios.js';
import type { RunningServer } from './verbatim-server.js';

/**
 * Driving a CUCM-recorded call against a running node: SIPp plays both legs of one call (near end
 * and far end) with RTP replayed from captures of two different tones; the session is then found
 * and its WAV downloaded through the MediaSense API and analysed.
 */

export const NEAR_HZ = 500;
export const FAR_HZ = 1300;

let callCounter = 0;

/** Writes a capture of a pure tone for SIPp to replay and returns its path. */
export function capture(
  work: string,
  name: string,
  codec: 'PCMU' | 'PCMA',
  frequencyHz: number,
  seconds: number,
  packetMs = 20,
): string {
  const path = join(work, `${name}.pcap`);
  const packets = sineG711Packets({ codec, frequencyHz, count: (seconds * 1000) / packetMs, packetMs });
  writeSippRtpPcap(path, {
    payloadType: codec === 'PCMU' ? 0 : 8,
    ssrc: 0x1000 + frequencyHz,
    frames: packets.map((p) => p.payload),
    packetMs,
  });
  return path;
}

/** One leg: the capture it replays, and how it ends (BYE 3.3 s after the ACK unless told). */
export type LegOptions = Partial<Pick<CucmLegScenario, 'holdMs' | 'ending'>> & { pcapPath?: string };

/**
 * Runs one CUCM-recorded call (two SIPp processes, one per leg) and returns its x-refci. Unless
 * told otherwise, a delayed offer over UDP in µ-law.
 */
export async function runCucmCall(
  server: RunningServer,
  work: string,
  options: {
    transport?: 'u1' | 't1';
    offer?: 'delayed' | 'early';
    codec?: 'PCMU' | 'PCMA';
    near: LegOptions;
    far: LegOptions;
    /** Called while both legs are running, after the near leg has exited. */
    afterNearExit?: (refCi: string) => Promise<void>;
    /** Runs while both legs are up. */
    duringCall?: (refCi: string) => Promise<void>;
    /** a=ptime of the controller's SDP (20 unless given). */
    ptimeMs?: number;
    /** The legs may fail (the node is killed under them): their exit codes are not checked. */
    legsMayFail?: boolean;
    /**
     * The near end's x-refci (the far end's is one less); a fresh one unless given. CUCM resumes a
     * held call with a new pair of INVITEs carrying the same values.
     */
    refCi?: string;
    /** A remote-cluster transfer: both legs send an UPDATE naming the new far end. */
    update?: CucmFarEndUpdate;
    /** The parties' numbers, their participants' deviceRef (1001 near, 1000 far unless given). */
    numbers?: { near: string; far: string };
  },
): Promise<string> {
  callCounter++;
  const refCi = options.refCi ?? String(19301600 + callCounter * 2 + Math.floor(Math.random() * 1000) * 100);
  const farEndRefCi = String(Number(refCi) - 1);
  const codec = options.codec ?? 'PCMU';
  const legs = (['x-nearend', 'x-farend'] as const).map(async (stream) => {
    const leg = stream === 'x-nearend' ? options.near : options.far;
    const scenario = cucmLegScenario({
      stream,
      refCi,
      farEndRefCi,
      nearEndDevice: 'SEP6C416A369525',
      nearEndAddr: options.numbers?.near ?? '1001',
      farEndDevice: 'SEP38ED18552A12',
      farEndAddr: options.numbers?.far ?? '1000',
      payloadType: codec === 'PCMU' ? 0 : 8,
      codecName: codec,
      offer: options.offer ?? 'delayed',
      holdMs: leg.holdMs ?? 3300,
      ending: leg.ending ?? 'bye',
      ptimeMs: options.ptimeMs ?? 20,
      ...(leg.pcapPath === undefined ? {} : { pcapPath: leg.pcapPath }),
      ...(options.update === undefined ? {} : { update: options.update }),
    });
    const { code, run } = await runSippToEnd(`sipp ${stream}`, server, scenario, {
      work,
      transport: options.transport ?? 'u1',
    });
    if (options.legsMayFail !== true) {
      // The node's own words on a refusal come first: a CI summary cuts long messages short.
      const refusals = server.process
        .output()
        .split('\n')
        .filter((line) => /refused|503/.test(line))
        .slice(-5)
        .join('\n');
      assert.equal(
        code,
        0,
        `sipp ${stream} failed (exit ${code}); the node's refusals: ${refusals || 'none'}\n${run.sipp.output()}`,
      );
    }
    if (stream === 'x-nearend' && options.afterNearExit !== undefined) {
      await options.afterNearExit(refCi);
    }
  });
  await Promise.all([...legs, options.duringCall?.(refCi)]);
  return refCi;
}

export function findSessionByRefCi(
  server: RunningServer,
  refCi: string,
  predicate: (s: SessionJson) => boolean,
): Promise<SessionJson> {
  return findSessionBy(server, 'xRefCi', refCi, predicate);
}

/** Splits a channel in 100 ms windows and reports where it carries sound and which tone. */
export function analyseChannel(samples: Int16Array): ToneWindows {
  const window = 800;
  const active: boolean[] = [];
  const tones: number[] = [];
  for (let start = 0; start + window <= samples.length; start += window) {
    active.push(rmsLevel(samples, start, start + window) > 500);
    tones.push(dominantFrequencyHz(samples, 8000, start, window));
  }
  const first = active.indexOf(true);
  const last = active.lastIndexOf(true);
  const gaps: number[] = [];
  for (let i = first; i <= last; i++) {
    if (!active[i]) {
      gaps.push(i * 100);
    }
  }
  return { firstMs: first * 100, lastMs: last * 100 + 100, gaps, tones: tones.slice(first + 1, last) };
}

/**
 * The stereo WAV of a CUCM session: the near end's tone on the left channel, the far end's on the
 * right, each for about `nearSeconds` / 3 s. `label` starts every message; `nearNote` says why
 * the near end is shorter.
 */
export async function assertPartyTones(
  server: RunningServer,
  session: SessionJson,
  expected: { nearHz: number; farHz: number; nearSeconds?: number; nearNote?: string; label?: string },
): Promise<void> {
  const label = expected.label ?? '';
  const nearNote = expected.nearNote === undefined ? '' : `, ${expected.nearNote}`;
  await assertChannelTones(server, session, [
    { hz: expected.nearHz, seconds: expected.nearSeconds ?? 3, label: `${label}left (near end${nearNote})` },
    { hz: expected.farHz, seconds: 3, label: `${label}right (far end)` },
  ]);
}

/**
 * The session's 8 kHz WAV has one channel per entry of `channels`, each carrying its tone for
 * about its seconds.
 */
export async function assertChannelTones(
  server: RunningServer,
  session: SessionJson,
  channels: readonly { hz: number; seconds: number; label: string }[],
): Promise<void> {
  const { wav } = await downloadWav(server, session);
  assert.equal(wav.channels, channels.length);
  assert.equal(wav.sampleRateHz, 8000);
  for (const [index, channel] of channels.entries()) {
    assertTone(wav.channelSamples[index]!, channel.hz, channel.seconds, channel.label);
  }
}

export function assertTone(
  samples: Int16Array,
  expectedHz: number,
  expectedSeconds: number,
  label: string,
): void {
  assertToneSpan(analyseChannel(samples), expectedHz, expectedSeconds, label);
}

/** Where a channel carries sound and which tone, per 100 ms window (analyseChannel, analyseTone). */
export interface ToneWindows {
  firstMs: number;
  lastMs: number;
  gaps: number[];
  tones: number[];
}

/**
 * The analysed channel carries `expectedHz` from its first to its last loud window with no silent
 * window inside, for about `expectedSeconds`; `tonesMeasured` also requires a window to measure.
 */
export function assertToneSpan(
  channel: ToneWindows,
  expectedHz: number,
  expectedSeconds: number,
  label: string,
  options: { tonesMeasured?: boolean } = {},
): void {
  assert.ok(channel.firstMs >= 0, `${label}: no sound at all`);
  assert.deepEqual(
    channel.gaps,
    [],
    `${label}: silent windows inside the call at ${channel.gaps.join(', ')} ms`,
  );
  const spanMs = channel.lastMs - channel.firstMs;
  assert.ok(
    Math.abs(spanMs - expectedSeconds * 1000) <= 400,
    `${label}: sound lasts ${spanMs} ms, expected about ${expectedSeconds * 1000} ms`,
  );
  if (options.tonesMeasured === true) {
    assert.ok(channel.tones.length > 0, `${label}: too short to measure a tone`);
  }
  assertTonesNear(channel.tones, expectedHz, label);
}

/** Every measured window carries `expectedHz`, within 25 Hz. */
export function assertTonesNear(tones: readonly number[], expectedHz: number, label: string): void {
  for (const tone of tones) {
    assert.ok(
      Math.abs(tone - expectedHz) <= 25,
      `${label}: a window carries ${tone} Hz instead of ${expectedHz} Hz`,
    );
  }
}
