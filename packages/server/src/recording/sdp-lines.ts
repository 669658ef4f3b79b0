import {
  chooseAudioCodec,
  isHoldAddress,
  isRtpProfile,
  isSecureProfile,
  type MediaCodec,
  type SdpMedia,
} from '../protocol/sdp/sdp.js';
import { chooseCrypto } from '../protocol/sdp/sdes.js';

/** What the recorder makes of one SDP m= line. Pure. */

/**
 * A line Verbatim records: audio or video over RTP or SDES-keyed SRTP with a media format to
 * record (video is stored, not decoded: H.264 of CUBE video forks). SRTP
 * keyed by DTLS (UDP/TLS/RTP/SAVP) or with no usable a=crypto is not recordable.
 */
export function isRecordableLine(media: SdpMedia): boolean {
  return (
    (media.type === 'audio' || media.type === 'video') &&
    media.port !== 0 &&
    isRtpProfile(media.protocol) &&
    chooseAudioCodec(media) !== undefined &&
    (!isSecureProfile(media.protocol) || chooseCrypto(media.crypto).ok)
  );
}

/** No media on this line: the three hold encodings of intake-samples §6 quirk 8, or a refused line. */
export function isWithoutMedia(media: SdpMedia): boolean {
  return (
    media.port === 0 ||
    media.direction === 'inactive' ||
    media.direction === 'recvonly' ||
    isHoldAddress(media.connectionAddress)
  );
}

/** The codec a track records (`PCMU/8000`): a track has one, another one means a codec change. */
export function codecKey(codec: MediaCodec): string {
  return `${codec.encodingName}/${codec.clockRateHz}`;
}
