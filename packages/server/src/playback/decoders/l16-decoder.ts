import { decodeL16 } from '../../protocol/codec/l16.js';
import type { PacketDecoder } from './track-decoder.js';

/** L16 (RFC 3551 §4.5.11) at its clock rate, channels averaged to mono. */
export function createL16Decoder(sampleRateHz: number, channels: number): PacketDecoder {
  return {
    kind: 'packet',
    codec: 'L16',
    sampleRateHz,
    rtpClockRateHz: sampleRateHz,
    undecodable: 0,
    decode: (payloads) => payloads.map((payload) => decodeL16(payload, channels)),
    close: () => undefined,
  };
}
