import type { Recorder } from './recorder.js';
import type { SynthCall } from './synth-call.js';

/**
 * Step f: the WAV export of a long two-track call, as a client fetches it: the session's wavUrl
 * from getSessions, then an HTTP GET timed to the last byte. The byte count is checked against the
 * WAV the call must give (44-byte header + 8,000 stereo 16-bit frames per second), so a truncated
 * or short answer cannot pass for a fast one.
 */

export interface ExportPlan {
  readonly runs: number;
}

export interface ExportRun {
  readonly seconds: number;
  readonly bytes: number;
}

export interface ExportResult {
  readonly audioSeconds: number;
  readonly trackFileBytes: number;
  readonly expectedBytes: number;
  readonly runs: readonly ExportRun[];
  readonly medianSeconds: number;
  /** Median export time scaled to one hour of audio. */
  readonly exportSecondsPerHour: number;
}

const WAV_HEADER_BYTES = 44;
const BYTES_PER_SECOND = 8000 * 2 * 2;

/** A media URL (`wavUrl`, `mp4Url`) of the export call, found as a client finds it (getSessions). */
export async function sessionUrlOf(
  recorder: Recorder,
  call: SynthCall,
  key: 'wavUrl' | 'mp4Url',
): Promise<string> {
  const answer = await recorder.api('/ora/queryService/query/getSessions', {
    requestParameters: [
      {
        fieldName: 'sessionStartDate',
        fieldConditions: [
          { fieldOperator: 'between', fieldValues: [call.startMs - 1000, call.startMs + 1000] },
        ],
        paramConnector: 'AND',
      },
      { fieldName: 'ccid', fieldConditions: [{ fieldOperator: 'equals', fieldValues: [call.ccid] }] },
    ],
  });
  const sessions = answer.responseBody?.sessions;
  const session = Array.isArray(sessions)
    ? (sessions[0] as { urls?: Record<string, unknown> } | undefined)
    : undefined;
  const url = session?.urls?.[key];
  if (typeof url !== 'string') {
    throw new Error(`getSessions did not return the export call with its ${key} (${answer.responseCode})`);
  }
  return url;
}

async function timedDownload(url: string, jsessionId: string): Promise<ExportRun> {
  const started = performance.now();
  const response = await fetch(url, { headers: { cookie: `JSESSIONID=${jsessionId}` } });
  if (response.status !== 200 || response.body === null) {
    throw new Error(`GET ${url} answered ${response.status}`);
  }
  let bytes = 0;
  const reader = response.body.getReader();
  for (;;) {
    // fetch's body is typed loosely in @types/node 20; it yields Uint8Array chunks.
    const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (done || value === undefined) {
      break;
    }
    bytes += value.byteLength;
  }
  return { seconds: (performance.now() - started) / 1000, bytes };
}

export async function runExport(
  recorder: Recorder,
  call: SynthCall,
  plan: ExportPlan,
): Promise<ExportResult> {
  const url = await sessionUrlOf(recorder, call, 'wavUrl');
  const expectedBytes = WAV_HEADER_BYTES + (call.durationMs / 1000) * BYTES_PER_SECOND;
  const runs: ExportRun[] = [];
  for (let i = 0; i < plan.runs; i++) {
    const run = await timedDownload(url, recorder.jsessionId);
    if (run.bytes !== expectedBytes) {
      throw new Error(`the WAV has ${run.bytes} bytes, expected ${expectedBytes}`);
    }
    runs.push(run);
  }
  const sorted = runs.map((r) => r.seconds).sort((a, b) => a - b);
  const medianSeconds = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  const audioSeconds = call.durationMs / 1000;
  return {
    audioSeconds,
    trackFileBytes: call.trackBytes,
    expectedBytes,
    runs,
    medianSeconds,
    exportSecondsPerHour: (medianSeconds * 3600) / audioSeconds,
  };
}
