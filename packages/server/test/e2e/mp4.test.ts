import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { type Browser } from 'playwright-core';

import {
  FAR_HZ,
  NEAR_HZ,
  analyseChannel,
  assertToneSpan,
  capture,
  findSessionByRefCi,
  runCucmCall,
} from '../support/cucm-calls.js';
import { EventReceiver } from '../support/event-receiver.js';
import type { SessionJson } from '../support/session-api.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';
import { launchChromium } from '../support/chromium.js';

/**
 * MP4 of a recorded call end to end (issue 12, points 2 and 4): a sipp CUCM call with a known
 * tone per party is recorded by `verbatim serve`; convertSession makes its MP4 (announced with
 * SESSION_EVENT UPDATED) and answers the link, then answers it again without converting; the file
 * at `mp4Url` is AAC stereo as long as the session with the near end's tone on the left and the
 * far end's on the right (ffprobe, ffmpeg decoding it back); a Range request returns exactly those
 * bytes; and Chromium plays it.
 */

const execFileAsync = promisify(execFile);
let server: RunningServer;
let work: string;
let receiver: EventReceiver;
let session: SessionJson;
let mp4Bytes: Buffer;

const cookie = (): Record<string, string> => ({ cookie: `JSESSIONID=${server.jsessionId}` });

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`, { headers: cookie() })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

void describe('MP4 of a recorded call (sipp, verbatim serve, ffmpeg, Chromium)', { timeout: 120_000 }, () => {
  serverForSuite('mp4', { mediaTimeoutSeconds: 10 }, (suite) => {
    ({ server, work } = suite);
  });

  before(async () => {
    receiver = await EventReceiver.start();
    const subscribed = await server.api('/ora/eventService/event/subscribeToEvents', {
      requestParameters: { subscriptionUri: receiver.url('/mp4'), subscriptionFilters: ['RECORDING_EVENTS'] },
    });
    assert.equal(subscribed.responseCode, 2000, JSON.stringify(subscribed));
    const near = capture(work, 'near', 'PCMU', NEAR_HZ, 3);
    const far = capture(work, 'far', 'PCMU', FAR_HZ, 3);
    const refCi = await runCucmCall(server, work, { near: { pcapPath: near }, far: { pcapPath: far } });
    session = await findSessionByRefCi(server, refCi, (s) => s.sessionState === 'CLOSED_NORMAL');
  });

  after(async () => {
    await receiver.stop();
  });

  void it('convertSession converts once, answers the mp4Url, and announces it with SESSION_EVENT UPDATED', async () => {
    const convert = () =>
      server.api('/ora/managementService/manage/convertSession', {
        requestParameters: { sessionId: session.sessionId, conversionFormat: 'mp4' },
      });
    const first = await convert();
    assert.equal(first.responseCode, 2000, JSON.stringify(first));
    assert.deepEqual(first.responseBody, { convertedLink: session.urls.mp4Url });
    assert.equal(session.urls.httpUrl, session.urls.mp4Url);
    assert.equal(await metric('verbatim_mp4_conversions_total'), 1);
    const updated = await waitFor(
      () =>
        receiver.received.find(
          (e) =>
            e.json.eventType === 'SESSION_EVENT' &&
            e.json.eventAction === 'UPDATED' &&
            e.json.eventBody['sessionId'] === session.sessionId,
        ),
      { what: 'SESSION_EVENT UPDATED after the conversion', timeoutMs: 15_000 },
    );
    assert.ok(updated);
    const again = await convert();
    assert.deepEqual(again.responseBody, first.responseBody);
    assert.equal(await metric('verbatim_mp4_conversions_total'), 1, 'the second call converts nothing');
    // The MP4 is cached beside the session's track files (deleting the session removes both).
    const folder = join(
      server.dataDir,
      'media',
      new Date(session.sessionStartDate).toISOString().slice(0, 10),
      session.sessionId,
    );
    assert.equal((await readdir(folder)).filter((name) => name.endsWith('.mp4')).length, 1);
  });

  void it('serves AAC stereo as long as the session: near end left, far end right', async () => {
    const response = await fetch(session.urls.mp4Url, { headers: cookie() });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'video/mp4');
    assert.match(response.headers.get('content-disposition') ?? '', /_\w+\.mp4"$/);
    mp4Bytes = Buffer.from(await response.arrayBuffer());
    assert.equal(await metric('verbatim_mp4_conversions_total'), 1, 'served from the cache');
    const path = join(work, 'call.mp4');
    await writeFile(path, mp4Bytes);
    const { stdout } = await execFileAsync('ffprobe', [
      '-v',
      'error',
      '-print_format',
      'json',
      '-show_streams',
      '-show_format',
      path,
    ]);
    const info = JSON.parse(stdout) as {
      streams: { codec_type: string; codec_name: string; channels?: number }[];
      format: { duration: string };
    };
    assert.deepEqual(
      info.streams.map((s) => [s.codec_type, s.codec_name, s.channels]),
      [['audio', 'aac', 2]],
    );
    const sessionSeconds = (session.sessionDuration ?? 0) / 1000;
    assert.ok(
      Math.abs(Number(info.format.duration) - sessionSeconds) < 0.1,
      `MP4 lasts ${info.format.duration} s, the session ${sessionSeconds} s`,
    );
    const decoded = await execFileAsync(
      'ffmpeg',
      ['-v', 'error', '-i', path, '-f', 's16le', '-ar', '8000', '-ac', '2', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 32 * 1024 * 1024 },
    );
    const all = new Int16Array(decoded.stdout.buffer, decoded.stdout.byteOffset, decoded.stdout.length / 2);
    const left = all.filter((_, i) => i % 2 === 0);
    const right = all.filter((_, i) => i % 2 === 1);
    assertToneSpan(analyseChannel(left), NEAR_HZ, 3, 'left (near end)', { tonesMeasured: true });
    assertToneSpan(analyseChannel(right), FAR_HZ, 3, 'right (far end)', { tonesMeasured: true });
  });

  void it('answers a Range request with exactly the requested bytes', async () => {
    const response = await fetch(session.urls.mp4Url, { headers: { ...cookie(), range: 'bytes=1000-4999' } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), `bytes 1000-4999/${mp4Bytes.length}`);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), mp4Bytes.subarray(1000, 5000));
    const tail = await fetch(session.urls.mp4Url, { headers: { ...cookie(), range: 'bytes=-100' } });
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), mp4Bytes.subarray(mp4Bytes.length - 100));
  });

  void it('plays in Chromium: the media element’s time advances and no media error occurs', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const context = await browser.newContext();
      await context.addCookies([{ name: 'JSESSIONID', value: server.jsessionId, url: server.baseUrl }]);
      const page = await context.newPage();
      // A page of the node's own origin (the public OpenAPI document), so the cookie goes along.
      await page.goto(`${server.baseUrl}/ora/openapi.json`);
      // The page's script as text: the test is compiled without the DOM's types.
      const result = await page.evaluate<{
        currentTime: number;
        error: string | null;
        duration: number;
      }>(`(async () => {
        const video = document.createElement('video');
        video.muted = true;
        video.src = ${JSON.stringify(session.urls.mp4Url)};
        document.body.append(video);
        await video.play();
        const started = performance.now();
        while (video.currentTime < 1 && video.error === null && performance.now() - started < 15000) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return { currentTime: video.currentTime, error: video.error ? video.error.message || String(video.error.code) : null, duration: video.duration };
      })()`);
      assert.equal(result.error, null);
      assert.ok(result.currentTime >= 1, `currentTime ${result.currentTime}`);
      assert.ok(
        Math.abs(result.duration - (session.sessionDuration ?? 0) / 1000) < 0.2,
        `duration ${result.duration}`,
      );
    } finally {
      await browser?.close();
    }
  });
});
