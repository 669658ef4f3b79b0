import { ALAW_TO_LINEAR, MULAW_TO_LINEAR } from '../../protocol/codec/g711.js';
import type { ByteTableDecoder } from './track-decoder.js';

/** G.711 µ-law (PCMU) and A-law (PCMA) at 8 kHz, RFC 3551 §4.5.14. */
export function createG711Decoder(codec: 'PCMU' | 'PCMA'): ByteTableDecoder {
  return {
    kind: 'byte-table',
    codec,
    sampleRateHz: 8000,
    rtpClockRateHz: 8000,
    table: codec === 'PCMU' ? MULAW_TO_LINEAR : ALAW_TO_LINEAR,
  };
}
