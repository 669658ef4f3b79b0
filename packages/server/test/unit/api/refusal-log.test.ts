import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ApiRefusalLog } from '../../../src/api/refusal-log.js';

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** pino writes through a stream: let its writes land before reading the lines. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void describe('the API refusal log', () => {
  void it('writes the first refusal of a reason at once and counts the rest of the interval', async () => {
    const { logger, lines } = capturingLogger();
    const clock = { nowMs: 0 };
    const log = new ApiRefusalLog(logger, () => clock.nowMs, 10_000);
    for (let i = 0; i < 50; i++) {
      log.note('invalid-query', 'info', 'getSessions query rejected', { detail: `d${i}` });
    }
    log.note('sign-in-refused', 'warn', 'API sign-in refused', { username: 'mallory' });
    await settle();
    assert.deepEqual(
      lines.map((l) => [l.level, l.reason, l.refused, l.detail ?? l.username, l.msg]),
      [
        [30, 'invalid-query', 1, 'd0', 'getSessions query rejected'],
        [40, 'sign-in-refused', 1, 'mallory', 'API sign-in refused'],
      ],
    );
    assert.ok(lines.every((l) => l.err === undefined && l.stack === undefined));
    clock.nowMs = 10_000;
    log.note('invalid-query', 'info', 'getSessions query rejected', { detail: 'd50' });
    await settle();
    // The next line stands for the 49 held back and itself.
    assert.deepEqual(
      lines.slice(2).map((l) => [l.refused, l.detail]),
      [[50, 'd50']],
    );
    assert.equal(log.totals()['invalid-query'], 51);
    assert.equal(log.totals()['too-many-requests'], 0);
    log.close();
  });

  void it('writes the count of the last burst once its interval is over, or at close', async () => {
    const { logger, lines } = capturingLogger();
    const log = new ApiRefusalLog(logger, Date.now, 20);
    for (let i = 0; i < 5; i++) {
      log.note('too-many-requests', 'warn', 'API request refused with 5042: too many concurrent requests');
    }
    await new Promise((resolve) => setTimeout(resolve, 60));
    await settle();
    assert.deepEqual(
      lines.map((l) => l.refused),
      [1, 4],
    );
    log.note('body-too-large', 'warn', 'malformed API request refused');
    log.note('body-too-large', 'warn', 'malformed API request refused');
    log.close();
    await settle();
    assert.deepEqual(
      lines.slice(2).map((l) => [l.reason, l.refused]),
      [
        ['body-too-large', 1],
        ['body-too-large', 1],
      ],
    );
  });
});
