import { describe, it } from 'node:test';
import { assertEveryCallClean, finishCucmBulk, startCucmBulk, type CucmBulk } from '../support/cucm-bulk.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * Issue 8, "how it is shown": 200 CUCM-recorded calls placed by SIPp at 20 calls/s against one
 * node on this machine, about 120 of them up at once (240 RTP streams, replayed by SIPp's own
 * threads, so the packets arrive with the jitter a loaded host gives them). Every call's WAV, not
 * a sample, must carry each party's tone without a silent stretch inside it, for as long as the
 * tone was sent (within 20 ms), and every packet must be stored.
 */

const LOAD: CucmBulk = { calls: 200, callsPerSecond: 20, toneSeconds: 6, marginMs: 1500 };

let server: RunningServer;
let work: string;

describe('200 CUCM calls at 20 calls/s (sipp), every recording checked', { timeout: 300_000 }, () => {
  serverForSuite('cucm-load', { mediaTimeoutSeconds: 5, rtpPortCount: 1000 }, (suite) => {
    ({ server, work } = suite);
  });

  it('every WAV has both tones whole: no dropout, each channel as long as its tone', async () => {
    const run = await startCucmBulk(server, work, 'load', LOAD);
    await finishCucmBulk(run, LOAD);
    await assertEveryCallClean(server, run.ccids, LOAD.toneSeconds);
  });
});
