import { readFile } from 'node:fs/promises';
import { findSessionBy, type SessionJson } from './cucm-calls.js';
import type { RunningServer } from './verbatim-server.js';
import { waitFor } from './wait.js';

/**
 * Playing a Cisco CUBE that forks a call to Verbatim with a dial-peer (network-based recording,
 * intake-samples §2.1): one INVITE offering two sendonly `m=audio` lines, one per party, with a
 * Cisco-Guid and one X-Cisco-Recording-Participant header per line.
 */

export interface CubeForkingScenario {
  /** The Cisco-Guid header, which Verbatim keeps as the session's ccid. */
  readonly ciscoGuid: string;
  /** The participant (URI user part) sent on m= line 0 and on m= line 1. */
  readonly participants: readonly [string, string];
  /** Absolute path of the capture SIPp replays to the first m= line of the answer. */
  readonly pcapPath: string;
  /** How long SIPp stays up after the ACK before it sends BYE. */
  readonly holdMs: number;
}

/** The log line SIPp writes with the port of the answer's second m=audio line. */
export const SECOND_PORT_LOG_PREFIX = 'VERBATIM-SECOND-AUDIO-PORT=';

/**
 * The `<send>` of a CUBE forking INVITE: two sendonly PCMU `m=audio` lines with a participant
 * header each (media-index "0" and "1" unless given), and optionally more m= lines after them
 * (a video fork's `m=video` lines, their ports from `[media_port+4]` on).
 */
export function cubeForkingInviteSend(s: {
  readonly ciscoGuid: string;
  readonly participants: readonly [string, string];
  readonly from: string;
  readonly mediaIndexes?: readonly [string, string];
  readonly extraMediaLines?: string;
}): string {
  const [first, second] = s.participants;
  const indexes = s.mediaIndexes ?? ['0', '1'];
  const extraMediaLines = s.extraMediaLines ?? '';
  const from = s.from;
  return `  <send retrans="500">
    <![CDATA[
      INVITE sip:33333@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      X-Cisco-Recording-Participant: sip:${first}@[local_ip];media-index="${indexes[0]}"
      X-Cisco-Recording-Participant: sip:${second}@[local_ip];media-index="${indexes[1]}"
      ${from}
      To: <sip:33333@[remote_ip]>
      Call-ID: [call_id]
      Supported: 100rel,timer,resource-priority,replaces,sdp-anat
      Min-SE:  1800
      Cisco-Guid: ${s.ciscoGuid}
      User-Agent: Cisco-SIPGateway/IOS-17.6.1a
      Allow: INVITE, OPTIONS, BYE, CANCEL, ACK, PRACK, UPDATE, REFER, SUBSCRIBE, NOTIFY, INFO, REGISTER
      CSeq: 101 INVITE
      Max-Forwards: 70
      Contact: <sip:[local_ip]:[local_port]>
      Expires: 180
      Content-Type: application/sdp
      Content-Disposition: session;handling=required
      Content-Length: [len]

      v=0
      o=CiscoSystemsSIP-GW-UserAgent 4410 8812 IN IP[media_ip_type] [media_ip]
      s=SIP Call
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendonly
      m=audio [media_port+2] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendonly${
        extraMediaLines === ''
          ? ''
          : `
      ${extraMediaLines}`
      }
    ]]>
  </send>`;
}

/**
 * A SIPp scenario for a CUBE forking INVITE. The 200 OK's SDP is searched for the second
 * `m=audio` port and that port is written to the SIPp log (run SIPp with `-trace_logs -log_file`),
 * so a second sender can stream the other party to it while SIPp replays the first.
 */
export function cubeForkingScenario(s: CubeForkingScenario): string {
  const from = 'From: <sip:[local_ip]>;tag=[pid]CubeTag[call_number]';
  // SIPp compiles the regexp as POSIX extended, where "." also matches a newline: the greedy
  // ".*" skips to the last m=audio of the answer, which is the second one of a two-line answer.
  // The whole match is logged too: SIPp refuses a scenario with a variable that is never read.
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="CUBE dial-peer media forking">
${cubeForkingInviteSend({ ciscoGuid: s.ciscoGuid, participants: s.participants, from })}
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
      ${from}
      To: <sip:33333@[remote_ip]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 101 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop><action><exec play_pcap_audio="${s.pcapPath}"/></action></nop>
  <pause milliseconds="${s.holdMs}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${from}
      To: <sip:33333@[remote_ip]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 102 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`;
}

/** A Cisco-Guid in CUBE's format (four groups of ten digits), random so that each run is unique. */
export function randomCiscoGuid(): string {
  const group = (): string => String(Math.floor(Math.random() * 4_294_967_296)).padStart(10, '0');
  return [group(), '0000065536', group(), group()].join('-');
}

/** Polls the SIPp log file until it names the answer's second m=audio port. */
export async function waitForSecondAudioPort(logFile: string, timeoutMs: number): Promise<number> {
  return waitFor(
    async () => {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      const match = new RegExp(`${SECOND_PORT_LOG_PREFIX}(\\d+);`).exec(text);
      return match?.[1] === undefined ? undefined : Number(match[1]);
    },
    { timeoutMs, what: `the second m=audio port in ${logFile}` },
  );
}

/** Finds a session by its ccid (the Cisco-Guid of a CUBE call) once `predicate` holds. */
export function findSessionByCcid(
  server: RunningServer,
  ccid: string,
  predicate: (s: SessionJson) => boolean,
): Promise<SessionJson> {
  return findSessionBy(server, 'ccid', ccid, predicate);
}
