import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  AGENT_KEEPALIVE_TIMEOUT_MS,
  agentFor,
  effectiveEnd,
  type AgentInterval,
} from '../../../src/model/agent.js';

const MINUTE = 60_000;

function interval(
  loginId: string,
  extension: string,
  startedAt: number,
  lastKeepAliveAt: number,
  endedAt?: number,
): AgentInterval {
  return {
    loginId,
    loginName: `${loginId}.name`,
    extension,
    startedAt,
    lastKeepAliveAt,
    ...(endedAt === undefined ? {} : { endedAt }),
  };
}

void describe('agent intervals (model/agent.ts)', () => {
  void it('an open interval ends at its last keepalive once it has had none for longer than the timeout', () => {
    assert.equal(
      AGENT_KEEPALIVE_TIMEOUT_MS,
      7 * MINUTE,
      'two missed keepalives of three minutes and a minute of margin',
    );
    const open = interval('a', '1', 0, 10 * MINUTE);
    assert.equal(effectiveEnd(open, 10 * MINUTE + AGENT_KEEPALIVE_TIMEOUT_MS), undefined);
    assert.equal(effectiveEnd(open, 10 * MINUTE + AGENT_KEEPALIVE_TIMEOUT_MS + 1), 10 * MINUTE);
    assert.equal(effectiveEnd(interval('a', '1', 0, 1, 5), 1e12), 5, 'a stopped interval ends when stopped');
  });

  void it('links a participant to the interval on its extension that overlaps its time, the earliest first', () => {
    const intervals = [
      interval('a', '1000', 10, 15, 20),
      interval('b', '1000', 30, 35, 40),
      interval('c', '2000', 0, 50, 60),
    ];
    const now = 100;
    const who = (ext: string, from: number, to: number) => agentFor(intervals, ext, from, to, now)?.loginId;
    assert.equal(who('1000', 0, 5), undefined, 'before START');
    assert.equal(who('1000', 5, 12), 'a', 'already recording at START');
    assert.equal(who('1000', 12, 15), 'a', 'during');
    assert.equal(who('1000', 20, 20), 'a', 'the bounds are inclusive');
    assert.equal(who('1000', 22, 25), undefined, 'after STOP');
    assert.equal(who('1000', 31, 33), 'b', 'the second agent on the extension');
    assert.equal(who('1000', 18, 33), 'a', 'both: the agent signed in when the call began');
    assert.equal(who('1001', 12, 15), undefined, 'another extension');
    assert.deepEqual(agentFor(intervals, '2000', 1, 2, now), { loginId: 'c', loginName: 'c.name' });
  });
});
