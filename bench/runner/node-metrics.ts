import type { Recorder } from './recorder.js';

/**
 * The recorder's admission counters, read from its `/metrics` as Prometheus would, so that a step
 * can say why calls were refused (which reason, and which signal put the node in ramping or
 * refusing) and not only how many.
 */

/** Counts by label value: refusals by `reason`, entries into a state by `state reason`. */
export interface AdmissionCounts {
  readonly refused: Readonly<Record<string, number>>;
  readonly entered: Readonly<Record<string, number>>;
}

const SAMPLE_LINE = /^(verbatim_invites_refused_total|verbatim_admission_entered_total)\{([^}]*)\} (\S+)$/;
const LABEL = /(\w+)="([^"]*)"/g;

function parseAdmissionCounts(text: string): AdmissionCounts {
  const refused: Record<string, number> = {};
  const entered: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = SAMPLE_LINE.exec(line);
    if (match === null) {
      continue;
    }
    const [, name, labelText = '', valueText = ''] = match;
    const labels = new Map<string, string>();
    for (const [, key = '', value = ''] of labelText.matchAll(LABEL)) {
      labels.set(key, value);
    }
    const value = Number(valueText);
    if (!Number.isFinite(value) || value === 0) {
      continue;
    }
    if (name === 'verbatim_invites_refused_total') {
      refused[labels.get('reason') ?? '?'] = value;
    } else {
      entered[`${labels.get('state') ?? '?'} ${labels.get('reason') ?? '?'}`] = value;
    }
  }
  return { refused, entered };
}

/** The recorder's `/metrics` text, with the bench's admin session. */
async function scrapeMetrics(recorder: Recorder): Promise<string> {
  const response = await fetch(`${recorder.baseUrl}/metrics`, {
    headers: { cookie: `JSESSIONID=${recorder.jsessionId}` },
  });
  if (!response.ok) {
    throw new Error(`GET /metrics answered ${response.status}`);
  }
  return response.text();
}

export async function readAdmissionCounts(recorder: Recorder): Promise<AdmissionCounts> {
  return parseAdmissionCounts(await scrapeMetrics(recorder));
}

function difference(
  after: Readonly<Record<string, number>>,
  before: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta > 0) {
      out[key] = delta;
    }
  }
  return out;
}

/** What happened between two readings. */
export function countsSince(after: AdmissionCounts, before: AdmissionCounts): AdmissionCounts {
  return {
    refused: difference(after.refused, before.refused),
    entered: difference(after.entered, before.entered),
  };
}

/** `ramp-limit 12, media-lag 3 (entered: ramping media-lag ×2)`, or `none`. */
export function describeAdmissionCounts(counts: AdmissionCounts): string {
  const refused = Object.entries(counts.refused).map(([reason, n]) => `${reason} ${n}`);
  const entered = Object.entries(counts.entered).map(([key, n]) => `${key} ×${n}`);
  if (refused.length === 0 && entered.length === 0) {
    return 'none';
  }
  return `${refused.length === 0 ? 'no refusal' : refused.join(', ')}${entered.length === 0 ? '' : ` (entered: ${entered.join(', ')})`}`;
}

/** The recorder's headroom signals through a window, as its admission control saw them. */
export interface SignalWindow {
  readonly samples: number;
  readonly workerLagMsMean: number | null;
  readonly workerLagMsMax: number | null;
  readonly eventLoopDelayMsMax: number | null;
}

const GAUGE_LINE = /^(verbatim_\w+) (\S+)$/;

function gauge(text: string, name: string): number | undefined {
  for (const line of text.split('\n')) {
    const match = GAUGE_LINE.exec(line);
    if (match?.[1] === name) {
      const value = Number(match[2]);
      return Number.isFinite(value) ? value : undefined;
    }
  }
  return undefined;
}

/**
 * Scrapes /metrics every `intervalMs` until `finish`: the media workers' lag and the main thread's
 * delay under the load of a step, next to its loss and refusals (what the admission levels are set
 * from). A failed scrape is skipped: the window reports the samples it got.
 */
export function watchSignals(recorder: Recorder, intervalMs = 1000): { finish(): Promise<SignalWindow> } {
  const lags: number[] = [];
  const delays: number[] = [];
  let scraping: Promise<void> = Promise.resolve();
  const scrape = async (): Promise<void> => {
    try {
      const text = await scrapeMetrics(recorder);
      const lag = gauge(text, 'verbatim_media_worker_lag_seconds');
      const delay = gauge(text, 'verbatim_event_loop_delay_seconds');
      if (lag !== undefined) {
        lags.push(lag * 1000);
      }
      if (delay !== undefined) {
        delays.push(delay * 1000);
      }
    } catch {
      // The recorder too busy to answer within the interval is itself a figure: fewer samples.
    }
  };
  const timer = setInterval(() => {
    scraping = scraping.then(scrape);
  }, intervalMs);
  return {
    async finish() {
      clearInterval(timer);
      await scraping;
      const round = (v: number): number => Math.round(v * 1000) / 1000;
      const mean = (values: readonly number[]): number | null =>
        values.length === 0 ? null : round(values.reduce((a, b) => a + b, 0) / values.length);
      const max = (values: readonly number[]): number | null =>
        values.length === 0 ? null : round(Math.max(...values));
      return {
        samples: lags.length,
        workerLagMsMean: mean(lags),
        workerLagMsMax: max(lags),
        eventLoopDelayMsMax: max(delays),
      };
    },
  };
}
