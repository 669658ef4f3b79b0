/**
 * The SDP answered to DESCRIBE (RFC 2326 §C, RFC 4566): one media section per track in its
 * original codec (payload type, rtpmap, clock rate as recorded) with its own control URL, and the
 * presentation's length as `a=range` (an archive) or `npt=now-` (live).
 */

export interface DescribedTrack {
  readonly media: 'audio' | 'video';
  readonly payloadType: number;
  /** The rtpmap encoding name (PCMU, PCMA, G722, G729, opus, L16, H264, MP4A-LATM, …). */
  readonly encoding: string;
  readonly clockRateHz: number;
  /** rtpmap encoding parameters (the channel count), when the codec has them. */
  readonly channels?: number;
  /** An `a=fmtp` value, when the codec needs one. */
  readonly fmtp?: string;
  /** The track's control URL (absolute, so the URL's query survives: see docs/api.md "RTSP"). */
  readonly control: string;
}

export interface SessionDescription {
  /** Digits only (the o= line's sess-id). */
  readonly originId: string;
  /** The address of the node, as the o= line names it. */
  readonly address: string;
  readonly name: string;
  /** Aggregate control URL (absolute). */
  readonly control: string;
  /** Length in seconds for an archive; undefined for live. */
  readonly durationS?: number;
  readonly tracks: readonly DescribedTrack[];
}

/** The text without C0 control characters and DEL (they would break an SDP line). */
function stripControls(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && code !== 0x7f) {
      out += text.charAt(i);
    }
  }
  return out;
}

function addressType(address: string): 'IP4' | 'IP6' {
  return address.includes(':') ? 'IP6' : 'IP4';
}

/** SDP text, CRLF line ends. Values are the caller's; control characters are dropped. */
export function describeSdp(description: SessionDescription): string {
  const clean = (text: string): string => stripControls(text);
  const at = addressType(description.address);
  const lines = [
    'v=0',
    `o=- ${description.originId} 1 IN ${at} ${clean(description.address)}`,
    `s=${clean(description.name) || '-'}`,
    `c=IN ${at} ${at === 'IP4' ? '0.0.0.0' : '::'}`,
    't=0 0',
    'a=tool:Verbatim',
    description.durationS === undefined
      ? 'a=range:npt=now-'
      : `a=range:npt=0-${(Math.round(description.durationS * 1000) / 1000).toFixed(3)}`,
    `a=control:${clean(description.control)}`,
  ];
  for (const track of description.tracks) {
    lines.push(`m=${track.media} 0 RTP/AVP ${track.payloadType}`);
    const params = track.channels === undefined ? '' : `/${track.channels}`;
    lines.push(`a=rtpmap:${track.payloadType} ${clean(track.encoding)}/${track.clockRateHz}${params}`);
    if (track.fmtp !== undefined) {
      lines.push(`a=fmtp:${track.payloadType} ${clean(track.fmtp)}`);
    }
    lines.push(`a=control:${clean(track.control)}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}
