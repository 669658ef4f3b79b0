/**
 * SIPREC (RFC 7866 as updated by RFC 9806) in MediaSense terms: what the recording metadata of
 * RFC 7865 becomes in a session. The parsing itself is in protocol/siprec; this module only maps.
 *
 * - ccid groups the recording sessions of one call. RFC 7865 §6.2 gives every recording session a
 *   `group` for exactly that (sessions of one communication session share it), so the group id is
 *   the ccid; without a group, the metadata's session id; without metadata, the Call-ID.
 * - A track records one stream (an m= line with `a=label`); its participants are the metadata
 *   participants that *send* that stream (`participantstreamassoc`, inline `<send>`, or document
 *   order when the SRC gives no association: intake-samples §6 quirk 4), never guessed from the
 *   label value (the Sonus caller sends label 2, quirk 6).
 * - deviceRef is the user part of the participant's AOR (a bare number or opaque token as is), and
 *   xRefCi the participant id of the metadata, which stays the same across metadata updates.
 * - Placeholder participants (Avaya SBCE's `sip:ASBCE@asbce.com` before its UPDATE, quirk 24) are
 *   left out.
 */
import type { Participant } from '../model/session.js';
import {
  sendersByLabel,
  type MetadataParticipant,
  type RecordingMetadata,
} from '../protocol/siprec/rs-metadata.js';

export function siprecCcid(metadata: RecordingMetadata, callId: string): string {
  return metadata.groupId ?? metadata.sessionId ?? callId;
}

/**
 * Participants of the track recording the stream labelled `label`, which is the `lineIndex`-th of
 * `lineCount` recorded lines. A stream without a label (FreeSWITCH mod_siprec) or one the metadata
 * does not name falls back to position: with one line (a mixed stream) every participant, else the
 * participant in the same position.
 */
export function siprecParticipants(
  metadata: RecordingMetadata,
  label: string | undefined,
  lineIndex: number,
  lineCount: number,
  startMs: number,
): Participant[] {
  const real = (list: readonly MetadataParticipant[]): MetadataParticipant[] =>
    list.filter((p) => !p.placeholder && p.disassociateTime === undefined);
  let senders = label === undefined ? undefined : sendersByLabel(metadata).get(label);
  if (senders === undefined || senders.length === 0) {
    const everyone = real(metadata.participants);
    senders = lineCount === 1 ? everyone : everyone.slice(lineIndex, lineIndex + 1);
  }
  return real(senders).map((p) => toParticipant(p, startMs));
}

function toParticipant(p: MetadataParticipant, startMs: number): Participant {
  return {
    deviceRef: p.deviceRef ?? p.aor ?? p.id,
    ...(p.aor === undefined ? {} : { deviceId: p.aor }),
    xRefCi: p.id,
    ...(p.name === undefined || p.name.trim() === '' ? {} : { name: p.name.trim() }),
    isConference: false,
    participantStartDate: startMs,
  };
}
