/**
 * SIPp scenarios that play a call controller, built per test so each can carry its own From
 * parameters, codec and capture. Everything inside [brackets] is a SIPp keyword; the shapes
 * follow the real CUCM messages in shared/reference/intake-samples.md §1.1–1.2.
 */

export interface CucmLegScenario {
  /** Which voice this dialog carries (the first From parameter). */
  readonly stream: 'x-nearend' | 'x-farend';
  readonly refCi: string;
  readonly farEndRefCi: string;
  readonly nearEndDevice: string;
  readonly nearEndAddr: string;
  readonly farEndDevice: string;
  readonly farEndAddr: string;
  readonly payloadType: number;
  readonly codecName: 'PCMU' | 'PCMA';
  /** Absolute path of the capture SIPp replays (see sipp-pcap.ts); omit for a leg that sends no RTP. */
  readonly pcapPath?: string;
  /** How long the leg stays up after the ACK before it hangs up. */
  readonly holdMs: number;
  /** 'delayed': INVITE without SDP, answer in the ACK (CUCM); 'early': offer in the INVITE. */
  readonly offer: 'delayed' | 'early';
  /** 'bye': the leg hangs up; 'await-bye': it never hangs up and expects Verbatim's BYE (media timeout). */
  readonly ending: 'bye' | 'await-bye';
  /** a=ptime of the controller's SDP. */
  readonly ptimeMs: number;
  /** A remote-cluster transfer while the leg is up (needs ending 'bye'); see CucmFarEndUpdate. */
  readonly update?: CucmFarEndUpdate;
}

/**
 * A remote-cluster transfer as CUCM reports it to the recorder (intake-samples §1.5, §1.6): an
 * UPDATE on the existing dialog, same From tag, whose From URI names the new far end. The leg's
 * later requests (the BYE) carry the new From too.
 */
export interface CucmFarEndUpdate {
  /** When the UPDATE is sent, counted from the ACK; the leg still hangs up holdMs after the ACK. */
  readonly afterMs: number;
  readonly farEndDevice: string;
  readonly farEndAddr: string;
}

const CUCM_HEADERS = `Date: Tue, 27 Aug 2019 15:27:43 GMT
      Supported: timer,resource-priority,replaces
      Min-SE:  1800
      User-Agent: Cisco-CUCM11.5
      Allow: INVITE, OPTIONS, INFO, BYE, CANCEL, ACK, PRACK, UPDATE, REFER, SUBSCRIBE, NOTIFY
      Expires: 180
      Allow-Events: presence, kpml
      Supported: X-cisco-srtp-fallback
      Supported: Geolocation
      Cisco-Guid: 0894781184-0000065536-0000000022-[call_number]
      Session-Expires:  1800
      Max-Forwards: 70`;

function fromHeader(original: CucmLegScenario, farEnd?: CucmFarEndUpdate): string {
  const s =
    farEnd === undefined
      ? original
      : { ...original, farEndDevice: farEnd.farEndDevice, farEndAddr: farEnd.farEndAddr };
  return (
    `From: "Agent [pid]" <sip:${s.nearEndAddr}@[local_ip];${s.stream};x-refci=${s.refCi};x-nearendclusterid=StandAloneCluster;` +
    `x-nearenddevice=${s.nearEndDevice};x-nearendaddr=${s.nearEndAddr};x-farendrefci=${s.farEndRefCi};` +
    `x-farendclusterid=StandAloneCluster;x-farenddevice=${s.farEndDevice};x-farendaddr=${s.farEndAddr}>;tag=[pid]SIPpTag00[call_number]`
  );
}

function sdp(s: CucmLegScenario): string {
  return `v=0
      o=CiscoSystemsCCM-SIP 104961 1 IN IP[local_ip_type] [local_ip]
      s=SIP Call
      c=IN IP[media_ip_type] [media_ip]
      b=TIAS:64000
      b=AS:64
      t=0 0
      m=audio [media_port] RTP/AVP ${s.payloadType} 101
      a=rtpmap:${s.payloadType} ${s.codecName}/8000
      a=ptime:${s.ptimeMs}
      a=sendonly
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15`;
}

export function cucmLegScenario(s: CucmLegScenario): string {
  const inviteBody =
    s.offer === 'early'
      ? `Content-Type: application/sdp\n      Content-Length: [len]\n\n      ${sdp(s)}`
      : 'Content-Length: 0';
  const ackBody =
    s.offer === 'delayed'
      ? `Content-Type: application/sdp\n      Content-Length: [len]\n\n      ${sdp(s)}`
      : 'Content-Length: 0';
  const media =
    s.pcapPath === undefined ? '' : `<nop><action><exec play_pcap_audio="${s.pcapPath}"/></action></nop>`;
  const update =
    s.update === undefined || s.ending !== 'bye'
      ? ''
      : `<pause milliseconds="${s.update.afterMs}"/>
  <send retrans="500">
    <![CDATA[
      UPDATE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${fromHeader(s, s.update)}
      To: <sip:7878@[remote_ip]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 102 UPDATE
      Contact: <sip:${s.nearEndAddr}@[local_ip]:[local_port];transport=[transport]>;isFocus
      User-Agent: Cisco-CUCM11.5
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>`;
  const holdAfterUpdateMs = Math.max(0, s.holdMs - (update === '' ? 0 : (s.update?.afterMs ?? 0)));
  const ending =
    s.ending === 'bye'
      ? `${update}
  <pause milliseconds="${holdAfterUpdateMs}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${fromHeader(s, update === '' ? undefined : s.update)}
      To: <sip:7878@[remote_ip]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: ${update === '' ? 102 : 103} BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>`
      : `<recv request="BYE" timeout="${s.holdMs}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="CUCM recording leg (${s.stream}, ${s.offer} offer)">
  <send retrans="500">
    <![CDATA[
      INVITE sip:7878@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${fromHeader(s)}
      To: <sip:7878@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 101 INVITE
      Contact: <sip:${s.nearEndAddr}@[local_ip]:[local_port];transport=[transport]>;isFocus
      ${CUCM_HEADERS}
      ${inviteBody}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${fromHeader(s)}
      To: <sip:7878@[remote_ip]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 101 ACK
      User-Agent: Cisco-CUCM11.5
      Max-Forwards: 70
      ${ackBody}
    ]]>
  </send>
  ${media}
  ${ending}
</scenario>
`;
}

/**
 * An INVITE cancelled before it is answered (RFC 3261 §9.1): CANCEL reuses the INVITE's branch and
 * is sent as soon as the 100 Trying shows the INVITE arrived, while Verbatim is still allocating
 * the media port.
 */
export function cancelScenario(refCi: string): string {
  const branch = 'z9hG4bK[pid]cancel[call_number]';
  const common = `From: <sip:1001@[local_ip];x-nearend;x-refci=${refCi};x-nearenddevice=SEPCANCEL;x-nearendaddr=1001;x-farendrefci=556;x-farenddevice=SEPFAR;x-farendaddr=1002>;tag=[pid]SIPpTag00[call_number]
      Call-ID: [call_id]`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="CANCEL before answer">
  <send start_txn="invite">
    <![CDATA[
      INVITE sip:7878@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${branch}
      ${common}
      To: <sip:7878@[remote_ip]>
      CSeq: 101 INVITE
      Contact: <sip:1001@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="100" response_txn="invite"/>
  <send start_txn="cancel">
    <![CDATA[
      CANCEL sip:7878@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${branch}
      ${common}
      To: <sip:7878@[remote_ip]>
      CSeq: 101 CANCEL
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" response_txn="cancel"/>
  <recv response="487" response_txn="invite"/>
  <send ack_txn="invite">
    <![CDATA[
      ACK sip:7878@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${branch}
      ${common}
      To: <sip:7878@[remote_ip]>[peer_tag_param]
      CSeq: 101 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
</scenario>
`;
}
