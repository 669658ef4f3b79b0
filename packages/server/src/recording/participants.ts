import type { Participant } from '../model/session.js';
import { getHeader, type SipRequest } from '../protocol/sip/message.js';
import { parseNameAddr } from '../protocol/sip/uri.js';
import { cubeXRefCi, participantsOfLine, type CubeIntake } from './cube-intake.js';
import type { CucmLeg, CucmParty } from './cucm-leg.js';

/**
 * Who is on a track, per call controller, and how a track's participants move when the
 * controller names new ones mid-call. Pure: values in, values out.
 */

/**
 * CUCM: track 0 carries the near end (the agent's phone, DG90 "Track 0 contains media streamed
 * from the forking device"), track 1 the far end, both taken from the From URI parameters.
 */
export function cucmParticipants(
  leg: CucmLeg,
  near: boolean,
  fromUser: string | undefined,
  startMs: number,
): Participant[] {
  const participant = participantFromParty(near ? cucmNearEnd(leg, fromUser) : leg.farEnd, startMs);
  return participant === undefined ? [] : [participant];
}

/**
 * The near end of a CUCM leg. The From user part is the recorded DN in most traces but the
 * customer's number in others (intake-samples §1.3), so it is only a fallback for a missing
 * x-nearendaddr.
 */
export function cucmNearEnd(leg: CucmLeg, fromUser: string | undefined): CucmParty {
  return { ...(fromUser === undefined ? {} : { address: fromUser }), ...leg.nearEnd };
}

export function participantFromParty(party: CucmParty, startMs: number): Participant | undefined {
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
 * Generic SIP: the From user on track 0, the To user on the second track (or also on track 0 when
 * there is only one).
 */
export function genericParticipants(
  request: SipRequest,
  trackNumber: number,
  trackCount: number,
  startMs: number,
): Participant[] {
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
export function cubeParticipants(
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

/** How two participants are recognised as the same party across an update. */
export type ParticipantIdentity = (p: Participant) => string;

/** CUBE and SIPREC: by xRefCi (stable per party), else by deviceRef and deviceId. */
export const byReference: ParticipantIdentity = (p) => p.xRefCi ?? `${p.deviceRef}|${p.deviceId ?? ''}`;

/**
 * CUCM: by number, device and call-leg id together; a remote-cluster transfer may keep the far
 * end's x-farendrefci while naming another number, and that is a new party.
 */
export const byEveryField: ParticipantIdentity = (p) =>
  `${p.deviceRef}|${p.deviceId ?? ''}|${p.xRefCi ?? ''}`;

interface ParticipantChange {
  /** The track's participants after the change (those who left carry their duration). */
  readonly participants: readonly Participant[];
  readonly left: readonly Participant[];
  readonly joined: readonly Participant[];
}

/**
 * Moves a track's participants to `wanted`: those no longer wanted get their duration now, new
 * ones are added (they start now), one who stays may be renamed (SIPREC metadata can add or
 * change <name>). Undefined when nothing changed.
 */
export function changedParticipants(
  current: readonly Participant[],
  wanted: readonly Participant[],
  now: number,
  identity: ParticipantIdentity,
): ParticipantChange | undefined {
  const open = current.filter((p) => p.participantDuration === undefined);
  const wantedById = new Map(wanted.map((p) => [identity(p), p]));
  const openIds = new Set(open.map(identity));
  const left = open.filter((p) => !wantedById.has(identity(p)));
  const joined = wanted.filter((p) => !openIds.has(identity(p)));
  const renamed = open.filter((p) => {
    const next = wantedById.get(identity(p));
    return next !== undefined && next.name !== p.name;
  });
  if (left.length === 0 && joined.length === 0 && renamed.length === 0) {
    return undefined;
  }
  const participants = [
    ...current.map((p): Participant => {
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
  return { participants, left, joined };
}
