import { randomBytes } from 'node:crypto';
import { siprecScenario, type SiprecScenario } from './sipp-scenarios.js';

/**
 * Playing a SIPREC session recording client (RFC 7866) with SIPp, in the shape of a Cisco CUBE
 * SRC (test/fixtures/siprec/cube-siprec-*.sip, intake-samples §3): one INVITE whose body is
 * `multipart/mixed` with an SDP of two labelled sendonly `m=audio` lines and RFC 7865 metadata
 * naming who sends which stream. The metadata documents are built here with the test's own ids.
 */

/** A participant of the recorded call as the metadata names it. */
export interface SiprecParty {
  /** `participant_id`, which Verbatim keeps as the participant's xRefCi. */
  readonly id: string;
  readonly aor: string;
  /** `<name>`; CUBE often sends none. */
  readonly name?: string;
}

/** How a participant appears in one metadata document. */
interface PartyEntry {
  readonly party: SiprecParty;
  /** Stream ids it sends and receives (a `participantstreamassoc`); omitted: no association. */
  readonly sends?: string;
  readonly receives?: string;
  /** Writes `<participantstreamassoc>` without `<send>`/`<recv>`, as CUBE does while on hold. */
  readonly emptyAssociation?: boolean;
  /** RFC 7865 §6.4: the participant has left the recorded session. */
  readonly disassociated?: boolean;
}

/** A random id in the form CUBE writes them (base64 of 16 bytes, with its `+`, `/` and `==`). */
export function randomMetadataId(): string {
  return randomBytes(16).toString('base64');
}

/**
 * An RFC 7865 document in CUBE's layout: datamode, session, each participant with its
 * participantsessionassoc, the streams, then the participantstreamassoc elements. A partial
 * document (RFC 7865 §6.1) names only what changed.
 */
export function cubeStyleMetadata(doc: {
  readonly dataMode: 'complete' | 'partial';
  readonly sessionId: string;
  readonly sipSessionId?: string;
  readonly parties: readonly PartyEntry[];
  /** Stream id and `a=label` of each stream the document describes. */
  readonly streams: readonly { readonly id: string; readonly label: string }[];
  readonly at: Date;
}): string {
  const time = doc.at.toISOString();
  const sessionAttr = `session_id="${doc.sessionId}"`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<recording xmlns="urn:ietf:params:xml:ns:recording:1">',
    `<datamode>${doc.dataMode}</datamode>`,
  ];
  if (doc.dataMode === 'complete') {
    lines.push(
      `<session ${sessionAttr}>`,
      ...(doc.sipSessionId === undefined ? [] : [`<sipSessionID>${doc.sipSessionId}</sipSessionID>`]),
      `<start-time>${time}</start-time>`,
      '</session>',
    );
  }
  for (const entry of doc.parties) {
    const { party } = entry;
    lines.push(
      `<participant participant_id="${party.id}">`,
      `<nameID aor="${party.aor}">`,
      ...(party.name === undefined ? [] : [`<name xml:lang="en">${party.name}</name>`]),
      '</nameID>',
      '</participant>',
      `<participantsessionassoc participant_id="${party.id}" ${sessionAttr}>`,
      entry.disassociated === true
        ? `<disassociate-time>${time}</disassociate-time>`
        : `<associate-time>${time}</associate-time>`,
      '</participantsessionassoc>',
    );
  }
  for (const stream of doc.streams) {
    lines.push(
      `<stream stream_id="${stream.id}" ${sessionAttr}>`,
      `<label>${stream.label}</label>`,
      '</stream>',
    );
  }
  for (const entry of doc.parties) {
    if (entry.sends === undefined && entry.emptyAssociation !== true) {
      continue;
    }
    lines.push(
      `<participantstreamassoc participant_id="${entry.party.id}">`,
      ...(entry.sends === undefined ? [] : [`<send>${entry.sends}</send>`]),
      ...(entry.receives === undefined ? [] : [`<recv>${entry.receives}</recv>`]),
      '</participantstreamassoc>',
    );
  }
  lines.push('</recording>');
  return lines.join('\n');
}

/** The call of siprecScenario, with the parties and stream ids its metadata is written from. */
export interface SiprecRecordingCall extends Omit<SiprecScenario, 'sipSessionId' | 'metadata'> {
  /** The metadata session id, which Verbatim keeps as the ccid (no group is sent). */
  readonly sessionId: string;
  /** Stream ids of the lines labelled 1 and 2. */
  readonly streamIds: readonly [string, string];
  /** Sends stream 1 (the first m= line) throughout. */
  readonly caller: SiprecParty;
  /** Sends stream 2 until the transfer. */
  readonly callee: SiprecParty;
  /** Sends stream 2 from the resume re-INVITE on (the callee transferred the call to it). */
  readonly transferTarget: SiprecParty;
  /** Joins stream 2 with the metadata-only UPDATE (a supervisor barging in on the agent side). */
  readonly supervisor: SiprecParty;
}

/**
 * The whole recorded call: INVITE (caller sends stream 1, callee stream 2), SIPp replays the
 * first capture; a re-INVITE with both lines `a=inactive` and CUBE's hold metadata (empty stream
 * associations) pauses the recording; a re-INVITE back to sendonly resumes it with metadata in
 * which the callee has left and the transfer target sends stream 2, and SIPp replays the second
 * capture; a metadata-only UPDATE (`application/rs-metadata`, as Avaya SBCE sends it) adds the
 * supervisor to stream 2 as a partial update; then BYE. The answer's second m= port and the resume
 * are written to the log (LOG_SECOND_AUDIO_PORT, LOG_SIPREC_RESUMED) for the second sender.
 */
export function siprecRecordingScenario(c: SiprecRecordingCall): string {
  const [stream1, stream2] = c.streamIds;
  const streams = [
    { id: stream1, label: '1' },
    { id: stream2, label: '2' },
  ];
  const sipSessionId = `${randomBytes(16).toString('hex')};remote=00000000000000000000000000000000`;
  const t0 = new Date();
  /** A complete metadata document of this session, dated `afterMs` into the call. */
  const complete = (afterMs: number, parties: readonly PartyEntry[]): string =>
    cubeStyleMetadata({
      dataMode: 'complete',
      sessionId: c.sessionId,
      sipSessionId,
      streams,
      at: new Date(t0.getTime() + afterMs),
      parties,
    });
  const initial = complete(0, [
    { party: c.caller, sends: stream1, receives: stream2 },
    { party: c.callee, sends: stream2, receives: stream1 },
  ]);
  const onHold = complete(0, [
    { party: c.caller, emptyAssociation: true },
    { party: c.callee, emptyAssociation: true },
  ]);
  const transferred = complete(c.beforePauseMs + c.pausedMs, [
    { party: c.caller, sends: stream1, receives: stream2 },
    { party: c.callee, disassociated: true },
    { party: c.transferTarget, sends: stream2, receives: stream1 },
  ]);
  const barge = cubeStyleMetadata({
    dataMode: 'partial',
    sessionId: c.sessionId,
    streams: [],
    at: new Date(t0.getTime() + c.beforePauseMs + c.pausedMs + c.beforeUpdateMs),
    parties: [{ party: c.supervisor, sends: stream2, receives: stream1 }],
  });
  return siprecScenario({ ...c, sipSessionId, metadata: { initial, onHold, transferred, barge } });
}
