import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sineG711Packets } from './audio.js';
import { NEAR_HZ } from './cucm-calls.js';
import type { SessionJson } from './session-api.js';
import { writeSippRtpPcap } from './sipp-pcap.js';
import type { RunningServer } from './verbatim-server.js';

/**
 * Recording health in end-to-end tests (issue 13): captures of broken media for sipp to play, the
 * session's health object as the API shows it, and the node's /metrics.
 */

/** The health object of the API (docs/api.md "health"). */
export interface HealthJson {
  status: 'ok' | 'degraded';
  problems: ({ kind: string; trackNumber?: number; trackNumbers?: number[] } & Record<string, unknown>)[];
  tracks: {
    trackNumber: number;
    expected: number;
    received: number;
    lost: number;
    gaps: number;
    gapMs: number;
    longestGapMs: number;
    content: string;
  }[];
}

export type HealthySession = SessionJson & { health: HealthJson };

/** A µ-law capture of digital silence, as a muted phone sends it. */
export function silenceCapture(work: string, name: string, seconds: number): string {
  const path = join(work, `${name}.pcap`);
  const packets = sineG711Packets({ codec: 'PCMU', frequencyHz: 400, count: seconds * 50, amplitude: 0 });
  writeSippRtpPcap(path, { payloadType: 0, ssrc: 0x51e7, frames: packets.map((p) => p.payload) });
  return path;
}

/** A tone with a loss burst: `beforeS` seconds, a hole of `holeMs`, then `afterS` seconds. */
export function holeCapture(
  work: string,
  name: string,
  beforeS: number,
  holeMs: number,
  afterS: number,
): string {
  const path = join(work, `${name}.pcap`);
  const packets = sineG711Packets({ codec: 'PCMU', frequencyHz: NEAR_HZ, count: (beforeS + afterS) * 50 });
  writeSippRtpPcap(path, {
    payloadType: 0,
    ssrc: 0x4013,
    frames: packets.map((p) => p.payload),
    hole: { beforeFrame: beforeS * 50, packets: holeMs / 20 },
  });
  return path;
}

export async function metricsText(server: RunningServer): Promise<string> {
  const response = await fetch(`${server.baseUrl}/metrics`, {
    headers: { cookie: `JSESSIONID=${server.jsessionId}` },
  });
  assert.equal(response.status, 200);
  return response.text();
}

/** A sample's value; `labels` '' for a metric without labels. */
export function metricValue(text: string, name: string, labels: string): number | undefined {
  const prefix = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}
