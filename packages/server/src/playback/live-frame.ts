/**
 * The frames of the live-listening WebSocket (docs/api.md "Live listening"), encoded by the node
 * (live-audio.ts) and decoded by its clients: the tests and Search and Play's in-page player
 * (packages/web/src/api/live.ts), which imports this file, so it imports nothing itself.
 * The self-contained `/listen/<id>` page (api/listen-page.ts) has no build step and spells the
 * same layout out in its script.
 *
 * Frame layout (little-endian):
 *
 *   0       1       2               4                               8
 *   +-------+-------+---------------+-------------------------------+
 *   |version|channel| track number  |        sample rate (Hz)       |
 *   +-------+-------+---------------+-------------------------------+
 *   |          arrival of the first sample (epoch ms, float64)      |
 *   +---------------------------------------------------------------+
 *   |                 PCM, int16 mono samples ...                   |
 */

export const LIVE_FRAME_VERSION = 1;
export const LIVE_FRAME_HEADER_BYTES = 16;

export interface LiveAudioFrame {
  readonly channel: number;
  readonly trackNumber: number;
  readonly sampleRateHz: number;
  readonly arrivalMs: number;
  readonly pcm: Int16Array;
  /**
   * Where the frame sits in its track's time (not sent on the wire: the RTSP live mix places
   * frames on a common clock with it, playback/live-mixer.ts).
   */
  readonly placement?: LiveFramePlacement;
}

export interface LiveFramePlacement {
  /** pcm[0] follows the channel's previous frame without a break (lost packets filled). */
  readonly continuous: boolean;
  /** Index in pcm where the batch's last packet's audio starts. */
  readonly lastOffset: number;
  /** Arrival of that last packet (epoch ms): the latest and so least stale anchor of the batch. */
  readonly lastArrivalMs: number;
}

export function encodeLiveFrame(frame: LiveAudioFrame): Uint8Array {
  const bytes = new Uint8Array(LIVE_FRAME_HEADER_BYTES + frame.pcm.length * 2);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, LIVE_FRAME_VERSION);
  view.setUint8(1, frame.channel);
  view.setUint16(2, frame.trackNumber, true);
  view.setUint32(4, frame.sampleRateHz, true);
  view.setFloat64(8, frame.arrivalMs, true);
  for (let i = 0; i < frame.pcm.length; i++) {
    view.setInt16(LIVE_FRAME_HEADER_BYTES + 2 * i, frame.pcm[i] ?? 0, true);
  }
  return bytes;
}

/** The inverse of encodeLiveFrame, for tests and Node clients; undefined for a malformed frame. */
export function decodeLiveFrame(bytes: Uint8Array): LiveAudioFrame | undefined {
  if (bytes.length < LIVE_FRAME_HEADER_BYTES || (bytes.length - LIVE_FRAME_HEADER_BYTES) % 2 !== 0) {
    return undefined;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint8(0) !== LIVE_FRAME_VERSION) {
    return undefined;
  }
  const pcm = new Int16Array((bytes.length - LIVE_FRAME_HEADER_BYTES) / 2);
  for (let i = 0; i < pcm.length; i++) {
    pcm[i] = view.getInt16(LIVE_FRAME_HEADER_BYTES + 2 * i, true);
  }
  return {
    channel: view.getUint8(1),
    trackNumber: view.getUint16(2, true),
    sampleRateHz: view.getUint32(4, true),
    arrivalMs: view.getFloat64(8, true),
    pcm,
  };
}
