import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertTone, capture } from '../support/cucm-calls.js';
import { genericSipScenario, runGenericCall } from '../support/generic-calls.js';
import { stopAll } from '../support/processes.js';
import { pullWithFfmpeg } from '../support/rtsp-client.js';
import { findSessionBy, type SessionJson } from '../support/session-api.js';
import { startServer } from '../support/verbatim-server.js';

/**
 * A media URL handed out before a restart still opens after it: the media tokens' key is kept in
 * the database (migration 0021), not drawn again by each process. A speech-analytics engine that
 * queued the rtspUrl of a call plays it after an upgrade of the node.
 */

const TONE_HZ = 900;
const TONE_SECONDS = 2;

let work: string;
let dataDir: string;

void describe('media tokens across a restart', { timeout: 120_000 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'verbatim-token-restart-'));
    dataDir = await mkdtemp(join(tmpdir(), 'verbatim-token-restart-data-'));
  });

  after(async () => {
    await stopAll();
    await rm(work, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  });

  void it('plays the token rtspUrl of a call, handed out by the node before it restarted, with ffmpeg', async () => {
    const first = await startServer({ dataDir });
    const { callId } = await runGenericCall(first, work, {
      name: 'token-restart',
      scenario: genericSipScenario({
        fromUser: '2001',
        toUser: '3001',
        audioLines: 1,
        pcapPath: capture(work, 'token-restart', 'PCMU', TONE_HZ, TONE_SECONDS),
        holdMs: TONE_SECONDS * 1000 + 300,
      }),
      holdMs: TONE_SECONDS * 1000 + 300,
    });
    const closed = await findSessionBy(first, 'ccid', callId, (s) => s.sessionState !== 'ACTIVE');
    const answer = await first.api(`/ora/queryService/query/getSessionBySessionId?value=${closed.sessionId}`);
    const handedOut = (answer.responseBody as { sessions: SessionJson[] }).sessions[0]?.urls.rtspUrl ?? '';
    assert.match(handedOut, /\?token=/);
    await first.stop({ keepData: true });

    const second = await startServer({ dataDir });
    try {
      // The URL as handed out, but for the port the restarted node listens on (the test's ports are
      // drawn at each start; a production node keeps its own).
      const url = new URL(handedOut);
      url.port = String(second.rtspPort);
      const pull = await pullWithFfmpeg(url.toString(), {
        transport: 'tcp',
        audioStreams: [0],
        work,
        name: 'after-restart',
      });
      assert.equal(pull.code, 0, pull.process.output());
      const samples = pull.wavs[0]?.channelSamples[0];
      assert.ok(samples !== undefined, 'ffmpeg wrote the track');
      assertTone(samples, TONE_HZ, TONE_SECONDS, 'the call, played after the restart');
    } finally {
      await second.stop();
    }
  });
});
