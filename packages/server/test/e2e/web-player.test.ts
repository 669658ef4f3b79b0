import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';

import type { SessionJson } from '../../src/api/session-json.js';
import type { Waveform } from '../../src/playback/waveform.js';
import { launchChromium } from '../support/chromium.js';
import { findSessionByCcid, randomCiscoGuid } from '../support/cube-calls.js';
import { cubeVideoForkingScenario, waitForAnswerPorts } from '../support/cube-video-calls.js';
import { capture, runCucmCall } from '../support/cucm-calls.js';
import { pcmuTone, toneInputArgs, toneRtpOutputArgs } from '../support/ffmpeg-tone.js';
import { failWithOutputs, spawnTracked, waitExit, type Spawned } from '../support/processes.js';
import { sessionsWhere } from '../support/session-api.js';
import { startSipp } from '../support/sipp-process.js';
import { ADMIN_PASSWORD, serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';
import {
  assertNoSeriousAxeViolations,
  openAppPage,
  saveScreenshot,
  signedInPage,
  signInWithForm,
} from '../support/web.js';

/**
 * The session page and its player (issue 14, Play) in Chromium against a real node: a CUCM call
 * recorded from sipp with a different tone per side, then the page: details, the waveform drawn
 * from the server's peaks, playing, seeking by a tag marker, speed, per-channel solo and mute,
 * keyboard shortcuts, WAV and MP4 downloads checked with ffprobe, a tag added and removed (checked
 * through the API), a `#t=` deep link; and a CUBE video call that plays with its video.
 */

const execFileAsync = promisify(execFile);
const NEAR_HZ = 440;
const FAR_HZ = 880;
const CALL_SECONDS = 8;
/** The tag the test puts on the call before opening it, and where (ms from the start). */
const MARK = { name: 'CCX:escalate', offsetMs: 4000 };

let server: RunningServer;
let work: string;
let browser: Browser;
/** The call the first test records; the last test deletes it. */
let audioSessionId: string | undefined;

/** A property of the page's media element (the test is compiled without the DOM's types). */
function media<T>(page: Page, property: string): Promise<T> {
  return page.evaluate<T>(`document.querySelector('.player-media').${property}`);
}

async function sessionNow(sessionId: string): Promise<SessionJson> {
  const answer = await server.api(
    `/ora/queryService/query/getSessionBySessionId?value=${encodeURIComponent(sessionId)}`,
  );
  const session = (answer.responseBody as { sessions?: SessionJson[] } | undefined)?.sessions?.[0];
  assert.ok(session !== undefined, `session ${sessionId} is known`);
  return session;
}

async function probe(
  path: string,
): Promise<{ duration: number; streams: { codec_type: string; channels?: number }[] }> {
  const { stdout } = await execFileAsync('ffprobe', [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    path,
  ]);
  const parsed = JSON.parse(stdout) as {
    format: { duration: string };
    streams: { codec_type: string; channels?: number }[];
  };
  return { duration: Number(parsed.format.duration), streams: parsed.streams };
}

/** Downloads what the link named `name` points at, as a user clicking it would, into `work`. */
async function download(page: Page, name: string, file: string): Promise<string> {
  const [started] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name }).click(),
  ]);
  const path = join(work, file);
  await started.saveAs(path);
  assert.equal(await started.failure(), null, `${name} completed`);
  return path;
}

/** The pixels the waveform's canvases (in wavesurfer's shadow DOM) actually painted. */
function paintedPixels(page: Page): Promise<number> {
  return page.evaluate<number>(`(() => {
    const host = document.querySelector('.waveform > div');
    const canvases = host && host.shadowRoot ? [...host.shadowRoot.querySelectorAll('canvas')] : [];
    let painted = 0;
    for (const canvas of canvases) {
      if (canvas.width === 0 || canvas.height === 0) continue;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
    }
    return painted;
  })()`);
}

void describe('the session page and its player in Chromium against a real node', { timeout: 240_000 }, () => {
  // The browser's hooks first: after() hooks run in order, so it is closed before the node stops.
  before(async () => {
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  });

  after(async () => {
    await browser.close();
  });

  // The video lines fall silent a few seconds before the BYE: the timeout must outlast that.
  serverForSuite('web-player', { mediaTimeoutSeconds: 15 }, (suite) => {
    ({ server, work } = suite);
  });

  void it('shows a recorded call, plays it, seeks, mixes, downloads, tags and deep-links', async () => {
    const refCi = await runCucmCall(server, work, {
      near: {
        pcapPath: capture(work, 'near', 'PCMU', NEAR_HZ, CALL_SECONDS),
        holdMs: CALL_SECONDS * 1000 + 300,
      },
      far: {
        pcapPath: capture(work, 'far', 'PCMU', FAR_HZ, CALL_SECONDS),
        holdMs: CALL_SECONDS * 1000 + 300,
      },
    });
    const recorded = await waitFor(
      async () => (await sessionsWhere(server, 'xRefCi', refCi)).find((s) => s.sessionState !== 'ACTIVE'),
      { what: 'the recorded call, closed', timeoutMs: 15_000 },
    );
    const sessionId = recorded.sessionId;
    audioSessionId = sessionId;
    const added = await server.api('/ora/managementService/manage/addSessionTag', {
      requestParameters: { sessionId, tagName: MARK.name, tagOffset: MARK.offsetMs },
    });
    assert.equal(added.responseCode, 2000);
    const session = await sessionNow(sessionId);
    const durationSeconds = (session.sessionDuration ?? 0) / 1000;
    assert.ok(durationSeconds > 6, `the call lasted ${durationSeconds} s`);

    const path = `/search/sessions/${encodeURIComponent(sessionId)}`;
    const { page, errors } = await openAppPage(browser, server.baseUrl, path);
    // Listened for before signing in: the page asks for the peaks as soon as it is signed in, which
    // can come before the test sees the signed-in shell (it did, once, on a loaded machine).
    const peaksAnswer = page.waitForResponse((r) => r.url().includes('/recordedMedia/oramedia/peaks/'));
    await signInWithForm(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: `Session ${sessionId}` }).waitFor();

    // The facts: participants, tracks, the tag, health, correlation ids.
    await page.getByRole('heading', { name: 'Participants' }).waitFor();
    const participants = await page
      .locator('section[aria-labelledby="participants-heading"] tbody')
      .innerText();
    assert.match(participants, /1001/);
    assert.match(participants, /1000/);
    assert.match(participants, new RegExp(refCi));
    const tracks = await page.locator('section[aria-labelledby="tracks-heading"] tbody').innerText();
    assert.match(tracks, /0 \(left\)\s+AUDIO\s+PCMU/);
    assert.match(tracks, /1 \(right\)\s+AUDIO\s+PCMU/);
    const ids = await page.locator('section[aria-labelledby="ids-heading"]').innerText();
    assert.match(ids, new RegExp(session.ccid));
    assert.match(ids, /Cisco-CUCM/);
    await page.getByText('Recorded well').waitFor();
    assert.match(await page.locator('.summary').innerText(), /CLOSED_NORMAL/);

    // The waveform comes from the server's peaks (both channels heard), and is drawn.
    const peaks = (await (await peaksAnswer).json()) as { responseCode: number; responseBody: Waveform };
    assert.equal(peaks.responseCode, 2000);
    for (const channel of peaks.responseBody.channels) {
      assert.ok(Math.max(...channel.max) > 0.1, `channel ${channel.channel} has a tone`);
      assert.ok(Math.min(...channel.min) < -0.1, `channel ${channel.channel} has a tone`);
    }
    await page.locator('.waveform[data-peaks]').waitFor();
    await waitFor(async () => (await paintedPixels(page)) > 1000, { what: 'the waveform painted' });

    // Play: the media element's time advances, without a media error.
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await waitFor(async () => (await media<number>(page, 'currentTime')) > 0.5, {
      what: 'playback to advance',
      timeoutMs: 10_000,
    });
    assert.equal(await media<unknown>(page, 'error'), null);
    assert.equal(await page.locator('.player').getAttribute('data-playing'), 'true');
    await assertNoSeriousAxeViolations(page, 'session page, playing');
    await saveScreenshot(page, 'session-playing');

    // A tag marker on the waveform seeks to its tag.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: `Tag ${MARK.name} at 0:04: play from here` }).click();
    await waitFor(async () => Math.abs((await media<number>(page, 'currentTime')) - 4) < 0.05, {
      what: 'the marker to seek to 4 s',
    });

    // Speed: the select and the [ ] shortcuts set the element's playbackRate.
    await page.getByLabel('Speed', { exact: true }).selectOption('1.5');
    assert.equal(await media<number>(page, 'playbackRate'), 1.5);
    await page.locator('h1').click();
    await page.keyboard.press(']');
    assert.equal(await media<number>(page, 'playbackRate'), 1.75);
    await page.keyboard.press('[');
    await page.keyboard.press('[');
    assert.equal(await media<number>(page, 'playbackRate'), 1.25);

    // Space plays and pauses; arrows seek ±5 s (from the marker's 4 s again).
    await page.keyboard.press(' ');
    await waitFor(async () => !(await media<boolean>(page, 'paused')), { what: 'space to play' });
    await page.keyboard.press(' ');
    await waitFor(async () => media<boolean>(page, 'paused'), { what: 'space to pause' });
    await page.getByRole('button', { name: `Tag ${MARK.name} at 0:04: play from here` }).click();
    await page.locator('h1').click();
    await page.keyboard.press('ArrowLeft');
    assert.ok(Math.abs((await media<number>(page, 'currentTime')) - 0) < 0.05);
    await page.keyboard.press('ArrowRight');
    assert.ok(Math.abs((await media<number>(page, 'currentTime')) - 5) < 0.05);

    // Solo and mute per channel: the Web Audio gains follow (read back from the nodes).
    const player = page.locator('.player');
    const gainsNow = async () => [
      await player.getAttribute('data-gain-left'),
      await player.getAttribute('data-gain-right'),
      await player.getAttribute('data-volume'),
    ];
    // The gains are set as the page re-renders after the click: wait for them, then compare.
    const expectGains = async (expected: string[], what = expected.join(' ')) => {
      await waitFor(async () => JSON.stringify(await gainsNow()) === JSON.stringify(expected), {
        what: `gains ${what}`,
        timeoutMs: 3000,
      }).catch(() => undefined);
      assert.deepEqual(await gainsNow(), expected, what);
    };
    await expectGains(['1', '1', '1']);
    await page.getByRole('button', { name: /^Solo the left channel/ }).click();
    await expectGains(['1', '0', '1']);
    assert.equal(
      await page.getByRole('button', { name: /^Solo the left channel/ }).getAttribute('aria-pressed'),
      'true',
    );
    await page.getByRole('button', { name: /^Solo the left channel/ }).click();
    await page.getByRole('button', { name: /^Mute the right channel/ }).click();
    await expectGains(['1', '0', '1']);
    await page.getByRole('button', { name: /^Mute the left channel/ }).click();
    await expectGains(['0', '0', '1']);
    await page.getByRole('button', { name: /^Solo the right channel/ }).click();
    await expectGains(['0', '1', '1'], 'a solo wins over a mute');
    await page.getByRole('button', { name: /^Solo the right channel/ }).click();
    await page.getByRole('button', { name: /^Mute the left channel/ }).click();
    await page.getByRole('button', { name: /^Mute the right channel/ }).click();
    await expectGains(['1', '1', '1']);
    // m mutes, m again unmutes; not while typing in a field.
    await page.locator('h1').click();
    await page.keyboard.press('m');
    await expectGains(['1', '1', '0']);
    await page.keyboard.press('m');
    await expectGains(['1', '1', '1']);
    await page.getByLabel('Tag name', { exact: true }).click();
    await page.keyboard.type('m [ ]');
    assert.equal(await page.getByLabel('Tag name', { exact: true }).inputValue(), 'm [ ]');
    await expectGains(['1', '1', '1']);
    assert.equal(await media<number>(page, 'playbackRate'), 1.25);

    // Add a tag at the playhead (5 s), then remove it; the API sees both.
    await page.getByLabel('Tag name', { exact: true }).fill('QA:review');
    await page.getByRole('button', { name: 'Add tag at 0:05' }).click();
    await page.getByRole('status').filter({ hasText: 'Tag QA:review added at 0:05.' }).waitFor();
    const tagged = await sessionNow(sessionId);
    const review = tagged.tags.find((t) => t.tagName === 'QA:review');
    assert.ok(review !== undefined, JSON.stringify(tagged.tags));
    assert.ok(Math.abs((review.tagOffset ?? 0) - 5000) < 50, `offset ${review.tagOffset}`);
    await page.getByRole('button', { name: 'Tag QA:review at 0:05: play from here' }).waitFor();
    await page.getByRole('button', { name: 'Remove tag QA:review at 0:05' }).click();
    await page.getByRole('status').filter({ hasText: 'Tag QA:review removed.' }).waitFor();
    assert.equal(
      (await sessionNow(sessionId)).tags.find((t) => t.tagName === 'QA:review'),
      undefined,
    );
    await waitFor(async () => (await page.getByRole('button', { name: /QA:review/ }).count()) === 0, {
      what: 'the removed tag gone from the page',
    });

    // Downloads: the stereo WAV and the MP4, as long as the call.
    const wav = await probe(await download(page, 'Download WAV', 'call.wav'));
    assert.ok(Math.abs(wav.duration - durationSeconds) < 0.05, `WAV lasts ${wav.duration} s`);
    assert.deepEqual(
      wav.streams.map((s) => [s.codec_type, s.channels]),
      [['audio', 2]],
    );
    const mp4 = await probe(await download(page, 'Download MP4', 'call.mp4'));
    assert.ok(Math.abs(mp4.duration - durationSeconds) < 0.3, `MP4 lasts ${mp4.duration} s`);
    assert.deepEqual(
      mp4.streams.map((s) => [s.codec_type, s.channels]),
      [['audio', 2]],
    );

    // The link at this time, and a deep link that opens there.
    await page.getByRole('button', { name: 'Copy link at this time' }).click();
    assert.equal(
      await page.getByLabel('Link to this session at this time').inputValue(),
      `${server.baseUrl}${path}#t=5`,
    );
    assert.deepEqual(errors, []);
    await page.close();

    const deep = await signedInPage(browser, server.baseUrl, `${path}#t=3`, 'admin', ADMIN_PASSWORD);
    await waitFor(async () => Math.abs((await media<number>(deep.page, 'currentTime')) - 3) < 0.05, {
      what: 'the deep link to open at 3 s',
    });
    assert.equal(await deep.page.getByRole('button', { name: 'Add tag at 0:03' }).count(), 1);
    assert.deepEqual(deep.errors, []);
    await deep.page.close();

    // A wide monitor: nothing overflows sideways, and still no serious accessibility problem.
    const wide = await openAppPage(browser, server.baseUrl, path, { width: 1920, height: 1080 });
    const { page: widePage } = wide;
    await widePage.getByLabel('User name').fill('admin');
    await widePage.getByLabel('Password').fill(ADMIN_PASSWORD);
    await widePage.getByLabel('Password').press('Enter');
    await widePage.locator('.waveform[data-peaks]').waitFor();
    assert.ok(await widePage.evaluate<boolean>('document.documentElement.scrollWidth <= 1920'));
    await assertNoSeriousAxeViolations(widePage, 'session page, 1920 wide');
    assert.deepEqual(wide.errors, []);
    await widePage.close();
  });

  void it('says so for an unknown session', async () => {
    const { page, errors } = await signedInPage(
      browser,
      server.baseUrl,
      '/search/sessions/no-such-id',
      'admin',
      ADMIN_PASSWORD,
    );
    await page.locator('#no-session').filter({ hasText: 'There is no session no-such-id' }).waitFor();
    await assertNoSeriousAxeViolations(page, 'unknown session');
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it('plays a video session with its video', async () => {
    const ciscoGuid = randomCiscoGuid();
    const toneSeconds = 3;
    let ffmpeg: Spawned | undefined;
    const { run, first: ports } = await startSipp(
      'sipp cube video',
      server,
      cubeVideoForkingScenario({
        ciscoGuid,
        participants: ['4155550123', '20417'],
        pcapPath: capture(work, 'video-line0', 'PCMU', NEAR_HZ, toneSeconds),
        holdMs: 8000,
        videoPayloadType: 126,
        h264Fmtp: 'profile-level-id=42801E;packetization-mode=1',
      }),
      { work },
      waitForAnswerPorts,
    );
    await failWithOutputs(
      () => [run.sipp, ffmpeg],
      async () => {
        const slave = (port: number): string =>
          `[f=rtp:payload_type=126]rtp://127.0.0.1:${port}?localaddr=127.0.0.1`;
        ffmpeg = spawnTracked('ffmpeg h264 + pcmu', 'ffmpeg', [
          '-hide_banner',
          '-nostdin',
          '-re',
          '-f',
          'lavfi',
          '-i',
          'testsrc=size=320x240:rate=15:duration=3',
          ...toneInputArgs(pcmuTone(FAR_HZ, toneSeconds)),
          '-map',
          '0:v',
          '-c:v',
          'libx264',
          '-profile:v',
          'baseline',
          '-tune',
          'zerolatency',
          '-pix_fmt',
          'yuv420p',
          '-f',
          'tee',
          ports.video.map(slave).join('|'),
          '-map',
          '1:a',
          ...toneRtpOutputArgs(ports.audio[1], pcmuTone(FAR_HZ, toneSeconds)),
        ]);
        assert.equal(await waitExit(ffmpeg, 30_000), 0, 'ffmpeg exits 0');
        assert.equal(await waitExit(run.sipp, 45_000), 0, 'sipp exits 0');
      },
    );
    const session = await findSessionByCcid(server, ciscoGuid, (s) => s.sessionState !== 'ACTIVE');
    const path = `/search/sessions/${encodeURIComponent(session.sessionId)}`;
    const { page, errors } = await signedInPage(browser, server.baseUrl, path, 'admin', ADMIN_PASSWORD);
    const video = page.locator('video.player-media');
    await video.waitFor();
    await page.locator('.waveform[data-peaks]').waitFor();
    await page.getByRole('button', { name: 'Play', exact: true }).click();
    await waitFor(async () => (await media<number>(page, 'currentTime')) > 0.5, {
      what: 'the video to play',
      timeoutMs: 20_000,
    });
    assert.equal(await media<unknown>(page, 'error'), null);
    assert.equal(await media<number>(page, 'videoWidth'), 320);
    assert.equal(await media<number>(page, 'videoHeight'), 240);
    await page.getByRole('button', { name: 'Pause' }).click();
    await assertNoSeriousAxeViolations(page, 'session page, video');
    await saveScreenshot(page, 'session-video');
    assert.deepEqual(errors, []);
    await page.close();
  });

  // The race behind an intermittent failure: wavesurfer knew no duration until the media's metadata
  // came, and a marker added before then was pinned to 0 s. Holding the media back makes it certain.
  void it('places tag markers at their tags when the media arrives after the waveform, and seeks before playing', async () => {
    assert.ok(audioSessionId !== undefined, 'the first test recorded a call');
    const { page, errors } = await openAppPage(
      browser,
      server.baseUrl,
      `/search/sessions/${encodeURIComponent(audioSessionId)}`,
    );
    let releaseMedia = (): void => undefined;
    const mediaHeld = new Promise<void>((resolve) => {
      releaseMedia = resolve;
    });
    await page.route('**/recordedMedia/oramedia/wav/**', async (route) => {
      await mediaHeld;
      await route.continue();
    });
    await signInWithForm(page, 'admin', ADMIN_PASSWORD);
    const marker = page.getByRole('button', { name: `Tag ${MARK.name} at 0:04: play from here` });
    await marker.waitFor();
    assert.ok(Number.isNaN(await media<number>(page, 'duration')), 'the media is still held back');
    releaseMedia();
    await waitFor(async () => Number.isFinite(await media<number>(page, 'duration')), {
      what: 'the media metadata',
    });

    // Where the marker stands: its left edge, as a share of the waveform's width.
    const waveform = page.locator('.waveform > div');
    const [markerBox, waveBox] = [await marker.boundingBox(), await waveform.boundingBox()];
    assert.ok(markerBox !== null && waveBox !== null, 'the marker and the waveform are laid out');
    const share = (markerBox.x - waveBox.x) / waveBox.width;
    const duration = await media<number>(page, 'duration');
    assert.ok(Math.abs(share * duration - 4) < 0.1, `the marker stands at ${share * duration} s, not 4 s`);

    // Not played yet: the click still seeks the media element itself.
    assert.equal(await media<boolean>(page, 'paused'), true);
    await marker.click();
    await waitFor(async () => Math.abs((await media<number>(page, 'currentTime')) - 4) < 0.05, {
      what: 'the marker to seek to 4 s before playing',
    });
    // A click on the waveform itself seeks to where it lands (a quarter in, away from the marker).
    await waveform.click({ position: { x: waveBox.width / 4, y: waveBox.height / 2 } });
    await waitFor(async () => Math.abs((await media<number>(page, 'currentTime')) - duration / 4) < 0.2, {
      what: 'a click a quarter into the waveform to seek there',
    });
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it('hides tagging from a role without the tag permission, and says when a session was deleted', async () => {
    assert.ok(audioSessionId !== undefined, 'the first test recorded a call');
    const path = `/search/sessions/${encodeURIComponent(audioSessionId)}`;
    const added = await server.api('/ora/userService/user/addUser', {
      requestParameters: { username: 'auditor-user', role: 'auditor', password: 'auditor-password-1' },
    });
    assert.equal(added.responseCode, 2000, JSON.stringify(added));
    const auditor = await signedInPage(browser, server.baseUrl, path, 'auditor-user', 'auditor-password-1');
    await auditor.page.locator('.waveform[data-peaks]').waitFor();
    await auditor.page.getByRole('button', { name: `Tag ${MARK.name} at 0:04: play from here` }).waitFor();
    assert.equal(await auditor.page.getByLabel('Tag name', { exact: true }).count(), 0);
    assert.equal(await auditor.page.getByRole('button', { name: /^Remove tag/ }).count(), 0);
    assert.equal(await auditor.page.getByRole('link', { name: 'Download WAV' }).count(), 1);
    assert.deepEqual(auditor.errors, []);
    await auditor.page.close();

    const job = await server.api('/ora/managementService/manage/deleteSessions', {
      requestParameters: { sessionIds: [audioSessionId] },
    });
    assert.equal(job.responseCode, 2000, JSON.stringify(job));
    const sessionId = audioSessionId;
    await waitFor(async () => (await sessionNow(sessionId)).sessionState === 'DELETED', {
      what: 'the session deleted',
      timeoutMs: 15_000,
    });
    const { page, errors } = await signedInPage(browser, server.baseUrl, path, 'admin', ADMIN_PASSWORD);
    await page.locator('#session-deleted').waitFor();
    assert.match(await page.locator('.summary').innerText(), /DELETED/);
    assert.equal(await page.locator('.player').count(), 0, 'no player for a deleted session');
    await assertNoSeriousAxeViolations(page, 'deleted session');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
