import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PcapReader } from '../../src/protocol/container/pcap.js';
import { findSessionByRefCi, runCucmCall } from '../support/cucm-calls.js';
import { EventReceiver } from '../support/event-receiver.js';
import {
  holeCapture,
  metricsText,
  metricValue,
  silenceCapture,
  type HealthySession,
} from '../support/health-calls.js';
import { stopAll } from '../support/processes.js';
import { startServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13 point 7: a node killed with SIGKILL during a call loses the counters its media worker
 * kept, so the restarted node computes the session's health from the track files themselves:
 * the near end's loss burst (a gap and packet loss) and the far end's silence (a silent track,
 * a one-sided call) are found again in the recovered CLOSED_ERROR session.
 */

let work: string;
let receiver: EventReceiver;

/** Packets in each track file of a session, read straight from the node's data directory. */
async function storedPackets(dataDir: string, sessionId: string): Promise<number[]> {
  const mediaDir = join(dataDir, 'media');
  const files = (await readdir(mediaDir, { recursive: true }))
    .filter((path) => new RegExp(`(^|/)${sessionId}/track\\d+\\.pcap$`).test(path))
    .sort();
  const counts: number[] = [];
  for (const file of files) {
    const reader = new PcapReader();
    counts.push(reader.push(await readFile(join(mediaDir, file))).length);
  }
  return counts;
}

describe('recording health recovered after kill -9', { timeout: 90_000 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'verbatim-health-kill-'));
    receiver = await EventReceiver.start();
  });

  after(async () => {
    await stopAll();
    await receiver.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('finds the gap, the loss and the silent one-sided track again in the track files', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'verbatim-health-kill-data-'));
    // Near: 1 s of tone, 1.5 s lost, then tone; far: silence. The node dies mid-call.
    const near = holeCapture(work, 'near-burst', 1, 1500, 6);
    const far = silenceCapture(work, 'far-silence', 9);
    const first = await startServer({ dataDir, mediaTimeoutSeconds: 30 });
    // An integrator waiting for the end of every recording.
    const subscribed = await first.api('/ora/eventService/event/subscribeToEvents', {
      requestParameters: {
        subscriptionType: 'http',
        subscriptionUri: receiver.url('/recordings'),
        subscriptionFilters: ['RECORDING_EVENTS'],
      },
    });
    assert.equal(subscribed.responseCode, 2000, JSON.stringify(subscribed));
    const refCi = await runCucmCall(first, work, {
      near: { pcapPath: near, holdMs: 9000, ending: 'await-bye' },
      far: { pcapPath: far, holdMs: 9000, ending: 'await-bye' },
      legsMayFail: true,
      duringCall: async (ref) => {
        const active = await findSessionByRefCi(
          first,
          ref,
          (s) => s.sessionState === 'ACTIVE' && s.tracks.length === 2,
        );
        // 50 packets before the hole and 50 after it on the near track, as many on the far one.
        await waitFor(
          async () => {
            const counts = await storedPackets(dataDir, active.sessionId);
            return counts.length === 2 && counts.every((n) => n >= 100);
          },
          { timeoutMs: 15_000, what: 'both track files holding packets from after the loss burst' },
        );
        await first.stop({ keepData: true, signal: 'SIGKILL' });
      },
    });

    const second = await startServer({ dataDir, mediaTimeoutSeconds: 30 });
    try {
      const session = (await findSessionByRefCi(second, refCi, () => true)) as HealthySession;
      assert.equal(session.sessionState, 'CLOSED_ERROR');
      const [nearHealth, farHealth] = session.health.tracks;
      assert.ok(nearHealth !== undefined && farHealth !== undefined, JSON.stringify(session.health));
      assert.equal(nearHealth.gaps, 1, JSON.stringify(session.health));
      assert.ok(
        nearHealth.longestGapMs >= 1400 && nearHealth.longestGapMs <= 1900,
        `gap of ${nearHealth.longestGapMs} ms`,
      );
      assert.equal(nearHealth.lost, 75, 'the sequence gap, counted from the file');
      assert.equal(nearHealth.content, 'audio');
      assert.equal(farHealth.content, 'silence');
      assert.equal(farHealth.gaps, 0);
      assert.deepEqual(
        session.health.problems.map((p) => [p.kind, p.trackNumber ?? p.trackNumbers]),
        [
          ['packet-loss', 0],
          ['gap', 0],
          ['silent-track', 1],
          ['one-sided', [1]],
        ],
      );

      // The recovered session counts in the node summary like any other.
      const summary = await second.api('/ora/healthService/health/getHealthSummary');
      assert.deepEqual(summary.responseBody?.['lastHour'], {
        sessionsEnded: 1,
        sessionsDegraded: 1,
        byKind: { 'packet-loss': 1, gap: 1, 'no-packets': 0, 'silent-track': 1, 'one-sided': 1 },
      });
      const text = await metricsText(second);
      assert.equal(metricValue(text, 'verbatim_sessions_degraded_recent', 'window="1h"'), 1);

      // The subscriber hears that the session ended, once, with what the recovery found.
      const ended = (events: ReturnType<EventReceiver['on']>) =>
        events.filter(
          (e) => e.json.eventAction === 'ENDED' && e.json.eventBody['sessionId'] === session.sessionId,
        );
      const [endedEvent] = ended(
        await receiver.waitFor('/recordings', (events) => ended(events).length > 0, 'the ENDED event'),
      );
      assert.equal(endedEvent?.json.eventType, 'SESSION_EVENT');
      assert.equal(endedEvent.json.eventBody['sessionState'], 'CLOSED_ERROR');
      assert.deepEqual(
        (endedEvent.json.eventBody['health'] as HealthySession['health']).problems.map((p) => p.kind),
        ['packet-loss', 'gap', 'silent-track', 'one-sided'],
      );
      const actions = receiver
        .on('/recordings')
        .filter((e) => e.json.eventBody['sessionId'] === session.sessionId)
        .map((e) => e.json.eventAction);
      assert.equal(actions.at(-1), 'ENDED', actions.join(' '));
      assert.equal(actions.filter((a) => a === 'ENDED').length, 1, actions.join(' '));
    } finally {
      await second.stop();
    }
  });
});
