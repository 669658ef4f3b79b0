import { SECOND_PORT_LOG_PREFIX } from './cube-calls.js';

/**
 * A Cisco CUBE dial-peer forked call (intake-samples §2.1, test/fixtures/recording/
 * cube-nbr-invite.sip) in which one party is put on hold and resumed: CUBE re-INVITEs the
 * recorder with that party's line without media, then with it sendonly again, in the same dialog.
 */

/**
 * How the held line is written: `a=inactive` (CUBE, RFC 3264 §8.4) or the older RFC 2543 form,
 * a connection address of 0.0.0.0 with the direction left sendonly.
 */
export type HoldEncoding = 'inactive' | 'zero-address';

export interface CubeHoldScenario {
  /** The Cisco-Guid header, which Verbatim keeps as the session's ccid. */
  readonly ciscoGuid: string;
  /** The participant (URI user part) sent on m= line 0 and on m= line 1. */
  readonly participants: readonly [string, string];
  /** Line 0 (SIPp's own) goes on hold in this encoding; line 1 stays sendonly. */
  readonly holdEncoding: HoldEncoding;
  /** Captures SIPp replays to line 0 before the hold and after the resume. */
  readonly pcapBeforeHold: string;
  readonly pcapAfterResume: string;
  /** From the ACK to the hold re-INVITE. */
  readonly beforeHoldMs: number;
  /** From the hold re-INVITE's ACK to the resume re-INVITE. */
  readonly heldMs: number;
  /** From the resume to the BYE. */
  readonly afterResumeMs: number;
}

const FROM = 'From: <sip:[local_ip]>;tag=[pid]CubeTag[call_number]';
const TO_FIRST = 'To: <sip:33333@[remote_ip]>';
const TO = `${TO_FIRST}[peer_tag_param]`;

function participantHeaders(s: CubeHoldScenario): string {
  const [first, second] = s.participants;
  return `X-Cisco-Recording-Participant: sip:${first}@[local_ip];media-index="0"
      X-Cisco-Recording-Participant: sip:${second}@[local_ip];media-index="1"`;
}

function ciscoHeaders(s: CubeHoldScenario): string {
  return `Supported: 100rel,timer,resource-priority,replaces,sdp-anat
      Min-SE:  1800
      Cisco-Guid: ${s.ciscoGuid}
      User-Agent: Cisco-SIPGateway/IOS-17.6.1a
      Allow: INVITE, OPTIONS, BYE, CANCEL, ACK, PRACK, UPDATE, REFER, SUBSCRIBE, NOTIFY, INFO, REGISTER
      Max-Forwards: 70
      Contact: <sip:[local_ip]:[local_port]>`;
}

/** CUBE's forking SDP; `held` puts line 0 on hold in the scenario's encoding. */
function forkingSdp(version: number, held: HoldEncoding | undefined): string {
  const line = (port: string, onHold: boolean): string => {
    const connection = onHold && held === 'zero-address' ? `c=IN IP4 0.0.0.0\n      ` : '';
    const direction = onHold && held === 'inactive' ? 'inactive' : 'sendonly';
    return `m=audio ${port} RTP/AVP 0 101
      ${connection}a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=${direction}`;
  };
  return `v=0
      o=CiscoSystemsSIP-GW-UserAgent 4410 ${version} IN IP[media_ip_type] [media_ip]
      s=SIP Call
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      ${line('[media_port]', held !== undefined)}
      ${line('[media_port+2]', false)}`;
}

function reInvite(s: CubeHoldScenario, cseq: number, sdp: string): string {
  return `<send retrans="500">
    <![CDATA[
      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${participantHeaders(s)}
      ${FROM}
      ${TO}
      Call-ID: [call_id]
      CSeq: ${cseq} INVITE
      ${ciscoHeaders(s)}
      Content-Type: application/sdp
      Content-Length: [len]

      ${sdp}
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
 * The forked call: INVITE with two sendonly lines, SIPp replays the first capture to line 0; a
 * re-INVITE puts line 0 on hold; a re-INVITE resumes it and SIPp replays the second capture;
 * BYE. Line 1 stays sendonly throughout (its sender streams to the answer's second port, which
 * is written to the log with SECOND_PORT_LOG_PREFIX).
 */
export function cubeHoldScenario(s: CubeHoldScenario): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="CUBE dial-peer media forking with hold and resume (${s.holdEncoding})">
  <send retrans="500">
    <![CDATA[
      INVITE sip:33333@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${participantHeaders(s)}
      ${FROM}
      ${TO_FIRST}
      Call-ID: [call_id]
      CSeq: 101 INVITE
      ${ciscoHeaders(s)}
      Expires: 180
      Content-Type: application/sdp
      Content-Disposition: session;handling=required
      Content-Length: [len]

      ${forkingSdp(8812, undefined)}
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
  <nop><action><exec play_pcap_audio="${s.pcapBeforeHold}"/></action></nop>
  <pause milliseconds="${s.beforeHoldMs}"/>
  ${reInvite(s, 102, forkingSdp(8813, s.holdEncoding))}
  <pause milliseconds="${s.heldMs}"/>
  ${reInvite(s, 103, forkingSdp(8814, undefined))}
  <nop><action><exec play_pcap_audio="${s.pcapAfterResume}"/></action></nop>
  <pause milliseconds="${s.afterResumeMs}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${FROM}
      ${TO}
      Call-ID: [call_id]
      CSeq: 104 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`;
}
