import { fillSippTemplate } from './sipp-template.js';

/**
 * The SIPp scenarios of the end-to-end tests, one builder per call shape: each names the values
 * of one file of test/fixtures/sipp (see its README) and fills it. What SIPp writes to its log is
 * announced by the LOG_* prefixes below and read back with sipp-process.ts waitForLogged.
 */

/** Log line prefixes the scenarios write (with `<log message>`) and the tests wait for. */
export const LOG_AUDIO_PORT = 'VERBATIM-AUDIO-PORT=';
export const LOG_SECOND_AUDIO_PORT = 'VERBATIM-SECOND-AUDIO-PORT=';
export const LOG_AUDIO_VIDEO_PORTS = 'VERBATIM-CUBE-VIDEO-PORTS=';
/** Both audio ports of a codec-change call's first answer, then of the re-INVITE's answer. */
export const LOG_AUDIO_PORTS = 'VERBATIM-AUDIO-PORTS=';
export const LOG_CHANGED_AUDIO_PORTS = 'VERBATIM-CHANGED-AUDIO-PORTS=';
export const LOG_SIPREC_RESUMED = 'VERBATIM-SIPREC-RESUMED';
/** A leg of cucm-offered-leg.xml: its call number, answered; or refused, with the Retry-After header. */
export const LOG_CALL_ANSWERED = 'VERBATIM-CALL-ANSWERED=';
export const LOG_CALL_REFUSED = 'VERBATIM-CALL-REFUSED=';

/** Which of the answer's ports the scenario writes to the SIPp log. */
export type AnswerLog = 'none' | 'first-audio' | 'second-audio' | 'audio-and-video';

function answerAction(log: AnswerLog): string {
  switch (log) {
    case 'none':
      return '';
    case 'first-audio':
      return fillSippTemplate('parts/log-audio-port.xml', { prefix: LOG_AUDIO_PORT });
    case 'second-audio':
      return fillSippTemplate('parts/log-second-audio-port.xml', { prefix: LOG_SECOND_AUDIO_PORT });
    case 'audio-and-video':
      return fillSippTemplate('parts/log-audio-video-ports.xml', { prefix: LOG_AUDIO_VIDEO_PORTS });
  }
}

/** SIPp replays a capture (see sipp-pcap.ts) to the answer's first m= line. */
function playPcap(pcapPath: string | undefined): string {
  return pcapPath === undefined ? '' : fillSippTemplate('parts/play-pcap.xml', { pcap: pcapPath });
}

/** One m= line of an offer: its format list and the lines under it (without the m= line). */
export interface SdpMedia {
  readonly kind?: 'audio' | 'video';
  /** A SIPp keyword such as `[media_port]` or `[media_port+2]`, or a number. */
  readonly port: string;
  readonly payloadTypes: readonly number[];
  readonly lines: readonly string[];
}

/** The line break inside a scenario's CDATA (SIPp strips the indentation). */
const SDP_BREAK = '\n      ';

export function sdpMediaLines(media: readonly SdpMedia[]): string {
  return media
    .map((m) =>
      [`m=${m.kind ?? 'audio'} ${m.port} RTP/AVP ${m.payloadTypes.join(' ')}`, ...m.lines].join(SDP_BREAK),
    )
    .join(SDP_BREAK);
}

/** The attribute lines (without "a=") of an audio offer and its payload types. */
export interface AudioOffer {
  readonly payloadTypes: readonly number[];
  readonly attributes: readonly string[];
}

/** An m=audio line offering `offer` in `direction`. */
export function audioLine(port: string, offer: AudioOffer, direction: string): SdpMedia {
  return {
    port,
    payloadTypes: offer.payloadTypes,
    lines: [...offer.attributes, direction].map((a) => `a=${a}`),
  };
}

/** The PCMU offer (with telephone-event) of Cisco's forking lines. */
export const CISCO_PCMU_OFFER: AudioOffer = {
  payloadTypes: [0, 101],
  attributes: ['rtpmap:0 PCMU/8000', 'rtpmap:101 telephone-event/8000', 'fmtp:101 0-16', 'ptime:20'],
};

/** The same lines in A-law: what a mid-call codec change re-offers. */
const CISCO_PCMA_OFFER: AudioOffer = {
  payloadTypes: [8, 101],
  attributes: ['rtpmap:8 PCMA/8000', 'rtpmap:101 telephone-event/8000', 'fmtp:101 0-16', 'ptime:20'],
};

// ---------------------------------------------------------------------------------------------
// CUCM (cucm-leg.xml, cancel.xml)

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

function cucmFrom(s: CucmLegScenario, farEnd: { farEndDevice: string; farEndAddr: string } = s): string {
  return fillSippTemplate('parts/cucm-from.txt', {
    stream: s.stream,
    ref_ci: s.refCi,
    near_end_device: s.nearEndDevice,
    near_end_addr: s.nearEndAddr,
    far_end_ref_ci: s.farEndRefCi,
    far_end_device: farEnd.farEndDevice,
    far_end_addr: farEnd.farEndAddr,
  });
}

function cucmEnding(s: CucmLegScenario): string {
  if (s.ending === 'await-bye') {
    return fillSippTemplate('parts/await-bye.xml', { timeout_ms: s.holdMs });
  }
  const update = s.update;
  const from = cucmFrom(s, update);
  return fillSippTemplate('parts/cucm-hang-up.xml', {
    update:
      update === undefined
        ? ''
        : fillSippTemplate('parts/cucm-transfer-update.xml', {
            after_ms: update.afterMs,
            from,
            near_end_addr: s.nearEndAddr,
          }),
    pause_ms: Math.max(0, s.holdMs - (update?.afterMs ?? 0)),
    from,
    cseq: update === undefined ? 102 : 103,
  });
}

/** One leg of a CUCM-forked call, in the shape of intake-samples §1.1–1.2. */
export function cucmLegScenario(s: CucmLegScenario): string {
  const sdp = fillSippTemplate('parts/cucm-sdp.txt', {
    payload_type: s.payloadType,
    codec_name: s.codecName,
    ptime_ms: s.ptimeMs,
  });
  return fillSippTemplate('cucm-leg.xml', {
    stream: s.stream,
    offer: s.offer,
    from: cucmFrom(s),
    near_end_addr: s.nearEndAddr,
    invite_body: s.offer === 'early' ? sdp : 'Content-Length: 0',
    ack_body: s.offer === 'delayed' ? sdp : 'Content-Length: 0',
    media: playPcap(s.pcapPath),
    ending: cucmEnding(s),
  });
}

/**
 * A delayed-offer leg like cucmLegScenario's, offered to a node that may refuse it with 503: each
 * call logs LOG_CALL_ANSWERED or LOG_CALL_REFUSED (see cucm-offered-leg.xml).
 */
export function cucmOfferedLegScenario(s: Omit<CucmLegScenario, 'offer' | 'ending' | 'update'>): string {
  const leg: CucmLegScenario = { ...s, offer: 'delayed', ending: 'bye' };
  return fillSippTemplate('cucm-offered-leg.xml', {
    stream: s.stream,
    from: cucmFrom(leg),
    near_end_addr: s.nearEndAddr,
    ack_body: fillSippTemplate('parts/cucm-sdp.txt', {
      payload_type: s.payloadType,
      codec_name: s.codecName,
      ptime_ms: s.ptimeMs,
    }),
    media: playPcap(s.pcapPath),
    ending: cucmEnding(leg),
    answered_prefix: LOG_CALL_ANSWERED,
    refused_prefix: LOG_CALL_REFUSED,
  });
}

/** An INVITE cancelled before it is answered (RFC 3261 §9.1). */
export function cancelScenario(refCi: string): string {
  return fillSippTemplate('cancel.xml', { ref_ci: refCi });
}

// ---------------------------------------------------------------------------------------------
// Generic SIP (generic-call.xml, refused-503.xml)

/** How a plain SIP endpoint presents itself in its INVITE. */
export interface GenericPeer {
  readonly displayName: string;
  readonly user: string;
  readonly tag: string;
  readonly userAgent: string;
  readonly allow: string;
  /** The sess-id and sess-version of the SDP origin line. */
  readonly origin: string;
}

export interface GenericCallScenario {
  readonly title: string;
  readonly peer: GenericPeer;
  /** URI user of To (the number called). */
  readonly toUser: string;
  readonly media: readonly SdpMedia[];
  readonly answerLog: AnswerLog;
  /** Absolute path of the capture SIPp replays to the first line; omit when another sender streams. */
  readonly pcapPath?: string;
  /** How long SIPp stays up after the ACK before it sends BYE. */
  readonly holdMs: number;
}

/** A plain SIP endpoint's early-offer call: INVITE, ACK, a hold, BYE (DESIGN.md §1.2 generic SIP). */
export function genericCallScenario(s: GenericCallScenario): string {
  return fillSippTemplate('generic-call.xml', {
    scenario_name: s.title,
    from_name: s.peer.displayName,
    from_user: s.peer.user,
    tag: s.peer.tag,
    user_agent: s.peer.userAgent,
    allow: s.peer.allow,
    origin: s.peer.origin,
    to_user: s.toUser,
    media_lines: sdpMediaLines(s.media),
    answer_action: answerAction(s.answerLog),
    media: playPcap(s.pcapPath),
    hold_ms: s.holdMs,
  });
}

/**
 * One INVITE of a flood (flood-invite.xml): an early offer, ACKed whatever the answer (200, 403,
 * 486, 488 or 503), then nothing, neither media nor BYE; each call answered 200 logs
 * LOG_CALL_ANSWERED with its number.
 */
export function floodInviteScenario(): string {
  return fillSippTemplate('flood-invite.xml', { answered_prefix: LOG_CALL_ANSWERED });
}

/** An early-offer INVITE that expects 503 with a Retry-After (storage critical), then ACKs it. */
export function refused503Scenario(): string {
  return fillSippTemplate('refused-503.xml', {});
}

// ---------------------------------------------------------------------------------------------
// Cisco CUBE (cube-fork.xml, cube-hold.xml, cube-codec-change.xml)

export interface CubeForkScenario {
  readonly title: string;
  /** The Cisco-Guid header, which Verbatim keeps as the session's ccid. */
  readonly ciscoGuid: string;
  /** The participants (URI user parts) and the media-index of each. */
  readonly participants: readonly [string, string];
  readonly mediaIndexes: readonly [string, string];
  readonly tag: string;
  /** The offer's m= lines, two audio lines first. */
  readonly media: readonly SdpMedia[];
  readonly answerLog: AnswerLog;
  /** Absolute path of the capture SIPp replays to the first m=audio line of the answer. */
  readonly pcapPath: string;
  /** How long SIPp stays up after the ACK before it sends BYE. */
  readonly holdMs: number;
}

/** The two sendonly PCMU lines of a CUBE fork, on SIPp's first two media ports. */
export const CUBE_AUDIO_LINES: readonly SdpMedia[] = [
  audioLine('[media_port]', CISCO_PCMU_OFFER, 'sendonly'),
  audioLine('[media_port+2]', CISCO_PCMU_OFFER, 'sendonly'),
];

/** A CUBE dial-peer forking INVITE, ACK, a hold, BYE (intake-samples §2.1). */
export function cubeForkScenario(s: CubeForkScenario): string {
  return fillSippTemplate('cube-fork.xml', {
    scenario_name: s.title,
    first_participant: s.participants[0],
    second_participant: s.participants[1],
    first_media_index: s.mediaIndexes[0],
    second_media_index: s.mediaIndexes[1],
    tag: s.tag,
    cisco_guid: s.ciscoGuid,
    media_lines: sdpMediaLines(s.media),
    answer_action: answerAction(s.answerLog),
    pcap: s.pcapPath,
    hold_ms: s.holdMs,
  });
}

/**
 * How the held line is written: `a=inactive` (CUBE, RFC 3264 §8.4) or the older RFC 2543 form,
 * a connection address of 0.0.0.0 with the direction left sendonly.
 */
export type HoldEncoding = 'inactive' | 'zero-address';

export interface CubeHoldScenario {
  readonly ciscoGuid: string;
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

function heldLine(encoding: HoldEncoding): SdpMedia {
  const line = audioLine('[media_port]', CISCO_PCMU_OFFER, encoding === 'inactive' ? 'inactive' : 'sendonly');
  return encoding === 'zero-address' ? { ...line, lines: ['c=IN IP4 0.0.0.0', ...line.lines] } : line;
}

/** A CUBE fork whose first party is put on hold and resumed by re-INVITEs in the same dialog. */
export function cubeHoldScenario(s: CubeHoldScenario): string {
  return fillSippTemplate('cube-hold.xml', {
    hold_encoding: s.holdEncoding,
    first_participant: s.participants[0],
    second_participant: s.participants[1],
    cisco_guid: s.ciscoGuid,
    offer_lines: sdpMediaLines(CUBE_AUDIO_LINES),
    hold_lines: sdpMediaLines([
      heldLine(s.holdEncoding),
      audioLine('[media_port+2]', CISCO_PCMU_OFFER, 'sendonly'),
    ]),
    answer_action: answerAction('second-audio'),
    pcap_before_hold: s.pcapBeforeHold,
    pcap_after_resume: s.pcapAfterResume,
    before_hold_ms: s.beforeHoldMs,
    held_ms: s.heldMs,
    after_resume_ms: s.afterResumeMs,
  });
}

export interface CubeCodecChangeScenario {
  readonly ciscoGuid: string;
  readonly participants: readonly [string, string];
  /** Captures SIPp replays to line 0: PCMU before the change, PCMA after it. */
  readonly pcapBeforeChange: string;
  readonly pcapAfterChange: string;
  /** From the ACK to the codec-changing re-INVITE. */
  readonly beforeChangeMs: number;
  /** From the re-INVITE's ACK to the BYE. */
  readonly afterChangeMs: number;
}

/**
 * A CUBE fork whose two PCMU lines are re-offered in PCMA by a re-INVITE in the same dialog. Both
 * answers' audio ports are logged (LOG_AUDIO_PORTS, then LOG_CHANGED_AUDIO_PORTS): the change
 * moves the recording to new ports.
 */
export function cubeCodecChangeScenario(s: CubeCodecChangeScenario): string {
  const logPorts = (prefix: string): string => fillSippTemplate('parts/log-audio-ports.xml', { prefix });
  return fillSippTemplate('cube-codec-change.xml', {
    first_participant: s.participants[0],
    second_participant: s.participants[1],
    cisco_guid: s.ciscoGuid,
    offer_lines: sdpMediaLines(CUBE_AUDIO_LINES),
    changed_lines: sdpMediaLines([
      audioLine('[media_port]', CISCO_PCMA_OFFER, 'sendonly'),
      audioLine('[media_port+2]', CISCO_PCMA_OFFER, 'sendonly'),
    ]),
    answer_action: logPorts(LOG_AUDIO_PORTS),
    changed_answer_action: logPorts(LOG_CHANGED_AUDIO_PORTS),
    pcap_before_change: s.pcapBeforeChange,
    pcap_after_change: s.pcapAfterChange,
    before_change_ms: s.beforeChangeMs,
    after_change_ms: s.afterChangeMs,
  });
}

// ---------------------------------------------------------------------------------------------
// SIPREC (siprec.xml, siprec-malformed.xml)

/** CUBE's SIPREC lines: PCMU with telephone-event and comfort noise, each labelled. */
function siprecLines(secondLinePort: number, direction: 'sendonly' | 'inactive'): string {
  const line = (port: string, label: number): SdpMedia => ({
    port,
    payloadTypes: [0, 101, 19],
    lines: [
      'c=IN IP[media_ip_type] [media_ip]',
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-16',
      'a=rtpmap:19 CN/8000',
      'a=ptime:20',
      `a=${direction}`,
      `a=label:${label}`,
    ],
  });
  return sdpMediaLines([line('[media_port]', 1), line(String(secondLinePort), 2)]);
}

/** A multipart/mixed body of the recording SDP and RFC 7865 metadata, CUBE's part headers. */
function siprecBody(
  sdpVersion: number,
  secondLinePort: number,
  direction: 'sendonly' | 'inactive',
  metadata: string,
): string {
  return fillSippTemplate('parts/siprec-multipart.txt', {
    sdp_version: sdpVersion,
    media_lines: siprecLines(secondLinePort, direction),
    metadata,
  });
}

export interface SiprecScenario {
  /** The SIP Session-ID header of the INVITE. */
  readonly sipSessionId: string;
  /** The metadata documents of the INVITE, the pause, the resume and the UPDATE. */
  readonly metadata: {
    readonly initial: string;
    readonly onHold: string;
    readonly transferred: string;
    readonly barge: string;
  };
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

/** A SIPREC SRC's call: pause, resume with a transfer, a metadata-only UPDATE, BYE. */
export function siprecScenario(s: SiprecScenario): string {
  return fillSippTemplate('siprec.xml', {
    src_headers: s.requireSiprec
      ? 'Require: siprec\n      Contact: <sip:[local_ip]:[local_port]>;+sip.src'
      : 'Contact: <sip:[local_ip]:[local_port]>',
    sip_session_id: s.sipSessionId,
    initial_body: siprecBody(1904, s.secondLinePort, 'sendonly', s.metadata.initial),
    pause_body: siprecBody(1905, s.secondLinePort, 'inactive', s.metadata.onHold),
    resume_body: siprecBody(1906, s.secondLinePort, 'sendonly', s.metadata.transferred),
    update_metadata: s.metadata.barge,
    answer_action: answerAction('second-audio'),
    pcap_before_pause: s.pcapBeforePause,
    pcap_after_resume: s.pcapAfterResume,
    resumed_marker: LOG_SIPREC_RESUMED,
    before_pause_ms: s.beforePauseMs,
    paused_ms: s.pausedMs,
    before_update_ms: s.beforeUpdateMs,
    after_update_ms: s.afterUpdateMs,
  });
}

/** A SIPREC INVITE whose metadata part is not XML; the SRC expects 400 and ACKs it. */
export function malformedMetadataScenario(sessionId: string): string {
  return fillSippTemplate('siprec-malformed.xml', {
    body: siprecBody(
      1904,
      40000,
      'sendonly',
      `session_id=${sessionId}; participant {aor: sip:4085550142@198.51.100.15} <recording`,
    ),
  });
}
