import type { Logger } from 'pino';
import type { MediaEngine } from '../media/media-engine.js';
import type { Tag, Track } from '../model/session.js';
import { chooseAudioCodec, parseSdp, type SdpMedia, type SessionDescription } from '../protocol/sdp/sdp.js';
import { chooseCrypto } from '../protocol/sdp/sdes.js';
import type { SipHeader, SipRequest } from '../protocol/sip/message.js';
import { decodeUtf8 } from '../protocol/text.js';
import type { DialogDelegate, SipBody } from '../sip/types.js';
import { holdTransitions } from './hold-tags.js';
import { tooManyMediaLines, warning } from './invite-planner.js';
import { srtpParams, type LegOpener } from './leg-opener.js';
import {
  freeTrackNumber,
  trackOf,
  type DialogBinding,
  type Leg,
  type LiveSession,
  type RecordingCounters,
} from './live-session.js';
import type { ParticipantUpdates } from './participant-updates.js';
import { pauseTag } from './recording-control.js';
import { readInDialogBody, type InDialogBody } from './request-body.js';
import { codecKey, isRecordableLine, isWithoutMedia } from './sdp-lines.js';
import { BYE_DRAIN_MS, type SessionLifecycle } from './session-lifecycle.js';
import type { SessionRegistry } from './session-registry.js';
import type { SessionWriter } from './session-writer.js';
import { siprecParticipants } from './siprec-intake.js';

type Respond = (status: number, reason: string, body?: SipBody, headers?: readonly SipHeader[]) => void;

export const SDP_BODY = (content: string): SipBody => ({ contentType: 'application/sdp', content });

interface DialogHandlerDeps {
  readonly media: MediaEngine;
  readonly opener: LegOpener;
  readonly registry: SessionRegistry;
  readonly writer: SessionWriter;
  readonly lifecycle: SessionLifecycle;
  readonly participants: ParticipantUpdates;
  readonly counters: RecordingCounters;
  readonly now: () => number;
  /** Our address, named in Warning headers. */
  readonly advertise: string;
}

/**
 * Everything that happens inside a recording dialog once it is answered: the ACK (a delayed
 * offer's answer), BYE, and re-INVITEs and UPDATEs: re-offers answered recvonly on the same
 * ports, hold and resume tags, a codec change (a new session on the same dialog), SRTP rekeying,
 * streams added mid-call, and participant changes.
 */
export class DialogHandler {
  readonly #deps: DialogHandlerDeps;

  constructor(deps: DialogHandlerDeps) {
    this.#deps = deps;
  }

  /** The SIP layer's delegate for a dialog we answered. */
  delegate(binding: DialogBinding, log: Logger): DialogDelegate {
    return {
      onAck: (ack) => {
        this.#onAck(binding.session, binding.legs, ack, log);
      },
      onAckTimeout: () => {
        log.warn({ sessionId: binding.session.sessionId }, 'no ACK for our 200 OK: the leg is gone');
        this.#deps.lifecycle.endLegs(binding.session, binding.legs, 'no ACK received for the 200 OK');
      },
      onBye: (bye) => {
        log.info({ sessionId: binding.session.sessionId }, 'BYE received');
        if (binding.session.controllerType === 'SIPREC' && bye.body.length > 0) {
          // CUBE and Twilio-style SRCs put the final metadata (disassociations, end time) on the
          // BYE (intake-samples §6 quirk 23); it is applied before the tracks end.
          const body = this.#readBody(bye, log);
          if (body !== undefined && body.metadata !== undefined) {
            this.#deps.participants.fromSiprecMetadata(binding.session, binding.legs, body.metadata, log);
          }
        }
        this.#deps.lifecycle.endLegs(binding.session, binding.legs, undefined, BYE_DRAIN_MS);
      },
      onRequest: (request, respond) => {
        this.#onRequest(binding, request, respond, log);
      },
    };
  }

  /** The body of an in-dialog request; undefined (counted and logged) when it is unreadable. */
  #readBody(request: SipRequest, log: Logger): InDialogBody | undefined {
    const body = readInDialogBody(request);
    if (!body.ok) {
      this.#deps.counters.siprecBodyErrors++;
      log.warn({ error: body.error, method: request.method }, 'in-dialog SIPREC body unreadable');
      return undefined;
    }
    return body.value;
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
    this.#deps.opener.followMedia(leg, media);
    if (codec === undefined) {
      log.warn({ sessionId: session.sessionId }, 'ACK SDP names no codec');
      return;
    }
    leg.codecKnown = true;
    leg.codecKey = codecKey(codec);
    this.#deps.writer.setCodec(session, leg.trackNumber, codec);
  }

  /**
   * A re-INVITE or UPDATE inside a recording dialog: participant changes (CUBE headers, CUCM From
   * parameters, SIPREC metadata), hold and resume (TrackInactive / TrackActive, SIPREC Pause /
   * Resume tags), a codec change (a new session, as MediaSense did), or a session refresh. The
   * answer keeps the same ports, recvonly.
   */
  #onRequest(binding: DialogBinding, request: SipRequest, respond: Respond, log: Logger): void {
    const { session, legs } = binding;
    if (request.method !== 'INVITE' && request.method !== 'UPDATE') {
      // INFO, MESSAGE, …: nothing for the recorder.
      respond(200, 'OK');
      return;
    }
    if (request.method === 'INVITE' && session.controllerType === 'Cisco-SIPGateway') {
      this.#deps.participants.fromCubeReinvite(session, legs, request, log);
    }
    if (session.controllerType === 'Cisco-CUCM') {
      this.#deps.participants.fromCucmUpdate(session, request, log);
    }
    const body = this.#readBody(request, log);
    if (body === undefined) {
      respond(400, 'Bad Request');
      return;
    }
    if (body.metadata !== undefined && session.controllerType === 'SIPREC') {
      this.#deps.participants.fromSiprecMetadata(session, legs, body.metadata, log);
    }
    if (body.sdpError !== undefined) {
      log.warn({ error: body.sdpError, method: request.method }, 'in-dialog SDP is malformed');
      respond(488, 'Not Acceptable Here', undefined);
      return;
    }
    const offer = body.offer;
    const overLimit = offer === undefined ? undefined : tooManyMediaLines(offer);
    if (overLimit !== undefined) {
      // Before any stream is added: the session keeps what it records (invite-planner.ts).
      this.#deps.counters.rejected++;
      log.warn(
        { mediaLines: offer?.media.length, method: request.method },
        're-offer with too many media lines',
      );
      respond(488, 'Not Acceptable Here', undefined, [warning(this.#deps.advertise, overLimit)]);
      return;
    }
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
    if (restartsOnCodecChange && codecChanged(legs, offer)) {
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
          // An exhausted port range is the node at capacity, not a fault: no stack.
          log.warn(
            { error: error instanceof Error ? error.message : String(error) },
            'no media port for the added streams',
          );
          respond(503, 'Service Unavailable');
        },
      );
      return;
    }
    this.#answerReoffer(binding, offer, respond, log);
  }

  /** The rest of a re-offer: hold states and tags, SRTP rekeying, and the answer on the same ports. */
  #answerReoffer(binding: DialogBinding, offer: SessionDescription, respond: Respond, log: Logger): void {
    const { session, legs } = binding;
    const tags = this.#applyLineStates(session, legs, offer, this.#deps.now());
    for (const tag of tags) {
      log.info(
        { sessionId: session.sessionId, tag: tag.tagName, track: tag.trackNumber },
        'media state changed',
      );
      this.#deps.writer.addTag(session, tag);
    }
    for (const leg of legs) {
      this.#rekey(leg, offer.media[leg.mediaIndex], log);
    }
    const sdp = this.#deps.opener.answer(session, offer, legs);
    for (const leg of legs) {
      leg.localSdp = sdp;
    }
    respond(200, 'OK', SDP_BODY(sdp));
  }

  /**
   * Applies a new offer's line states to the legs and returns the tags of what changed. A line
   * without media (inactive, recvonly from the sender, c=0.0.0.0, port 0: the three hold
   * encodings of intake-samples §6 quirk 8) is on hold; a line that resumes must send again
   * within the media timeout.
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
        this.#deps.opener.followMedia(leg, media);
      }
      if (wasInactive && !leg.inactive) {
        this.#deps.media.rearmTimeout?.(leg.streamId);
      }
      if (wasInactive !== leg.inactive) {
        // A hold's silence is expected: it is no gap in the recording's health.
        this.#deps.media.setHeld?.(leg.streamId, leg.inactive);
      }
    }
    return holdTransitions(session, legs, now, before);
  }

  /** Opens a track for each line a re-offer added, on the same dialog and session. */
  async #addLines(binding: DialogBinding, lines: readonly SdpMedia[], log: Logger): Promise<void> {
    const { session } = binding;
    const now = this.#deps.now();
    const dialog = binding.legs[0]?.dialog;
    for (const media of lines) {
      const trackNumber = freeTrackNumber(session, session.legs.size);
      session.reservedTracks.add(trackNumber);
      let leg: Leg;
      try {
        leg = await this.#deps.opener.openLeg(session, {
          trackNumber,
          mediaIndex: media.index,
          media,
          video: media.type === 'video',
          ...(media.label === undefined ? {} : { label: media.label }),
          inactive: false,
          participants: [],
          startMs: now,
        });
      } finally {
        session.reservedTracks.delete(trackNumber);
      }
      if (dialog !== undefined) {
        leg.dialog = dialog;
      }
      const legs = [...binding.legs, leg];
      leg.participants =
        session.siprecMetadata === undefined
          ? []
          : siprecParticipants(session.siprecMetadata, leg.label, legs.length - 1, legs.length, now);
      binding.legs = legs;
      this.#deps.registry.attach(session, leg);
      const codec = this.#deps.opener.takeOfferedCodec(leg, media);
      const track = trackOf(session, leg, codec);
      log.info(
        { sessionId: session.sessionId, track: trackNumber, port: leg.port, label: leg.label },
        'stream added mid-call',
      );
      this.#deps.writer.addTrack(session, track);
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
      this.#deps.media.setSrtp?.(leg.streamId, srtpParams(next.value));
    }
  }

  /**
   * A re-INVITE that changes the codec ends the session and starts a new one on the same dialog,
   * with the same ccid and participants (MediaSense did the same: a session has one codec per
   * track). The new tracks get new ports in the answer; the old ones drain and close.
   */
  async #restartForCodecChange(
    binding: DialogBinding,
    offer: SessionDescription,
    respond: Respond,
    log: Logger,
  ): Promise<void> {
    const previous = binding.session;
    const previousLegs = binding.legs;
    const now = this.#deps.now();
    this.#deps.counters.codecChanges++;
    const session = this.#deps.registry.create({
      controllerType: previous.controllerType,
      controllerIp: previous.controllerIp,
      ccid: previous.ccid,
      expectedLegs: previousLegs.length,
      startMs: now,
    });
    if (previous.sipSessionId !== undefined) {
      session.sipSessionId = previous.sipSessionId;
    }
    if (previous.correlation !== undefined) {
      session.correlation = previous.correlation;
    }
    // The call goes on: a recording paused through the API (a card number being keyed in) stays
    // paused in the new session, whose streams open paused, until resumeRecording names it.
    session.pausedByApi = previous.pausedByApi;
    // The new tracks are numbered in the dialog's line order, whatever the old numbers were.
    const specs = previousLegs.map((old, trackNumber) => {
      const media = offer.media[old.mediaIndex];
      return {
        trackNumber,
        mediaIndex: old.mediaIndex,
        ...(media === undefined ? {} : { media }),
        video: old.video === true,
        ...(old.label === undefined ? {} : { label: old.label }),
        inactive: false,
        participants: old.participants
          .filter((p) => p.participantDuration === undefined)
          .map((p) => ({ ...p, participantStartDate: now })),
        startMs: now,
      };
    });
    for (const spec of specs) {
      session.reservedTracks.add(spec.trackNumber);
    }
    const result = await this.#deps.opener.open(session, specs);
    if (!result.ok) {
      const error = result.error instanceof Error ? result.error.message : String(result.error);
      log.warn({ error }, 'no media port for the new session after a codec change');
      await this.#deps.lifecycle.abandon(session, result.opened, [...session.reservedTracks]);
      respond(503, 'Service Unavailable');
      return;
    }
    const opened = result.legs;
    const sdp = this.#deps.opener.answer(session, offer, opened);
    const dialog = previousLegs[0]?.dialog;
    const tracks: Track[] = [];
    for (const leg of opened) {
      leg.localSdp = sdp;
      if (dialog !== undefined) {
        leg.dialog = dialog;
      }
      this.#deps.registry.attach(session, leg);
      const codec = this.#deps.opener.takeOfferedCodec(leg, offer.media[leg.mediaIndex]);
      tracks.push(trackOf(session, leg, codec));
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
    this.#deps.lifecycle.endLegs(previous, previousLegs, undefined, BYE_DRAIN_MS);
    this.#deps.writer.create(session, tracks, session.pausedByApi ? [pauseTag(session, 'Pause', now)] : []);
  }
}

/** True when a new offer records a line with another codec than the one being recorded. */
function codecChanged(legs: readonly Leg[], offer: SessionDescription): boolean {
  return legs.some((leg) => {
    const media = offer.media[leg.mediaIndex];
    if (leg.ended || leg.codecKey === undefined || media === undefined || isWithoutMedia(media)) {
      return false;
    }
    const codec = chooseAudioCodec(media);
    return codec !== undefined && codecKey(codec) !== leg.codecKey;
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
