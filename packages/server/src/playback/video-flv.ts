import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  encodeAvccNalUnits,
  encodeAvcDecoderConfig,
  encodeFlvHeader,
  encodeFlvVideoTag,
} from '../protocol/container/flv.js';
import { PcapReader } from '../protocol/container/pcap.js';
import {
  H264_NAL_AUD,
  H264_NAL_IDR,
  H264_NAL_PPS,
  H264_NAL_SPS,
  H264Depacketizer,
  nalType,
} from '../protocol/rtp/h264.js';
import { isLikelyRtcp, parseRtpHeader } from '../protocol/rtp/rtp-packet.js';
import { uint32Diff } from '../protocol/rtp/seq.js';

/**
 * An H.264 video track file as an FLV stream for ffmpeg (mp4-export.ts), the video as recorded
 * (no re-encoding): the stored RTP is depacketised (protocol/rtp/h264.ts), its NAL units grouped
 * into frames by RTP timestamp (the marker bit ends a frame, RFC 6184 §5.1), and each frame
 * written as an FLV tag whose timestamp is its time on the session timeline in milliseconds.
 *
 * Timing follows the audio timeline's rule (track-timeline.ts) in its simplest form: RTP time is
 * authoritative within a run of one SSRC, anchored at the arrival of the run's first packet; a new
 * SSRC starts a new run at its arrival. Timestamps never go back (a frame is never placed before
 * the one written before it). Frames before the first SPS, PPS and IDR picture cannot be decoded
 * and are left out; a changed SPS or PPS is written again as a new sequence header. Packets are
 * taken in the file's (arrival) order; a fragmented frame whose pieces are out of order or lost is
 * dropped, which a decoder conceals. Frames after `durationMs` are not written.
 */

export interface VideoFlvOptions {
  readonly filePath: string;
  readonly payloadType: number;
  /** The rtpmap clock rate (90000 for H.264). */
  readonly clockRateHz: number;
  readonly sessionStartMs: number;
  readonly durationMs: number;
  readonly logger?: Logger;
}

export function openVideoFlv(options: VideoFlvOptions): Readable {
  return Readable.from(flvTags(options), { objectMode: false });
}

interface Run {
  readonly ssrc: number;
  /** Session-timeline ms of the run's first RTP timestamp. */
  readonly anchorMs: number;
  /** The run's first timestamp, and the last seen (extended to more than 32 bits). */
  readonly baseTimestamp: number;
  extendedTimestamp: number;
  lastTimestamp: number;
}

async function* flvTags(options: VideoFlvOptions): AsyncGenerator<Uint8Array> {
  yield encodeFlvHeader();
  const clockRateHz = options.clockRateHz > 0 ? options.clockRateHz : 90_000;
  const reader = new PcapReader();
  const depacketizer = new H264Depacketizer();
  let run: Run | undefined;
  let frame: { ms: number; timestamp: number; nals: Uint8Array[] } | undefined;
  let sps: Uint8Array | undefined;
  let pps: Uint8Array | undefined;
  let sentSps: Uint8Array | undefined;
  let sentPps: Uint8Array | undefined;
  let keyframeSeen = false;
  let lastMs = 0;
  let frames = 0;
  // An object, not a `let`: finish() sets it, which the loop's flow analysis cannot see.
  const past = { end: false };

  /** The FLV tags of a complete frame (a sequence header first when SPS or PPS are new). */
  const finish = (): Uint8Array[] => {
    const done = frame;
    frame = undefined;
    if (done === undefined || done.ms > options.durationMs) {
      past.end ||= done !== undefined;
      return [];
    }
    const tags: Uint8Array[] = [];
    const media: Uint8Array[] = [];
    for (const nal of done.nals) {
      const type = nalType(nal);
      if (type === H264_NAL_SPS) {
        sps = nal.slice();
      } else if (type === H264_NAL_PPS) {
        pps = nal.slice();
      } else if (type !== H264_NAL_AUD) {
        media.push(nal);
      }
    }
    const ms = Math.max(lastMs, done.ms);
    if (sps !== undefined && pps !== undefined && (!same(sps, sentSps) || !same(pps, sentPps))) {
      sentSps = sps;
      sentPps = pps;
      tags.push(
        encodeFlvVideoTag({
          timestampMs: ms,
          keyframe: true,
          sequenceHeader: true,
          body: encodeAvcDecoderConfig(sps, pps),
        }),
      );
    }
    const keyframe = media.some((nal) => nalType(nal) === H264_NAL_IDR);
    keyframeSeen ||= keyframe && sentSps !== undefined;
    if (!keyframeSeen || media.length === 0) {
      return tags;
    }
    lastMs = ms;
    frames++;
    tags.push(
      encodeFlvVideoTag({
        timestampMs: ms,
        keyframe,
        sequenceHeader: false,
        body: encodeAvccNalUnits(media),
      }),
    );
    return tags;
  };

  for await (const chunk of createReadStream(options.filePath)) {
    for (const packet of reader.push(chunk as Buffer)) {
      if (isLikelyRtcp(packet.payload)) {
        continue;
      }
      const parsed = parseRtpHeader(packet.payload);
      if (!parsed.ok || parsed.value.payloadType !== options.payloadType) {
        continue;
      }
      const header = parsed.value;
      const arrivalMs = packet.timestampUs / 1000 - options.sessionStartMs;
      if (run?.ssrc !== header.ssrc) {
        run = {
          ssrc: header.ssrc,
          anchorMs: arrivalMs,
          baseTimestamp: header.timestamp,
          extendedTimestamp: header.timestamp,
          lastTimestamp: header.timestamp,
        };
      } else {
        run.extendedTimestamp += uint32Diff(header.timestamp, run.lastTimestamp);
        run.lastTimestamp = header.timestamp;
      }
      const ms = run.anchorMs + ((run.extendedTimestamp - run.baseTimestamp) * 1000) / clockRateHz;
      if (frame !== undefined && frame.timestamp !== run.extendedTimestamp) {
        yield* finish();
      }
      if (past.end) {
        break;
      }
      frame ??= { ms, timestamp: run.extendedTimestamp, nals: [] };
      const payload = packet.payload.subarray(
        header.payloadOffset,
        header.payloadOffset + header.payloadLength,
      );
      frame.nals.push(...depacketizer.push(payload, header.sequenceNumber));
      if (header.marker) {
        yield* finish();
      }
    }
    if (past.end) {
      break;
    }
  }
  yield* finish();
  const { malformed, unsupported, incompleteFragments } = depacketizer.stats;
  if (malformed + unsupported + incompleteFragments > 0 || frames === 0) {
    options.logger?.warn(
      { file: options.filePath, frames, malformed, unsupported, incompleteFragments },
      frames === 0 ? 'the video track has no decodable frame' : 'video packets skipped in the MP4 export',
    );
  }
}

function same(a: Uint8Array, b: Uint8Array | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((byte, i) => byte === b[i]);
}
