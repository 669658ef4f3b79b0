import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseWhen } from '../../../src/cli/export.js';
import {
  ProgressReporter,
  formatBytes,
  formatDuration,
  progressModeOf,
  type ProgressMode,
} from '../../../src/cli/progress.js';

// The progress of `verbatim export` on a fake stream and a fake clock: what a terminal and a log
// file receive, redraw by redraw; and how the command reads the edges of a window.

const ESC = '\u001b';

function reporter(
  mode: ProgressMode,
  totalMs: number,
  columns?: number,
): { progress: ProgressReporter; written: string[]; clock: { now: number } } {
  const written: string[] = [];
  const clock = { now: 1_000_000 };
  const progress = new ProgressReporter({
    stream: {
      write: (text: string) => {
        written.push(text);
        return true;
      },
      isTTY: mode === 'bar',
      ...(columns === undefined ? {} : { columns }),
    },
    mode,
    totalMs,
    label: 'export',
    now: () => clock.now,
  });
  return { progress, written, clock };
}

void describe('export progress on a terminal', () => {
  void it('redraws one line in place with percent, done/total, speed, time left and bytes', () => {
    const { progress, written, clock } = reporter('bar', 60_000, 100);
    clock.now += 1000;
    progress.update(15_000, 240_000);
    assert.equal(written.length, 1);
    const line = written[0] ?? '';
    assert.ok(line.startsWith('\rexport ['), JSON.stringify(line));
    assert.ok(line.endsWith(`${ESC}[K`), JSON.stringify(line));
    assert.match(line, /\] {2}25% {2}0:15 \/ 1:00 {2}15x real time {2}ETA 0:03 {2}240\.0 kB/);
    assert.ok(line.length - 1 - `${ESC}[K`.length <= 99, 'fits the terminal width');
  });

  void it('redraws at most every 100 ms, and finishes at 100 % with a new line', () => {
    const { progress, written, clock } = reporter('bar', 10_000);
    progress.update(1000, 10);
    clock.now += 50;
    progress.update(2000, 20);
    assert.equal(written.length, 1, 'a redraw 50 ms after the last is skipped');
    clock.now += 60;
    progress.update(3000, 30);
    assert.equal(written.length, 2);
    progress.finish();
    assert.match(written.at(-2) ?? '', /100% {2}0:10 \/ 0:10 .* in 0\.1 s {2}30 B/);
    assert.equal(written.at(-1), '\n');
  });

  void it('prints a note above the bar and draws the bar again below it', () => {
    const { progress, written } = reporter('bar', 10_000);
    progress.update(5000, 0);
    progress.note('failed s1: damaged');
    assert.deepEqual(written.slice(1, 3), [`\r${ESC}[K`, 'failed s1: damaged\n']);
    assert.match(written[3] ?? '', /^\rexport \[.*50%/);
  });

  void it('removes the bar when abandoned and draws nothing after', () => {
    const { progress, written } = reporter('bar', 10_000);
    progress.update(5000, 0);
    progress.abandon();
    progress.update(6000, 0);
    progress.finish();
    assert.deepEqual(written.slice(1), [`\r${ESC}[K`]);
  });

  void it('uses 80 columns when a pseudo-terminal reports none', () => {
    const { progress, written } = reporter('bar', 10_000, 0);
    progress.update(5000, 0);
    assert.ok((written[0] ?? '').length > 40);
  });
});

void describe('export progress in a log (not a terminal)', () => {
  void it('writes a plain line at each tenth and one at the end, never a control character', () => {
    const { progress, written, clock } = reporter('lines', 100_000);
    for (let doneMs = 0; doneMs <= 100_000; doneMs += 2500) {
      clock.now += 100;
      progress.update(doneMs, doneMs);
    }
    progress.finish();
    assert.deepEqual(
      written.map((line) => /^export: +(\d+)%/.exec(line)?.[1]),
      ['10', '20', '30', '40', '50', '60', '70', '80', '90', '100'],
    );
    assert.ok(written.every((line) => line.endsWith('\n') && !line.includes('\r') && !line.includes(ESC)));
    assert.match(
      written.at(-1) ?? '',
      /^export: 100% {2}1:40 \/ 1:40 {2}24x real time {2}in 4\.1 s {2}100\.0 kB\n$/,
    );
  });

  void it('a job that jumps several tenths at once writes one line', () => {
    const { progress, written } = reporter('lines', 1000);
    progress.update(750, 0);
    assert.equal(written.length, 1);
    assert.match(written[0] ?? '', /^export: {2}75%/);
  });

  void it('says nothing when quiet', () => {
    const { progress, written } = reporter('quiet', 1000);
    progress.update(500, 0);
    progress.note('skipped');
    progress.finish();
    assert.deepEqual(written, []);
  });

  void it('chooses the bar on a terminal, lines elsewhere, nothing with --quiet', () => {
    const write = (): boolean => true;
    assert.equal(progressModeOf({ write, isTTY: true }, false), 'bar');
    assert.equal(progressModeOf({ write }, false), 'lines');
    assert.equal(progressModeOf({ write, isTTY: true }, true), 'quiet');
  });

  void it('formats durations and sizes', () => {
    assert.equal(formatDuration(7_400), '0:07');
    assert.equal(formatDuration(754_000), '12:34');
    assert.equal(formatDuration(3_723_000), '1:02:03');
    assert.equal(formatBytes(999), '999 B');
    assert.equal(formatBytes(48_044), '48.0 kB');
    assert.equal(formatBytes(1_234_567_890), '1.23 GB');
  });
});

void describe('export window edges', () => {
  void it('reads dates as UTC days, an until date as the end of its day', () => {
    assert.equal(parseWhen('2026-12-03', 'since'), Date.parse('2026-12-03T00:00:00Z'));
    assert.equal(parseWhen('2026-12-03', 'until'), Date.parse('2026-12-04T00:00:00Z'));
  });

  void it('reads times as UTC unless they carry a zone, and epoch milliseconds', () => {
    assert.equal(parseWhen('2026-12-03T08:30', 'since'), Date.parse('2026-12-03T08:30:00Z'));
    assert.equal(parseWhen('2026-12-03 08:30:15.250', 'until'), Date.parse('2026-12-03T08:30:15.250Z'));
    assert.equal(parseWhen('2026-12-03T08:30:00+01:00', 'since'), Date.parse('2026-12-03T07:30:00Z'));
    assert.equal(parseWhen('2026-12-03T08:30:00-0230', 'since'), Date.parse('2026-12-03T11:00:00Z'));
    assert.equal(parseWhen('2026-12-03T08:30:00z', 'since'), Date.parse('2026-12-03T08:30:00Z'));
    assert.equal(parseWhen('1764750600000', 'since'), 1_764_750_600_000);
  });

  void it('refuses what is not a date', () => {
    for (const text of [
      'yesterday',
      '2026-02-31',
      '2026-13-01',
      '2026-12-03T24:00',
      '2026-12-03T08:60',
      '03/12/2026',
      '',
    ]) {
      assert.equal(parseWhen(text, 'since'), undefined, text);
    }
  });
});
