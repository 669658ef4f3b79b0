import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';
import type { MediaEngine, MediaEvent, SrtpParams } from '../media/media-engine.js';
import type { EventSink } from '../model/events.js';
import {
  EMPTY_TRACK_STATS,
  type CallControllerType,
  type Participant,
  type Session,
  type Tag,
  type Track,
  type TrackStats,
} from '../model/session.js';
import { isUndecodableCodec } from '../protocol/codec/codec-support.js';
import {
  buildRecorderAnswer,
  buildRecorderOffer,
  chooseAudioCodec,
  findTelephoneEvent,
  isHoldAddress,
  isRtpProfile,
  isSecureProfile,
  parseSdp,
  type MediaCodec,
  type SdpMedia,
  type SessionDescription,
} from '../protocol/sdp/sdp.js';
import {
  buildCryptoAttribute,
  chooseCrypto,
  SRTP_MASTER_KEY_BYTES,
  SRTP_MASTER_SALT_BYTES,
  type SdesCrypto,
} from '../protocol/sdp/sdes.js';
import { mergeMetadata, type RecordingMetadata } from '../protocol/siprec/rs-metadata.js';
import { readSiprecBody } from '../protocol/siprec/siprec-body.js';
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
import { siprecCcid, siprecParticipants } from './siprec-intake.js';

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
  /** Where session, tag and refusal events go (the node's event bus). */
  readonly events?: EventSink;
  /** True while the media disk is critically full: new calls then get 503 (the storage agent). */
  readonly storageCritical?: () => boolean;
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
  /** The codec being recorded (`PCMU/8000`), to recognise a mid-call codec change. */
  codecKey?: string;
  /** SDES-SRTP: the sender's key (what we decrypt with) and our own answer key. */
  srtp?: LegSrtp;
  /** A video line (stored, never in the WAV); audio otherwise. */
  video?: true;
  /** The m= port of the sender's last offer or answer, to notice its media moving. */
  offeredPort?: number;
  /** SIPREC `a=label` of the m= line: the key that names its stream in the metadata. */
  label?: string;
  /** On hold: the last offer left this line without media (inactive, recvonly, c=0.0.0.0, port 0). */
  inactive: boolean;
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
  /** The controller's identifiers of the call, stored with the session (Session.correlation). */
  correlation?: Readonly<Record<string, string>>;
  /** SIPREC: the recording metadata as last updated (RFC 7865 partial updates merge into it). */
  siprecMetadata?: RecordingMetadata;
  /** SIPREC: every stream is inactive (a `Pause` tag was written, a `Resume` tag ends it). */
  paused: boolean;
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
  /** INVITEs refused with 503 because the media disk was critically full. */
  storageRefused: number;
  /** Malformed X-Cisco-Recording-Participant values ignored (CUBE INVITEs and re-INVITEs). */
  cubeParticipantsDropped: number;
  /** SIPREC requests whose multipart body or metadata could not be read (answered 400). */
  siprecBodyErrors: number;
  /** Sessions ended and restarted because a re-INVITE changed the codec. */
  codecChanges: number;
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
    storageRefused: 0,
    cubeParticipantsDropped: 0,
    siprecBodyErrors: 0,
    codecChanges: 0,
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
      this.#refuse(invite, 503, 'Service Unavailable', 'recorder shutting down', [
        { name: 'Retry-After', value: '30' },
      ]);
      return;
    }
    const body = this.#readBody(invite, log);
    if (body === 'rejected') {
      return;
    }
    const { offer, siprec } = body;

    const fromParams = readFromParams(invite.request);
    const cucm =
      fromParams === undefined || siprec !== undefined ? undefined : readCucmLeg(fromParams.params);
    const controllerIp = invite.source.address;
    const now = this.#now();

    // Which m= lines become legs: our own single offer, or the recordable lines of theirs. Audio
    // comes first so that tracks 0 and 1 are the two voices (the WAV's left and right); video
    // lines (CUBE video forks) follow as VIDEO tracks. A call needs audio to be recorded.
    let mediaLines: { index: number; media?: SdpMedia }[];
    if (offer === undefined) {
      mediaLines = [{ index: 0 }];
    } else {
      const audio = offer.media.filter((m) => m.type === 'audio' && isRecordableLine(m));
      const video = offer.media.filter((m) => m.type === 'video' && isRecordableLine(m));
      if (audio.length === 0) {
        this.#rejectUnrecordable(invite, offer, log);
        return;
      }
      mediaLines = (cucm === undefined ? [...audio, ...video] : audio.slice(0, 1)).map((m) => ({
        index: m.index,
        media: m,
      }));
    }
    // CUBE dial-peer forking: one INVITE, a track per recordable m= line, participants named per
    // m= line by X-Cisco-Recording-Participant (intake-samples §2.1).
    const cube =
      cucm === undefined &&
      siprec === undefined &&
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
      this.#refuse(invite, 503, 'Service Unavailable', 'at --max-sessions capacity', [
        { name: 'Retry-After', value: '5' },
      ]);
      return;
    }
    if (!joinsSession && this.#options.storageCritical?.() === true) {
      // Nothing could be stored durably: refusing lets the controller record on another node
      // instead of losing the call here (DESIGN.md §1.2). A CUCM leg whose partner was already
      // accepted still joins, so that session is not left with one track.
      this.#counters.storageRefused++;
      log.warn('media disk critically full: INVITE refused with 503');
      this.#refuse(invite, 503, 'Service Unavailable', 'storage critically full', [
        { name: 'Retry-After', value: '60' },
      ]);
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
        siprec !== undefined ? 'SIPREC' : cube === undefined ? 'SIP' : 'Cisco-SIPGateway',
        controllerIp,
        siprec !== undefined
          ? siprecCcid(siprec, invite.callId)
          : (cube?.ciscoGuid ?? getHeader(invite.request, 'Cisco-Guid') ?? invite.callId),
        mediaLines.length,
        now,
      );
      const sipSessionId = cube?.sipSessionId ?? getHeader(invite.request, 'Session-ID');
      if (sipSessionId !== undefined) {
        session.sipSessionId = sipSessionId;
      }
      if (siprec !== undefined) {
        session.siprecMetadata = siprec;
      }
      const correlation = callCorrelation(sipSessionId, siprec);
      if (correlation !== undefined) {
        session.correlation = correlation;
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
        const srtp = srtpOf(line.media);
        const clockRateHz = line.media === undefined ? undefined : chooseAudioCodec(line.media)?.clockRateHz;
        const { port } = await this.#options.media.openStream({
          streamId,
          filePath: join(this.#options.mediaDir, this.#mediaPath(session, trackNumber)),
          ...(srtp === undefined ? {} : { srtp: srtpParams(srtp.remote) }),
          ...(clockRateHz === undefined ? {} : { clockRateHz }),
        });
        opened.push({
          ...(srtp === undefined ? {} : { srtp }),
          trackNumber,
          streamId,
          startMs: now,
          mediaIndex: line.index,
          port,
          localSdp: '',
          codecKnown: false,
          inactive: line.media !== undefined && isWithoutMedia(line.media),
          ...(line.media?.type === 'video' ? { video: true as const } : {}),
          ended: false,
          participants: [],
          ...(line.media?.label === undefined ? {} : { label: line.media.label }),
        });
      }
    } catch (error) {
      log.error({ err: error }, 'no media port for the call');
      await this.#abandon(session, opened, trackNumbers);
      this.#refuse(invite, 503, 'Service Unavailable', 'no free media port', [
        { name: 'Retry-After', value: '5' },
      ]);
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
      sdp = buildRecorderAnswer(
        origin,
        offer,
        new Map(opened.map((leg) => [leg.mediaIndex, leg.port])),
        answerCrypto(opened),
      );
    }
    for (const leg of opened) {
      leg.localSdp = sdp;
      session.legs.set(leg.trackNumber, leg);
      session.reservedTracks.delete(leg.trackNumber);
      this.#legsByStream.set(leg.streamId, { session, leg });
    }
    const binding: DialogBinding = { session, legs: opened };
    const dialog = invite.accept(SDP_BODY(sdp), this.#dialogDelegate(binding, log));
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
        leg.codecKey = codecKey(codec);
        this.#followMedia(leg, media);
      }
      leg.participants =
        siprec !== undefined
          ? siprecParticipants(siprec, leg.label, opened.indexOf(leg), opened.length, leg.startMs)
          : cube === undefined
            ? participantsFor(
                leg.trackNumber,
                cucm,
                invite.request,
                opened.length,
                leg.startMs,
                fromParams?.user,
              )
            : cubeParticipants(cube, session.ccid, leg.mediaIndex, leg.startMs);
      return this.#trackOf(session, leg, codec);
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
          : siprec !== undefined
            ? 'recording SIPREC session'
            : 'recording call',
    );

    // A line may be on hold from the start (CUBE SIPREC sends a=inactive while the call is held).
    const initialTags = this.#holdTransitions(session, opened, now);
    const undecodable = tracks.filter(
      (t) => t.trackMediaType === 'AUDIO' && isUndecodableCodec(t.codec, t.clockRateHz),
    );
    if (undecodable.length > 0) {
      log.warn(
        {
          sessionId: session.sessionId,
          tracks: undecodable.map((t) => ({ track: t.trackNumber, codec: `${t.codec}/${t.clockRateHz}` })),
        },
        'codec not decodable: recorded raw, session flagged undecodable',
      );
      this.#options.events?.publish({
        eventType: 'RECORDING_EVENT',
        eventAction: 'UNDECODABLE',
        sessionId: session.sessionId,
        tracks: undecodable.map((t) => ({
          trackNumber: t.trackNumber,
          codec: t.codec,
          clockRateHz: t.clockRateHz,
        })),
        at: now,
      });
    }

    if (!session.persisted) {
      this.#createSession(session, tracks, initialTags);
    } else {
      for (const track of tracks) {
        this.#enqueue(session, () => this.#options.repository.addTrack(session.sessionId, track));
      }
      for (const tag of initialTags) {
        this.#addTag(session, tag);
      }
    }
  }

  /**
   * Reads the INVITE's body: no offer (delayed offer), an SDP offer, or a SIPREC multipart body of
   * SDP and recording metadata, recognised by the body itself since `Require: siprec` and
   * `+sip.src` are often missing (intake-samples §6 quirk 11). 'rejected' when it was refused.
   */
  #readBody(invite: IncomingInvite, log: Logger): InviteBody | 'rejected' {
    const body = invite.request.body;
    if (body.length === 0) {
      return {};
    }
    const contentType = getHeader(invite.request, 'Content-Type') ?? '';
    const siprec = readSiprecBody(contentType, body);
    if (!siprec.ok) {
      this.#counters.rejected++;
      this.#counters.siprecBodyErrors++;
      log.warn({ error: siprec.error }, 'SIPREC INVITE body unreadable');
      this.#refuse(invite, 400, 'Bad Request', siprec.error.message, [
        warning(this.#options.advertise, siprec.error.message),
      ]);
      return 'rejected';
    }
    let sdpText: string;
    if (siprec.value !== undefined) {
      if (siprec.value.sdp === undefined) {
        this.#counters.rejected++;
        log.warn('SIPREC INVITE without an SDP part');
        const why = 'SIPREC body has no application/sdp part';
        this.#refuse(invite, 488, 'Not Acceptable Here', why, [warning(this.#options.advertise, why)]);
        return 'rejected';
      }
      sdpText = siprec.value.sdp;
    } else {
      const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
      if (mediaType !== 'application/sdp') {
        this.#counters.rejected++;
        log.warn({ contentType }, 'INVITE body is neither SDP nor SIPREC');
        this.#refuse(invite, 415, 'Unsupported Media Type', `body of type ${contentType}`, [
          { name: 'Accept', value: 'application/sdp, multipart/mixed' },
        ]);
        return 'rejected';
      }
      sdpText = decodeUtf8(body);
    }
    const parsed = parseSdp(sdpText);
    if (!parsed.ok) {
      this.#counters.rejected++;
      log.warn({ error: parsed.error }, 'INVITE SDP is malformed');
      const why = `Malformed SDP: ${parsed.error.message}`;
      this.#refuse(invite, 488, 'Not Acceptable Here', why, [warning(this.#options.advertise, why)]);
      return 'rejected';
    }
    return siprec.value === undefined
      ? { offer: parsed.value }
      : { offer: parsed.value, siprec: siprec.value.metadata ?? EMPTY_METADATA };
  }

  #rejectUnrecordable(invite: IncomingInvite, offer: SessionDescription, log: Logger): void {
    this.#counters.rejected++;
    const offered = offer.media
      .map((m) => `${m.type}:${m.codecs.map((c) => c.encodingName).join('/') || 'none'}`)
      .join(', ');
    log.warn({ offered }, 'INVITE offers nothing Verbatim can record');
    const why = `No recordable audio codec offered (${offered})`;
    this.#refuse(invite, 488, 'Not Acceptable Here', why, [warning(this.#options.advertise, why)]);
  }

  /** Refuses an INVITE and publishes why (the controller sees the status, operators the event). */
  #refuse(
    invite: IncomingInvite,
    status: number,
    reasonPhrase: string,
    why: string,
    headers: readonly SipHeader[],
  ): void {
    invite.reject(status, reasonPhrase, headers);
    this.#options.events?.publish({
      eventType: 'RECORDING_EVENT',
      eventAction: 'REJECTED',
      callId: invite.callId,
      controllerIp: invite.source.address,
      sipStatus: status,
      reason: why,
      at: this.#now(),
    });
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
      paused: false,
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

  /**
   * Tells the media engine what the SDP says about a leg's stream: where it comes from, and which
   * payload type carries RFC 4733 telephone-events (each key press becomes a DTMF tag).
   */
  #followMedia(leg: Leg, media: SdpMedia): void {
    // A new m= port in a re-offer means the sender's media moved (a transfer to another media
    // port of the SBC): the port learnt from the traffic is forgotten and learnt again.
    const moved = leg.offeredPort !== undefined && leg.offeredPort !== media.port;
    leg.offeredPort = media.port;
    const address = media.connectionAddress;
    if (address !== undefined && !isHoldAddress(address)) {
      // Port 0: the m= port is where the sender would *receive*; a sendonly fork often sends from
      // another port, so only the address is pinned and the port is latched from the traffic.
      this.#options.media.setExpectedSource(leg.streamId, {
        address,
        port: 0,
        ...(moved ? { relearn: true } : {}),
      });
    }
    const events = findTelephoneEvent(media);
    this.#options.media.setTelephoneEvent?.(leg.streamId, events?.payloadType, events?.clockRateHz);
  }

  #dialogDelegate(binding: DialogBinding, log: Logger): DialogDelegate {
    return {
      onAck: (ack) => {
        this.#onAck(binding.session, binding.legs, ack, log);
      },
      onAckTimeout: () => {
        log.warn({ sessionId: binding.session.sessionId }, 'no ACK for our 200 OK: the leg is gone');
        this.#endLegs(binding.session, binding.legs, 'no ACK received for the 200 OK');
      },
      onBye: (bye) => {
        log.info({ sessionId: binding.session.sessionId }, 'BYE received');
        if (binding.session.controllerType === 'SIPREC' && bye.body.length > 0) {
          // CUBE and Twilio-style SRCs put the final metadata (disassociations, end time) on the
          // BYE (intake-samples §6 quirk 23); it is applied before the tracks end.
          const body = this.#readInDialogBody(bye, log);
          if (body !== 'unreadable' && body.metadata !== undefined) {
            this.#applySiprecMetadata(binding.session, binding.legs, body.metadata, log);
          }
        }
        this.#endLegs(binding.session, binding.legs, undefined, BYE_DRAIN_MS);
      },
      onRequest: (request, respond) => {
        this.#onInDialogRequest(binding, request, respond, log);
      },
    };
  }

  /**
   * The body of an in-dialog request: an SDP offer and/or SIPREC metadata. Other bodies (INFO
   * payloads, …) carry nothing for the recorder and read as empty; 'unreadable' is a multipart or
   * metadata body that is malformed.
   */
  #readInDialogBody(
    request: SipRequest,
    log: Logger,
  ): { offer?: SessionDescription; metadata?: RecordingMetadata; sdpError?: string } | 'unreadable' {
    if (request.body.length === 0) {
      return {};
    }
    const contentType = getHeader(request, 'Content-Type') ?? '';
    const siprec = readSiprecBody(contentType, request.body);
    if (!siprec.ok) {
      this.#counters.siprecBodyErrors++;
      log.warn({ error: siprec.error, method: request.method }, 'in-dialog SIPREC body unreadable');
      return 'unreadable';
    }
    let sdpText: string | undefined;
    if (siprec.value === undefined) {
      const mediaType = contentType.split(';')[0]?.trim().toLowerCase();
      sdpText = mediaType === 'application/sdp' ? decodeUtf8(request.body) : undefined;
    } else {
      sdpText = siprec.value.sdp;
    }
    const metadata = siprec.value?.metadata;
    if (sdpText === undefined) {
      return metadata === undefined ? {} : { metadata };
    }
    const offer = parseSdp(sdpText);
    if (!offer.ok) {
      return { ...(metadata === undefined ? {} : { metadata }), sdpError: offer.error.message };
    }
    return { offer: offer.value, ...(metadata === undefined ? {} : { metadata }) };
  }

  /**
   * A re-INVITE or UPDATE inside a recording dialog: participant changes (CUBE headers, CUCM From
   * parameters, SIPREC metadata), hold and resume (TrackInactive / TrackActive, SIPREC Pause /
   * Resume tags), a codec change (a new session, as MediaSense did), or a session refresh. The
   * answer keeps the same ports, recvonly.
   */
  #onInDialogRequest(
    binding: DialogBinding,
    request: SipRequest,
    respond: (status: number, reason: string, body?: SipBody) => void,
    log: Logger,
  ): void {
    const { session, legs } = binding;
    if (request.method !== 'INVITE' && request.method !== 'UPDATE') {
      // INFO, MESSAGE, …: nothing for the recorder.
      respond(200, 'OK');
      return;
    }
    if (request.method === 'INVITE' && session.controllerType === 'Cisco-SIPGateway') {
      this.#updateCubeParticipants(session, legs, request, log);
    }
    if (session.controllerType === 'Cisco-CUCM') {
      this.#updateCucmParticipants(session, request, log);
    }
    const body = this.#readInDialogBody(request, log);
    if (body === 'unreadable') {
      respond(400, 'Bad Request');
      return;
    }
    if (body.metadata !== undefined && session.controllerType === 'SIPREC') {
      this.#applySiprecMetadata(session, legs, body.metadata, log);
    }
    if (body.sdpError !== undefined) {
      log.warn({ error: body.sdpError, method: request.method }, 'in-dialog SDP is malformed');
      respond(488, 'Not Acceptable Here', undefined);
      return;
    }
    const offer = body.offer;
    const first = legs[0];
    if (offer === undefined || first === undefined) {
      // A session refresh or a metadata-only UPDATE: a re-INVITE without offer gets our last SDP
      // again as the offer (RFC 3261 §14.2), an UPDATE without offer a plain 200 (RFC 3311 §5.2).
      respond(
        200,
        'OK',
        request.method === 'INVITE' && first !== undefined ? SDP_BODY(first.localSdp) : undefined,
      );
      return;
    }
    // CUBE and generic calls restart on a codec change; SIPREC streams just go on (RFC 7866 lets
    // the SRC renegotiate), and CUCM never re-offers another codec (it BYEs and re-INVITEs).
    const restartsOnCodecChange =
      session.controllerType === 'Cisco-SIPGateway' || session.controllerType === 'SIP';
    if (restartsOnCodecChange && this.#codecChanged(legs, offer)) {
      void this.#restartForCodecChange(binding, offer, respond, log);
      return;
    }
    // A re-offer may add streams: Oracle offers the caller's stream first and adds the callee's
    // once the call is answered (intake-samples §6 quirk 24). Each new line becomes a new track.
    const added = offer.media.filter(
      (m) => isRecordableLine(m) && !legs.some((leg) => leg.mediaIndex === m.index),
    );
    if (added.length > 0 && session.controllerType !== 'Cisco-CUCM') {
      this.#addLines(binding, added, log).then(
        () => {
          this.#answerReoffer(binding, offer, respond, log);
        },
        (error: unknown) => {
          log.error({ err: error }, 'no media port for the added streams');
          respond(503, 'Service Unavailable');
        },
      );
      return;
    }
    this.#answerReoffer(binding, offer, respond, log);
  }

  /** The rest of a re-offer: hold states and tags, SRTP rekeying, and the answer on the same ports. */
  #answerReoffer(
    binding: DialogBinding,
    offer: SessionDescription,
    respond: (status: number, reason: string, body?: SipBody) => void,
    log: Logger,
  ): void {
    const { session, legs } = binding;
    const now = this.#now();
    const tags = this.#applyLineStates(session, legs, offer, now);
    for (const tag of tags) {
      log.info(
        { sessionId: session.sessionId, tag: tag.tagName, track: tag.trackNumber },
        'media state changed',
      );
      this.#addTag(session, tag);
    }
    const origin = {
      sessionId: session.sessionId,
      sessionVersion: this.#sdpVersion++,
      address: this.#options.advertise,
    };
    for (const leg of legs) {
      this.#rekey(leg, offer.media[leg.mediaIndex], log);
    }
    const sdp = buildRecorderAnswer(
      origin,
      offer,
      new Map(legs.map((leg) => [leg.mediaIndex, leg.port])),
      answerCrypto(legs),
    );
    for (const leg of legs) {
      leg.localSdp = sdp;
    }
    respond(200, 'OK', SDP_BODY(sdp));
  }

  /** Opens a track for each line a re-offer added, on the same dialog and session. */
  async #addLines(binding: DialogBinding, lines: readonly SdpMedia[], log: Logger): Promise<void> {
    const { session } = binding;
    const now = this.#now();
    const dialog = binding.legs[0]?.dialog;
    for (const media of lines) {
      const trackNumber = freeTrackNumber(session, session.legs.size);
      session.reservedTracks.add(trackNumber);
      const streamId = `${session.sessionId}-${trackNumber}`;
      const srtp = srtpOf(media);
      let port: number;
      try {
        ({ port } = await this.#options.media.openStream({
          streamId,
          filePath: join(this.#options.mediaDir, this.#mediaPath(session, trackNumber)),
          ...(srtp === undefined ? {} : { srtp: srtpParams(srtp.remote) }),
        }));
      } finally {
        session.reservedTracks.delete(trackNumber);
      }
      const codec = chooseAudioCodec(media);
      const leg: Leg = {
        ...(srtp === undefined ? {} : { srtp }),
        ...(media.type === 'video' ? { video: true as const } : {}),
        ...(media.label === undefined ? {} : { label: media.label }),
        ...(dialog === undefined ? {} : { dialog }),
        ...(codec === undefined ? {} : { codecKey: codecKey(codec) }),
        trackNumber,
        streamId,
        startMs: now,
        mediaIndex: media.index,
        port,
        localSdp: '',
        codecKnown: codec !== undefined,
        inactive: false,
        ended: false,
        participants: [],
      };
      const legs = [...binding.legs, leg];
      leg.participants =
        session.siprecMetadata === undefined
          ? []
          : siprecParticipants(session.siprecMetadata, leg.label, legs.length - 1, legs.length, now);
      binding.legs = legs;
      session.legs.set(trackNumber, leg);
      this.#legsByStream.set(streamId, { session, leg });
      this.#followMedia(leg, media);
      const track = this.#trackOf(session, leg, codec);
      log.info(
        { sessionId: session.sessionId, track: trackNumber, port, label: leg.label },
        'stream added mid-call',
      );
      this.#enqueue(session, () => this.#options.repository.addTrack(session.sessionId, track));
    }
  }

  /**
   * A new offer on an SRTP line may carry a new key (RFC 4568 §7.1.4: a re-INVITE may rekey); the
   * stream then decrypts with it. Our own answer key stays the same, under the new offer's tag.
   */
  #rekey(leg: Leg, media: SdpMedia | undefined, log: Logger): void {
    if (leg.ended || leg.srtp === undefined || media === undefined || isWithoutMedia(media)) {
      return;
    }
    const next = chooseCrypto(media.crypto);
    if (!next.ok) {
      log.warn({ error: next.error, track: leg.trackNumber }, 're-offer without a usable SRTP key: key kept');
      return;
    }
    const previous = leg.srtp.remote;
    leg.srtp = { remote: next.value, local: leg.srtp.local };
    if (
      !sameBytes(previous.masterKey, next.value.masterKey) ||
      !sameBytes(previous.masterSalt, next.value.masterSalt)
    ) {
      this.#options.media.setSrtp?.(leg.streamId, srtpParams(next.value));
    }
  }

  /** True when a new offer records a line with another codec than the one being recorded. */
  #codecChanged(legs: readonly Leg[], offer: SessionDescription): boolean {
    return legs.some((leg) => {
      const media = offer.media[leg.mediaIndex];
      if (leg.ended || leg.codecKey === undefined || media === undefined || isWithoutMedia(media)) {
        return false;
      }
      const codec = chooseAudioCodec(media);
      return codec !== undefined && codecKey(codec) !== leg.codecKey;
    });
  }

  /**
   * A re-INVITE that changes the codec ends the session and starts a new one on the same dialog,
   * with the same ccid and participants (MediaSense did the same: a session has one codec per
   * track). The new tracks get new ports in the answer; the old ones drain and close.
   */
  async #restartForCodecChange(
    binding: DialogBinding,
    offer: SessionDescription,
    respond: (status: number, reason: string, body?: SipBody) => void,
    log: Logger,
  ): Promise<void> {
    const previous = binding.session;
    const previousLegs = binding.legs;
    const now = this.#now();
    this.#counters.codecChanges++;
    const session = this.#newSession(
      previous.controllerType,
      previous.controllerIp,
      previous.ccid,
      previousLegs.length,
      now,
    );
    if (previous.sipSessionId !== undefined) {
      session.sipSessionId = previous.sipSessionId;
    }
    if (previous.correlation !== undefined) {
      session.correlation = previous.correlation;
    }
    const opened: Leg[] = [];
    try {
      for (const [trackNumber, old] of previousLegs.entries()) {
        const streamId = `${session.sessionId}-${trackNumber}`;
        session.reservedTracks.add(trackNumber);
        const srtp = srtpOf(offer.media[old.mediaIndex]);
        const { port } = await this.#options.media.openStream({
          streamId,
          filePath: join(this.#options.mediaDir, this.#mediaPath(session, trackNumber)),
          ...(srtp === undefined ? {} : { srtp: srtpParams(srtp.remote) }),
        });
        opened.push({
          ...(srtp === undefined ? {} : { srtp }),
          ...(old.video === true ? { video: true as const } : {}),
          trackNumber,
          streamId,
          startMs: now,
          mediaIndex: old.mediaIndex,
          port,
          localSdp: '',
          codecKnown: false,
          inactive: false,
          ended: false,
          participants: old.participants
            .filter((p) => p.participantDuration === undefined)
            .map((p) => ({ ...p, participantStartDate: now })),
          ...(old.label === undefined ? {} : { label: old.label }),
        });
      }
    } catch (error) {
      log.error({ err: error }, 'no media port for the new session after a codec change');
      await this.#abandon(session, opened, [...session.reservedTracks]);
      respond(503, 'Service Unavailable');
      return;
    }
    const sdp = buildRecorderAnswer(
      { sessionId: session.sessionId, sessionVersion: this.#sdpVersion++, address: this.#options.advertise },
      offer,
      new Map(opened.map((leg) => [leg.mediaIndex, leg.port])),
      answerCrypto(opened),
    );
    const dialog = previousLegs[0]?.dialog;
    const tracks: Track[] = [];
    for (const leg of opened) {
      leg.localSdp = sdp;
      if (dialog !== undefined) {
        leg.dialog = dialog;
      }
      session.legs.set(leg.trackNumber, leg);
      session.reservedTracks.delete(leg.trackNumber);
      this.#legsByStream.set(leg.streamId, { session, leg });
      const media = offer.media[leg.mediaIndex];
      const codec = media === undefined ? undefined : chooseAudioCodec(media);
      if (media !== undefined && codec !== undefined) {
        leg.codecKnown = true;
        leg.codecKey = codecKey(codec);
        this.#followMedia(leg, media);
      }
      tracks.push(this.#trackOf(session, leg, codec));
    }
    binding.session = session;
    binding.legs = opened;
    respond(200, 'OK', SDP_BODY(sdp));
    log.info(
      {
        previousSessionId: previous.sessionId,
        sessionId: session.sessionId,
        codecs: tracks.map((t) => t.codec),
      },
      'codec changed mid-call: new session started',
    );
    this.#endLegs(previous, previousLegs, undefined, BYE_DRAIN_MS);
    this.#createSession(session, tracks, []);
  }

  #trackOf(session: LiveSession, leg: Leg, codec: MediaCodec | undefined): Track {
    return {
      trackNumber: leg.trackNumber,
      trackMediaType: leg.video === true ? 'VIDEO' : 'AUDIO',
      codec: codec?.encodingName ?? '',
      payloadType: codec?.payloadType ?? -1,
      clockRateHz: codec?.clockRateHz ?? 8000,
      trackStartDate: leg.startMs,
      mediaPath: this.#mediaPath(session, leg.trackNumber),
      participants: leg.participants,
      tags: [],
      stats: EMPTY_TRACK_STATS,
    };
  }

  /**
   * Applies a new offer's line states to the legs and returns the tags of what changed. A line
   * without media (inactive, recvonly from the sender, c=0.0.0.0, port 0: the three hold
   * encodings of intake-samples §6 quirk 8) is on hold. SIPREC marks a pause of the whole
   * recording (every stream without media) with Pause / Resume; CUBE and other sources mark each
   * track with TrackInactive / TrackActive. Offsets count from the session start.
   */
  #applyLineStates(
    session: LiveSession,
    legs: readonly Leg[],
    offer: SessionDescription,
    now: number,
  ): Tag[] {
    const before = legs.map((leg) => leg.inactive);
    for (const leg of legs) {
      const media = offer.media[leg.mediaIndex];
      if (leg.ended || media === undefined) {
        continue;
      }
      const wasInactive = leg.inactive;
      leg.inactive = isWithoutMedia(media);
      if (!leg.inactive) {
        this.#followMedia(leg, media);
      }
      if (wasInactive && !leg.inactive) {
        this.#options.media.rearmTimeout?.(leg.streamId);
      }
    }
    return this.#holdTransitions(session, legs, now, before);
  }

  #holdTransitions(
    session: LiveSession,
    legs: readonly Leg[],
    now: number,
    before: readonly boolean[] = legs.map(() => false),
  ): Tag[] {
    const tag = (tagName: string, trackNumber?: number): Tag => ({
      tagName,
      tagType: 'SYSTEM_DEFINED',
      tagCreateDate: now,
      tagOffset: Math.max(0, now - session.startMs),
      ...(trackNumber === undefined ? {} : { trackNumber }),
    });
    if (session.controllerType === 'SIPREC') {
      const open = legs.filter((leg) => !leg.ended);
      const paused = open.length > 0 && open.every((leg) => leg.inactive);
      if (paused === session.paused) {
        return [];
      }
      session.paused = paused;
      return [tag(paused ? 'Pause' : 'Resume')];
    }
    const tags: Tag[] = [];
    for (const [i, leg] of legs.entries()) {
      if (!leg.ended && leg.inactive !== before[i]) {
        tags.push(tag(leg.inactive ? 'TrackInactive' : 'TrackActive', leg.trackNumber));
      }
    }
    return tags;
  }

  /**
   * SIPREC metadata from a re-INVITE, UPDATE (also metadata-only, Avaya SBCE) or BYE: merged into
   * what is known (RFC 7865 partial updates), and each track's participants follow it: one who is
   * no longer a sender gets a duration, a new one starts now.
   */
  #applySiprecMetadata(
    session: LiveSession,
    legs: readonly Leg[],
    update: RecordingMetadata,
    log: Logger,
  ): void {
    const merged =
      session.siprecMetadata === undefined ? update : mergeMetadata(session.siprecMetadata, update);
    session.siprecMetadata = merged;
    const now = this.#now();
    for (const [i, leg] of legs.entries()) {
      if (leg.ended) {
        continue;
      }
      const wanted = siprecParticipants(merged, leg.label, i, legs.length, now);
      const changed = replaceChangedParticipants(leg, wanted, now);
      if (changed === undefined) {
        continue;
      }
      log.info(
        {
          sessionId: session.sessionId,
          track: leg.trackNumber,
          left: changed.left.map((p) => p.deviceRef),
          joined: changed.joined.map((p) => p.deviceRef),
        },
        'SIPREC participants changed',
      );
      const participants = leg.participants;
      this.#enqueue(session, () =>
        this.#options.repository.replaceParticipants(session.sessionId, leg.trackNumber, participants),
      );
    }
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
      const changed = replaceChangedParticipants(leg, wanted, now);
      if (changed === undefined) {
        continue;
      }
      log.info(
        {
          sessionId: session.sessionId,
          track: leg.trackNumber,
          left: changed.left.map((p) => p.deviceRef),
          joined: changed.joined.map((p) => p.deviceRef),
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
    this.#followMedia(leg, media);
    if (codec === undefined) {
      log.warn({ sessionId: session.sessionId }, 'ACK SDP names no codec');
      return;
    }
    leg.codecKnown = true;
    leg.codecKey = codecKey(codec);
    this.#enqueue(session, () =>
      this.#options.repository.updateTrack(session.sessionId, leg.trackNumber, {
        codec: codec.encodingName,
        payloadType: codec.payloadType,
        clockRateHz: codec.clockRateHz,
      }),
    );
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
      case 'dtmf': {
        // A key press is a system tag of the session naming its track, at its offset in the call.
        const tag: Tag = {
          tagName: `DTMF:${event.digit}`,
          tagType: 'SYSTEM_DEFINED',
          tagCreateDate: event.at,
          tagOffset: Math.max(0, event.at - session.startMs),
          trackNumber: leg.trackNumber,
        };
        this.#addTag(session, tag);
        return;
      }
      case 'media-timeout': {
        if (leg.inactive || session.paused) {
          // On hold the sender sends nothing by design; the timeout re-arms with the next packet.
          this.#log.debug({ sessionId: session.sessionId, track: leg.trackNumber }, 'no media while on hold');
          return;
        }
        if (leg.video === true) {
          // Video may stop or never start (camera off) while the voices go on: not a failure.
          this.#log.info({ sessionId: session.sessionId, track: leg.trackNumber }, 'no video received');
          return;
        }
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
        // A silent video line is not a failed recording (one-way video, camera off); a silent
        // audio line is: a voice is missing.
        if (stats.packets === 0 && leg.video !== true) {
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
      this.#options.events?.publish({
        eventType: 'SESSION_EVENT',
        eventAction: 'ENDED',
        sessionId: session.sessionId,
        at: this.#now(),
      });
      this.#log.info({ sessionId: session.sessionId, state, reason: session.errorReason }, 'session closed');
    });
  }

  /** Stores a new ACTIVE session with its first tracks, then announces it. */
  #createSession(session: LiveSession, tracks: readonly Track[], tags: readonly Tag[]): void {
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
      ...(session.correlation === undefined ? {} : { correlation: session.correlation }),
      tags,
      tracks,
    };
    this.#enqueue(session, async () => {
      await this.#options.repository.createSession(record);
      this.#options.events?.publish({
        eventType: 'SESSION_EVENT',
        eventAction: 'STARTED',
        sessionId: session.sessionId,
        at: this.#now(),
      });
    });
  }

  #addTag(session: LiveSession, tag: Tag): void {
    this.#enqueue(session, async () => {
      await this.#options.repository.addSessionTag(session.sessionId, tag);
      this.#options.events?.publish({
        eventType: 'TAG_EVENT',
        eventAction: 'ADDED',
        sessionId: session.sessionId,
        tag,
        at: this.#now(),
      });
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

interface LegSrtp {
  readonly remote: SdesCrypto;
  /** Our master key and salt, sent in the answer's a=crypto (we send nothing, but RFC 4568 §7.1.2 wants one). */
  readonly local: Uint8Array;
}

/**
 * A line Verbatim records: audio or video over RTP or SDES-keyed SRTP with a media format to
 * record (video is stored, not decoded: H.264 of CUBE video forks). SRTP
 * keyed by DTLS (UDP/TLS/RTP/SAVP) or with no usable a=crypto is not recordable.
 */
function isRecordableLine(media: SdpMedia): boolean {
  return (
    (media.type === 'audio' || media.type === 'video') &&
    media.port !== 0 &&
    isRtpProfile(media.protocol) &&
    chooseAudioCodec(media) !== undefined &&
    (!isSecureProfile(media.protocol) || chooseCrypto(media.crypto).ok)
  );
}

/** The SRTP keys of a line: the sender's from its a=crypto, and a fresh one of ours. */
function srtpOf(media: SdpMedia | undefined): LegSrtp | undefined {
  if (media === undefined || !isSecureProfile(media.protocol)) {
    return undefined;
  }
  const remote = chooseCrypto(media.crypto);
  return remote.ok
    ? { remote: remote.value, local: randomBytes(SRTP_MASTER_KEY_BYTES + SRTP_MASTER_SALT_BYTES) }
    : undefined;
}

function srtpParams(crypto: SdesCrypto): SrtpParams {
  return {
    suite: crypto.suite,
    masterKey: crypto.masterKey,
    masterSalt: crypto.masterSalt,
    ...(crypto.mki === undefined ? {} : { mki: crypto.mki }),
  };
}

function answerCrypto(legs: readonly Leg[]): Map<number, string> {
  const crypto = new Map<number, string>();
  for (const leg of legs) {
    if (leg.srtp !== undefined) {
      crypto.set(
        leg.mediaIndex,
        buildCryptoAttribute(leg.srtp.remote.tag, leg.srtp.remote.suite, leg.srtp.local),
      );
    }
  }
  return crypto;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** What a recording dialog is bound to; a codec change rebinds it to the new session. */
interface DialogBinding {
  session: LiveSession;
  legs: readonly Leg[];
}

/** An INVITE body: no offer (delayed offer), an SDP offer, and SIPREC metadata when it is SIPREC. */
interface InviteBody {
  readonly offer?: SessionDescription;
  readonly siprec?: RecordingMetadata;
}

/** Metadata of a SIPREC body that has none (a multipart with SDP alone is still SIPREC-shaped). */
const EMPTY_METADATA: RecordingMetadata = {
  sipSessionIds: [],
  participants: [],
  streams: [],
  correlation: {},
  streamMapping: 'document-order',
};

/** Vendor ids taken from SIPREC metadata at most (the parser caps them too; a row stays small). */
const MAX_CORRELATION_IDS = 16;

/**
 * The controller's identifiers of a call, as sent: the RFC 7989 Session-ID header, and for
 * SIPREC the recording session and group ids, the recorded call's Session-ID and the vendor ids
 * of the metadata (Avaya UCID, Ribbon GCID, BroadWorks extTrackingID, …).
 */
function callCorrelation(
  sipSessionId: string | undefined,
  metadata: RecordingMetadata | undefined,
): Record<string, string> | undefined {
  const ids: Record<string, string> = {};
  if (sipSessionId !== undefined) {
    ids.sipSessionId = sipSessionId;
  }
  if (metadata !== undefined) {
    if (metadata.sessionId !== undefined) {
      ids.siprecSessionId = metadata.sessionId;
    }
    if (metadata.groupId !== undefined) {
      ids.siprecGroupId = metadata.groupId;
    }
    const [recordedCall] = metadata.sipSessionIds;
    if (recordedCall !== undefined) {
      ids.sipSessionID = recordedCall;
    }
    let vendorIds = 0;
    for (const [name, value] of Object.entries(metadata.correlation)) {
      if (vendorIds >= MAX_CORRELATION_IDS) {
        break;
      }
      if (!(name in ids)) {
        ids[name] = value;
        vendorIds++;
      }
    }
  }
  return Object.keys(ids).length === 0 ? undefined : ids;
}

/** No media on this line: the three hold encodings of intake-samples §6 quirk 8, or a refused line. */
function isWithoutMedia(media: SdpMedia): boolean {
  return (
    media.port === 0 ||
    media.direction === 'inactive' ||
    media.direction === 'recvonly' ||
    isHoldAddress(media.connectionAddress)
  );
}

function codecKey(codec: MediaCodec): string {
  return `${codec.encodingName}/${codec.clockRateHz}`;
}

/**
 * Moves a leg's participants to `wanted`: those no longer wanted get their duration now, new ones
 * are added (they start now). Undefined when nothing changed. Participants are compared by xRefCi,
 * else by deviceRef and deviceId.
 */
function replaceChangedParticipants(
  leg: Leg,
  wanted: readonly Participant[],
  now: number,
): { left: Participant[]; joined: Participant[] } | undefined {
  const identity = (p: Participant): string => p.xRefCi ?? `${p.deviceRef}|${p.deviceId ?? ''}`;
  const current = leg.participants.filter((p) => p.participantDuration === undefined);
  const wantedById = new Map(wanted.map((p) => [identity(p), p]));
  const currentIds = new Set(current.map(identity));
  const left = current.filter((p) => !wantedById.has(identity(p)));
  const joined = wanted.filter((p) => !currentIds.has(identity(p)));
  // A participant who stays may have been renamed (SIPREC metadata can add or change <name>).
  const renamed = current.filter((p) => {
    const next = wantedById.get(identity(p));
    return next !== undefined && next.name !== p.name;
  });
  if (left.length === 0 && joined.length === 0 && renamed.length === 0) {
    return undefined;
  }
  leg.participants = [
    ...leg.participants.map((p): Participant => {
      if (left.includes(p)) {
        return { ...p, participantDuration: Math.max(0, now - p.participantStartDate) };
      }
      if (!renamed.includes(p)) {
        return p;
      }
      const name = wantedById.get(identity(p))?.name;
      return {
        deviceRef: p.deviceRef,
        ...(p.deviceId === undefined ? {} : { deviceId: p.deviceId }),
        ...(p.xRefCi === undefined ? {} : { xRefCi: p.xRefCi }),
        ...(name === undefined ? {} : { name }),
        isConference: p.isConference,
        participantStartDate: p.participantStartDate,
      };
    }),
    ...joined,
  ];
  return { left, joined };
}
