import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FAR_HZ, NEAR_HZ, capture, findSessionByRefCi, runCucmCall } from '../support/cucm-calls.js';
import { EventReceiver, type ReceivedEvent } from '../support/event-receiver.js';
import { stopAll } from '../support/processes.js';
import {
  holeCapture,
  metricsText,
  metricValue,
  silenceCapture,
  type HealthySession,
} from '../support/health-calls.js';
import { startServer, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Recording health end to end (issue 13 point 5): sipp plays CUCM-recorded calls whose media is
 * broken in the ways a broken phone or a misrouted stream breaks it (one leg sends nothing, one
 * sends only silence, one loses 1.5 s in a burst), and the node says so in the session object,
 * in the ENDED event its subscriber receives, in the health summary call and in /metrics.
 */

let work: string;
let server: RunningServer;
let receiver: EventReceiver;

function endedEvent(sessionId: string): Promise<ReceivedEvent> {
  return waitFor(
    () =>
      receiver.received.find(
        (e) => e.json.eventAction === 'ENDED' && e.json.eventBody['sessionId'] === sessionId,
      ),
    { timeoutMs: 15_000, what: `the ENDED event of ${sessionId}` },
  );
}

async function closedSession(refCi: string): Promise<HealthySession> {
  return (await findSessionByRefCi(
    server,
    refCi,
    (s) => s.sessionState !== 'ACTIVE' && s.tracks.length === 2,
  )) as HealthySession;
}

describe('recording health of sipp calls (one-sided, silent, loss burst)', { timeout: 90_000 }, () => {
  const sessions = new Map<string, HealthySession>();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'verbatim-health-'));
    receiver = await EventReceiver.start();
    // A long media timeout: the leg that sends nothing must last the call, not end it.
    server = await startServer({ mediaTimeoutSeconds: 30 });
    const subscribed = await server.api('/ora/eventService/event/subscribeToEvents', {
      requestParameters: {
        subscriptionType: 'http',
        subscriptionUri: receiver.url('/events'),
        subscriptionFilters: ['RECORDING_EVENTS'],
      },
    });
    assert.equal(subscribed.responseCode, 2000, JSON.stringify(subscribed));

    const tone = capture(work, 'near-tone', 'PCMU', NEAR_HZ, 3);
    const farTone = capture(work, 'far-tone', 'PCMU', FAR_HZ, 3.5);
    const silence = silenceCapture(work, 'far-silence', 3);
    const burst = holeCapture(work, 'near-burst', 1, 1500, 1);
    // The three calls at once: each leg's BYE comes 0.3 s after the end of its capture.
    const [oneSided, silent, lossy] = await Promise.all([
      runCucmCall(server, work, { near: { pcapPath: tone }, far: {} }),
      runCucmCall(server, work, { near: { pcapPath: tone }, far: { pcapPath: silence } }),
      runCucmCall(server, work, {
        near: { pcapPath: burst, holdMs: 3800 },
        far: { pcapPath: farTone, holdMs: 3800 },
      }),
    ]);
    sessions.set('one-sided', await closedSession(oneSided));
    sessions.set('silent', await closedSession(silent));
    sessions.set('lossy', await closedSession(lossy));
  });

  after(async () => {
    await stopAll();
    await receiver.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('flags a call whose far end sent no RTP as one-sided, naming the track that got no packets', async () => {
    const session = sessions.get('one-sided')!;
    assert.equal(session.health.status, 'degraded');
    assert.deepEqual(session.health.problems, [
      { trackNumber: 1, kind: 'no-packets' },
      { kind: 'one-sided', trackNumbers: [1] },
    ]);
    assert.equal(session.health.tracks[0]?.content, 'audio');
    assert.equal(session.health.tracks[1]?.received, 0);
    const ended = await endedEvent(session.sessionId);
    assert.deepEqual(
      ended.json.eventBody['health'],
      session.health,
      'the ENDED event carries the same health',
    );
  });

  it('flags a far end that sent only silence as a silent track and the call as one-sided', async () => {
    const session = sessions.get('silent')!;
    assert.equal(session.sessionState, 'CLOSED_NORMAL');
    assert.deepEqual(session.health.problems, [
      { trackNumber: 1, kind: 'silent-track' },
      { kind: 'one-sided', trackNumbers: [1] },
    ]);
    assert.deepEqual(
      session.health.tracks.map((t) => [t.content, t.gaps]),
      [
        ['audio', 0],
        ['silence', 0],
      ],
    );
    assert.ok((session.health.tracks[1]?.received ?? 0) >= 140, 'the silence was recorded all the same');
    const ended = await endedEvent(session.sessionId);
    assert.deepEqual(ended.json.eventBody['health'], session.health);
  });

  it('flags a loss burst of 1.5 s as a gap and as packet loss, on that track only', async () => {
    const session = sessions.get('lossy')!;
    assert.equal(session.sessionState, 'CLOSED_NORMAL');
    const near = session.health.tracks[0]!;
    assert.equal(near.gaps, 1, JSON.stringify(session.health));
    // 1.5 s of missing packets plus one packet interval, give or take the scheduling of sipp.
    assert.ok(near.longestGapMs >= 1400 && near.longestGapMs <= 1900, `gap of ${near.longestGapMs} ms`);
    assert.equal(near.gapMs, near.longestGapMs);
    assert.equal(near.lost, 75);
    assert.equal(near.expected, 175);
    assert.deepEqual(
      session.health.problems.map((p) => [p.kind, p.trackNumber]),
      [
        ['packet-loss', 0],
        ['gap', 0],
      ],
    );
    assert.deepEqual(session.health.tracks[1], { ...session.health.tracks[1], gaps: 0, content: 'audio' });
    const ended = await endedEvent(session.sessionId);
    assert.deepEqual(ended.json.eventBody['health'], session.health);
  });

  it('counts the three sessions by kind in the summary call and in /metrics', async () => {
    const summary = await server.api('/ora/healthService/health/getHealthSummary');
    assert.equal(summary.responseCode, 2000, JSON.stringify(summary));
    const expected = {
      sessionsEnded: 3,
      sessionsDegraded: 3,
      byKind: { 'packet-loss': 1, gap: 1, 'no-packets': 1, 'silent-track': 1, 'one-sided': 2 },
    };
    assert.deepEqual(summary.responseBody?.['lastHour'], expected);
    assert.deepEqual(summary.responseBody['lastDay'], expected);

    const text = await metricsText(server);
    assert.equal(metricValue(text, 'verbatim_sessions_ended_recent', 'window="1h"'), 3);
    assert.equal(metricValue(text, 'verbatim_sessions_degraded_recent', 'window="24h"'), 3);
    assert.equal(
      metricValue(text, 'verbatim_session_health_problems_recent', 'window="1h",kind="one-sided"'),
      2,
    );
    assert.equal(metricValue(text, 'verbatim_session_health_problems_recent', 'window="24h",kind="gap"'), 1);

    // Listed in the OpenAPI document the node serves.
    const openapi = (await (await fetch(`${server.baseUrl}/ora/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    assert.ok('/ora/healthService/health/getHealthSummary' in openapi.paths);
  });
});
