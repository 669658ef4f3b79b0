import type { Logger } from 'pino';
import type { Participant } from '../model/session.js';
import type { ParseError } from '../protocol/result.js';
import { RateLimitedLog } from '../rate-limited-log.js';
import { mergeMetadata, type RecordingMetadata } from '../protocol/siprec/rs-metadata.js';
import type { SipRequest } from '../protocol/sip/message.js';
import { readCubeIntake } from './cube-intake.js';
import { readCucmLeg } from './cucm-leg.js';
import { readFromParams } from './invite-planner.js';
import type { Leg, LiveSession, RecordingCounters } from './live-session.js';
import {
  byEveryField,
  byReference,
  changedParticipants,
  cubeParticipants,
  cucmNearEnd,
  participantFromParty,
  type ParticipantIdentity,
} from './participants.js';
import type { SessionWriter } from './session-writer.js';
import { siprecParticipants } from './siprec-intake.js';

interface ParticipantUpdatesDeps {
  readonly writer: SessionWriter;
  readonly counters: RecordingCounters;
  readonly now: () => number;
  /** Where the rate-limited lines about malformed participant values go (the service's log). */
  readonly log: Logger;
}

/** At most this many of an INVITE's malformed participant values are quoted in its log line. */
const DROPPED_VALUES_LOGGED = 4;

/**
 * Participants changing mid-call, from each controller's way of saying so: CUBE
 * X-Cisco-Recording-Participant headers on a re-INVITE, CUCM From parameters on an UPDATE, SIPREC
 * metadata on a re-INVITE, UPDATE or BYE. Each works out who should be on each track now and
 * hands it to `#change`, the one place a track's participants are replaced, logged and stored.
 */
export class ParticipantUpdates {
  readonly #deps: ParticipantUpdatesDeps;
  /** A controller that sends malformed participant headers sends them on every call. */
  readonly #droppedLog: RateLimitedLog;

  constructor(deps: ParticipantUpdatesDeps) {
    this.#deps = deps;
    this.#droppedLog = new RateLimitedLog(deps.log, {
      timer: { now: deps.now, setTimeout: (callback, ms) => setTimeout(callback, ms).unref() },
    });
  }

  /**
   * A CUBE re-INVITE after a transfer names the new party of a side (intake-samples §2.2). The
   * session goes on; on each track the participant that left gets its duration and the new one
   * starts now. A re-INVITE without the headers (a session refresh) changes nothing.
   */
  fromCubeReinvite(session: LiveSession, legs: readonly Leg[], request: SipRequest, log: Logger): void {
    const cube = readCubeIntake(request);
    this.noteDroppedCubeParticipants(cube.dropped, log);
    if (cube.participants.length === 0) {
      return;
    }
    const now = this.#deps.now();
    for (const leg of legs) {
      this.#change(session, leg, cubeParticipants(cube, session.ccid, leg.mediaIndex, now), now, log, 'CUBE');
    }
  }

  /**
   * CUCM tells the recorder about a remote-cluster transfer with an UPDATE on the existing dialogs
   * whose From parameters name the new far end (intake-samples §1.5, §1.6): the session goes on,
   * the participant that left gets its duration and the new one starts now. Both dialogs get the
   * UPDATE; the second finds nothing left to change.
   */
  fromCucmUpdate(session: LiveSession, request: SipRequest, log: Logger): void {
    const from = readFromParams(request);
    const cucm = from === undefined ? undefined : readCucmLeg(from.params);
    if (cucm === undefined) {
      return;
    }
    const now = this.#deps.now();
    for (const [trackNumber, party] of [
      [0, cucmNearEnd(cucm, from?.user)],
      [1, cucm.farEnd],
    ] as const) {
      const leg = session.legs.get(trackNumber);
      const next = participantFromParty(party, now);
      if (leg !== undefined && next !== undefined) {
        this.#change(session, leg, [next], now, log, 'CUCM', byEveryField);
      }
    }
  }

  /**
   * SIPREC metadata from a re-INVITE, UPDATE (also metadata-only, Avaya SBCE) or BYE: merged into
   * what is known (RFC 7865 partial updates), and each track's participants follow it: one who is
   * no longer a sender gets a duration, a new one starts now.
   */
  fromSiprecMetadata(
    session: LiveSession,
    legs: readonly Leg[],
    update: RecordingMetadata,
    log: Logger,
  ): void {
    const merged =
      session.siprecMetadata === undefined ? update : mergeMetadata(session.siprecMetadata, update);
    session.siprecMetadata = merged;
    const now = this.#deps.now();
    for (const [i, leg] of legs.entries()) {
      if (!leg.ended) {
        this.#change(
          session,
          leg,
          siprecParticipants(merged, leg.label, i, legs.length, now),
          now,
          log,
          'SIPREC',
        );
      }
    }
  }

  /**
   * Malformed X-Cisco-Recording-Participant values are left out, counted and logged (a line a
   * second at most, with the count of INVITEs it stands for).
   */
  noteDroppedCubeParticipants(dropped: readonly ParseError[], log: Logger): void {
    if (dropped.length > 0) {
      this.#deps.counters.cubeParticipantsDropped += dropped.length;
      const { callId } = log.bindings();
      this.#droppedLog.note(
        'cube-participant-malformed',
        'malformed X-Cisco-Recording-Participant values ignored',
        { callId, errors: dropped.slice(0, DROPPED_VALUES_LOGGED) },
        this.#deps.now(),
      );
    }
  }

  /** Writes the count of lines held back (the service is closing). */
  flushLog(): void {
    this.#droppedLog.flush(this.#deps.now(), true);
  }

  /** Moves an open track to the wanted participants, when that changes anything, and stores it. */
  #change(
    session: LiveSession,
    leg: Leg,
    wanted: readonly Participant[],
    now: number,
    log: Logger,
    source: 'CUBE' | 'CUCM' | 'SIPREC',
    identity: ParticipantIdentity = byReference,
  ): void {
    if (leg.ended) {
      return;
    }
    const change = changedParticipants(leg.participants, wanted, now, identity);
    if (change === undefined) {
      return;
    }
    leg.participants = change.participants;
    log.info(
      {
        sessionId: session.sessionId,
        track: leg.trackNumber,
        left: change.left.map((p) => p.deviceRef),
        joined: change.joined.map((p) => p.deviceRef),
      },
      `${source} participants changed`,
    );
    this.#deps.writer.replaceParticipants(session, leg.trackNumber, change.participants);
  }
}
