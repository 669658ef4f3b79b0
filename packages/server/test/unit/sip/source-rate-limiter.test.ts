import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SourceRateLimiter } from '../../../src/sip/source-rate-limiter.js';

describe('SourceRateLimiter (new-dialog INVITEs per source address)', () => {
  it('lets a burst through, then the rate, per address', () => {
    const limiter = new SourceRateLimiter(10, 20, 100);
    const taken = Array.from({ length: 25 }, () => limiter.take('10.0.0.1', 0)).filter(Boolean).length;
    assert.equal(taken, 20, 'the burst');
    assert.equal(limiter.take('10.0.0.2', 0), true, 'another address has its own bucket');
    assert.equal(limiter.take('10.0.0.1', 50), false, 'half a token after 50 ms at 10/s');
    assert.equal(limiter.take('10.0.0.1', 100), true, 'one token after 100 ms');
    assert.equal(limiter.take('10.0.0.1', 100), false);
  });

  it('forgets an address once its bucket has refilled, so idle sources cost nothing', () => {
    const limiter = new SourceRateLimiter(10, 20, 100);
    for (let i = 0; i < 50; i++) {
      limiter.take(`10.0.1.${i}`, 0);
    }
    assert.equal(limiter.size, 50);
    // 20 tokens at 10/s refill in 2 s: after that every bucket is full, the same as none.
    limiter.take('10.0.2.1', 2000);
    assert.equal(limiter.size, 1);
  });

  it('keeps at most maxSources buckets, dropping the least recently seen', () => {
    const limiter = new SourceRateLimiter(1, 1, 3);
    limiter.take('a', 0);
    limiter.take('b', 1);
    limiter.take('c', 2);
    assert.equal(limiter.take('a', 3), false, 'a is empty and now the most recent');
    limiter.take('d', 4);
    assert.equal(limiter.size, 3);
    assert.equal(limiter.take('b', 5), true, 'b was dropped: it starts anew');
    assert.equal(limiter.take('a', 6), false, 'a was kept');
  });

  it('refuses a meaningless configuration', () => {
    assert.throws(() => new SourceRateLimiter(0, 1, 1), RangeError);
    assert.throws(() => new SourceRateLimiter(1, 0, 1), RangeError);
  });
});
