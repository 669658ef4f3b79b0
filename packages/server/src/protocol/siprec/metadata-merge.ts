/**
 * Partial metadata updates (RFC 7865 §6.1, RFC 7866 §7.1.1.2): what a re-INVITE, UPDATE or BYE
 * changes in the metadata already known for a recording session.
 */
import {
  pushUnique,
  type MetadataParticipant,
  type MetadataStream,
  type RecordingMetadata,
} from './recording-metadata.js';

function streamKey(stream: MetadataStream): string {
  return stream.id.length > 0 ? `id:${stream.id}` : `label:${stream.label ?? ''}`;
}

function mergeParticipant(current: MetadataParticipant, update: MetadataParticipant): MetadataParticipant {
  const identity = update.aor === undefined ? current : update;
  const streamsFrom = update.sends.length > 0 || update.receives.length > 0 ? update : current;
  const associateTime = update.associateTime ?? current.associateTime;
  const disassociateTime = update.disassociateTime ?? current.disassociateTime;
  return {
    id: current.id,
    ...(identity.aor === undefined ? {} : { aor: identity.aor }),
    ...((update.name ?? identity.name) === undefined ? {} : { name: update.name ?? identity.name }),
    ...(identity.deviceRef === undefined ? {} : { deviceRef: identity.deviceRef }),
    sends: streamsFrom.sends,
    receives: streamsFrom.receives,
    ...(associateTime === undefined ? {} : { associateTime }),
    ...(disassociateTime === undefined ? {} : { disassociateTime }),
    placeholder: identity.placeholder,
    extensions: { ...current.extensions, ...update.extensions },
  };
}

/**
 * Applies a metadata update from a re-INVITE, UPDATE or BYE (RFC 7865 §6.1, RFC 7866 §7.1.1.2).
 * A document with `datamode` other than "partial" is a complete snapshot and replaces the
 * current one. A partial one changes only what it names: participants and streams by id (new
 * ones appended), a `disassociate-time` marks the participant as gone, identity fields are taken
 * from the update only when it carries an AOR, and stream associations only when it lists some
 * (an update that sends a participant without associations keeps the known ones).
 */
export function mergeMetadata(current: RecordingMetadata, update: RecordingMetadata): RecordingMetadata {
  if (update.dataMode?.trim().toLowerCase() !== 'partial') {
    return update;
  }
  const participants = [...current.participants];
  for (const participant of update.participants) {
    const index = participants.findIndex((known) => known.id === participant.id);
    const known = index < 0 ? undefined : participants[index];
    if (known === undefined) {
      participants.push(participant);
    } else {
      participants[index] = mergeParticipant(known, participant);
    }
  }
  const streams = [...current.streams];
  for (const stream of update.streams) {
    const index = streams.findIndex((known) => streamKey(known) === streamKey(stream));
    const known = index < 0 ? undefined : streams[index];
    if (known === undefined) {
      streams.push(stream);
    } else {
      streams[index] = { ...known, ...stream };
    }
  }
  const sipSessionIds = [...current.sipSessionIds];
  pushUnique(sipSessionIds, update.sipSessionIds);
  const sessionId = update.sessionId ?? current.sessionId;
  const groupId = update.groupId ?? current.groupId;
  // The update is known to say "partial" here; the merged snapshot keeps the current mode.
  const dataMode = current.dataMode ?? update.dataMode;
  return {
    dataMode,
    ...(sessionId === undefined ? {} : { sessionId }),
    ...(groupId === undefined ? {} : { groupId }),
    sipSessionIds,
    participants,
    streams,
    correlation: { ...current.correlation, ...update.correlation },
    streamMapping:
      current.streamMapping === 'associations' || update.streamMapping === 'associations'
        ? 'associations'
        : 'document-order',
  };
}
