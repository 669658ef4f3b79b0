import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';
import type { MediaEngine } from '../media/media-engine.js';
import type { EventSink } from '../model/events.js';
import { errorCodeOf } from '../model/storage-failure.js';
import type { Track } from '../model/session.js';
import { isUndecodableCodec } from '../protocol/codec/codec-support.js';
import type { SipHeader } from '../protocol/sip/message.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { OutboundConfig } from '../config/config.js';
import type { OutboundCaller } from '../sip/outbound-types.js';
import type { IncomingInvite, SipServerDelegate } from '../sip/types.js';
import type { HeadroomReason } from './admission.js';
import {
  AdmissionController,
  type AdmissionOptions,
  type AdmissionSnapshot,
  type CucmLegKey,
  type RefusalReason,
} from './admission-controller.js';
import { holdTransitions } from './hold-tags.js';
import { DialogHandler, SDP_BODY } from './in-dialog.js';
import { planInvite, type InvitePlan } from './invite-planner.js';
import { LegOpener } from './leg-opener.js';
import {
  freeTrackNumber,
  trackOf,
  zeroCounters,
  type DialogBinding,
  type LiveSession,
  type RecordingCounters,
} from './live-session.js';
import { OutboundRecorder } from './outbound-recording.js';
import { ParticipantUpdates } from './participant-updates.js';
import { pauseTag, RecordingControl, type ControlResult } from './recording-control.js';
import { SessionLifecycle } from './session-lifecycle.js';
import { SessionRegistry, type SessionObserver, type SessionWatch } from './session-registry.js';
import { SessionWriter } from './session-writer.js';
import { trackWriteFailureReason, WriteHealth, type WriteHealthStatus } from './write-health.js';

export type { RecordingCounters } from './live-session.js';
export type { AdmissionSnapshot } from './admission-controller.js';
export type { ControlRefusal, ControlResult } from './recording-control.js';
export type { WriteHealthStatus } from './write-health.js';

/**
 * The recording domain: turns INVITE dialogs into sessions of tracks (DESIGN.md §1.2).
 *
 * The SIP layer hands over trusted INVITEs; the media engine receives the RTP; this class
 * coordinates: the planner decides what an INVITE is, the node's state whether it is taken
 * (capacity, storage), the leg opener gets ports and builds the answer, the dialog handler takes
 * over once it is answered, the lifecycle ends legs and sessions, the writer keeps the database
 * and the event bus in step.
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
  /**
   * True when one more call would run the process out of file descriptors
   * (media/open-files-gate.ts): new calls then get 503.
   */
  readonly openFilesFull?: () => boolean;
  /**
   * Whether the node can write its tracks and database (write-health.ts): while it cannot, new
   * calls get 503. Absent: the service makes its own, probing `mediaDir`.
   */
  readonly writeHealth?: WriteHealth;
  /**
   * Admission control by the node's headroom (admission.ts): new calls get 503 before the calls in
   * progress would lose packets. Absent: off (only --max-sessions and storage refuse); app.ts
   * turns it on from the configuration.
   */
  readonly admission?: AdmissionOptions;
}

export class RecordingService implements SipServerDelegate {
  readonly #options: RecordingServiceOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #counters: RecordingCounters = zeroCounters();
  readonly #registry: SessionRegistry;
  readonly #writer: SessionWriter;
  readonly #opener: LegOpener;
  readonly #lifecycle: SessionLifecycle;
  readonly #participants: ParticipantUpdates;
  readonly #dialogs: DialogHandler;
  readonly #admission: AdmissionController;
  readonly #control: RecordingControl;
  readonly #health: WriteHealth;
  #outbound: OutboundRecorder | undefined;
  /** Malformed or unrecordable INVITEs: one warn line per kind a second (a peer may send many). */
  readonly #invalidLog: RateLimitedLog;
  #closed = false;

  constructor(options: RecordingServiceOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'recording' });
    this.#now = options.now ?? Date.now;
    this.#invalidLog = new RateLimitedLog(this.#log, {
      countField: 'refused',
      timer: { now: this.#now, setTimeout: (callback, ms) => setTimeout(callback, ms).unref() },
    });
    const { media } = options;
    const now = this.#now;
    const counters = this.#counters;
    this.#health =
      options.writeHealth ?? new WriteHealth({ mediaDir: options.mediaDir, log: this.#log, now });
    this.#registry = new SessionRegistry(options.newSessionId, (error) => {
      this.#log.error({ err: error }, 'a session observer threw');
    });
    this.#writer = new SessionWriter({
      repository: options.repository,
      events: options.events,
      nodeId: options.nodeId,
      log: this.#log,
      now,
      counters,
      mediaDir: options.mediaDir,
      health: this.#health,
    });
    this.#admission = new AdmissionController({
      options: options.admission ?? { enabled: false, maxLagMs: Infinity },
      mediaLoad: () => media.load?.(),
      pendingDatabaseWrites: () => this.#writer.pendingWrites,
      activeSessions: () => this.#registry.size,
      log: this.#log,
      now,
    });
    this.#opener = new LegOpener({ media, mediaDir: options.mediaDir, advertise: options.advertise });
    const registry = this.#registry;
    const writer = this.#writer;
    const opener = this.#opener;
    this.#lifecycle = new SessionLifecycle({ media, registry, writer, opener, log: this.#log, now });
    this.#participants = new ParticipantUpdates({ writer, counters, now, log: this.#log });
    this.#dialogs = new DialogHandler({
      media,
      opener,
      registry,
      writer,
      lifecycle: this.#lifecycle,
      participants: this.#participants,
      counters,
      now,
      advertise: options.advertise,
    });
    this.#control = new RecordingControl({
      registry,
      media,
      writer,
      repository: options.repository,
      log: this.#log,
      now,
    });
    media.onEvent((event) => {
      if (event.type === 'stream-error' && event.code !== undefined) {
        this.#health.noteFailure('media', trackWriteFailureReason(event.code));
      }
      this.#lifecycle.onMediaEvent(event);
    });
  }

  /**
   * pauseRecording: nothing the session's streams receive is stored until resumeRecording (PCI);
   * a `Pause` tag marks it. Resolves once every stream's media worker has stopped storing.
   */
  pauseRecording(sessionId: string): Promise<ControlResult> {
    return this.#control.pause(sessionId);
  }

  /** resumeRecording: the session's streams are stored again; a `Resume` tag marks it. */
  resumeRecording(sessionId: string): Promise<ControlResult> {
    return this.#control.resume(sessionId);
  }

  /**
   * Follows an ACTIVE session's legs (tracks and media streams) until it closes, for the live
   * feed; undefined when the session is not being recorded on this node. See SessionRegistry.watch.
   */
  watchSession(sessionId: string, observer: SessionObserver): SessionWatch | undefined {
    return this.#registry.watch(sessionId, observer);
  }

  get counters(): Readonly<RecordingCounters> {
    return { ...this.#counters };
  }

  get activeSessionCount(): number {
    return this.#registry.size;
  }

  /** Whether the node can write its tracks and database now, and what failed (for /metrics and the API). */
  writeHealth(): WriteHealthStatus {
    return this.#health.status();
  }

  /** The admission state, its latest signals and the refusals by reason (for /metrics). */
  admission(): AdmissionSnapshot {
    return this.#admission.snapshot();
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
      this.#refuseNew(invite, 'shutdown', SHUTDOWN_RETRY_AFTER_S);
      return;
    }
    const now = this.#now();
    const planning = planInvite(invite, { advertise: this.#options.advertise, now });
    if (!planning.ok) {
      const { refusal } = planning;
      this.#counters.rejected++;
      if (refusal.siprecBodyError) {
        this.#counters.siprecBodyErrors++;
      }
      this.#admission.noteRefusal('invalid-request', { message: refusal.log.message });
      const fields = { callId: invite.callId, ...refusal.log.fields };
      this.#invalidLog.note(refusal.log.message, refusal.log.message, fields, now);
      this.#refuse(invite, refusal.status, refusal.reasonPhrase, refusal.why, refusal.headers);
      return;
    }
    const { plan } = planning;
    this.#participants.noteDroppedCubeParticipants(plan.cubeParticipantsDropped, log);

    // Find or create the session synchronously, so two INVITEs of one CUCM call racing each other
    // land in the same session. A CUCM leg whose partner was accepted always joins its session,
    // whatever the load, so that session is not left with one track; one whose partner was
    // refused is refused too.
    const joined = plan.cucm === undefined ? undefined : this.#registry.cucmSession(plan.cucm.key);
    if (joined === undefined && this.#refusedNewCall(invite, plan)) {
      return;
    }
    const session = joined ?? this.#startSession(plan, now);
    const trackNumbers =
      plan.cucm === undefined
        ? plan.lines.map((_, i) => i)
        : [freeTrackNumber(session, plan.cucm.preferredTrack)];
    for (const n of trackNumbers) {
      session.reservedTracks.add(n);
    }

    const result = await this.#opener.open(
      session,
      plan.lines.map((line, i) => ({
        trackNumber: trackNumbers[i] ?? i,
        mediaIndex: line.mediaIndex,
        ...(line.media === undefined ? {} : { media: line.media }),
        video: line.media?.type === 'video',
        ...(line.media?.label === undefined ? {} : { label: line.media.label }),
        inactive: line.onHold,
        participants: line.participants,
        startMs: now,
      })),
    );
    if (!result.ok) {
      await this.#lifecycle.abandon(session, result.opened, trackNumbers);
      const error = result.error instanceof Error ? result.error.message : String(result.error);
      // The track file could not be created on a full or failing disk: the node cannot write.
      const diskCode = diskErrorCode(result.error);
      if (diskCode !== undefined) {
        this.#health.noteFailure('media', trackWriteFailureReason(diskCode));
        this.#refuseNew(invite, 'storage-unwritable', UNWRITABLE_RETRY_AFTER_S, cucmLegKey(plan), { error });
        return;
      }
      this.#refuseNew(invite, 'no-media-port', CAPACITY_RETRY_AFTER_S, cucmLegKey(plan), { error });
      return;
    }
    const opened = result.legs;
    if (invite.cancelled || this.#isClosed()) {
      this.#counters.cancelled++;
      log.info('INVITE cancelled before it was answered');
      await this.#lifecycle.abandon(session, opened, trackNumbers);
      if (!invite.cancelled) {
        this.#refuseNew(invite, 'shutdown', SHUTDOWN_RETRY_AFTER_S, cucmLegKey(plan));
      }
      return;
    }

    // Answer: our offer (delayed offer) or our answer (early offer), always recvonly.
    const sdp =
      plan.offer === undefined
        ? this.#opener.offer(session, opened[0])
        : this.#opener.answer(session, plan.offer, opened);
    for (const leg of opened) {
      leg.localSdp = sdp;
      this.#registry.attach(session, leg);
    }
    const binding: DialogBinding = { session, legs: opened };
    const dialog = invite.accept(SDP_BODY(sdp), this.#dialogs.delegate(binding, log));
    if (dialog === undefined) {
      // CANCEL won the race after all; nothing was answered.
      for (const leg of opened) {
        this.#registry.detach(session, leg);
      }
      await this.#lifecycle.abandon(session, opened, []);
      return;
    }
    for (const leg of opened) {
      leg.dialog = dialog;
    }

    // Early offer: the codec and the media source are known now.
    const tracks: Track[] = opened.map((leg) =>
      trackOf(session, leg, this.#opener.takeOfferedCodec(leg, plan.offer?.media[leg.mediaIndex])),
    );
    log.info(
      {
        sessionId: session.sessionId,
        tracks: opened.map((l) => ({ track: l.trackNumber, port: l.port })),
        ...(session.sipSessionId === undefined ? {} : { sipSessionId: session.sipSessionId }),
      },
      recordingMessage(plan),
    );

    // A line may be on hold from the start (CUBE SIPREC sends a=inactive while the call is held).
    const initialTags = holdTransitions(session, opened, now);
    this.#flagUndecodable(session, tracks, now, log);
    if (!session.persisted) {
      // Paused from its start (a paused CUCM call resumed from hold): a Pause tag at offset 0.
      const pause = session.pausedByApi ? [pauseTag(session, 'Pause', session.startMs)] : [];
      this.#writer.create(session, tracks, [...pause, ...initialTags]);
    } else {
      for (const track of tracks) {
        this.#writer.addTrack(session, track);
      }
      for (const tag of initialTags) {
        this.#writer.addTag(session, tag);
      }
    }
  }

  /**
   * Refuses an INVITE that would start a new session when the node cannot take it, in this order:
   * the partner of a refused CUCM leg; --max-sessions (past capacity the calls being recorded keep
   * their quality and the controller tries the next recorder, RFC 3261 §21.5.4: 503 with
   * Retry-After); the media disk critically full (nothing could be stored durably, DESIGN.md §1.2);
   * no headroom (admission.ts). True when it was refused.
   */
  #refusedNewCall(invite: IncomingInvite, plan: InvitePlan): boolean {
    const cucm = cucmLegKey(plan);
    const partner = cucm === undefined ? undefined : this.#admission.refusedPartner(cucm);
    if (partner !== undefined) {
      this.#refuseNew(invite, 'partner-refused', partner.retryAfterSeconds);
      return true;
    }
    if (this.#registry.size >= (this.#options.maxSessions ?? Infinity)) {
      this.#counters.overloaded++;
      this.#refuseNew(invite, 'max-sessions', CAPACITY_RETRY_AFTER_S, cucm);
      return true;
    }
    if (this.#options.storageCritical?.() === true) {
      this.#counters.storageRefused++;
      this.#refuseNew(invite, 'storage-critical', STORAGE_RETRY_AFTER_S, cucm);
      return true;
    }
    if (!this.#health.writable) {
      this.#refuseNew(invite, 'storage-unwritable', UNWRITABLE_RETRY_AFTER_S, cucm, {
        failing: this.#health.status().failing,
      });
      return true;
    }
    if (this.#options.openFilesFull?.() === true) {
      this.#refuseNew(invite, 'open-files', CAPACITY_RETRY_AFTER_S, cucm);
      return true;
    }
    const verdict = this.#admission.admit();
    if (!verdict.admit) {
      this.#refuseNew(invite, verdict.reason, verdict.retryAfterSeconds, cucm);
      return true;
    }
    return false;
  }

  /** A 503 with Retry-After for a call the node does not take: counted, logged (rate-limited), published. */
  #refuseNew(
    invite: IncomingInvite,
    reason: Exclude<RefusalReason, 'invalid-request'>,
    retryAfterSeconds: number,
    cucm?: CucmLegKey,
    fields?: Readonly<Record<string, unknown>>,
  ): void {
    const why = refusalText(reason);
    this.#admission.noteRefusal(reason, {
      message: `${why}: INVITE refused with 503`,
      retryAfterSeconds,
      ...(cucm === undefined ? {} : { cucm }),
      fields: { callId: invite.callId, activeSessions: this.#registry.size, ...fields },
    });
    this.#refuse(invite, 503, 'Service Unavailable', why, retryAfter(retryAfterSeconds));
  }

  #startSession(plan: InvitePlan, now: number): LiveSession {
    const session = this.#registry.create({
      controllerType: plan.controllerType,
      controllerIp: plan.controllerIp,
      ccid: plan.ccid,
      expectedLegs: plan.expectedLegs,
      startMs: now,
      ...(plan.cucm === undefined ? {} : { cucmKey: plan.cucm.key }),
    });
    if (plan.sipSessionId !== undefined) {
      session.sipSessionId = plan.sipSessionId;
    }
    if (plan.siprecMetadata !== undefined) {
      session.siprecMetadata = plan.siprecMetadata;
    }
    if (plan.correlation !== undefined) {
      session.correlation = plan.correlation;
    }
    // A CUCM call paused through the API and then held goes on, paused, in this new session.
    session.pausedByApi = plan.cucm !== undefined && this.#registry.takePausedCall(plan.cucm.key, now);
    return session;
  }

  /** A codec no export decodes is recorded raw; the session says so, in the log and an event. */
  #flagUndecodable(session: LiveSession, tracks: readonly Track[], now: number, log: Logger): void {
    const undecodable = tracks.filter(
      (t) => t.trackMediaType === 'AUDIO' && isUndecodableCodec(t.codec, t.clockRateHz),
    );
    if (undecodable.length === 0) {
      return;
    }
    log.warn(
      {
        sessionId: session.sessionId,
        tracks: undecodable.map((t) => ({ track: t.trackNumber, codec: `${t.codec}/${t.clockRateHz}` })),
      },
      'codec not decodable: recorded raw, session flagged undecodable',
    );
    this.#writer.publish({
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

  /** Refuses an INVITE and publishes why (the controller sees the status, operators the event). */
  #refuse(
    invite: IncomingInvite,
    status: number,
    reasonPhrase: string,
    why: string,
    headers: readonly SipHeader[],
  ): void {
    invite.reject(status, reasonPhrase, headers);
    this.#writer.publish({
      eventType: 'RECORDING_EVENT',
      eventAction: 'REJECTED',
      callId: invite.callId,
      controllerIp: invite.source.address,
      sipStatus: status,
      reason: why,
      at: this.#now(),
    });
  }

  /** A method, not the field, so TypeScript does not carry a narrowing of it across awaits. */
  #isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Direct outbound recording (outbound-recording.ts) over the SIP server's client side; built
   * once the SIP server exists, which is built after this service (it is the server's delegate).
   */
  outboundRecorder(caller: OutboundCaller, config: OutboundConfig | undefined): OutboundRecorder {
    this.#outbound ??= new OutboundRecorder({
      caller,
      config,
      registry: this.#registry,
      writer: this.#writer,
      opener: this.#opener,
      lifecycle: this.#lifecycle,
      dialogs: this.#dialogs,
      log: this.#log.child({ component: 'outbound' }),
      now: this.#now,
      advertise: this.#options.advertise,
      refusal: () => {
        if (this.#closed) {
          return 'shutting down';
        }
        if (this.#registry.size >= (this.#options.maxSessions ?? Infinity)) {
          return 'at --max-sessions capacity';
        }
        if (!this.#health.writable) {
          return refusalText('storage-unwritable');
        }
        return this.#options.storageCritical?.() === true ? 'storage critically full' : undefined;
      },
    });
    return this.#outbound;
  }

  /** Waits until every queued database write has been attempted (tests and shutdown). */
  async settled(): Promise<void> {
    await this.#writer.settled(this.#registry.all());
  }

  /**
   * Ends every recording in progress as on shutdown (BYE every open leg, flush and close every
   * track, the session CLOSED_ERROR with `reason`, ENDED published), while the node stays up: the
   * storage agent's emergency in retention-priority mode (storage/retention.ts). Answers how many
   * sessions it ended, once their closing writes were attempted.
   */
  async endAllRecordings(reason: string): Promise<number> {
    const sessions = this.#registry.all();
    for (const session of sessions) {
      this.#lifecycle.failSession(session, reason);
    }
    await this.#writer.settled(sessions);
    return sessions.length;
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
    this.#outbound?.close();
    this.#admission.close();
    this.#health.close();
    this.#invalidLog.flush(this.#now(), true);
    this.#participants.flushLog();
    const sessions = this.#registry.all();
    for (const session of sessions) {
      this.#lifecycle.failSession(session, 'recorder shut down');
    }
    // A write still failing for the disk is retried for a while, then left to recovery.
    const retrying = setTimeout(() => {
      this.#writer.stop();
    }, SHUTDOWN_WRITE_RETRY_MS);
    await this.#writer.settled(sessions);
    clearTimeout(retrying);
    this.#writer.stop();
  }
}

const SHUTDOWN_RETRY_AFTER_S = 30;
/**
 * How long shutdown keeps retrying writes that fail for the disk before it leaves them to recovery
 * (recovery.ts closes an ACTIVE session from its files at the next start).
 */
const SHUTDOWN_WRITE_RETRY_MS = 10_000;
/** The disk could not be written: the probe retries every second, space may take longer. */
const UNWRITABLE_RETRY_AFTER_S = 30;
/** --max-sessions and an exhausted RTP port range: a call ending frees a place. */
const CAPACITY_RETRY_AFTER_S = 5;
const STORAGE_RETRY_AFTER_S = 60;

const HEADROOM_TEXT: Record<HeadroomReason, string> = {
  'media-lag': 'media workers lagging',
  'event-loop-delay': 'main event loop delayed',
  'kernel-drops': 'kernel dropping received packets',
  'database-writes': 'database writes backed up',
  'media-writes': 'track writes backed up',
  memory: 'memory near its limit',
};

/** The refusal's reason as the event and the log line say it (the storage e2e test reads it). */
function refusalText(reason: Exclude<RefusalReason, 'invalid-request'>): string {
  switch (reason) {
    case 'shutdown':
      return 'recorder shutting down';
    case 'max-sessions':
      return 'at --max-sessions capacity';
    case 'storage-critical':
      return 'storage critically full';
    case 'open-files':
      return 'too few file descriptors left for another call (open-file limit)';
    case 'storage-unwritable':
      return 'storage cannot be written (disk full or I/O error)';
    case 'no-media-port':
      return 'no free media port';
    case 'partner-refused':
      return 'other leg of this CUCM call refused';
    case 'ramp-limit':
      return 'node ramping up under load (ramp-limit)';
    case 'media-lag':
    case 'event-loop-delay':
    case 'kernel-drops':
    case 'database-writes':
    case 'media-writes':
    case 'memory':
      return `no headroom: ${HEADROOM_TEXT[reason]} (${reason})`;
  }
}

/** The errno code of a disk failure behind a media error (its cause), if that is what it is. */
function diskErrorCode(error: unknown): string | undefined {
  const code = errorCodeOf(error instanceof Error ? error.cause : undefined);
  return code !== undefined && ['ENOSPC', 'EDQUOT', 'EIO', 'EROFS'].includes(code) ? code : undefined;
}

function cucmLegKey(plan: InvitePlan): CucmLegKey | undefined {
  return plan.cucm === undefined ? undefined : { key: plan.cucm.key, leg: plan.cucm.leg.stream };
}

function retryAfter(seconds: number): SipHeader[] {
  return [{ name: 'Retry-After', value: String(seconds) }];
}

function recordingMessage(plan: InvitePlan): string {
  if (plan.cucm !== undefined) {
    return `recording CUCM ${plan.cucm.leg.stream}-end leg`;
  }
  switch (plan.flavour) {
    case 'CUCM':
      return 'recording CUCM leg';
    case 'CUBE':
      return 'recording CUBE forked call';
    case 'SIPREC':
      return 'recording SIPREC session';
    case 'generic':
      return 'recording call';
  }
}
