import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ensureAdminUser } from './api/admin-bootstrap.js';
import { controlRoutes } from './api/control-routes.js';
import { convertRoutes } from './api/convert-routes.js';
import { buildHttpApi } from './api/http-api.js';
import { defaultWebRoot } from './api/web-app.js';
import { jobRoutes } from './api/job-routes.js';
import { outboundRoutes } from './api/outbound-routes.js';
import { MEDIA_TOKEN_KEY_BYTES, MediaTokens } from './api/media-tokens.js';
import { OpenFilesGate } from './media/open-files-gate.js';
import { callsAllowedBy } from './media/fd-budget.js';
import { AuditTrail } from './api/audit-trail.js';
import { ApiRtspAccess } from './api/rtsp-access.js';
import { createRtspServer, type RtspServer } from './playback/rtsp/rtsp-server.js';
import { sessionJson } from './api/session-json.js';
import { agentRoutes } from './api/agent-routes.js';
import { tagRoutes } from './api/tag-routes.js';
import { ActiveCallsHistory, nodeStatusRoutes } from './api/node-status-routes.js';
import type { NodePortsJson } from './api/node-admin-json.js';
import { peerRoutes } from './api/peer-routes.js';
import { TrustedPeers } from './api/trusted-peers.js';
import type { Config } from './config/config.js';
import { openRepository } from './db/index.js';
import type { Repository } from './db/repository.js';
import { verifyStoreOf } from './db/verify-store.js';
import { createMediaEngine } from './media/create-media-engine.js';
import { LagProbe } from './media/lag-probe.js';
import type { MediaEngine } from './media/media-engine.js';
import { EventDelivery } from './events/delivery.js';
import { EventBus } from './events/event-bus.js';
import { OutboxWriter } from './events/outbox-writer.js';
import { SubscriptionService } from './events/subscriptions.js';
import { parseTagNameRegEx } from './events/tag-name-regex.js';
import { eventRoutes } from './api/event-routes.js';
import type { EventSubscriptions } from './model/event-subscription.js';
import { productVersion } from './version.js';
import { LiveFeedService } from './playback/live-feed-service.js';
import { RecordingService } from './recording/recording-service.js';
import { PROBE_BYTES, WriteHealth } from './recording/write-health.js';
import { DeletionJobRunner } from './storage/deletion-jobs.js';
import { StorageAgent } from './storage/storage-agent.js';
import { StorageHistoryRecorder } from './storage/storage-history.js';
import { thresholdsFor } from './storage/storage-thresholds.js';
import { RetentionService } from './storage/retention.js';
import type { Session } from './model/session.js';
import { MEDIA_TOKEN_KEY } from './model/shared-secret.js';
import { storageRoutes } from './api/storage-routes.js';
import { recoverInterruptedSessions } from './recording/recovery.js';
import { createRecordCounter } from './media/record-counter.js';
import { createSipServer, type SipServer } from './sip/sip-server.js';
import { Mp4Cache } from './playback/mp4-cache.js';
import { WaveformCache } from './playback/waveform.js';
import { ensureCertificate } from './transport/tls-certificate.js';

/**
 * The composition root: builds every service of a node from the configuration, in dependency
 * order, and tears them down in reverse. It never listens by itself; `start()` does.
 */
export interface App {
  start(): Promise<AppAddresses>;
  close(): Promise<void>;
  readonly recording: RecordingService;
  readonly repository: Repository;
  readonly events: EventBus;
  /** Event subscriptions (subscribeToEvents and the rest; durable delivery runs after start()). */
  readonly eventSubscriptions: EventSubscriptions;
}

export interface AppAddresses {
  readonly sip: { readonly udp: number; readonly tcp: number; readonly tls?: number };
  readonly http: number;
  /** Absent when `--rtsp-port 0` turned the RTSP server off. */
  readonly rtsp?: number;
}

/** How often the stored trusted peers are read again (docs/sip.md "Trusted peers"). */
const TRUSTED_PEERS_RELOAD_MS = 30_000;

export interface AppDependencies {
  readonly logger: Logger;
}

export async function buildApp(config: Config, deps: AppDependencies): Promise<App> {
  const log = deps.logger;
  const mediaDir = join(config.dataDir, 'media');
  await mkdir(mediaDir, { recursive: true });

  const repository = await openRepository(config.db);
  const closers: (() => Promise<void>)[] = [() => repository.close()];
  try {
    await repository.migrate();
    const admin = await ensureAdminUser(repository, config.adminPassword);
    if (admin.generatedPassword !== undefined) {
      // Printed once, on purpose outside the JSON log stream, so an operator sees it on first start.
      process.stdout.write(
        `\nCreated user "admin" with password: ${admin.generatedPassword}\n(change it with: verbatim user passwd admin)\n\n`,
      );
    } else if (admin.created) {
      log.info('created user "admin" with the password from VERBATIM_ADMIN_PASSWORD');
    }
    const recoveredSessionIds = await recoverInterruptedSessions({
      repository,
      mediaDir,
      logger: log,
      countRecords: createRecordCounter,
      ...(config.db.kind === 'postgres' ? { onlyNodeId: config.nodeId } : {}),
    });

    const needsCertificate = config.tls || config.sipTlsPort > 0;
    const certificate = needsCertificate
      ? await ensureCertificate(config.dataDir, log, { ipAddresses: [config.advertise] })
      : undefined;

    const media: MediaEngine = await createMediaEngine({
      bind: config.bind,
      rtpPortMin: config.rtpPortMin,
      rtpPortMax: config.rtpPortMax,
      mediaTimeoutMs: config.mediaTimeoutMs,
      logger: log,
    });
    closers.unshift(() => media.close());

    // Every event is logged; the subscription API and webhooks will subscribe here too. Refused
    // INVITEs are the exception under a flood: one line per kind a second, since the refusal's own
    // warn line already counts them (rate-limited-log.ts). A 503's reason is one of a fixed set; a
    // 4xx's reason quotes the peer's input, so those are keyed by status alone.
    const events = new EventBus(log);
    const eventLog = log.child({ component: 'events' });
    const refusalLoggedAtMs = new Map<string, number>();
    events.subscribe((event) => {
      if (event.eventType === 'RECORDING_EVENT' && event.eventAction === 'REJECTED') {
        const kind = event.sipStatus === 503 ? `503 ${event.reason}` : String(event.sipStatus);
        const last = refusalLoggedAtMs.get(kind);
        if (last !== undefined && event.at - last < 1000) {
          return;
        }
        refusalLoggedAtMs.set(kind, event.at);
      }
      eventLog.info({ event }, `${event.eventType} ${event.eventAction}`);
    });

    // Subscribed events go through the outbox in the database to their receivers (events/).
    const eventSubscriptions = new SubscriptionService({
      store: repository,
      onChange: () => void eventDelivery.sync(),
    });
    const eventDelivery = new EventDelivery({
      store: repository,
      nodeId: config.nodeId,
      logger: log,
      failingAfterMs: config.eventsFailingAfterMs,
      ...(config.eventsCa === undefined ? {} : { extraCa: await readFile(config.eventsCa, 'utf8') }),
      loadSubscriptions: () => eventSubscriptions.refresh(),
      userAgent: `Verbatim/${productVersion()}`,
    });
    // Media tokens are signed here so that the RTSP server accepts those the API hands out. Their
    // key is kept in the database: the URLs handed out survive a restart, and open on any node.
    const mediaTokenKey = await repository.sharedSecret(
      MEDIA_TOKEN_KEY,
      randomBytes(MEDIA_TOKEN_KEY_BYTES).toString('base64'),
      Date.now(),
    );
    const mediaTokenKeyBytes = Buffer.from(mediaTokenKey, 'base64');
    if (mediaTokenKeyBytes.length < MEDIA_TOKEN_KEY_BYTES) {
      throw new Error(
        `the media token key in the database (shared_secrets '${MEDIA_TOKEN_KEY}') is ${mediaTokenKeyBytes.length} bytes, not ${MEDIA_TOKEN_KEY_BYTES}: delete that row to draw a new one`,
      );
    }
    const mediaTokens = new MediaTokens({ repository, now: Date.now, key: mediaTokenKeyBytes });
    const mediaUrls = {
      advertise: config.advertise,
      httpPort: config.httpPort,
      rtspPort: config.rtspPort,
      tls: config.tls,
    };
    const outbox = new OutboxWriter({
      store: repository,
      subscriptions: eventSubscriptions,
      payload: {
        formatSession: (session) => sessionJson(session, mediaUrls),
        nodeIpAddress: config.advertise,
      },
      nodeId: config.nodeId,
      onWritten: (ids) => {
        eventDelivery.wake(ids);
      },
      logger: log,
    });
    await eventSubscriptions.refresh();
    events.subscribe(outbox.handle);
    // The sessions the previous run left ACTIVE were closed above, before events could be sent:
    // their subscribers hear that they ended now, as for any session closed in error.
    for (const sessionId of recoveredSessionIds) {
      events.publish({ eventType: 'SESSION_EVENT', eventAction: 'ENDED', sessionId, at: Date.now() });
    }
    // Closed after recording (its last ENDED events) and before the database.
    closers.unshift(async () => {
      // An outbox write failing for the disk is retried for a while, then given up.
      const giveUp = setTimeout(() => {
        outbox.stop();
      }, 10_000);
      await outbox.flush();
      clearTimeout(giveUp);
      await eventDelivery.stop();
    });

    // The storage agent: MediaSense's thresholds on the media partition, with
    // --storage-critical-percent as the critical one (storage/storage-thresholds.ts).
    const storage = new StorageAgent({
      path: mediaDir,
      thresholds: thresholdsFor(config.storageCriticalPercent),
      nodeId: config.nodeId,
      intervalMs: config.storageIntervalMs,
      logger: log,
      events,
    });
    // Storage use over time for Administration's chart: a sample kept every few minutes.
    const storageHistory = new StorageHistoryRecorder({
      store: repository,
      nodeId: config.nodeId,
      intervalMs: config.storageHistoryIntervalMs,
      logger: log,
    });
    storage.onSample(storageHistory.onSample);
    await storage.start();
    closers.unshift(async () => {
      storage.close();
      await storageHistory.close();
    });

    // The retention policy (storage/retention.ts): pruning, and what the storage level refuses.
    // Built before the recording service, which asks it whether to refuse; it ends recordings
    // through the service, handed over once that exists.
    const late: {
      endAllRecordings?: (reason: string) => Promise<number>;
      discardDerived?: (session: Session) => Promise<void>;
    } = {};
    const retention = new RetentionService({
      store: repository,
      mediaDir,
      storage,
      endAllRecordings: (reason) => late.endAllRecordings?.(reason) ?? Promise.resolve(0),
      discardDerived: (session) => late.discardDerived?.(session) ?? Promise.resolve(),
      events,
      logger: log,
    });
    closers.unshift(() => retention.close());
    // The stored mode decides what the storage level refuses from the first INVITE on.
    await retention.refreshPolicy();

    // Deletion jobs resume in start(), after the sessions a crash left ACTIVE were closed above.
    const jobs = new DeletionJobRunner({
      store: repository,
      mediaDir,
      events,
      logger: log,
      // verifyMedia (issue 13): VERIFY_MEDIA jobs run in the same queue as the deletions.
      verify: { store: repository, sessions: verifyStoreOf(repository) },
      legalHold: {
        tag: () => retention.policy.legalHoldTag,
        tagged: (ids, tag) => repository.sessionsTagged(ids, tag),
      },
      discardDerived: (session) => late.discardDerived?.(session) ?? Promise.resolve(),
    });
    closers.unshift(() => jobs.close());

    // New calls are refused before the process would run out of file descriptors (issue 13).
    const openFiles: OpenFilesGate = new OpenFilesGate({
      activeSessions: (): number => recording.activeSessionCount,
      // `verbatim serve` logs the limit it starts under; a change on the running process is news.
      onLimit: (limit, previous) => {
        if (previous !== undefined) {
          const callsAllowed = callsAllowedBy(limit);
          log.warn(
            {
              openFilesSoft: Number.isFinite(limit) ? limit : 'unlimited',
              previous: Number.isFinite(previous) ? previous : 'unlimited',
              callsAllowed: Number.isFinite(callsAllowed) ? callsAllowed : 'unlimited',
            },
            `the open-file limit is now ${Number.isFinite(limit) ? String(limit) : 'unlimited'}`,
          );
        }
      },
    });
    closers.unshift(() => {
      openFiles.stop();
      return Promise.resolve();
    });
    // Whether the node can write (issue 13, full disks and I/O errors): a failed track or database
    // write, or the agent seeing less free space than the probe writes, refuses new calls until a
    // probe write in the media directory succeeds (recording/write-health.ts).
    const writeHealth = new WriteHealth({ mediaDir, log });
    storage.onSample((sample) => {
      if (sample.freeBytes < PROBE_BYTES) {
        writeHealth.noteFailure('media', 'partition full');
      }
    });
    const recording: RecordingService = new RecordingService({
      repository,
      events,
      storageCritical: () => retention.refusesNewCalls(),
      openFilesFull: (): boolean => openFiles.full(),
      writeHealth,
      media,
      mediaDir,
      advertise: config.advertise,
      nodeId: config.nodeId,
      maxSessions: config.maxSessions,
      admission: {
        enabled: config.admission,
        maxLagMs: config.admissionMaxLagMs,
        mainThread: new LagProbe(),
      },
      logger: log,
      newSessionId: () => randomBytes(8).toString('hex'),
    });

    late.endAllRecordings = (reason) => recording.endAllRecordings(reason);

    // A copy of ACTIVE sessions' packets, taken in the media workers only while somebody listens
    // (live listening here; the RTSP server's /live/ uses the same feed).
    const liveFeed = new LiveFeedService({
      sessions: recording,
      media,
      log: log.child({ component: 'live-feed' }),
    });

    // Who may send INVITEs: --trusted-peers and the blocks stored from Administration (migration
    // 0019), changed at once by its API (api/trusted-peers.ts).
    const trustedPeers = new TrustedPeers({
      configured: config.trustedPeers,
      store: repository,
      now: Date.now,
    });
    await trustedPeers.load();
    // A change made through another node sharing the database is seen within this.
    const peersReload = setInterval(() => {
      trustedPeers.load().catch((error: unknown) => {
        log.warn({ err: error }, 'could not read the trusted peers again; the last list stays');
      });
    }, TRUSTED_PEERS_RELOAD_MS);
    peersReload.unref();
    closers.unshift(() => {
      clearInterval(peersReload);
      return Promise.resolve();
    });

    const sip: SipServer = createSipServer({
      bind: config.bind,
      udpTcpPort: config.sipPort,
      ...(config.sipTlsPort > 0 && certificate !== undefined
        ? { tls: { port: config.sipTlsPort, key: certificate.key, cert: certificate.cert } }
        : {}),
      advertise: config.advertise,
      isTrusted: (peer) => trustedPeers.isTrusted(peer.address),
      delegate: recording,
      logger: log,
      sourceInviteRate: config.sipInviteRate,
    });

    const outbound = recording.outboundRecorder(sip, config.outbound);

    // One MP4 cache for mp4Url and convertSession, so both share conversions and files.
    const mp4 = new Mp4Cache({
      mediaDir,
      fallbackDir: join(config.dataDir, 'cache', 'mp4'),
      logger: log.child({ component: 'mp4' }),
      events,
    });
    // Run after the HTTP server closed (closers run in reverse order of registration).
    closers.unshift(() => mp4.close());
    // The session's waveforms, kept for the session page (playback/waveform.ts).
    const waveforms = new WaveformCache({
      mediaDir,
      fallbackDir: join(config.dataDir, 'cache', 'peaks'),
      logger: log.child({ component: 'waveform' }),
    });
    // What was made from a session's media goes with it (pruned or deleted): in the session's own
    // folder it would go anyway, in the fallback folders it would stay.
    late.discardDerived = async (session) => {
      await mp4.discard(session);
      await waveforms.discard(session);
    };
    // RTSP playback and live monitoring (docs/api.md "RTSP"): it only reads the database and the
    // track files. Port 0 turns it off.
    const rtsp: RtspServer | undefined =
      config.rtspPort > 0
        ? createRtspServer({
            repository,
            mediaDir,
            access: new ApiRtspAccess({
              repository,
              mediaTokens,
              audit: new AuditTrail(repository, log, Date.now),
              now: Date.now,
            }),
            liveFeed,
            logger: log,
          })
        : undefined;

    // Administration's node status (issue 14): the ports once listening, calls now sampled each minute.
    const startedAt = Date.now();
    let listening: NodePortsJson | undefined;
    const activeHistory = new ActiveCallsHistory(() => recording.activeSessionCount, Date.now);
    const activeSampler = setInterval(() => {
      activeHistory.sample();
    }, 10_000);
    activeSampler.unref();
    closers.unshift(() => {
      clearInterval(activeSampler);
      return Promise.resolve();
    });

    const http: FastifyInstance = await buildHttpApi({
      repository,
      logger: log.child({ component: 'http' }),
      advertise: config.advertise,
      httpPort: config.httpPort,
      rtspPort: config.rtspPort,
      tls: config.tls,
      ...(config.tls && certificate !== undefined ? { https: certificate } : {}),
      mediaDir,
      flushMedia: () => media.flush(),
      maxConcurrentRequests: config.apiMaxRequests,
      mediaTokens,
      mp4,
      waveforms,
      webRoot: defaultWebRoot(),
      liveFeed,
      extraRoutes: [
        () => controlRoutes({ recording }),
        (deps) => jobRoutes({ jobs, now: deps.now }),
        () => outboundRoutes({ recorder: outbound }),
        (deps) => tagRoutes({ ...deps, events }),
        (deps) => convertRoutes({ ...deps, mp4 }),
        () =>
          eventRoutes({
            subscriptions: eventSubscriptions,
            checkTagNameRegEx: (source) => {
              const parsed = parseTagNameRegEx(source);
              return parsed.ok ? undefined : parsed.reason;
            },
          }),
        (deps) => agentRoutes(deps),
        (deps) =>
          nodeStatusRoutes({
            nodeId: config.nodeId,
            productVersion: productVersion(),
            startedAt,
            now: deps.now,
            activeSessions: () => recording.activeSessionCount,
            maxSessions: config.maxSessions,
            admission: () => {
              const snapshot = recording.admission();
              return {
                enabled: config.admission,
                level: snapshot.level,
                ...(snapshot.reason === undefined ? {} : { reason: snapshot.reason }),
                storageRefusing: retention.refusesNewCalls() || !writeHealth.writable,
                refusals: { ...snapshot.refusals },
              };
            },
            ports: () => listening,
            bind: config.bind,
            advertise: config.advertise,
            tls: config.tls,
            activity: repository,
            history: activeHistory,
          }),
        () =>
          peerRoutes({
            peers: trustedPeers,
            settings: () => ({
              sipUdpPort: listening?.sipUdp ?? config.sipPort,
              sipTcpPort: listening?.sipTcp ?? config.sipPort,
              ...(config.sipTlsPort > 0 ? { sipTlsPort: listening?.sipTls ?? config.sipTlsPort } : {}),
              advertise: config.advertise,
              bind: config.bind,
              sipInviteRate: config.sipInviteRate,
              maxSessions: config.maxSessions,
              mediaTimeoutSeconds: config.mediaTimeoutMs / 1000,
              rtpPortMin: config.rtpPortMin,
              rtpPortMax: config.rtpPortMax,
              admission: config.admission,
              ...(config.outbound === undefined
                ? {}
                : {
                    outbound: {
                      proxy: config.outbound.proxy.uri,
                      transport: config.outbound.proxy.protocol,
                      ...(config.outbound.credentials === undefined
                        ? {}
                        : { username: config.outbound.credentials.username }),
                      answerTimeoutSeconds: config.outbound.answerTimeoutMs / 1000,
                    },
                  }),
            }),
          }),
        () =>
          storageRoutes({
            storage: () => storage.status(),
            retention,
            refusingCalls: () => retention.refusesNewCalls() || !writeHealth.writable,
            nodeId: config.nodeId,
            writeHealth: () => writeHealth.status(),
            history: {
              intervalMs: config.storageHistoryIntervalMs,
              read: (query) => repository.storageHistory(query),
            },
          }),
      ],
      metrics: {
        recordingCounters: () => recording.counters,
        activeSessions: (): number => recording.activeSessionCount,
        admission: () => recording.admission(),
        mediaCounters: () => media.counters?.(),
        sipCounters: () => sip.counters(),
        eventDelivery: () => ({
          ...eventDelivery.counters,
          failingSubscriptions: eventDelivery.failingSubscriptions,
        }),
        eventBacklog: () => repository.outboxBacklog(config.nodeId),
        mp4: () => mp4.counters,
        storage: () => storage.status(),
        retention: () => retention.counters,
        writeHealth: () => writeHealth.status(),
        healthSummary: () => repository.healthSummary(Date.now()),
        ...(rtsp === undefined ? {} : { rtspCounters: () => ({ ...rtsp.counters() }) }),
      },
    });

    let started = false;
    let closed = false;
    return {
      recording,
      repository,
      events,
      eventSubscriptions,
      async start(): Promise<AppAddresses> {
        await openFiles.start();
        const sipPorts = await sip.start();
        started = true;
        await http.listen({ host: config.bind, port: config.httpPort });
        const rtspPort = rtsp === undefined ? undefined : await rtsp.listen(config.bind, config.rtspPort);
        jobs.start();
        await retention.start();
        await eventDelivery.start();
        const address = http.server.address();
        const httpPort = typeof address === 'object' && address !== null ? address.port : config.httpPort;
        const addresses: AppAddresses = {
          sip: {
            udp: sipPorts.udpPort,
            tcp: sipPorts.tcpPort,
            ...(sipPorts.tlsPort === undefined ? {} : { tls: sipPorts.tlsPort }),
          },
          http: httpPort,
          ...(rtspPort === undefined ? {} : { rtsp: rtspPort }),
        };
        listening = {
          sipUdp: addresses.sip.udp,
          sipTcp: addresses.sip.tcp,
          ...(addresses.sip.tls === undefined ? {} : { sipTls: addresses.sip.tls }),
          http: httpPort,
          ...(rtspPort === undefined ? {} : { rtsp: rtspPort }),
          rtpMin: config.rtpPortMin,
          rtpMax: config.rtpPortMax,
        };
        activeHistory.sample();
        log.info(
          { ...addresses, advertise: config.advertise, dataDir: config.dataDir, tls: config.tls },
          'Verbatim is recording',
        );
        return addresses;
      },
      async close(): Promise<void> {
        if (closed) {
          return;
        }
        closed = true;
        log.info('shutting down: ending active recordings');
        // Players first: they only read, and must not hold the media files being finished.
        await rtsp?.close();
        // Then recording: it still needs SIP (BYE), the media engine (flush) and the database.
        await recording.close();
        log.info('shutting down: recordings ended; closing the API');
        await http.close();
        log.info('shutting down: API closed; closing SIP');
        if (started) {
          await sip.close();
        }
        log.info(
          { sip: sip.counters(), recording: recording.counters, refusals: recording.admission().refusals },
          'final counters',
        );
        for (const close of closers) {
          await close();
        }
        log.info('shut down cleanly');
      },
    };
  } catch (error) {
    for (const close of closers) {
      await close().catch((closeError: unknown) => {
        log.error({ err: closeError }, 'cleanup after a failed start failed');
      });
    }
    throw error;
  }
}
