import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { MetricsSource } from '../../../src/api/metrics-route.js';
import type { MediaCounters } from '../../../src/media/media-engine.js';
import type { AdmissionSnapshot } from '../../../src/recording/admission-controller.js';
import { zeroCounters } from '../../../src/recording/live-session.js';
import { FakeRepository } from '../../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../../support/http-api-harness.js';

/**
 * `GET /metrics` (issue 8 point 2): the Prometheus text format on the API port, behind the API
 * credentials, with the node's INVITEs, refusals by reason, sessions, admission state and signals,
 * and the media packet counters.
 */

const BASIC = `Basic ${Buffer.from('prom:scrape-secret').toString('base64')}`;

const MEDIA: MediaCounters = {
  packetsStored: 5000,
  packetsLost: 3,
  kernelDropped: 2,
  unreadAtClose: 1,
  unstored: 4,
  dropped: 7,
  srtpAuthFailures: 0,
  packetsPaused: 250,
  streamsOpened: 40,
  streamsClosed: 36,
};

const ADMISSION: AdmissionSnapshot = {
  level: 'ramping',
  reason: 'media-lag',
  sample: {
    atMs: 1_700_000_000_000,
    workerLagMs: 75,
    workerMaxWaitMs: 140,
    kernelReceiveDrops: 12,
    mediaPendingWriteBytes: 4096,
    eventLoopDelayMs: 8,
    pendingDatabaseWrites: 3,
    rssBytes: 2 ** 27,
    memoryLimitBytes: 2 ** 32,
    activeSessions: 18,
  },
  refusals: { 'ramp-limit': 4, 'media-lag': 2, 'partner-refused': 1 },
  entered: [
    { level: 'ramping', reason: 'media-lag', count: 3 },
    { level: 'refusing', reason: 'media-lag', count: 1 },
  ],
};

void describe('GET /metrics', () => {
  let app: FastifyInstance;
  const source: MetricsSource = {
    recordingCounters: () => ({ ...zeroCounters(), invites: 42, sessionsStarted: 20 }),
    activeSessions: () => 18,
    admission: () => ADMISSION,
    mediaCounters: () => MEDIA,
    sipCounters: () => ({
      received: 900,
      malformed: 6,
      dialogs: 12,
      serverTransactions: 5,
      clientTransactions: 2,
      'udp.received': 880,
    }),
    eventDelivery: () => ({ delivered: 7, failed: 2, failingSubscriptions: 1 }),
    mp4: () => ({ conversions: 5, failures: 1, aborted: 2, hits: 9, running: 1, queued: 3 }),
    eventBacklog: () => Promise.resolve({ pending: 3, oldestCreatedAt: Date.now() - 90_000 }),
    healthSummary: () =>
      Promise.resolve({
        at: Date.now(),
        lastHour: {
          sessionsEnded: 10,
          sessionsDegraded: 2,
          byKind: { 'packet-loss': 0, gap: 1, 'no-packets': 1, 'silent-track': 0, 'one-sided': 1 },
        },
        lastDay: {
          sessionsEnded: 200,
          sessionsDegraded: 7,
          byKind: { 'packet-loss': 2, gap: 3, 'no-packets': 1, 'silent-track': 2, 'one-sided': 3 },
        },
      }),
  };

  before(async () => {
    const repository = new FakeRepository();
    await addApiUser(repository, 'prom', 'scrape-secret');
    app = await buildTestHttpApi({ repository, metrics: source });
  });
  after(async () => {
    await app.close();
  });

  void it('asks for the API credentials with a Basic challenge', async () => {
    const anonymous = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="Verbatim"');
    const wrong = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Basic ${Buffer.from('prom:nope').toString('base64')}` },
    });
    assert.equal(wrong.statusCode, 401);
  });

  void it("answers Prometheus' text format with the node's counters", async () => {
    const response = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: BASIC } });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const lines = new Set(response.body.split('\n'));
    for (const line of [
      '# TYPE verbatim_invites_total counter',
      'verbatim_invites_total 42',
      'verbatim_invites_refused_total{reason="ramp-limit"} 4',
      'verbatim_invites_refused_total{reason="media-lag"} 2',
      'verbatim_invites_refused_total{reason="partner-refused"} 1',
      'verbatim_invites_refused_total{reason="max-sessions"} 0',
      'verbatim_invites_refused_total{reason="storage-critical"} 0',
      'verbatim_sessions_active 18',
      'verbatim_sessions_started_total 20',
      'verbatim_admission_state{state="open"} 0',
      'verbatim_admission_state{state="ramping"} 1',
      'verbatim_admission_state{state="refusing"} 0',
      'verbatim_admission_entered_total{state="ramping",reason="media-lag"} 3',
      'verbatim_admission_entered_total{state="refusing",reason="media-lag"} 1',
      'verbatim_event_loop_delay_seconds 0.008',
      'verbatim_media_worker_lag_seconds 0.075',
      'verbatim_media_worker_max_wait_seconds 0.14',
      'verbatim_sip_dialogs 12',
      'verbatim_sip_server_transactions 5',
      'verbatim_sip_client_transactions 2',
      'verbatim_sip_events_total{event="received"} 900',
      'verbatim_sip_events_total{event="malformed"} 6',
      'verbatim_sip_events_total{event="udp.received"} 880',
      'verbatim_media_pending_write_bytes 4096',
      'verbatim_database_pending_writes 3',
      'verbatim_host_udp_receive_buffer_errors_total 12',
      'verbatim_media_packets_total{outcome="stored"} 5000',
      'verbatim_media_packets_total{outcome="lost"} 3',
      'verbatim_media_packets_total{outcome="kernel_dropped"} 2',
      'verbatim_media_packets_total{outcome="unread_at_close"} 1',
      'verbatim_media_packets_total{outcome="unstored"} 4',
      'verbatim_media_packets_total{outcome="dropped"} 7',
      'verbatim_media_packets_total{outcome="srtp_auth_failed"} 0',
      'verbatim_media_packets_total{outcome="paused"} 250',
      'verbatim_media_streams_opened_total 40',
      'verbatim_media_streams_closed_total 36',
      'verbatim_event_deliveries_total{outcome="delivered"} 7',
      'verbatim_event_deliveries_total{outcome="failed"} 2',
      'verbatim_event_outbox_pending 3',
      'verbatim_event_subscriptions_failing 1',
      'verbatim_mp4_conversions_total 5',
      'verbatim_mp4_conversion_failures_total 1',
      'verbatim_mp4_conversions_aborted_total 2',
      'verbatim_mp4_cache_hits_total 9',
      'verbatim_mp4_conversions_running 1',
      'verbatim_mp4_conversions_queued 3',
      'verbatim_sessions_ended_recent{window="1h"} 10',
      'verbatim_sessions_ended_recent{window="24h"} 200',
      'verbatim_sessions_degraded_recent{window="1h"} 2',
      'verbatim_sessions_degraded_recent{window="24h"} 7',
      'verbatim_session_health_problems_recent{window="1h",kind="one-sided"} 1',
      'verbatim_session_health_problems_recent{window="1h",kind="packet-loss"} 0',
      'verbatim_session_health_problems_recent{window="24h",kind="silent-track"} 2',
    ]) {
      assert.ok(lines.has(line), `missing line: ${line}`);
    }
    const oldest = /^verbatim_event_outbox_oldest_age_seconds (\S+)$/m.exec(response.body);
    assert.ok(
      oldest !== null && Number(oldest[1]) >= 90 && Number(oldest[1]) < 150,
      'oldest pending event age',
    );
    assert.match(response.body, /^process_cpu_seconds_total \d/m, "prom-client's process metrics");
    assert.match(response.body, /^nodejs_eventloop_lag_seconds \d/m);
  });

  void it('reads the counters anew at each scrape', async () => {
    let invites = 1;
    const repository = new FakeRepository();
    await addApiUser(repository, 'prom', 'scrape-secret');
    const live = await buildTestHttpApi({
      repository,
      metrics: { ...source, recordingCounters: () => ({ ...zeroCounters(), invites }) },
    });
    try {
      const scrape = async (): Promise<string> =>
        (await live.inject({ method: 'GET', url: '/metrics', headers: { authorization: BASIC } })).body;
      assert.match(await scrape(), /^verbatim_invites_total 1$/m);
      invites = 9;
      assert.match(await scrape(), /^verbatim_invites_total 9$/m);
    } finally {
      await live.close();
    }
  });

  void it('without an engine that counts packets, the packet series are absent and the lag is 0', async () => {
    const repository = new FakeRepository();
    await addApiUser(repository, 'prom', 'scrape-secret');
    const bare = await buildTestHttpApi({
      repository,
      metrics: {
        ...source,
        mediaCounters: () => undefined,
        admission: () => ({ level: 'open', refusals: {}, entered: [] }),
      },
    });
    try {
      const body = (await bare.inject({ method: 'GET', url: '/metrics', headers: { authorization: BASIC } }))
        .body;
      assert.doesNotMatch(body, /^verbatim_media_packets_total\{/m);
      assert.match(body, /^verbatim_media_worker_lag_seconds 0$/m);
      assert.match(body, /^verbatim_admission_state\{state="open"\} 1$/m);
    } finally {
      await bare.close();
    }
  });

  void it('is not served when the API is built without a metrics source', async () => {
    const plain = await buildTestHttpApi({ repository: new FakeRepository() });
    try {
      assert.equal((await plain.inject({ method: 'GET', url: '/metrics' })).statusCode, 404);
    } finally {
      await plain.close();
    }
  });
});
