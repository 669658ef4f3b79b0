import { findSilences, goertzelPower } from './audio.js';

/**
 * Checks of a channel that carries one known tone (or a tone that changes once), cheap enough to
 * run on every WAV of a load test: where the tone starts and ends to the sample, silent stretches
 * inside it, whether each window carries the expected frequency, and where the tone changes.
 */

/** A sample at or below this magnitude is quiet: a 8000-peak tone has at most one such sample in a row. */
const QUIET_LEVEL = 300;

export interface ToneSpan {
  /** First and last loud sample (-1 when the channel is silent). */
  readonly firstSample: number;
  readonly lastSample: number;
  readonly startMs: number;
  /** From the first loud sample to just after the last one. */
  readonly durationMs: number;
}

export function toneSpan(samples: Int16Array, sampleRateHz: number): ToneSpan {
  let first = -1;
  let last = -1;
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i] ?? 0) > QUIET_LEVEL) {
      if (first < 0) {
        first = i;
      }
      last = i;
    }
  }
  return {
    firstSample: first,
    lastSample: last,
    startMs: (first * 1000) / sampleRateHz,
    durationMs: first < 0 ? 0 : ((last - first + 1) * 1000) / sampleRateHz,
  };
}

/** Quiet stretches of at least `minMs` between the first and last loud sample, in ms of the channel. */
export function dropoutsInside(
  samples: Int16Array,
  sampleRateHz: number,
  span: ToneSpan,
  minMs = 5,
): { startMs: number; endMs: number }[] {
  if (span.firstSample < 0) {
    return [];
  }
  const offsetMs = span.startMs;
  return findSilences(samples.subarray(span.firstSample, span.lastSample + 1), sampleRateHz, {
    minDurationMs: minMs,
    threshold: QUIET_LEVEL,
  }).map((s) => ({ startMs: s.startMs + offsetMs, endMs: s.endMs + offsetMs }));
}

/**
 * The windows of `windowMs` inside the span whose energy is not mostly at `frequencyHz` (a pure
 * sine puts half of its mean square there by goertzelPower's scale; another tone or a splice far
 * less), as the start of each such window in ms of the channel.
 */
export function windowsOffTone(
  samples: Int16Array,
  sampleRateHz: number,
  span: ToneSpan,
  frequencyHz: number,
  windowMs = 100,
): number[] {
  const length = Math.round((windowMs * sampleRateHz) / 1000);
  const off: number[] = [];
  for (let start = span.firstSample; start + length <= span.lastSample + 1; start += length) {
    let meanSquare = 0;
    for (let i = start; i < start + length; i++) {
      meanSquare += (samples[i] ?? 0) ** 2;
    }
    meanSquare /= length;
    const power = goertzelPower(samples, sampleRateHz, frequencyHz, start, length);
    if (meanSquare === 0 || power / meanSquare < 0.35) {
      off.push((start * 1000) / sampleRateHz);
    }
  }
  return off;
}

/**
 * Where a channel changes from `fromHz` to `toHz`, in ms of the channel, to `stepMs`: the first
 * window of `stepMs` after the start of the tone in which `toHz` carries more power than `fromHz`.
 */
export function toneChangeMs(
  samples: Int16Array,
  sampleRateHz: number,
  span: ToneSpan,
  fromHz: number,
  toHz: number,
  stepMs = 1,
): number | undefined {
  const step = Math.round((stepMs * sampleRateHz) / 1000);
  // Long enough to tell the two tones apart (several periods of the lower one), short enough to place the change.
  const length = Math.round((10 * sampleRateHz) / 1000);
  for (let start = span.firstSample; start + length <= span.lastSample + 1; start += step) {
    const from = goertzelPower(samples, sampleRateHz, fromHz, start, length);
    const to = goertzelPower(samples, sampleRateHz, toHz, start, length);
    if (to > from) {
      // The window straddles the change: its middle is where the change is, to half a window.
      return ((start + length / 2) * 1000) / sampleRateHz;
    }
  }
  return undefined;
}

/** Runs `task` over `items` with at most `limit` running at once; results in the items' order. */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
