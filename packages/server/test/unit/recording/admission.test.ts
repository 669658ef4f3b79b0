import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  admitSession,
  CALM_MS_TO_OPEN,
  INITIAL_ADMISSION_STATE,
  nextAdmissionState,
  type AdmissionLimits,
  type AdmissionState,
  type HeadroomSample,
} from '../../../src/recording/admission.js';
import { RefusedCallKeys } from '../../../src/recording/admission-pairing.js';
import { LagProbe } from '../../../src/media/lag-probe.js';
import { createHostProbe, memoryLimitBytes } from '../../../src/recording/admission-sampler.js';

/**
 * The admission decision as a pure function of sampled signals (issue 8 point 2): exact inputs,
 * exact levels, with the default --admission-max-lag of 200 ms (warn 50, resume below 100) and a
 * sample every 250 ms.
 */

const LIMITS: AdmissionLimits = { enabled: true, maxLagMs: 200 };
const GIB = 2 ** 30;
const SAMPLE_MS = 250;

/** A calm sample; `run` gives it its time unless `atMs` is set. */
function sample(overrides: Partial<HeadroomSample> = {}): HeadroomSample {
  return {
    atMs: -1,
    workerLagMs: 2,
    kernelReceiveDrops: 0,
    mediaPendingWriteBytes: 0,
    eventLoopDelayMs: 1,
    pendingDatabaseWrites: 0,
    rssBytes: 0.1 * GIB,
    memoryLimitBytes: 4 * GIB,
    activeSessions: 0,
    ...overrides,
  };
}

/** The states after each sample in turn (taken every 250 ms from 0), from the initial state. */
function run(samples: readonly HeadroomSample[], limits = LIMITS): AdmissionState[] {
  const states: AdmissionState[] = [];
  let state = INITIAL_ADMISSION_STATE;
  for (const [i, s] of samples.entries()) {
    state = nextAdmissionState(state, s.atMs < 0 ? { ...s, atMs: i * SAMPLE_MS } : s, limits);
    states.push(state);
  }
  return states;
}

/** `n` calm samples. */
function calm(n: number): HeadroomSample[] {
  return Array.from({ length: n }, () => sample());
}

function levels(states: readonly AdmissionState[]): string[] {
  return states.map((s) => (s.reason === undefined ? s.level : `${s.level}:${s.reason}`));
}

/** How many of `offered` new sessions one state admits before the next sample. */
function admitted(state: AdmissionState, offered: number): number {
  let count = 0;
  let current = state;
  for (let i = 0; i < offered; i++) {
    const verdict = admitSession(current);
    current = verdict.state;
    if (verdict.admit) {
      count++;
    }
  }
  return count;
}

void describe('admission decision', () => {
  void it('a calm node is open and takes every new session', () => {
    const [state] = run([sample()]);
    assert.equal(state?.level, 'open');
    assert.equal(admitted(state, 60), 60);
  });

  void it('media worker lag: ramping from 50 ms, refusing from 200 ms, refusing until below 100 ms', () => {
    const states = run([49, 50, 199, 200, 150, 100, 99].map((workerLagMs) => sample({ workerLagMs })));
    assert.deepEqual(levels(states), [
      'open',
      'ramping:media-lag',
      'ramping:media-lag',
      'refusing:media-lag',
      'refusing:media-lag',
      'refusing:media-lag',
      'ramping:media-lag',
    ]);
  });

  void it('ramping with no session held takes one new session, refusing none, each refusal with its Retry-After', () => {
    const [ramping, refusing] = run([sample({ workerLagMs: 60 }), sample({ workerLagMs: 250 })]);
    assert.equal(admitted(ramping!, 60), 1);
    const first = admitSession(ramping!);
    assert.ok(first.admit);
    const second = admitSession(first.state);
    assert.deepEqual(second.admit ? undefined : [second.reason, second.retryAfterSeconds], ['ramp-limit', 1]);
    assert.equal(admitted(refusing!, 60), 0);
    const refused = admitSession(refusing!);
    assert.deepEqual(refused.admit ? undefined : [refused.reason, refused.retryAfterSeconds], [
      'media-lag',
      10,
    ]);
  });

  void it('while ramping, one budget per second however often it samples; the budget is not saved up', () => {
    // Samples at 0, 250, … 2750 ms, all with the workers 60 ms late; 5 INVITEs offered at each.
    let state = INITIAL_ADMISSION_STATE;
    const taken: number[] = [];
    for (let i = 0; i < 12; i++) {
      state = nextAdmissionState(state, sample({ atMs: i * SAMPLE_MS, workerLagMs: 60 }), LIMITS);
      let count = 0;
      for (let n = 0; n < 5; n++) {
        const verdict = admitSession(state);
        state = verdict.state;
        count += verdict.admit ? 1 : 0;
      }
      taken.push(count);
    }
    assert.deepEqual(taken, [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);

    const idle = run([sample({ workerLagMs: 60 }), sample({ atMs: 10_000, workerLagMs: 60 })]);
    assert.equal(admitted(idle[1]!, 5), 1, 'ten quiet seconds still give one session');
  });

  void it('while ramping, the budget is 2 % of the sessions held (at least one), so a loaded node still grows', () => {
    const at = (activeSessions: number): AdmissionState =>
      run([sample({ workerLagMs: 60, activeSessions })])[0]!;
    assert.equal(admitted(at(0), 100), 1);
    assert.equal(admitted(at(99), 100), 1);
    assert.equal(admitted(at(100), 100), 2);
    assert.equal(admitted(at(370), 100), 7);
    assert.equal(admitted(at(1000), 100), 20);
    // The budget is given per second from the sessions held then, not at every sample.
    let state = INITIAL_ADMISSION_STATE;
    const taken: number[] = [];
    for (let i = 0; i < 8; i++) {
      const activeSessions = 300 + taken.reduce((a, b) => a + b, 0);
      state = nextAdmissionState(
        state,
        sample({ atMs: i * SAMPLE_MS, workerLagMs: 60, activeSessions }),
        LIMITS,
      );
      let count = 0;
      for (let n = 0; n < 50; n++) {
        const verdict = admitSession(state);
        state = verdict.state;
        count += verdict.admit ? 1 : 0;
      }
      taken.push(count);
    }
    assert.deepEqual(taken, [6, 0, 0, 0, 6, 0, 0, 0]);
  });

  void it('a node that warns while it holds few calls ramps at 2 % of what it carried calmly in the last minute', () => {
    // 500 sessions held calmly at 0 ms; at 5 s it holds 50 and the lag warns: 10 a second, not 1.
    const afterCarrying = (atMs: number): AdmissionState =>
      run([
        sample({ atMs: 0, activeSessions: 500 }),
        sample({ atMs: 1000, activeSessions: 480, workerLagMs: 60 }),
        sample({ atMs, activeSessions: 50, workerLagMs: 60 }),
      ])[2]!;
    assert.deepEqual(afterCarrying(5000).carried, { sessions: 500, atMs: 0 });
    assert.equal(admitted(afterCarrying(5000), 100), 10);
    // A warning sample does not count as carried, and what was carried is forgotten after a minute.
    assert.equal(admitted(afterCarrying(60_000), 100), 10);
    assert.equal(afterCarrying(60_001).carried, undefined);
    assert.equal(admitted(afterCarrying(60_001), 100), 1);
    // Samples with new kernel drops are not calm either.
    const withDrops = run([
      sample({ atMs: 0, activeSessions: 10 }),
      sample({ atMs: 250, activeSessions: 400, kernelReceiveDrops: 3 }),
    ]);
    assert.deepEqual(withDrops[1]!.carried, { sessions: 10, atMs: 0 });
    // A calm sample with more sessions raises it; one with fewer keeps the larger.
    const rising = run([
      sample({ activeSessions: 100 }),
      sample({ activeSessions: 300 }),
      sample({ activeSessions: 200 }),
    ]);
    assert.deepEqual(
      rising.map((s) => s.carried),
      [
        { sessions: 100, atMs: 0 },
        { sessions: 300, atMs: 250 },
        { sessions: 300, atMs: 250 },
      ],
    );
  });

  void it(`after overload the node ramps until every signal was calm for ${CALM_MS_TO_OPEN} ms, then opens`, () => {
    // Refusing at 0 ms; calm from 250 ms; open at 2250 ms.
    const states = run([sample({ workerLagMs: 300 }), ...calm(10)]);
    assert.deepEqual(levels(states), [
      'refusing:media-lag',
      ...Array.from({ length: 8 }, () => 'ramping:media-lag'),
      'open',
      'open',
    ]);
  });

  void it('a warning during the calm period starts it again', () => {
    // Ramping at 0; calm from 250; a warning at 1000; calm again from 1250; open at 3250 ms.
    const states = run([
      sample({ workerLagMs: 60 }),
      ...calm(3),
      sample({ eventLoopDelayMs: 300 }),
      ...calm(9),
    ]);
    assert.deepEqual(levels(states), [
      ...Array.from({ length: 4 }, () => 'ramping:media-lag'),
      ...Array.from({ length: 9 }, () => 'ramping:event-loop-delay'),
      'open',
    ]);
  });

  void it('the main thread has its own, higher levels: it carries no packet', () => {
    assert.deepEqual(
      levels(
        run(
          [60, 249, 250, 999, 1000, 500, 499].map((eventLoopDelayMs) => sample({ eventLoopDelayMs })),
          { enabled: true, maxLagMs: 50 },
        ),
      ),
      [
        'open',
        'open',
        'ramping:event-loop-delay',
        'ramping:event-loop-delay',
        'refusing:event-loop-delay',
        'refusing:event-loop-delay',
        'ramping:event-loop-delay',
      ],
    );
  });

  void it('--admission-max-lag moves every lag level', () => {
    const limits = { enabled: true, maxLagMs: 1000 };
    assert.deepEqual(
      levels(
        run(
          [240, 250, 999, 1000, 500, 499].map((workerLagMs) => sample({ workerLagMs })),
          limits,
        ),
      ),
      [
        'open',
        'ramping:media-lag',
        'ramping:media-lag',
        'refusing:media-lag',
        'refusing:media-lag',
        'ramping:media-lag',
      ],
    );
  });

  void it('new kernel drops refuse while the workers lag, and only slow admissions without lag', () => {
    assert.deepEqual(
      levels(
        run([
          sample({ kernelReceiveDrops: 10 }),
          sample({ kernelReceiveDrops: 10, workerLagMs: 60 }),
          sample({ kernelReceiveDrops: 15, workerLagMs: 60 }),
        ]),
      ),
      ['open', 'ramping:media-lag', 'refusing:kernel-drops'],
    );
    assert.deepEqual(
      levels(run([sample({ kernelReceiveDrops: 10 }), sample({ kernelReceiveDrops: 11 })])),
      ['open', 'ramping:kernel-drops'],
      'drops elsewhere on the host, the workers on time',
    );
    assert.deepEqual(
      levels(
        run([
          sample({ kernelReceiveDrops: 10 }),
          sample({ kernelReceiveDrops: 20, workerLagMs: 60 }),
          sample({ kernelReceiveDrops: 20, workerLagMs: 60 }),
        ]),
      ),
      ['open', 'refusing:kernel-drops', 'ramping:media-lag'],
      'once no more drops come, the lag decides',
    );
  });

  void it('queued database writes: ramping from 1000, refusing from 4000 until below 2000', () => {
    assert.deepEqual(
      levels(
        run([999, 1000, 4000, 2000, 1999].map((pendingDatabaseWrites) => sample({ pendingDatabaseWrites }))),
      ),
      [
        'open',
        'ramping:database-writes',
        'refusing:database-writes',
        'refusing:database-writes',
        'ramping:database-writes',
      ],
    );
  });

  void it('media bytes waiting for the disk: ramping from 64 MiB, refusing from 256 MiB until below 128 MiB', () => {
    const mib = 2 ** 20;
    assert.deepEqual(
      levels(run([63, 64, 256, 128, 127].map((n) => sample({ mediaPendingWriteBytes: n * mib })))),
      [
        'open',
        'ramping:media-writes',
        'refusing:media-writes',
        'refusing:media-writes',
        'ramping:media-writes',
      ],
    );
  });

  void it('memory: ramping from 80 % of the limit, refusing from 90 % until below 85 %', () => {
    const limit = 10 * GIB;
    assert.deepEqual(
      levels(run([7.9, 8, 9, 8.5, 8.4].map((g) => sample({ rssBytes: g * GIB, memoryLimitBytes: limit })))),
      ['open', 'ramping:memory', 'refusing:memory', 'refusing:memory', 'ramping:memory'],
    );
  });

  void it('with several signals over, the first in order names the reason', () => {
    assert.deepEqual(
      levels(run([sample({ workerLagMs: 300, eventLoopDelayMs: 300, pendingDatabaseWrites: 5000 })])),
      ['refusing:media-lag'],
    );
    assert.deepEqual(levels(run([sample({ eventLoopDelayMs: 60, pendingDatabaseWrites: 5000 })])), [
      'refusing:database-writes',
    ]);
  });

  void it('an engine without load signals is judged by the main thread, the database and memory', () => {
    const bare: HeadroomSample = {
      atMs: -1,
      eventLoopDelayMs: 0,
      pendingDatabaseWrites: 0,
      rssBytes: GIB,
      memoryLimitBytes: 4 * GIB,
      activeSessions: 0,
    };
    assert.deepEqual(levels(run([bare, { ...bare, eventLoopDelayMs: 1200 }])), [
      'open',
      'refusing:event-loop-delay',
    ]);
  });

  void it('off: always open, whatever the signals', () => {
    const states = run([sample({ workerLagMs: 5000, pendingDatabaseWrites: 10_000 })], {
      enabled: false,
      maxLagMs: 200,
    });
    assert.deepEqual(levels(states), ['open']);
    assert.equal(admitted(states[0]!, 10), 10);
  });
});

void describe('refused CUCM calls (the partner of a refused leg)', () => {
  void it('are remembered for the TTL with their Retry-After', () => {
    const keys = new RefusedCallKeys({ ttlMs: 30_000, maxKeys: 10 });
    keys.remember('call-a', 'near', 1_000, 10);
    assert.deepEqual(keys.refusedPartner('call-a', 'far', 30_999), { retryAfterSeconds: 10 });
    assert.equal(keys.refusedPartner('call-a', 'far', 31_000), undefined);
    assert.equal(keys.size, 0, 'expired keys are forgotten');
  });

  void it('refuse the partner, not the refused leg coming again (a retry is judged anew)', () => {
    const keys = new RefusedCallKeys({ ttlMs: 30_000, maxKeys: 10 });
    keys.remember('call-a', 'near', 0, 1);
    assert.deepEqual(keys.refusedPartner('call-a', 'far', 10), { retryAfterSeconds: 1 });
    assert.deepEqual(keys.refusedPartner('call-a', 'far', 20), { retryAfterSeconds: 1 }, 'still');
    assert.equal(keys.refusedPartner('call-a', 'near', 2_000), undefined);
    assert.equal(keys.refusedPartner('call-a', 'far', 2_010), undefined, 'the retry forgot the refusal');
  });

  void it('keep at most maxKeys, forgetting the oldest', () => {
    const keys = new RefusedCallKeys({ ttlMs: 30_000, maxKeys: 3 });
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) {
      keys.remember(key, 'near', i, 5);
    }
    assert.equal(keys.size, 3);
    assert.equal(keys.refusedPartner('a', 'far', 10), undefined);
    assert.ok(keys.refusedPartner('d', 'far', 10));
  });
});

void describe('the memory limit', () => {
  void it('is the cgroup limit when one is set below the host memory, else half the host memory', () => {
    assert.equal(memoryLimitBytes(2 * GIB, 16 * GIB), 2 * GIB);
    assert.equal(memoryLimitBytes(0, 16 * GIB), 8 * GIB);
    assert.equal(memoryLimitBytes(undefined, 16 * GIB), 8 * GIB);
    assert.equal(memoryLimitBytes(2 ** 62, 16 * GIB), 8 * GIB, 'an unlimited cgroup reports a huge number');
  });
});

void describe('the host probe', () => {
  void it('reads this process: a main thread kept busy shows as event-loop delay, and memory', async () => {
    const probe = createHostProbe(new LagProbe());
    try {
      probe.eventLoopDelayMs();
      // Busy in slices of 100 ms for 300 ms: each 20 ms tick of the probe is some 80 ms late,
      // 80²/2 of lateness × time per 100 ms, a mean wait of about 30 ms.
      const until = Date.now() + 300;
      await new Promise<void>((resolve) => {
        const spin = (): void => {
          const sliceEnd = Date.now() + 100;
          while (Date.now() < sliceEnd) {
            // Keeps the thread busy on purpose.
          }
          if (Date.now() < until) {
            setTimeout(spin, 0);
          } else {
            resolve();
          }
        };
        spin();
      });
      const delayMs = probe.eventLoopDelayMs();
      assert.ok(delayMs >= 20, `mean wait ${delayMs} ms`);
      assert.ok(probe.rssBytes() > 0);
      assert.ok(probe.memoryLimitBytes > 0);
    } finally {
      probe.close();
    }
  });
});
