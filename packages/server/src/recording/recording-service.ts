import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';
import type { MediaEngine, MediaEvent } from '../media/media-engine.js';
import {
  EMPTY_TRACK_STATS,
  type CallControllerType,
  type Participant,
  type Session,
  type Track,
  type TrackStats,
} from '../model/session.js';
import {
  buildRecorderAnswer,
  buildRecorderOffer,
  chooseAudioCodec,
  isHoldAddress,
  parseSdp,
  type SdpMedia,
  type SessionDescription,
} from '../protocol/sdp/sdp.js';
import { getHeader, type SipHeader, type SipRequest } from '../protocol/sip/message.js';
import { parseNameAddr } from '../protocol/sip/uri.js';
import { decodeUtf8 } from '../protocol/text.js';
import type {
  DialogDelegate,
  IncomingInvite,
  ServerDialog,
  SipBody,
  SipServerDelegate,
} from '../sip/types.js';
import {
  cubeXRefCi,
  isCubeForkingInvite,
  participantsOfLine,
  readCubeIntake,
  type CubeIntake,
} from './cube-intake.js';
import { cucmSessionKey, readCucmLeg, type CucmLeg, type CucmParty } from './cucm-leg.js';

/**
 * The recording domain: turns INVITE dialogs into sessions of tracks (DESIGN.md §1.2).
 *
 * One `LiveSession` per ACTIVE session, one `Leg` per recorded stream (a CUCM session has two
 * legs, each its own dialog; a generic call has one dialog with a leg per audio m= line). The SIP
 * layer hands over trusted INVITEs; the media engine receives the RTP; this class decides what
 * is a session, keeps the database in step, and ends sessions when their legs end.
 */
export interface RecordingServiceOptions {
  readonly repository: Repository;
  readonly media: MediaEngine;
  /** Directory under which track files are created; Track.mediaPath is relative to it. */
  readonly mediaDir: string;
  /** Address written into our SDP. */
  readonly advertise: string;
  readonly nodeId: string;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly newSessionId: () => string;
  /** Concurrent sessions at most; an INVITE that would start one more gets 503 (default: no limit). */
  readonly maxSessions?: number;
}

interface Leg {
  readonly trackNumber: number;
  readonly streamId: string;
  readonly startMs: number;
  /** Index of the m= line this leg answers (early offer), or 0 for our own offer. */
  readonly mediaIndex: number;
  readonly port: number;
  dialog?: ServerDialog;
  /** Our SDP as last sent, re-sent on a re-INVITE without offer. */
  localSdp: string;
  codecKnown: boolean;
  ended: boolean;
  /** As stored with the track; their durations are written when the leg ends. */
  participants: readonly Participant[];
}

interface LiveSession {
  readonly sessionId: string;
  readonly startMs: number;
  readonly controllerType: CallControllerType;
  readonly controllerIp: string;
  readonly ccid: string;
  /** CUCM pairing key, when the session came from CUCM. */
  readonly cucmKey?: string;
  /**
   * CUBE dial-peer forking: the RFC 7989 Session-ID header of the INVITE, when CUBE sent one. The
   * MediaSense session has no field for it, so it is kept here and logged with the session.
   */
  sipSessionId?: string;
  readonly expectedLegs: number;
  readonly legs: Map<number, Leg>;
  /** Tracks reserved by INVITEs still allocating media, so a parallel INVITE picks another number. */
  readonly reservedTracks: Set<number>;
  /** Database writes of this session, in order (a track cannot be added before its session). */
  dbQueue: Promise<void>;
  persisted: boolean;
  errorReason?: string;
  closing: boolean;
}

/** Counters exposed for monitoring and asserted by tests. */
export interface RecordingCounters {
  invites: number;
  rejected: number;
  cancelled: number;
  sessionsStarted: number;
  sessionsClosedNormal: number;
  sessionsClosedError: number;
  databaseErrors: number;
  /** INVITEs refused with 503 because the node was at --max-sessions. */
  overloaded: number;
  /** Malformed X-Cisco-Recording-Participant values ignored (CUBE INVITEs and re-INVITEs). */
  cubeParticipantsDropped: number;
}

/**
 * After a BYE the leg's socket stays open this long before its track is closed: the last RTP
 * packets a phone sends before hanging up can still be in flight behind the BYE, and a recorder
 * must not drop them (the benchmark saw exactly the last packet of a stream go missing).
 */
const BYE_DRAIN_MS = 250;

const SDP_BODY: (content: string) => SipBody = (content) => ({ contentType: 'application/sdp', content });

export class RecordingService implements SipServerDelegate {
  readonly #options: RecordingServiceOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #sessions = new Map<string, LiveSession>();
  readonly #cucmSessions = new Map<string, LiveSession>();
  readonly #legsByStream = new Map<string, { session: LiveSession; leg: Leg }>();
  readonly #counters: RecordingCounters = {
    invites: 0,
    rejected: 0,
    cancelled: 0,
    sessionsStarted: 0,
    sessionsClosedNormal: 0,
    sessionsClosedError: 0,
    databaseErrors: 0,
    overloaded: 0,
    cubeParticipantsDropped: 0,
  };
  #sdpVersion = 1;
  #closed = false;

  constructor(options: RecordingServiceOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'recording' });
    this.#now = options.now ?? Date.now;
    options.media.onEvent((event) => {
      this.#onMediaEvent(event);
    });
  }

  get counters(): Readonly<RecordingCounters> {
    return { ...this.#counters };
  }

  get activeSessionCount(): number {
    return this.#sessions.size;
  }

  onInvite(invite: IncomingInvite): void {
    this.#counters.invites++;
    this.#handleInvite(invite).catch((error: unknown) => {
      this.#log.error({ err: error, callId: invite.callId }, 'INVITE handling failed');
      if (!invite.cancelled) {
        invite.reject(500, 'Server Internal Error');
      }
    });
  }

  async #handleInvite(invite: IncomingInvite): Promise<void> {
    const log = this.#log.child({ callId: invite.callId });
    if (this.#closed) {
      invite.reject(503, 'Service Unavailable', [{ name: 'Retry-After', value: '30' }]);
      return;
    }
    const offer = this.#readOffer(invite, log);
    if (offer === 'rejected') {
      return;
    }

    const fromParams = readFromParams(invite.request);
    const cucm = fromParams === undefined ? undefined : readCucmLeg(fromParams.params);
    const controllerIp = invite.source.address;
    const now = this.#now();

    // Which m= lines become legs: our own single offer, or the recordable audio lines of theirs.
    let mediaLines: { index: number; media?: SdpMedia }[];
    if (offer === undefined) {
      mediaLines = [{ index: 0 }];
    } else {
      const recordable = offer.media.filter((m) => m.type === 'audio' && m.port !== 0 && chooseAudioCodec(m));
      if (recordable.length === 0) {
        this.#rejectUnrecordable(invite, offer, log);
        return;
      }
      mediaLines = (cucm === undefined ? recordable : recordable.slice(0, 1)).map((m) => ({
        index: m.index,
        media: m,
      }));
    }
    // CUBE dial-peer forking: one INVITE, a track per recordable m= line, participants named per
    // m= line by X-Cisco-Recording-Participant (intake-samples §2.1).
    const cube =
      cucm === undefined &&
      offer !== undefined &&
      isCubeForkingInvite(invite.request, offer.media.filter((m) => m.type === 'audio').length)
        ? this.#readCube(invite.request, log)
        : undefined;

    // Find or create the session synchronously, so two INVITEs of one CUCM call racing each other
    // land in the same session.
    let session: LiveSession;
    let trackNumbers: number[];
    const cucmKey = cucm === undefined ? undefined : cucmSessionKey(controllerIp, cucm);
    const joinsSession = cucmKey !== undefined && this.#cucmSessions.has(cucmKey);
    if (!joinsSession && this.#sessions.size >= (this.#options.maxSessions ?? Infinity)) {
      // Past capacity new calls are refused, so the calls being recorded keep their quality and
      // the controller tries the next recorder (RFC 3261 §21.5.4: 503 with Retry-After).
      this.#counters.overloaded++;
      log.warn({ activeSessions: this.#sessions.size }, 'at capacity: INVITE refused with 503');
      invite.reject(503, 'Service Unavailable', [{ name: 'Retry-After', value: '5' }]);
      return;
    }
    if (cucm !== undefined && cucmKey !== undefined) {
      session =
        this.#cucmSessions.get(cucmKey) ??
        this.#newSession('Cisco-CUCM', controllerIp, cucmCcid(cucm, invite), 2, now, cucmKey);
      const preferred = cucm.stream === 'near' ? 0 : 1;
      trackNumbers = [freeTrackNumber(session, preferred)];
    } else {
      session = this.#newSession(
        cube === undefined ? 'SIP' : 'Cisco-SIPGateway',
        controllerIp,
        cube?.ciscoGuid ?? getHeader(invite.request, 'Cisco-Guid') ?? invite.callId,
        mediaLines.length,
        now,
      );
      if (cube?.sipSessionId !== undefined) {
        session.sipSessionId = cube.sipSessionId;
      }
      trackNumbers = mediaLines.map((_, i) => i);
    }
    for (const n of trackNumbers) {
      session.reservedTracks.add(n);
    }

    // Allocate a port per leg in the media workers.
    const opened: Leg[] = [];
    try {
      for (const [i, line] of mediaLines.entries()) {
        const trackNumber = trackNumbers[i] ?? i;
        const streamId = `${session.sessionId}-${trackNumber}`;
        const { port } = await this.#options.media.openStream({
          streamId,
          filePath: join(this.#options.mediaDir, this.#mediaPath(session, trackNumber)),
        });
        opened.push({
          trackNumber,
          streamId,
          startMs: now,
          mediaIndex: line.index,
          port,
          localSdp: '',
          codecKnown: false,
          ended: false,
          participants: [],
        });
      }
    } catch (error) {
      log.error({ err: error }, 'no media port for the call');
      await this.#abandon(session, opened, trackNumbers);
      invite.reject(503, 'Service Unavailable', [{ name: 'Retry-After', value: '5' }]);
      return;
    }

    if (invite.cancelled || this.#isClosed()) {
      this.#counters.cancelled++;
      log.info('INVITE cancelled before it was answered');
      await this.#abandon(session, opened, trackNumbers);
      if (!invite.cancelled) {
        invite.reject(503, 'Service Unavailable', [{ name: 'Retry-After', value: '30' }]);
      }
      return;
    }

    // Answer: our offer (delayed offer) or our answer (early offer), always recvonly.
    const origin = {
      sessionId: session.sessionId,
      sessionVersion: this.#sdpVersion++,
      address: this.#options.advertise,
    };
    let sdp: string;
    if (offer === undefined) {
      sdp = buildRecorderOffer(origin, opened[0]?.port ?? 0);
    } else {
      sdp = buildRecorderAnswer(origin, offer, new Map(opened.map((leg) => [leg.mediaIndex, leg.port])));
    }
    for (const leg of opened) {
      leg.localSdp = sdp;
      session.legs.set(leg.trackNumber, leg);
      session.reservedTracks.delete(leg.trackNumber);
      this.#legsByStream.set(leg.streamId, { session, leg });
    }
    const dialog = invite.accept(SDP_BODY(sdp), this.#dialogDelegate(session, opened, log));
    if (dialog === undefined) {
      // CANCEL won the race after all; nothing was answered.
      for (const leg of opened) {
        session.legs.delete(leg.trackNumber);
        this.#legsByStream.delete(leg.streamId);
      }
      await this.#abandon(session, opened, []);
      return;
    }
    for (const leg of opened) {
      leg.dialog = dialog;
    }

    // Early offer: the codec and the media source are known now.
    const tracks: Track[] = opened.map((leg) => {
      const media = offer?.media[leg.mediaIndex];
      const codec = media === undefined ? undefined : chooseAudioCodec(media);
      if (media !== undefined && codec !== undefined) {
        leg.codecKnown = true;
        this.#expectSource(leg, media);
      }
      leg.participants =
        cube === undefined
          ? participantsFor(
              leg.trackNumber,
              cucm,
              invite.request,
              opened.length,
              leg.startMs,
              fromParams?.user,
            )
          : cubeParticipants(cube, session.ccid, leg.mediaIndex, leg.startMs);
      return {
        trackNumber: leg.trackNumber,
        trackMediaType: 'AUDIO',
        codec: codec?.encodingName ?? '',
        payloadType: codec?.payloadType ?? -1,
        clockRateHz: codec?.clockRateHz ?? 8000,
        trackStartDate: leg.startMs,
        mediaPath: this.#mediaPath(session, leg.trackNumber),
        participants: leg.participants,
        tags: [],
        stats: EMPTY_TRACK_STATS,
      };
    });
    log.info(
      {
        sessionId: session.sessionId,
        tracks: opened.map((l) => ({ track: l.trackNumber, port: l.port })),
        ...(session.sipSessionId === undefined ? {} : { sipSessionId: session.sipSessionId }),
      },
      cucm !== undefined
        ? `recording CUCM ${cucm.stream}-end leg`
        : cube !== undefined
          ? 'recording CUBE forked call'
          : 'recording call',
    );

    if (!session.persisted) {
      session.persisted = true;
      this.#counters.sessionsStarted++;
      const record: Session = {
        sessionId: session.sessionId,
        sessionState: 'ACTIVE',
        sessionStartDate: session.startMs,
        callControllerIP: session.controllerIp,
        callControllerType: session.controllerType,
        ccid: session.ccid,
        nodeId: this.#options.nodeId,
        tags: [],
        tracks,
      };
      this.#enqueue(session, () => this.#options.repository.createSession(record));
    } else {
      for (const track of tracks) {
        this.#enqueue(session, () => this.#options.repository.addTrack(session.sessionId, track));
      }
    }
  }

  /** Reads the INVITE's offer: undefined for delayed offer, 'rejected' when it was refused. */
  #readOffer(invite: IncomingInvite, log: Logger): SessionDescription | undefined | 'rejected' {
    const body = invite.request.body;
    if (body.length === 0) {
      return undefined;
    }
    const contentType = (getHeader(invite.request, 'Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (contentType !== 'application/sdp') {
      this.#counters.rejected++;
      log.warn({ contentType }, 'INVITE body is not SDP');
      invite.reject(415, 'Unsupported Media Type', [{ name: 'Accept', value: 'application/sdp' }]);
      return 'rejected';
    }
    const parsed = parseSdp(decodeUtf8(body));
    if (!parsed.ok) {
      this.#counters.rejected++;
      log.warn({ error: parsed.error }, 'INVITE SDP is malformed');
      invite.reject(488, 'Not Acceptable Here', [
        warning(this.#options.advertise, `Malformed SDP: ${parsed.error.message}`),
      ]);
      return 'rejected';
    }
    return parsed.value;
  }

  #rejectUnrecordable(invite: IncomingInvite, offer: SessionDescription, log: Logger): void {
    this.#counters.rejected++;
    const offered = offer.media
      .map((m) => `${m.type}:${m.codecs.map((c) => c.encodingName).join('/') || 'none'}`)
      .join(', ');
    log.warn({ offered }, 'INVITE offers nothing Verbatim can record');
    invite.reject(488, 'Not Acceptable Here', [
      warning(this.#options.advertise, `No recordable audio codec offered (${offered})`),
    ]);
  }

  #newSession(
    type: CallControllerType,
    controllerIp: string,
    ccid: string,
    expectedLegs: number,
    startMs: number,
    cucmKey?: string,
  ): LiveSession {
    const session: LiveSession = {
      sessionId: this.#options.newSessionId(),
      startMs,
      controllerType: type,
      controllerIp,
      ccid,
      expectedLegs,
      legs: new Map(),
      reservedTracks: new Set(),
      dbQueue: Promise.resolve(),
      persisted: false,
      closing: false,
      ...(cucmKey === undefined ? {} : { cucmKey }),
    };
    this.#sessions.set(session.sessionId, session);
    if (cucmKey !== undefined) {
      this.#cucmSessions.set(cucmKey, session);
    }
    return session;
  }

  /** Gives back what an INVITE that will not be answered took. */
  async #abandon(session: LiveSession, opened: readonly Leg[], reserved: readonly number[]): Promise<void> {
    for (const n of reserved) {
      session.reservedTracks.delete(n);
    }
    await Promise.all(
      opened.map((leg) => this.#options.media.closeStream(leg.streamId).catch(() => EMPTY_TRACK_STATS)),
    );
    if (!session.persisted && session.legs.size === 0 && session.reservedTracks.size === 0) {
      this.#forget(session);
    }
  }

  #forget(session: LiveSession): void {
    this.#sessions.delete(session.sessionId);
    if (session.cucmKey !== undefined && this.#cucmSessions.get(session.cucmKey) === session) {
      this.#cucmSessions.delete(session.cucmKey);
    }
  }

  #mediaPath(session: LiveSession, trackNumber: number): string {
    const day = new Date(session.startMs).toISOString().slice(0, 10);
    return `${day}/${session.sessionId}/track${trackNumber}.pcap`;
  }

  #expectSource(leg: Leg, media: SdpMedia): void {
    const address = media.connectionAddress;
    if (address !== undefined && !isHoldAddress(address)) {
      // Port 0: the m= port is where the sender would *receive*; a sendonly fork often sends from
      // another port, so only the address is pinned and the port is latched from the traffic.
      this.#options.media.setExpectedSource(leg.streamId, { address, port: 0 });
    }
  }

  #dialogDelegate(session: LiveSession, legs: readonly Leg[], log: Logger): DialogDelegate {
    return {
      onAck: (ack) => {
        this.#onAck(session, legs, ack, log);
      },
      onAckTimeout: () => {
        log.warn({ sessionId: session.sessionId }, 'no ACK for our 200 OK: the leg is gone');
        this.#endLegs(session, legs, 'no ACK received for the 200 OK');
      },
      onBye: () => {
        log.info({ sessionId: session.sessionId }, 'BYE received');
        this.#endLegs(session, legs, undefined, BYE_DRAIN_MS);
      },
      onRequest: (request, respond) => {
        if (request.method === 'INVITE' && session.controllerType === 'Cisco-SIPGateway') {
          this.#updateCubeParticipants(session, legs, request, log);
        }
        if (
          (request.method === 'UPDATE' || request.method === 'INVITE') &&
          session.controllerType === 'Cisco-CUCM'
        ) {
          this.#updateCucmParticipants(session, request, log);
        }
        this.#onInDialogRequest(legs, request, respond, log);
      },
    };
  }

  /** Reads the CUBE metadata, counting and logging the participant values that had to be dropped. */
  #readCube(request: SipRequest, log: Logger): CubeIntake {
    const cube = readCubeIntake(request);
    if (cube.dropped.length > 0) {
      this.#counters.cubeParticipantsDropped += cube.dropped.length;
      log.warn({ errors: cube.dropped }, 'malformed X-Cisco-Recording-Participant values ignored');
    }
    return cube;
  }

  /**
   * A CUBE re-INVITE after a transfer names the new party of a side (intake-samples §2.2). The
   * session goes on; on each track the participant that left gets its duration and the new one
   * starts now. A re-INVITE without the headers (a session refresh) changes nothing.
   */
  #updateCubeParticipants(
    session: LiveSession,
    legs: readonly Leg[],
    request: SipRequest,
    log: Logger,
  ): void {
    const cube = this.#readCube(request, log);
    if (cube.participants.length === 0) {
      return;
    }
    const now = this.#now();
    for (const leg of legs) {
      if (leg.ended) {
        continue;
      }
      const wanted = cubeParticipants(cube, session.ccid, leg.mediaIndex, now);
      const current = leg.participants.filter((p) => p.participantDuration === undefined);
      const wantedRefs = new Set(wanted.map((p) => p.xRefCi));
      const currentRefs = new Set(current.map((p) => p.xRefCi));
      const left = current.filter((p) => !wantedRefs.has(p.xRefCi));
      const joined = wanted.filter((p) => !currentRefs.has(p.xRefCi));
      if (left.length === 0 && joined.length === 0) {
        continue;
      }
      leg.participants = [
        ...leg.participants.map((p) =>
          left.includes(p) ? { ...p, participantDuration: Math.max(0, now - p.participantStartDate) } : p,
        ),
        ...joined,
      ];
      log.info(
        {
          sessionId: session.sessionId,
          track: leg.trackNumber,
          left: left.map((p) => p.deviceRef),
          joined: joined.map((p) => p.deviceRef),
        },
        'CUBE participants changed',
      );
      const participants = leg.participants;
      this.#enqueue(session, () =>
        this.#options.repository.replaceParticipants(session.sessionId, leg.trackNumber, participants),
      );
    }
  }

  /**
   * CUCM tells the recorder about a remote-cluster transfer with an UPDATE on the existing dialogs
   * whose From parameters name the new far end (intake-samples §1.5, §1.6): the session goes on,
   * the participant that left gets its duration and the new one starts now. Both dialogs get the
   * UPDATE; the second finds nothing left to change.
   */
  #updateCucmParticipants(session: LiveSession, request: SipRequest, log: Logger): void {
    const from = readFromParams(request);
    const cucm = from === undefined ? undefined : readCucmLeg(from.params);
    if (cucm === undefined) {
      return;
    }
    const now = this.#now();
    const near = { ...(from?.user === undefined ? {} : { address: from.user }), ...cucm.nearEnd };
    for (const [trackNumber, party] of [
      [0, near],
      [1, cucm.farEnd],
    ] as const) {
      const leg = session.legs.get(trackNumber);
      const next = participantFromParty(party, now);
      if (leg === undefined || leg.ended || next === undefined) {
        continue;
      }
      const current = leg.participants.filter((p) => p.participantDuration === undefined);
      if (
        current.some(
          (p) => p.deviceRef === next.deviceRef && p.deviceId === next.deviceId && p.xRefCi === next.xRefCi,
        )
      ) {
        continue;
      }
      leg.participants = [
        ...leg.participants.map((p) =>
          p.participantDuration === undefined
            ? { ...p, participantDuration: Math.max(0, now - p.participantStartDate) }
            : p,
        ),
        next,
      ];
      log.info(
        {
          sessionId: session.sessionId,
          track: trackNumber,
          deviceRef: next.deviceRef,
          isConference: next.isConference,
        },
        'CUCM participant changed',
      );
      const participants = leg.participants;
      this.#enqueue(session, () =>
        this.#options.repository.replaceParticipants(session.sessionId, trackNumber, participants),
      );
    }
  }

  /** Delayed offer: the ACK carries the answer with the one codec the phone is locked to. */
  #onAck(session: LiveSession, legs: readonly Leg[], ack: SipRequest, log: Logger): void {
    const leg = legs[0];
    if (leg === undefined || leg.codecKnown || legs.length !== 1) {
      return;
    }
    if (ack.body.length === 0) {
      log.warn(
        { sessionId: session.sessionId },
        'ACK carries no SDP answer: codec unknown, media recorded raw',
      );
      return;
    }
    const answer = parseSdp(decodeUtf8(ack.body));
    const media = answer.ok ? answer.value.media.find((m) => m.type === 'audio') : undefined;
    if (media === undefined) {
      log.warn(
        { sessionId: session.sessionId, error: answer.ok ? 'no audio m= line' : answer.error },
        'ACK SDP unusable',
      );
      return;
    }
    const codec = chooseAudioCodec(media) ?? media.codecs.find((c) => c.encodingName !== 'TELEPHONE-EVENT');
    this.#expectSource(leg, media);
    if (codec === undefined) {
      log.warn({ sessionId: session.sessionId }, 'ACK SDP names no codec');
      return;
    }
    leg.codecKnown = true;
    this.#enqueue(session, () =>
      this.#options.repository.updateTrack(session.sessionId, leg.trackNumber, {
        codec: codec.encodingName,
        payloadType: codec.payloadType,
        clockRateHz: codec.clockRateHz,
      }),
    );
  }

  #onInDialogRequest(
    legs: readonly Leg[],
    request: SipRequest,
    respond: (status: number, reason: string, body?: SipBody) => void,
    log: Logger,
  ): void {
    const first = legs[0];
    if (request.method !== 'INVITE' || first === undefined) {
      // UPDATE (session refresh), INFO, …: nothing to change in issue-2 scope.
      respond(200, 'OK');
      return;
    }
    // A re-INVITE (session refresh, or a new offer): keep the same ports, answer recvonly again.
    if (request.body.length === 0) {
      respond(200, 'OK', SDP_BODY(first.localSdp));
      return;
    }
    const offer = parseSdp(decodeUtf8(request.body));
    if (!offer.ok) {
      log.warn({ error: offer.error }, 're-INVITE SDP is malformed');
      respond(488, 'Not Acceptable Here');
      return;
    }
    const origin = {
      sessionId: 'reinvite',
      sessionVersion: this.#sdpVersion++,
      address: this.#options.advertise,
    };
    const sdp = buildRecorderAnswer(
      origin,
      offer.value,
      new Map(legs.map((leg) => [leg.mediaIndex, leg.port])),
    );
    for (const leg of legs) {
      leg.localSdp = sdp;
    }
    respond(200, 'OK', SDP_BODY(sdp));
  }

  #onMediaEvent(event: MediaEvent): void {
    const entry = this.#legsByStream.get(event.streamId);
    if (entry === undefined) {
      return;
    }
    const { session, leg } = entry;
    switch (event.type) {
      case 'first-packet':
        return;
      case 'media-timeout': {
        const reason = event.lastPacketAt === undefined ? 'no media received' : 'media stopped';
        this.#log.warn(
          { sessionId: session.sessionId, track: leg.trackNumber },
          `${reason}: ending the session`,
        );
        this.#failSession(session, `track ${leg.trackNumber}: ${reason}`);
        return;
      }
      case 'stream-error':
        this.#log.error(
          { sessionId: session.sessionId, track: leg.trackNumber, message: event.message },
          'track write failed',
        );
        this.#failSession(session, `track ${leg.trackNumber}: ${event.message}`);
        return;
    }
  }

  /** Ends every leg of the session as an error, sending BYE on their dialogs. */
  #failSession(session: LiveSession, reason: string): void {
    const open = [...session.legs.values()].filter((leg) => !leg.ended);
    const dialogs = new Set(open.map((leg) => leg.dialog).filter((d): d is ServerDialog => d !== undefined));
    for (const dialog of dialogs) {
      if (!dialog.terminated) {
        dialog.bye();
      }
    }
    this.#endLegs(session, open, reason);
  }

  #endLegs(session: LiveSession, legs: readonly Leg[], errorReason?: string, drainMs = 0): void {
    if (errorReason !== undefined) {
      session.errorReason ??= errorReason;
    }
    const endMs = this.#now();
    for (const leg of legs) {
      if (leg.ended) {
        continue;
      }
      leg.ended = true;
      const closing = (drainMs > 0 ? delay(drainMs) : Promise.resolve())
        .then(() => this.#options.media.closeStream(leg.streamId))
        .then(
          (stats) => stats,
          (error: unknown): TrackStats => {
            this.#log.error({ err: error, streamId: leg.streamId }, 'closing the track failed');
            session.errorReason ??= `track ${leg.trackNumber} could not be closed`;
            return this.#options.media.getStats(leg.streamId) ?? EMPTY_TRACK_STATS;
          },
        );
      this.#enqueue(session, async () => {
        const stats = await closing;
        this.#legsByStream.delete(leg.streamId);
        if (stats.packets === 0) {
          session.errorReason ??= `track ${leg.trackNumber}: no media received`;
        }
        await this.#options.repository.updateTrack(session.sessionId, leg.trackNumber, {
          trackDuration: Math.max(0, endMs - leg.startMs),
          stats,
        });
        if (leg.participants.length > 0) {
          const ended = leg.participants.map((p) => ({
            ...p,
            // A participant that left mid-call (CUBE transfer) keeps the duration it got then.
            participantDuration: p.participantDuration ?? Math.max(0, endMs - p.participantStartDate),
          }));
          await this.#options.repository.replaceParticipants(session.sessionId, leg.trackNumber, ended);
        }
      });
    }
    this.#maybeClose(session, endMs);
  }

  #maybeClose(session: LiveSession, endMs: number): void {
    const allEnded = [...session.legs.values()].every((leg) => leg.ended);
    if (!allEnded || session.reservedTracks.size > 0 || session.closing) {
      return;
    }
    session.closing = true;
    this.#forget(session);
    if (session.legs.size < session.expectedLegs) {
      session.errorReason ??= `only ${session.legs.size} of ${session.expectedLegs} legs arrived`;
    }
    this.#enqueue(session, async () => {
      const state = session.errorReason === undefined ? 'CLOSED_NORMAL' : 'CLOSED_ERROR';
      if (state === 'CLOSED_NORMAL') {
        this.#counters.sessionsClosedNormal++;
      } else {
        this.#counters.sessionsClosedError++;
      }
      await this.#options.repository.closeSession(
        session.sessionId,
        state,
        Math.max(0, endMs - session.startMs),
      );
      this.#log.info({ sessionId: session.sessionId, state, reason: session.errorReason }, 'session closed');
    });
  }

  /** Runs database writes of one session in order; a failure is logged and counted, never thrown. */
  #enqueue(session: LiveSession, write: () => Promise<void>): void {
    session.dbQueue = session.dbQueue.then(write).catch((error: unknown) => {
      this.#counters.databaseErrors++;
      this.#log.error({ err: error, sessionId: session.sessionId }, 'database write failed');
    });
  }

  /** A method, not the field, so TypeScript does not carry a narrowing of it across awaits. */
  #isClosed(): boolean {
    return this.#closed;
  }

  /** Waits until every queued database write has been attempted (tests and shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((s) => s.dbQueue));
  }

  /**
   * Shutdown: BYE every open leg, flush and close every track, and close every session as
   * CLOSED_ERROR (the call went on without being recorded). New INVITEs get 503 from now on.
   */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    const sessions = [...this.#sessions.values()];
    for (const session of sessions) {
      this.#failSession(session, 'recorder shut down');
    }
    await Promise.all(sessions.map((s) => s.dbQueue));
  }
}

function freeTrackNumber(session: LiveSession, preferred: number): number {
  let n = preferred;
  while (session.legs.has(n) || session.reservedTracks.has(n)) {
    n = n < 2 ? 2 : n + 1;
  }
  return n;
}

function readFromParams(
  request: SipRequest,
): { params: ReadonlyMap<string, string | null>; user?: string } | undefined {
  const from = getHeader(request, 'From');
  if (from === undefined) {
    return undefined;
  }
  const parsed = parseNameAddr(from);
  if (!parsed.ok) {
    return undefined;
  }
  const user = parsed.value.uri.user;
  return user === undefined ? { params: parsed.value.uri.params } : { params: parsed.value.uri.params, user };
}

/**
 * ccid groups the sessions of one call (MediaSense: "used to identify recording sessions that are
 * part of the same call"). For CUCM the near-end call-leg id is stable across hold/resume, which
 * restarts recording with the same x-refci values, so it serves.
 */
function cucmCcid(leg: CucmLeg, invite: IncomingInvite): string {
  return leg.nearEnd.refCi ?? leg.farEnd.refCi ?? invite.callId;
}

function participantFromParty(party: CucmParty, startMs: number): Participant | undefined {
  if (party.address === undefined && party.device === undefined && party.refCi === undefined) {
    return undefined;
  }
  return {
    deviceRef: party.address ?? '',
    ...(party.device === undefined ? {} : { deviceId: party.device }),
    ...(party.refCi === undefined ? {} : { xRefCi: party.refCi }),
    isConference: isConferenceBridge(party.device),
    participantStartDate: startMs,
  };
}

/**
 * MediaSense sets isConference when the far end is a conference bridge. CUCM names its
 * conference bridge devices CFB… (the software bridge is CFB_2 by default), which is what the
 * x-nearenddevice / x-farenddevice parameter then carries.
 */
function isConferenceBridge(device: string | undefined): boolean {
  return device !== undefined && /^CFB/i.test(device);
}

/**
 * Participants of a track. CUCM: track 0 carries the near end (the agent's phone, DG90 "Track 0
 * contains media streamed from the forking device"), track 1 the far end, both taken from the From
 * URI parameters. Generic SIP: the From user on track 0, the To user on the second track (or also
 * on track 0 when there is only one).
 */
function participantsFor(
  trackNumber: number,
  cucm: CucmLeg | undefined,
  request: SipRequest,
  trackCount: number,
  startMs: number,
  fromUser: string | undefined,
): Participant[] {
  if (cucm !== undefined) {
    const near = trackNumber === 0 || (trackNumber > 1 && cucm.stream === 'near');
    // The From user part is the recorded DN in most traces but the customer's number in others
    // (intake-samples §1.3), so it is only a fallback for a missing x-nearendaddr.
    const party = near
      ? { ...(fromUser === undefined ? {} : { address: fromUser }), ...cucm.nearEnd }
      : cucm.farEnd;
    const participant = participantFromParty(party, startMs);
    return participant === undefined ? [] : [participant];
  }
  const userOf = (name: string): string | undefined => {
    const value = getHeader(request, name);
    const parsed = value === undefined ? undefined : parseNameAddr(value);
    return parsed?.ok === true ? parsed.value.uri.user : undefined;
  };
  const from = userOf('From');
  const to = userOf('To');
  const make = (deviceRef: string | undefined): Participant[] =>
    deviceRef === undefined ? [] : [{ deviceRef, isConference: false, participantStartDate: startMs }];
  if (trackCount === 1) {
    return [...make(from), ...make(to)];
  }
  return trackNumber === 0 ? make(from) : trackNumber === 1 ? make(to) : [];
}

/**
 * Participants of the track recording the m= line at `mediaIndex` of a CUBE INVITE: deviceRef is
 * the URI user of each X-Cisco-Recording-Participant naming that line, xRefCi the stable hex id of
 * cubeXRefCi (over the session's ccid, the Cisco-Guid).
 */
function cubeParticipants(
  cube: CubeIntake,
  ccid: string,
  mediaIndex: number,
  startMs: number,
): Participant[] {
  return participantsOfLine(cube.participants, mediaIndex).map((p) => ({
    deviceRef: p.deviceRef,
    xRefCi: cubeXRefCi(ccid, mediaIndex, p.uri),
    isConference: false,
    participantStartDate: startMs,
  }));
}

function warning(host: string, text: string): SipHeader {
  // RFC 3261 §20.43: warn-code 399 is "miscellaneous warning"; the text is a quoted string.
  return { name: 'Warning', value: `399 ${host} "${text.replace(/["\\]/g, "'")}"` };
}
