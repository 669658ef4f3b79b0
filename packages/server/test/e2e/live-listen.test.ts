import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';

import { capture, FAR_HZ, findSessionByRefCi, NEAR_HZ, runCucmCall } from '../support/cucm-calls.js';
import { dominantFrequencyHz, rmsLevel } from '../support/audio.js';
import type { SessionJson } from '../support/session-api.js';
import { serverForSuite, startServer, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';
import { launchChromium } from '../support/chromium.js';

/**
 * Live listening as a supervisor does it (issue 12, point 5): a CUCM call runs in sipp, its ACTIVE
 * session's `listenUrl` (from getSessionBySessionId, as the API hands it to a signed-in user) is
 * opened in Chromium, and the page plays it. From what the page scheduled for playout (its
 * `window.verbatimListen`), the left channel carries the near end's tone and the right the far
 * end's, every frame plays less than a second after it reached the recorder, and the page says
 * "ended" once the call hangs up.
 */

/** The page plays as soon as it opens, as it does once a user has clicked "Start listening". */
const AUTOPLAY = ['--autoplay-policy=no-user-gesture-required'];
/** How long each party sends its tone. */
const CALL_MS = 9000;

interface ListenStatus {
  state: string;
  detail: string;
  frames: number[];
  delaysMs: number[];
  sampleRateHz: number[];
  audioState: string;
}

let server: RunningServer;
let work: string;
let browser: Browser;

function status(page: Page): Promise<ListenStatus> {
  return page.evaluate(() => {
    const s = (globalThis as unknown as { verbatimListen: ListenStatus }).verbatimListen;
    return {
      state: s.state,
      detail: s.detail,
      frames: [...s.frames],
      delaysMs: [...s.delaysMs],
      sampleRateHz: [...s.sampleRateHz],
      audioState: s.audioState,
    };
  });
}

/** The call's ACTIVE session's listenUrl, as getSessionBySessionId gives it to a signed-in user. */
async function listenUrlOf(node: RunningServer, refCi: string): Promise<string> {
  const found = await findSessionByRefCi(
    node,
    refCi,
    (s) => s.sessionState === 'ACTIVE' && s.tracks.length === 2,
  );
  const answer = await node.api(`/ora/queryService/query/getSessionBySessionId?value=${found.sessionId}`);
  const session = (answer.responseBody as { sessions: (SessionJson & { urls: { listenUrl?: string } })[] })
    .sessions[0];
  const listenUrl = session?.urls.listenUrl;
  assert.ok(
    listenUrl !== undefined,
    `an ACTIVE session carries a listenUrl: ${JSON.stringify(session?.urls)}`,
  );
  assert.match(listenUrl, new RegExp(`/listen/${found.sessionId}\\?token=`));
  return listenUrl;
}

/** The last `seconds` of PCM the page scheduled on a channel. */
async function lastSamples(page: Page, channel: number, seconds: number, rate: number): Promise<Int16Array> {
  const all = await page.evaluate(
    (c) =>
      (globalThis as unknown as { verbatimListen: { samples(c: number): number[] } }).verbatimListen.samples(
        c,
      ),
    channel,
  );
  return Int16Array.from(all.slice(-seconds * rate));
}

void describe('live listening in the browser', () => {
  serverForSuite('live-listen', { mediaTimeoutSeconds: 10 }, (suite) => {
    server = suite.server;
    work = suite.work;
  });

  before(async () => {
    browser = await launchChromium(AUTOPLAY);
  });
  after(async () => {
    await browser.close();
  });

  void it("plays a running call's two parties on their channels with under a second of delay, and ends with the call", async (t) => {
    const near = capture(work, 'near', 'PCMU', NEAR_HZ, CALL_MS / 1000 + 1);
    const far = capture(work, 'far', 'PCMU', FAR_HZ, CALL_MS / 1000 + 1);
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    let heard: { left: number; right: number; leftRms: number; rightRms: number } | undefined;
    let observed: ListenStatus | undefined;

    const refCi = await runCucmCall(server, work, {
      near: { pcapPath: near, holdMs: CALL_MS },
      far: { pcapPath: far, holdMs: CALL_MS },
      duringCall: async (refCi) => {
        const listenUrl = await listenUrlOf(server, refCi);
        await page.goto(listenUrl);
        await waitFor(async () => (await status(page)).state === 'live', { what: 'the page to go live' });
        // Three seconds of audio on both channels.
        await waitFor(
          async () => {
            const s = await status(page);
            return s.frames[0]! >= 60 && s.frames[1]! >= 60 ? s : undefined;
          },
          { timeoutMs: 15_000, what: 'three seconds of audio on both channels' },
        );
        observed = await status(page);
        const rate = observed.sampleRateHz[0]!;
        const left = await lastSamples(page, 0, 2, rate);
        const right = await lastSamples(page, 1, 2, observed.sampleRateHz[1]!);
        heard = {
          left: dominantFrequencyHz(left, rate),
          right: dominantFrequencyHz(right, observed.sampleRateHz[1]!),
          leftRms: rmsLevel(left),
          rightRms: rmsLevel(right),
        };
        assert.equal(
          await page.locator('#state').textContent(),
          'live',
          'the page shows it is live while the call runs',
        );
        await waitFor(async () => (await status(page)).state === 'ended', {
          timeoutMs: CALL_MS + 15_000,
          what: 'the page to show the end of the call',
        });
      },
    });

    assert.ok(observed !== undefined && heard !== undefined);
    assert.deepEqual(pageErrors, []);
    assert.equal(observed.audioState, 'running', 'the page played (its audio context ran)');
    assert.deepEqual(observed.sampleRateHz, [8000, 8000]);
    assert.ok(
      heard.leftRms > 500 && heard.rightRms > 500,
      `both channels carry sound: ${JSON.stringify(heard)}`,
    );
    assert.ok(Math.abs(heard.left - NEAR_HZ) <= 10, `left is the near end's ${NEAR_HZ} Hz: ${heard.left} Hz`);
    assert.ok(Math.abs(heard.right - FAR_HZ) <= 10, `right is the far end's ${FAR_HZ} Hz: ${heard.right} Hz`);

    // Every frame: from its arrival at the recorder to its playout (the browser and the node share
    // this machine's clock). The jitter buffer holds some 150 ms.
    const delays = observed.delaysMs;
    const worst = Math.max(...delays);
    const sorted = [...delays].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    t.diagnostic(
      `delay over ${delays.length} frames: median ${Math.round(median)} ms, worst ${Math.round(worst)} ms`,
    );
    assert.ok(delays.length >= 120, `${delays.length} frames measured`);
    assert.ok(sorted[0]! > 0, `a frame cannot play before it arrived: ${sorted[0]} ms`);
    assert.ok(
      worst < 1000,
      `every frame plays within a second of its arrival: worst ${Math.round(worst)} ms, median ${Math.round(median)} ms`,
    );

    assert.equal(await page.locator('#state').textContent(), 'ended');
    await page.close();

    // Listening took nothing from the recording.
    const recorded = await findSessionByRefCi(server, refCi, (s) => s.sessionState === 'CLOSED_NORMAL');
    for (const track of recorded.tracks) {
      assert.equal(track.stats.lost, 0, `track ${track.trackNumber} lost nothing`);
      assert.equal(track.stats.dropped, 0, `track ${track.trackNumber} dropped nothing`);
      assert.ok(
        track.stats.packets >= (CALL_MS / 20) * 0.9,
        `track ${track.trackNumber}: ${track.stats.packets} packets`,
      );
    }
  });

  void it('ends the listening cleanly when the recorder shuts down during the call', async () => {
    const near = capture(work, 'near-stop', 'PCMU', NEAR_HZ, 20);
    const far = capture(work, 'far-stop', 'PCMU', FAR_HZ, 20);
    const node = await startServer({ mediaTimeoutSeconds: 30 });
    const page = await browser.newPage();
    let stoppedWith: number | string = '';
    try {
      await runCucmCall(node, work, {
        // The node sends BYE on both legs when it stops, which SIPp answers.
        near: { pcapPath: near, holdMs: 20_000, ending: 'await-bye' },
        far: { pcapPath: far, holdMs: 20_000, ending: 'await-bye' },
        duringCall: async (refCi) => {
          await page.goto(await listenUrlOf(node, refCi));
          await waitFor(
            async () => {
              const s = await status(page);
              return s.frames[0]! >= 10 && s.frames[1]! >= 10;
            },
            { what: 'the page to play both parties' },
          );
          stoppedWith = await node.stop();
        },
      });
      assert.equal(stoppedWith, 0, `the node shut down cleanly:\n${node.process.output()}`);
      const s = await status(page);
      assert.equal(s.state, 'ended', `the page ended, not failed: ${s.detail}`);
      assert.equal(await page.locator('#state').textContent(), 'ended');
    } finally {
      await page.close();
      if (node.process.child.exitCode === null) {
        await node.stop();
      }
    }
  });

  void it('refuses a bad token with 401 and the reason, on the page', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${server.baseUrl}/listen/0123456789abcdef?token=not-a-token`);
    assert.equal(response?.status(), 401);
    assert.match((await page.locator('#detail').textContent()) ?? '', /invalid or has expired/);
    await page.close();
  });
});
