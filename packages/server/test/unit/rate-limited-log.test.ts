import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { RateLimitedLog } from '../../src/rate-limited-log.js';
import { FakeClock } from './sip/support/fake-clock.js';

function capture(): { lines: Record<string, unknown>[]; logger: pino.Logger } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { lines, logger };
}

describe('RateLimitedLog', () => {
  it('logs the first event of a reason at once and counts the next ones into the following line', () => {
    const { lines, logger } = capture();
    const log = new RateLimitedLog(logger);
    for (let i = 0; i < 100; i++) {
      log.note('bad-cseq', 'malformed message', { detail: `#${i}` }, i);
    }
    log.note('other', 'something else', {}, 100);
    assert.deepEqual(
      lines.map((l) => [l.level, l.reason, l.count, l.msg]),
      [
        [40, 'bad-cseq', 1, 'malformed message'],
        [40, 'other', 1, 'something else'],
      ],
    );
    log.note('bad-cseq', 'malformed message', {}, 1000);
    assert.deepEqual(lines.at(-1)?.count, 100, 'the 99 counted and this one');
    assert.ok(lines.every((l) => l.err === undefined && l.stack === undefined));
  });

  it('with a timer, logs what an interval counted when it ends, without a later event', () => {
    const { lines, logger } = capture();
    const clock = new FakeClock();
    const log = new RateLimitedLog(logger, { timer: clock, countField: 'refused' });
    log.note('a', 'A', {}, clock.now());
    clock.advance(300);
    log.note('b', 'B', {}, clock.now());
    clock.advance(100);
    log.note('a', 'A', {}, clock.now());
    log.note('b', 'B', {}, clock.now());
    log.note('b', 'B', {}, clock.now());
    clock.advance(600);
    assert.deepEqual(lines.at(-1), { ...lines.at(-1), reason: 'a', refused: 1 });
    clock.advance(300);
    assert.deepEqual(lines.at(-1), { ...lines.at(-1), reason: 'b', refused: 2 });
    assert.equal(lines.length, 4);
    clock.advance(10_000);
    assert.equal(lines.length, 4, 'nothing more to say');
  });
});
