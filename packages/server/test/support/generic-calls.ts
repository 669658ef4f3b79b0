import { readFile } from 'node:fs/promises';
import { SECOND_PORT_LOG_PREFIX } from './cube-calls.js';
import { spawnTracked, type Spawned } from './processes.js';
import { waitFor } from './wait.js';

/**
 * Playing a plain SIP endpoint (no CUCM From parameters, no CUBE headers, no SIPREC body) that
 * sends Verbatim an INVITE with an early SDP offer, as a softphone or a PBX trunk would: the
 * "generic SIP" intake flavour of DESIGN.md §1.2 (one session, one track per audio m= line).
 */

export interface GenericSipScenario {
  /** URI user of From and of To (the participants Verbatim records). */
  readonly fromUser: string;
  readonly toUser: string;
  /** How many m=audio lines the offer has; SIPp replays its capture to the first one. */
  readonly audioLines: 1 | 2;
  /** Absolute path of the capture SIPp replays (see sipp-pcap.ts). */
  readonly pcapPath: string;
  /** How long SIPp stays up after the ACK before it sends BYE. */
  readonly holdMs: number;
}

/** The log line SIPp writes with the call's Call-ID (Verbatim's ccid for a generic call). */
export const CALL_ID_LOG_PREFIX = 'VERBATIM-CALL-ID=';

function audioLine(port: string): string {
  return `m=audio ${port} RTP/AVP 0 8 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv`;
}

/**
 * The SIPp scenario. Run SIPp with `-trace_logs -log_file FILE`: the Call-ID and, for two audio
 * lines, the port of the answer's second m=audio line are written there (waitForLoggedCallId,
 * cube-calls.ts waitForSecondAudioPort), so the test can find the session and stream the second
 * line with another sender.
 */
export function genericSipScenario(s: GenericSipScenario): string {
  const from = `From: "Caller" <sip:${s.fromUser}@[local_ip]>;tag=[pid]GenTag[call_number]`;
  const to = `To: <sip:${s.toUser}@[remote_ip]>`;
  const lines = [audioLine('[media_port]'), ...(s.audioLines === 2 ? [audioLine('[media_port+2]')] : [])];
  // As in cube-calls.ts: POSIX extended regexps let "." match a newline, so the greedy ".*"
  // reaches the last m=audio line of the answer.
  const secondPort =
    s.audioLines === 2
      ? `<action>
      <ereg regexp="m=audio [0-9]+ .*m=audio ([0-9]+) " search_in="body" check_it="true" assign_to="all,port2"/>
      <log message="${SECOND_PORT_LOG_PREFIX}[$port2]; matched: [$all]"/>
    </action>`
      : '';
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="generic SIP call with an early offer">
  <nop><action><log message="${CALL_ID_LOG_PREFIX}[call_id];"/></action></nop>
  <send retrans="500">
    <![CDATA[
      INVITE sip:${s.toUser}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${from}
      ${to}
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:${s.fromUser}@[local_ip]:[local_port]>
      Max-Forwards: 70
      User-Agent: SIPp generic endpoint
      Allow: INVITE, ACK, CANCEL, BYE, OPTIONS
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP[media_ip_type] [media_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      ${lines.join('\n      ')}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    ${secondPort}
  </recv>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${from}
      ${to}[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
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
      ${to}[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`;
}

/** Polls the SIPp log file until it names the call's Call-ID. */
export async function waitForLoggedCallId(logFile: string, timeoutMs: number): Promise<string> {
  return waitFor(
    async () => {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      const match = new RegExp(`${CALL_ID_LOG_PREFIX}([^;\\s]+);`).exec(text);
      return match?.[1];
    },
    { timeoutMs, what: `the Call-ID in ${logFile}` },
  );
}

/**
 * ffmpeg as an independent RTP sender: a G.711 µ-law tone, 20 ms per packet (samples_per_frame),
 * payload type 0, in real time, from 127.0.0.1 (the address of the SDP offer) to `port`.
 */
export function streamToneWithFfmpeg(
  name: string,
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
    `rtp://127.0.0.1:${port}?localaddr=127.0.0.1`,
  ]);
}
