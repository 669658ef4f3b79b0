import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it } from 'node:test';
import {
  assertEveryCallClean,
  callOutcomes,
  finishCucmBulk,
  startCucmBulk,
  type CucmBulk,
} from '../support/cucm-bulk.js';
import {
  coreSplit,
  cpuRates,
  cpuTimes,
  pinProcess,
  startBusyLoops,
  stopBusyLoops,
} from '../support/cpu-starvation.js';
import { sessionsWhere } from '../support/session-api.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 8, "how it is shown": the node records calls on a host whose CPU is taken by someone else,
 * and more calls are offered. The node's threads are pinned to one core on which two busy
 * processes of higher priority run (cpu-starvation.ts), while SIPp runs on the other cores: the
 * node keeps about a tenth of one core, enough for the calls it holds but with no headroom. The
 * calls it held before must be recorded cleanly, every WAV checked; the calls offered meanwhile
 * may be refused, and some must be, each with 503 and a Retry-After, both legs of a CUCM call
 * alike. Counts are not asserted: how many the node still takes depends on the machine.
 */

/**
 * The offered calls come faster than the starved node can set them up (each costs the main thread
 * SIP and database work), so without refusals its backlog grows and the held calls suffer: on a
 * node that answers everything, the held calls were cut by the node's own BYEs in a trial run.
 */
/**
 * Held calls come at 2 a second: on a loaded host admission may be `ramping` when they arrive,
 * and then takes one new call a second (its floor), so at this pace it still takes about half of
 * them; offered at 10 a second, a CI run saw 1 of 10 taken. Their tone outlasts the starved phase.
 */
const HELD: CucmBulk = { calls: 10, callsPerSecond: 2, toneSeconds: 20, marginMs: 1500, mayBeRefused: true };
/** The fewest held calls that make the test say something about calls held while starved. */
const MIN_HELD = 3;
const OFFERED: CucmBulk = {
  calls: 60,
  callsPerSecond: 20,
  toneSeconds: 2,
  marginMs: 500,
  mayBeRefused: true,
};
/** Busy processes at nice -10 on the node's core. */
const BUSY_LOOPS = 2;
/**
 * The node's threads must wait for a CPU at least this long per second of starvation (summed over
 * its threads): the busy loops really took the core. Unstarved, the wait is a few ms per second.
 */
const MIN_WAIT_PER_SECOND = 0.5;

const cores = coreSplit();

async function metricsText(server: RunningServer): Promise<string> {
  return fetch(`${server.baseUrl}/metrics`, { headers: { cookie: `JSESSIONID=${server.jsessionId}` } }).then(
    (r) => r.text(),
  );
}

/** Waits until admission takes new calls freely (state `open`), as it does on an idle node. */
async function waitForAdmissionOpen(server: RunningServer): Promise<void> {
  await waitFor(async () => /^verbatim_admission_state\{state="open"\} 1$/m.test(await metricsText(server)), {
    timeoutMs: 30_000,
    what: 'admission open before the held calls',
  });
}

/**
 * The ccids of the held calls that are recording (both tracks, ACTIVE) once every held call has
 * been answered or refused: all of them, or as many as stay recording for two seconds after the
 * last call was offered. A refused call ends at once (its legs get 503), so a stable count means
 * every call has had its answer.
 */
async function heldCallsSettled(server: RunningServer, ccids: readonly string[]): Promise<string[]> {
  const wanted = new Set(ccids);
  const recording = async (): Promise<string[]> =>
    (await sessionsWhere(server))
      .filter((s) => wanted.has(s.ccid) && s.sessionState === 'ACTIVE' && s.tracks.length === 2)
      .map((s) => s.ccid);
  const offeredForMs = (HELD.calls / HELD.callsPerSecond) * 1000;
  const startedAt = Date.now();
  let last: string[] = [];
  let stableSince = Date.now();
  await waitFor(
    async () => {
      const now = await recording();
      if (now.length !== last.length) {
        last = now;
        stableSince = Date.now();
      }
      return (
        now.length === ccids.length ||
        (Date.now() - startedAt > offeredForMs + 2000 && Date.now() - stableSince >= 2000)
      );
    },
    { timeoutMs: 30_000, what: 'the held calls answered or refused' },
  ).catch(async (error: unknown) => {
    const refusals = (await metricsText(server))
      .split('\n')
      .filter((l) => /^verbatim_(invites_refused_total|admission_state)/.test(l));
    throw new Error(`${String(error)}\n${refusals.join('\n')}`);
  });
  return ccids.filter((ccid) => last.includes(ccid));
}

let server: RunningServer;
let work: string;

describe(
  'a node starved of CPU while recording, offered more calls',
  {
    timeout: 180_000,
    skip: cores === undefined ? 'needs two cores: one for the node, one for SIPp' : false,
  },
  () => {
    serverForSuite(
      'cpu-starved',
      { mediaTimeoutSeconds: 10, rtpPortCount: 600, admission: true },
      (suite) => {
        ({ server, work } = suite);
      },
    );

    it('keeps the held calls clean and refuses extra calls with 503 and Retry-After', async (t) => {
      assert.ok(cores !== undefined);
      const pid = server.process.child.pid;
      assert.ok(pid !== undefined);

      // The held calls are set up before the node is pinned, and are themselves offered to a node
      // with admission on: beside the other test file CI runs at the same time on the same two
      // cores, admission may rightly refuse some of them (a CI run saw 8 of 10 legs refused for
      // media lag). The test is about the calls a node holds when it is starved, so it goes on
      // with the held calls the node took, if it took enough of them to say something.
      await waitForAdmissionOpen(server);
      const held = await startCucmBulk(server, work, 'held', { ...HELD, cpus: cores.others });
      const admitted = await heldCallsSettled(server, held.ccids);
      t.diagnostic(`held calls recording: ${admitted.length} of ${HELD.calls}`);
      assert.ok(
        admitted.length >= MIN_HELD,
        `at least ${MIN_HELD} of the ${HELD.calls} held calls are recorded (${admitted.length})`,
      );
      pinProcess(pid, cores.node);

      const quietStart = cpuTimes(pid);
      await delay(1000);
      const quiet = cpuRates(quietStart, cpuTimes(pid));
      const busy = startBusyLoops(BUSY_LOOPS, cores.node);
      let starved: ReturnType<typeof cpuRates>;
      let offered: Awaited<ReturnType<typeof startCucmBulk>>;
      let offeredFailures: string[];
      try {
        const starvedStart = cpuTimes(pid);
        await delay(1000);
        offered = await startCucmBulk(server, work, 'offered', { ...OFFERED, cpus: cores.others });
        offeredFailures = await finishCucmBulk(offered, OFFERED, { mayFail: true });
        starved = cpuRates(starvedStart, cpuTimes(pid));
      } finally {
        await stopBusyLoops(busy);
      }
      const heldFailures = await finishCucmBulk(held, HELD, { mayFail: true });
      const heldOutcomes = await callOutcomes(held);

      const outcomes = await callOutcomes(offered);
      const refused = outcomes.filter((o) => o.legs.every((leg) => leg === 'refused'));
      const answered = outcomes.filter((o) => o.legs.every((leg) => leg === 'answered'));
      t.diagnostic(
        `node CPU per second: ${quiet.runPerSecond.toFixed(3)} used, ${quiet.waitPerSecond.toFixed(3)} waited before; ` +
          `${starved.runPerSecond.toFixed(3)} used, ${starved.waitPerSecond.toFixed(3)} waited while starved; ` +
          `offered ${OFFERED.calls}: ${answered.length} answered, ${refused.length} refused`,
      );

      assert.ok(
        starved.waitPerSecond >= MIN_WAIT_PER_SECOND,
        `the node was starved: its threads waited ${starved.waitPerSecond.toFixed(3)} s per second for a CPU ` +
          `(${quiet.waitPerSecond.toFixed(3)} before the busy loops)`,
      );
      assert.ok(
        refused.length > 0,
        `some offered calls were refused (${answered.length} of ${OFFERED.calls} answered)`,
      );
      for (const call of refused) {
        for (const header of call.retryAfter) {
          assert.match(header, /^Retry-After: *\d+/, `${call.ccid}: the 503 says when to retry`);
        }
      }
      const split = outcomes.filter((o) => o.legs[0] !== o.legs[1] || o.legs.includes('none'));
      assert.deepEqual(
        split.map((o) => `${o.ccid}: ${o.legs.join('/')}`),
        [],
        'both legs of each offered call answered alike',
      );
      assert.deepEqual(offeredFailures, [], 'every offered call answered went through to its hang-up');
      assert.deepEqual(heldFailures, [], 'every held call went through to its hang-up or its refusal');
      assert.deepEqual(
        heldOutcomes.filter((o) => o.legs.every((leg) => leg === 'answered')).map((o) => o.ccid),
        admitted,
        'the held calls answered are the ones that were recording before the starvation',
      );
      await assertEveryCallClean(server, admitted, HELD.toneSeconds);
    });
  },
);
