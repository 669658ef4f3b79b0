import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Repository } from '../../db/repository.js';
import { describeSdp } from '../../protocol/rtsp/describe.js';
import {
  formatNptRange,
  parseRange,
  parseSessionHeader,
  parseTransport,
} from '../../protocol/rtsp/headers.js';
import { header, type RtspRequest } from '../../protocol/rtsp/message.js';
import { encodeUtf8 } from '../../protocol/text.js';
import { liveTrackCodecs } from '../live-audio.js';
import type { LiveFeed } from '../live-feed.js';
import { RtspPlaySession } from './play-session.js';
import { RtspConnection, type Reply, type RtspConnectionHost } from './rtsp-connection.js';
import { DEFAULT_RTSP_LIMITS, type RtspCounters, type RtspLimits } from './rtsp-limits.js';
import { chooseSink } from './transports.js';
import {
  aggregateControlUrl,
  describedTracks,
  loadPresentation,
  parseRtspTarget,
  streamControlUrl,
  type Presentation,
  type RtspTarget,
} from './presentation.js';
import type { RtspAccess, RtspUser } from './rtsp-access.js';
import { OutputStream, recordedSsrc, type PacketSink } from './stream-output.js';

/**
 * The RTSP server (RFC 2326, with what RFC 7826-era clients expect) on `--rtsp-port`: playback of
 * recorded sessions and live monitoring for standard players (ffmpeg, GStreamer, VLC). It reads
 * the database and the track files and never writes either: whatever a client does, the
 * recording is not touched, and every connection is bounded (request size, request rate,
 * connections, sessions, send buffer).
 */

export interface RtspServerOptions {
  readonly repository: Pick<Repository, 'getSession'>;
  /** Track `mediaPath` values are relative to this directory. */
  readonly mediaDir: string;
  readonly access: RtspAccess;
  /** Live monitoring (`/live/`); without it live URLs answer 503. */
  readonly liveFeed?: LiveFeed;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly limits?: Partial<RtspLimits>;
}

export interface RtspServer {
  listen(host: string, port: number): Promise<number>;
  close(): Promise<void>;
  counters(): Readonly<RtspCounters>;
}

const PUBLIC_METHODS = 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER';
/** Streams a session may set up (two parties and video with room). */
const MAX_STREAMS_PER_SESSION = 8;

export function createRtspServer(options: RtspServerOptions): RtspServer {
  return new RtspServerImpl(options);
}

class RtspServerImpl implements RtspServer, RtspConnectionHost {
  readonly #options: RtspServerOptions;
  readonly #limits: RtspLimits;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #server: Server;
  readonly #connections = new Set<RtspConnection>();
  /** Open connections by remote address. */
  readonly #perAddress = new Map<string, number>();
  readonly #sessions = new Map<string, RtspPlaySession>();
  readonly #counters = {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    requests: 0,
    malformed: 0,
    unauthorized: 0,
    forbidden: 0,
    busy: 0,
    floodClosed: 0,
    sessionsTimedOut: 0,
    plays: 0,
    packetsSent: 0,
    packetsDropped: 0,
  };
  /** A per-node CNAME: every track of a replay shares it, so clients sync them (RFC 3550 §6.5.1). */
  readonly #cname = `verbatim-${randomBytes(4).toString('hex')}`;

  constructor(options: RtspServerOptions) {
    this.#options = options;
    this.#limits = { ...DEFAULT_RTSP_LIMITS, ...options.limits };
    this.#log = options.logger.child({ component: 'rtsp' });
    this.#now = options.now ?? Date.now;
    this.#server = createServer((socket) => {
      this.#accept(socket);
    });
    this.#server.on('error', (error) => {
      this.#log.error({ err: error }, 'RTSP listener error');
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        reject(error);
      };
      this.#server.once('error', onError);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', onError);
        const address = this.#server.address();
        const bound = typeof address === 'object' && address !== null ? address.port : port;
        this.#log.info({ port: bound }, 'RTSP server listening');
        resolve(bound);
      });
    });
  }

  async close(): Promise<void> {
    for (const session of [...this.#sessions.values()]) {
      this.removeSession(session);
    }
    for (const connection of [...this.#connections]) {
      connection.destroy();
    }
    if (this.#server.listening) {
      await new Promise<void>((resolve) => {
        this.#server.close(() => {
          resolve();
        });
      });
    }
  }

  counters(): Readonly<RtspCounters> {
    let sent = this.#counters.packetsSent;
    let dropped = this.#counters.packetsDropped;
    let playing = 0;
    for (const session of this.#sessions.values()) {
      playing += session.state === 'playing' ? 1 : 0;
      for (const stream of session.streams.values()) {
        sent += stream.counters.packets;
        dropped += stream.counters.dropped;
      }
    }
    return {
      ...this.#counters,
      connections: this.#connections.size,
      sessions: this.#sessions.size,
      playing,
      packetsSent: sent,
      packetsDropped: dropped,
    };
  }

  #accept(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (
      this.#connections.size >= this.#limits.maxConnections ||
      fromAddress >= this.#limits.maxConnectionsPerAddress
    ) {
      this.#counters.connectionsRefused += 1;
      socket.destroy();
      return;
    }
    this.#perAddress.set(address, fromAddress + 1);
    this.#counters.connectionsAccepted += 1;
    const connection = new RtspConnection(this, socket, this.#limits, this.#log);
    this.#connections.add(connection);
    socket.once('close', () => {
      this.#connections.delete(connection);
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left > 0) {
        this.#perAddress.set(address, left);
      } else {
        this.#perAddress.delete(address);
      }
      // An RTSP session dies with the connection that made it: a player that vanished stops
      // costing anything at once, not after the session timeout (docs/api.md "RTSP").
      for (const session of [...this.#sessions.values()]) {
        if (session.owner === connection) {
          this.removeSession(session);
        }
      }
    });
  }

  count(name: 'malformed' | 'unauthorized' | 'forbidden' | 'floodClosed' | 'requests'): void {
    this.#counters[name] += 1;
  }

  session(id: string): RtspPlaySession | undefined {
    return this.#sessions.get(id);
  }

  removeSession(session: RtspPlaySession): void {
    if (this.#sessions.get(session.id) !== session) {
      return;
    }
    this.#sessions.delete(session.id);
    for (const stream of session.streams.values()) {
      this.#counters.packetsSent += stream.counters.packets;
      this.#counters.packetsDropped += stream.counters.dropped;
    }
    session.close();
    this.#log.info(
      {
        rtspSession: session.id,
        sessionId: session.presentation.session.sessionId,
        user: session.user.username,
      },
      'RTSP session closed',
    );
  }

  /** Handles one parsed request; the connection writes the answer. */
  async handle(connection: RtspConnection, request: RtspRequest): Promise<Reply> {
    const sessionHeader = header(request, 'session');
    let session: RtspPlaySession | undefined;
    if (sessionHeader !== undefined) {
      const id = parseSessionHeader(sessionHeader);
      session = id.ok ? this.#sessions.get(id.value) : undefined;
      if (session === undefined) {
        if (!id.ok) {
          this.#counters.malformed += 1;
        }
        return { status: 454 };
      }
      session.touch();
    }
    switch (request.method) {
      case 'OPTIONS':
        return { status: 200, headers: [['Public', PUBLIC_METHODS]], session };
      case 'GET_PARAMETER':
        // A keep-alive (RFC 2326 §10.8: an empty body is a ping); parameters are not served.
        return { status: 200, session };
      case 'SET_PARAMETER':
        return { status: 451, session };
      case 'DESCRIBE':
        return this.#describe(connection, request);
      case 'SETUP':
        return this.#setup(connection, request, session);
      case 'PLAY':
        return session === undefined ? { status: 454 } : this.#play(connection, request, session);
      case 'PAUSE': {
        if (session === undefined) {
          return { status: 454 };
        }
        const refused = session.pause();
        return refused === undefined || refused.ok
          ? {
              status: 200,
              session,
              headers: session.live ? [] : [['Range', formatNptRange(session.positionS)]],
            }
          : { status: refused.status, reason: refused.reason, session };
      }
      case 'TEARDOWN':
        if (session === undefined) {
          return { status: 454 };
        }
        this.removeSession(session);
        return { status: 200 };
      case 'ANNOUNCE':
      case 'RECORD':
      case 'REDIRECT':
        // Recording over RTSP is not served: this is a player-facing server.
        return { status: 405, headers: [['Allow', PUBLIC_METHODS]] };
      default:
        return { status: 501 };
    }
  }

  /** Who asks, for DESCRIBE and the first SETUP; a reply when refused. */
  async #authorize(
    connection: RtspConnection,
    request: RtspRequest,
    target: RtspTarget,
  ): Promise<RtspUser | Reply> {
    const authorization = header(request, 'authorization');
    const decision = await this.#options.access.authorize({
      method: request.method,
      uri: request.uri,
      sessionId: target.sessionId,
      source: connection.remoteAddress,
      ...(authorization === undefined ? {} : { authorization }),
      ...(target.token === undefined ? {} : { token: target.token }),
    });
    switch (decision.kind) {
      case 'allowed':
        return decision.user;
      case 'unauthorized':
        this.#counters.unauthorized += 1;
        return {
          status: 401,
          headers: decision.challenges.map((challenge) => ['WWW-Authenticate', challenge] as const),
        };
      case 'forbidden':
        this.#counters.forbidden += 1;
        return { status: 403, reason: `Forbidden (${decision.message})` };
      case 'busy':
        this.#counters.busy += 1;
        return { status: 503, reason: 'Service Unavailable (too many password checks at once)' };
    }
  }

  async #presentationFor(
    connection: RtspConnection,
    request: RtspRequest,
  ): Promise<{ user: RtspUser; presentation: Presentation } | Reply> {
    const target = parseRtspTarget(request.uri);
    if (target === undefined) {
      return { status: 404, reason: 'Not Found (URLs are /archive/<sessionId> and /live/<sessionId>)' };
    }
    const user = await this.#authorize(connection, request, target);
    if ('status' in user) {
      return user;
    }
    if (target.kind === 'live' && this.#options.liveFeed === undefined) {
      return { status: 503, reason: 'Service Unavailable (live monitoring is not available on this node)' };
    }
    const loaded = await loadPresentation(this.#options.repository, this.#options.mediaDir, target);
    if (!loaded.ok) {
      if (request.method === 'DESCRIBE') {
        await this.#options.access.played({
          user,
          sessionId: target.sessionId,
          what: whatOf(target),
          source: connection.remoteAddress,
          found: false,
        });
      }
      return { status: loaded.status, reason: loaded.reason };
    }
    return { user, presentation: loaded.presentation };
  }

  async #describe(connection: RtspConnection, request: RtspRequest): Promise<Reply> {
    const found = await this.#presentationFor(connection, request);
    if ('status' in found) {
      return found;
    }
    const { presentation } = found;
    const { target, session } = presentation;
    const sdp = describeSdp({
      originId: String(this.#now()),
      address: connection.localAddress,
      name: `Verbatim ${target.kind} ${session.sessionId}`,
      control: aggregateControlUrl(target),
      ...(presentation.durationS === undefined ? {} : { durationS: presentation.durationS }),
      tracks: describedTracks(presentation),
    });
    return {
      status: 200,
      headers: [
        ['Content-Type', 'application/sdp'],
        ['Content-Base', `${target.base}/`],
      ],
      body: encodeUtf8(sdp),
    };
  }

  async #setup(
    connection: RtspConnection,
    request: RtspRequest,
    existing: RtspPlaySession | undefined,
  ): Promise<Reply> {
    const target = parseRtspTarget(request.uri);
    if (target === undefined) {
      return { status: 404 };
    }
    let session = existing;
    let presentation: Presentation;
    if (session === undefined) {
      const found = await this.#presentationFor(connection, request);
      if ('status' in found) {
        return found;
      }
      presentation = found.presentation;
      if (this.#sessions.size >= this.#limits.maxSessions) {
        return { status: 453, reason: 'Not Enough Bandwidth (too many RTSP sessions on this node)' };
      }
      session = new RtspPlaySession({
        id: randomBytes(8).toString('hex'),
        presentation,
        user: found.user,
        liveFeed: this.#options.liveFeed,
        liveCodecs: liveTrackCodecs(this.#options.repository, presentation.session),
        logger: this.#log,
        now: this.#now,
        timeoutMs: this.#limits.sessionTimeoutS * 1000,
        onExpired: (expired) => {
          this.#counters.sessionsTimedOut += 1;
          this.removeSession(expired);
        },
      });
      session.owner = connection;
    } else {
      presentation = session.presentation;
      const same =
        presentation.target.kind === target.kind &&
        presentation.target.sessionId === target.sessionId &&
        presentation.target.mix === target.mix;
      if (!same) {
        return { status: 459, session };
      }
      if (session.state === 'playing') {
        return { status: 455, session };
      }
    }
    const fresh = existing === undefined;
    const streamId =
      target.streamId ?? (presentation.streams.length === 1 ? presentation.streams[0]?.streamId : undefined);
    const stream = presentation.streams.find((s) => s.streamId === streamId);
    if (stream === undefined) {
      if (fresh) {
        session.close();
      }
      return streamId === undefined ? { status: 460 } : { status: 404, reason: 'Not Found (no such track)' };
    }
    if (session.streams.has(stream.streamId) || session.streams.size >= MAX_STREAMS_PER_SESSION) {
      return { status: 455, session };
    }
    const transports = parseTransport(header(request, 'transport') ?? '');
    if (!transports.ok) {
      this.#counters.malformed += 1;
      if (fresh) {
        session.close();
      }
      return { status: 461, reason: `Unsupported Transport (${transports.error.message})` };
    }
    let sink: PacketSink | undefined;
    try {
      sink = await chooseSink(connection, session, transports.value);
    } catch (error) {
      this.#log.warn({ err: error }, 'RTSP: no UDP ports for a stream');
      if (fresh) {
        session.close();
      }
      return { status: 453, reason: 'Not Enough Bandwidth (no UDP ports)' };
    }
    if (sink === undefined) {
      if (fresh) {
        session.close();
      }
      return { status: 461, reason: 'Unsupported Transport (RTP/AVP unicast over UDP or TCP is served)' };
    }
    const ssrc =
      presentation.mixSources !== undefined
        ? undefined
        : await recordedSsrc(stream.filePath, stream.payloadType);
    const output = new OutputStream({
      streamId: stream.streamId,
      payloadType: stream.payloadType,
      clockRateHz: stream.clockRateHz,
      ssrc: ssrc ?? (await recordedSsrc(undefined, stream.payloadType)),
      sink,
      cname: this.#cname,
    });
    session.streams.set(stream.streamId, output);
    if (fresh) {
      this.#sessions.set(session.id, session);
      this.#log.info(
        {
          rtspSession: session.id,
          sessionId: presentation.session.sessionId,
          user: session.user.username,
          kind: target.kind,
        },
        'RTSP session set up',
      );
    }
    return {
      status: 200,
      session,
      headers: [
        ['Transport', `${sink.transport};ssrc=${output.ssrc.toString(16).toUpperCase().padStart(8, '0')}`],
      ],
    };
  }

  async #play(connection: RtspConnection, request: RtspRequest, session: RtspPlaySession): Promise<Reply> {
    if (session.streams.size === 0) {
      return { status: 455, session };
    }
    const rangeHeader = header(request, 'range');
    const range = rangeHeader === undefined ? undefined : parseRange(rangeHeader);
    if (range !== undefined && !range.ok) {
      this.#counters.malformed += 1;
      return { status: 457, reason: `Invalid Range (${range.error.message})`, session };
    }
    const firstPlay = !playedSessions.has(session);
    const outcome = session.play(range?.value);
    if (!outcome.ok) {
      return { status: outcome.status, reason: outcome.reason, session };
    }
    if (firstPlay) {
      playedSessions.add(session);
      this.#counters.plays += 1;
      await this.#options.access.played({
        user: session.user,
        sessionId: session.presentation.session.sessionId,
        what: whatOf(session.presentation.target),
        source: connection.remoteAddress,
        found: true,
      });
    }
    const { target } = session.presentation;
    const rtpInfo = outcome.rtpInfo
      .map((info) => `url=${streamControlUrl(target, info.streamId)};seq=${info.seq};rtptime=${info.rtptime}`)
      .join(',');
    return {
      status: 200,
      session,
      headers: [
        ['Range', formatNptRange(outcome.startS, outcome.endS)],
        ['RTP-Info', rtpInfo],
      ],
    };
  }

  get sessionTimeoutS(): number {
    return this.#limits.sessionTimeoutS;
  }
}

/** Sessions whose playback has been audited (one record per RTSP session, not per PAUSE/PLAY). */
const playedSessions = new WeakSet<RtspPlaySession>();

function whatOf(target: RtspTarget): string {
  return `${target.kind}${target.mix ? '-mix' : ''}`;
}
