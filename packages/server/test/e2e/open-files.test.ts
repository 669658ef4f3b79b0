import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertEveryCallClean,
  callOutcomes,
  finishCucmBulk,
  startCucmBulk,
  type CucmBulk,
} from '../support/cucm-bulk.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * A node with few file descriptors (issue 13 point 3): sipp as CUCM offers more calls than the
 * open-file limit allows; the node refuses the extra ones with 503 and Retry-After before it could
 * hit "too many open files", and every call it took is recorded cleanly.
 */

/**
 * About seven calls fit: some 35 descriptors at start, 6 per call, 70 kept free. Taking all the
 * calls offered would need some 180 descriptors: without the refusals the node would run out.
 */
const OPEN_FILES_LIMIT = 150;
const OFFERED: CucmBulk = {
  calls: 24,
  callsPerSecond: 6,
  toneSeconds: 5,
  marginMs: 1500,
  mayBeRefused: true,
};

let server: RunningServer;
let work: string;

describe('an open-file limit lower than the calls offered (sipp as CUCM)', { timeout: 180_000 }, () => {
  serverForSuite('open-files', { openFilesLimit: OPEN_FILES_LIMIT }, (suite) => {
    ({ server, work } = suite);
  });

  void it('refuses the calls beyond it with 503 and records the others cleanly', async (t) => {
    const run = await startCucmBulk(server, work, 'fd', OFFERED);
    const failures = await finishCucmBulk(run, OFFERED, { mayFail: true });
    const outcomes = await callOutcomes(run);
    const answered = outcomes.filter((o) => o.legs.every((leg) => leg === 'answered'));
    const refused = outcomes.filter((o) => o.legs.every((leg) => leg === 'refused'));
    t.diagnostic(`offered ${OFFERED.calls}: ${answered.length} answered, ${refused.length} refused`);

    assert.ok(refused.length > 0, `calls beyond the limit are refused (${answered.length} answered)`);
    assert.ok(answered.length >= 3, `the calls the limit allows are taken (${answered.length})`);
    assert.deepEqual(
      outcomes.filter((o) => o.legs[0] !== o.legs[1] || o.legs.includes('none')).map((o) => o.ccid),
      [],
      'both legs of each call answered alike',
    );
    for (const call of refused) {
      for (const header of call.retryAfter) {
        assert.match(header, /^Retry-After: *\d+/, `${call.ccid}: the 503 says when to retry`);
      }
    }
    assert.deepEqual(failures, [], 'every call went through to its hang-up or its refusal');
    const output = server.process.output();
    assert.match(output, /too few file descriptors left for another call/, 'the log says why');
    assert.doesNotMatch(output, /EMFILE|too many open files/i, 'the node never ran out');
    const metrics = await (
      await fetch(`${server.baseUrl}/metrics`, { headers: { cookie: `JSESSIONID=${server.jsessionId}` } })
    ).text();
    assert.match(metrics, /^verbatim_invites_refused_total\{reason="open-files"\} [1-9]/m);
    await assertEveryCallClean(
      server,
      answered.map((o) => o.ccid),
      OFFERED.toneSeconds,
    );
  });
});
