import { randomBytes } from 'node:crypto';
import { SECOND_PORT_LOG_PREFIX } from './cube-calls.js';
import { spawnTracked, type Spawned } from './processes.js';

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

/** The SIPp log line written once the resume re-INVITE is answered and the second capture plays. */
export const RESUMED_LOG_MARKER = 'VERBATIM-SIPREC-RESUMED';

export interface SiprecRecordingCall {
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
  /**
   * The port of the second m= line: the SRC sends that stream from it (symmetric RTP, as SBCs
   * do), so the second sender binds it for both of its runs.
   */
  readonly secondLinePort: number;
  /** Captures SIPp replays to the first line before the pause and after the resume. */
  readonly pcapBeforePause: string;
  readonly pcapAfterResume: string;
  /** From the ACK to the pause re-INVITE. */
  readonly beforePauseMs: number;
  /** From the pause re-INVITE's ACK to the resume re-INVITE. */
  readonly pausedMs: number;
  /** From the resume to the metadata-only UPDATE. */
  readonly beforeUpdateMs: number;
  /** From the UPDATE's answer to the BYE. */
  readonly afterUpdateMs: number;
  /** Sends `Require: siprec` and `+sip.src` (false: the SRC is recognised by the body alone). */
  readonly requireSiprec: boolean;
}

const BOUNDARY = 'uniqueBoundary';
const FROM = 'From: <sip:[local_ip]>;tag=[pid]SrcTag[call_number]';
const TO_FIRST = 'To: <sip:srs@[remote_ip]>';
const TO = `${TO_FIRST}[peer_tag_param]`;
const CISCO_HEADERS = `Supported: 100rel,timer,resource-priority,replaces,sdp-anat
      User-Agent: Cisco-SIPGateway/IOS-17.9.4a
      Allow: INVITE, OPTIONS, BYE, CANCEL, ACK, PRACK, UPDATE, REFER, SUBSCRIBE, NOTIFY, INFO, REGISTER
      Max-Forwards: 70`;

/** The recording SDP: two labelled PCMU lines, both sendonly or both `direction`. */
function siprecSdp(version: number, secondLinePort: number, direction: 'sendonly' | 'inactive'): string {
  const line = (port: string, label: number): string => `m=audio ${port} RTP/AVP 0 101 19
      c=IN IP[media_ip_type] [media_ip]
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=rtpmap:19 CN/8000
      a=ptime:20
      a=${direction}
      a=label:${label}`;
  return `v=0
      o=CiscoSystemsSIP-GW-UserAgent 7821 ${version} IN IP[media_ip_type] [media_ip]
      s=SIP Call
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      ${line('[media_port]', 1)}
      ${line(String(secondLinePort), 2)}`;
}

/** A multipart/mixed body of SDP and metadata, CUBE's part headers. */
function multipart(sdp: string, metadata: string): string {
  return `--${BOUNDARY}
      Content-Type: application/sdp
      Content-Disposition: session;handling=required

      ${sdp}

      --${BOUNDARY}
      Content-Type: application/rs-metadata+xml
      Content-Disposition: recording-session

      ${metadata}

      --${BOUNDARY}--`;
}

function reInvite(cseq: number, body: string): string {
  return `<send retrans="500">
    <![CDATA[
      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${FROM}
      ${TO}
      Call-ID: [call_id]
      CSeq: ${cseq} INVITE
      Contact: <sip:[local_ip]:[local_port]>
      ${CISCO_HEADERS}
      Content-Type: multipart/mixed;boundary=${BOUNDARY}
      Mime-Version: 1.0
      Content-Length: [len]

      ${body}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${FROM}
      ${TO}
      Call-ID: [call_id]
      CSeq: ${cseq} ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>`;
}

/**
 * The whole recorded call: INVITE (caller sends stream 1, callee stream 2), SIPp replays the
 * first capture; a re-INVITE with both lines `a=inactive` and CUBE's hold metadata (empty stream
 * associations) pauses the recording; a re-INVITE back to sendonly resumes it with metadata in
 * which the callee has left and the transfer target sends stream 2, and SIPp replays the second
 * capture; a metadata-only UPDATE (`application/rs-metadata`, as Avaya SBCE sends it) adds the
 * supervisor to stream 2 as a partial update; then BYE. The answer's second m= port and the resume
 * are written to the log (SECOND_PORT_LOG_PREFIX, RESUMED_LOG_MARKER) for the second sender.
 */
export function siprecRecordingScenario(c: SiprecRecordingCall): string {
  const [stream1, stream2] = c.streamIds;
  const streams = [
    { id: stream1, label: '1' },
    { id: stream2, label: '2' },
  ];
  const sipSessionId = `${randomBytes(16).toString('hex')};remote=00000000000000000000000000000000`;
  const t0 = new Date();
  const initial = cubeStyleMetadata({
    dataMode: 'complete',
    sessionId: c.sessionId,
    sipSessionId,
    streams,
    at: t0,
    parties: [
      { party: c.caller, sends: stream1, receives: stream2 },
      { party: c.callee, sends: stream2, receives: stream1 },
    ],
  });
  const onHold = cubeStyleMetadata({
    dataMode: 'complete',
    sessionId: c.sessionId,
    sipSessionId,
    streams,
    at: t0,
    parties: [
      { party: c.caller, emptyAssociation: true },
      { party: c.callee, emptyAssociation: true },
    ],
  });
  const transferred = cubeStyleMetadata({
    dataMode: 'complete',
    sessionId: c.sessionId,
    sipSessionId,
    streams,
    at: new Date(t0.getTime() + c.beforePauseMs + c.pausedMs),
    parties: [
      { party: c.caller, sends: stream1, receives: stream2 },
      { party: c.callee, disassociated: true },
      { party: c.transferTarget, sends: stream2, receives: stream1 },
    ],
  });
  const barge = cubeStyleMetadata({
    dataMode: 'partial',
    sessionId: c.sessionId,
    streams: [],
    at: new Date(t0.getTime() + c.beforePauseMs + c.pausedMs + c.beforeUpdateMs),
    parties: [{ party: c.supervisor, sends: stream2, receives: stream1 }],
  });
  const siprecHeaders = c.requireSiprec
    ? 'Require: siprec\n      Contact: <sip:[local_ip]:[local_port]>;+sip.src'
    : 'Contact: <sip:[local_ip]:[local_port]>';
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="SIPREC SRC: pause, resume with a transfer, metadata-only UPDATE">
  <send retrans="500">
    <![CDATA[
      INVITE sip:srs@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${FROM}
      ${TO_FIRST}
      Call-ID: [call_id]
      CSeq: 101 INVITE
      ${siprecHeaders}
      ${CISCO_HEADERS}
      Session-ID: ${sipSessionId}
      Content-Type: multipart/mixed;boundary=${BOUNDARY}
      Mime-Version: 1.0
      Content-Length: [len]

      ${multipart(siprecSdp(1904, c.secondLinePort, 'sendonly'), initial)}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="m=audio [0-9]+ .*m=audio ([0-9]+) " search_in="body" check_it="true" assign_to="all,port2"/>
      <log message="${SECOND_PORT_LOG_PREFIX}[$port2]; matched: [$all]"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${FROM}
      ${TO}
      Call-ID: [call_id]
      CSeq: 101 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop><action><exec play_pcap_audio="${c.pcapBeforePause}"/></action></nop>
  <pause milliseconds="${c.beforePauseMs}"/>
  ${reInvite(102, multipart(siprecSdp(1905, c.secondLinePort, 'inactive'), onHold))}
  <pause milliseconds="${c.pausedMs}"/>
  ${reInvite(103, multipart(siprecSdp(1906, c.secondLinePort, 'sendonly'), transferred))}
  <nop>
    <action>
      <exec play_pcap_audio="${c.pcapAfterResume}"/>
      <log message="${RESUMED_LOG_MARKER}"/>
    </action>
  </nop>
  <pause milliseconds="${c.beforeUpdateMs}"/>
  <send retrans="500">
    <![CDATA[
      UPDATE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${FROM}
      ${TO}
      Call-ID: [call_id]
      CSeq: 104 UPDATE
      Contact: <sip:[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/rs-metadata
      Content-Disposition: recording-session
      Content-Length: [len]

      ${barge}
    ]]>
  </send>
  <recv response="200"/>
  <pause milliseconds="${c.afterUpdateMs}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${FROM}
      ${TO}
      Call-ID: [call_id]
      CSeq: 105 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`;
}

/**
 * A SIPREC INVITE whose metadata part is not XML. The SRC expects the final answer 400 (and ACKs
 * it, RFC 3261 §17.1.1.3); anything else (a 200 would start a recording) fails the scenario.
 */
export function malformedMetadataScenario(sessionId: string): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="SIPREC INVITE with metadata that is not XML">
  <send retrans="500">
    <![CDATA[
      INVITE sip:srs@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${FROM}
      ${TO_FIRST}
      Call-ID: [call_id]
      CSeq: 101 INVITE
      Require: siprec
      Contact: <sip:[local_ip]:[local_port]>;+sip.src
      ${CISCO_HEADERS}
      Content-Type: multipart/mixed;boundary=${BOUNDARY}
      Mime-Version: 1.0
      Content-Length: [len]

      ${multipart(
        siprecSdp(1904, 40000, 'sendonly'),
        `session_id=${sessionId}; participant {aor: sip:4085550142@198.51.100.15} <recording`,
      )}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="400"/>
  <send>
    <![CDATA[
      ACK sip:srs@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      ${FROM}
      [last_To:]
      Call-ID: [call_id]
      CSeq: 101 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
</scenario>
`;
}

/**
 * ffmpeg streaming a PCMU tone (20 ms packets) to `port` from the fixed source port `fromPort`:
 * an SRC sends each stream from one port for the whole call, and Verbatim keeps the source it
 * latched first, so a second run for the same stream must come from the same port.
 */
export function streamToneFromPort(
  name: string,
  fromPort: number,
  port: number,
  frequencyHz: number,
  seconds: number,
): Spawned {
  return spawnTracked(name, 'ffmpeg', [
    '-hide_banner',
    '-nostdin',
    '-re',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${frequencyHz}:sample_rate=8000:duration=${seconds}:samples_per_frame=160`,
    '-c:a',
    'pcm_mulaw',
    '-ar',
    '8000',
    '-ac',
    '1',
    '-payload_type',
    '0',
    '-f',
    'rtp',
    `rtp://127.0.0.1:${port}?localaddr=127.0.0.1&localport=${fromPort}`,
  ]);
}
