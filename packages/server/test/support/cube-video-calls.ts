import { createSocket, type Socket } from 'node:dgram';
import { parseRtpHeader, type RtpHeader } from '../../src/protocol/rtp/rtp-packet.js';
import type { CubeForkingScenario } from './cube-calls.js';
import {
  cubeForkScenario,
  CUBE_AUDIO_LINES,
  LOG_AUDIO_VIDEO_PORTS,
  type SdpMedia,
} from './sipp-scenarios.js';
import { spawnTracked, waitExit } from './processes.js';
import { waitForLogged, type SippRun } from './sipp-process.js';

/**
 * Playing a Cisco CUBE that forks a video call to Verbatim (intake-samples §2.1): one INVITE with
 * two sendonly `m=audio` lines and two sendonly `m=video` lines (H.264), and one
 * X-Cisco-Recording-Participant header per party whose media-index names both of its lines
 * ("0 2": the first audio and the first video line). Also the means to check what Verbatim stored:
 * a witness socket that sees exactly what ffmpeg sent, an RFC 6184 depacketiser that turns the
 * stored RTP payloads back into an Annex-B H.264 stream, and ffprobe on that stream.
 */

/** The audio fork's call, whose participants here are those of m= lines 0 and 2 and of 1 and 3. */
export interface CubeVideoForkingScenario extends CubeForkingScenario {
  /** The dynamic payload type offered for H.264 on both video lines. */
  readonly videoPayloadType: number;
  /** The a=fmtp parameters of the H.264 format (RFC 6184 §8.1). */
  readonly h264Fmtp: string;
}

/** The ports of Verbatim's answer to a CUBE video fork. */
export interface AnswerPorts {
  readonly audio: readonly [number, number];
  readonly video: readonly [number, number];
}

/**
 * The video fork. The ports of the answer's four m= lines are written to the SIPp log
 * (LOG_AUDIO_VIDEO_PORTS), so that ffmpeg can stream H.264 to the video lines while SIPp replays
 * audio to the first audio line. An answer keeps the offer's m= line order (RFC 3264 §6).
 */
export function cubeVideoForkingScenario(s: CubeVideoForkingScenario): string {
  const { videoPayloadType: pt, h264Fmtp, ...call } = s;
  const videoLine = (port: string): SdpMedia => ({
    kind: 'video',
    port,
    payloadTypes: [pt],
    lines: ['b=TIAS:384000', `a=rtpmap:${pt} H264/90000`, `a=fmtp:${pt} ${h264Fmtp}`, 'a=sendonly'],
  });
  return cubeForkScenario({
    ...call,
    title: 'CUBE dial-peer media forking with video',
    mediaIndexes: ['0 2', '1 3'],
    tag: 'CubeVideoTag',
    media: [...CUBE_AUDIO_LINES, videoLine('[media_port+4]'), videoLine('[media_port+6]')],
    answerLog: 'audio-and-video',
  });
}

/** The four ports of the answer, as the scenario logged them. */
export async function waitForAnswerPorts(run: SippRun): Promise<AnswerPorts> {
  const [a0, a1, v0, v1] = (await waitForLogged(run, LOG_AUDIO_VIDEO_PORTS)).split(',').map(Number);
  if (a0 === undefined || a1 === undefined || v0 === undefined || v1 === undefined) {
    throw new Error(`four ports expected in ${run.logFile}`);
  }
  return { audio: [a0, a1], video: [v0, v1] };
}

/**
 * A UDP socket on loopback that keeps every RTP datagram it receives. ffmpeg's tee muxer sends the
 * same encoded video to Verbatim and to the witness through two RTP muxers; their packetisation
 * of the same access units is identical (only SSRC, sequence numbers and timestamp offsets are
 * random), so the witness's payloads are exactly what ffmpeg sent Verbatim.
 */
export interface RtpWitness {
  readonly port: number;
  /** RTP datagrams received so far, RTCP left out. */
  readonly packets: readonly Uint8Array[];
  close(): Promise<void>;
}

export async function openRtpWitness(): Promise<RtpWitness> {
  const socket: Socket = createSocket('udp4');
  const packets: Uint8Array[] = [];
  socket.on('message', (message: Buffer) => {
    // RTCP sender reports of the same sender may arrive here too (rtcpport is this port): an RTCP
    // packet type 200–207 reads as payload type 72–79 (RFC 5761 §4), which H.264 never uses here.
    const payloadType = (message[1] ?? 0) & 0x7f;
    if (payloadType < 72 || payloadType > 79) {
      packets.push(new Uint8Array(message));
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  let closed = false;
  return {
    port: socket.address().port,
    packets,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) {
          resolve();
          return;
        }
        closed = true;
        socket.close(() => resolve());
      }),
  };
}

/** One RTP datagram split into its parsed header and its payload (padding removed). */
export interface RtpParts {
  readonly header: RtpHeader;
  readonly payload: Uint8Array;
}

/** Parses RTP datagrams with the project's parser; a datagram it refuses fails the caller. */
export function splitRtp(datagrams: readonly Uint8Array[]): RtpParts[] {
  return datagrams.map((datagram, i) => {
    const parsed = parseRtpHeader(datagram);
    if (!parsed.ok) {
      throw new Error(`datagram ${i} is not RTP: ${parsed.error.code} ${parsed.error.message}`);
    }
    const header = parsed.value;
    return {
      header,
      payload: datagram.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength),
    };
  });
}

const ANNEX_B_START_CODE = new Uint8Array([0, 0, 0, 1]);
const NAL_TYPE_STAP_A = 24;
const NAL_TYPE_FU_A = 28;

/** What depacketising found, besides the stream itself. */
export interface H264Depacketised {
  /** The NAL units, each behind a four-byte start code (ITU-T H.264 Annex B). */
  readonly annexB: Uint8Array;
  /** How many NAL units of each type (nal_unit_type, RFC 6184 §5.2 table 1 for 24–29). */
  readonly nalTypes: ReadonlyMap<number, number>;
  /** How many RTP packets used each packetisation: single NAL unit, STAP-A, FU-A. */
  readonly packetisation: { readonly single: number; readonly stapA: number; readonly fuA: number };
}

/**
 * Reassembles H.264 NAL units from RTP payloads in order, for packetization-mode 1
 * (RFC 6184 §6.3, non-interleaved): single NAL unit packets (types 1–23, §5.6), STAP-A
 * aggregates (type 24, §5.7.1) and FU-A fragments (type 28, §5.8). Any other type, or a
 * fragment out of place, fails: the recorder must hand back what the sender sent, in order.
 */
export function depacketiseH264(payloads: readonly Uint8Array[]): H264Depacketised {
  const chunks: Uint8Array[] = [];
  const nalTypes = new Map<number, number>();
  const packetisation = { single: 0, stapA: 0, fuA: 0 };
  let fragments: Uint8Array[] | undefined;
  const emit = (nal: Uint8Array): void => {
    const type = (nal[0] ?? 0) & 0x1f;
    nalTypes.set(type, (nalTypes.get(type) ?? 0) + 1);
    chunks.push(ANNEX_B_START_CODE, nal);
  };
  for (const [i, payload] of payloads.entries()) {
    const indicator = payload[0];
    if (indicator === undefined) {
      throw new Error(`RTP payload ${i} is empty`);
    }
    const type = indicator & 0x1f;
    if (type !== NAL_TYPE_FU_A && fragments !== undefined) {
      throw new Error(`RTP payload ${i} (type ${type}) interrupts an unfinished FU-A`);
    }
    if (type >= 1 && type <= 23) {
      packetisation.single++;
      emit(payload);
    } else if (type === NAL_TYPE_STAP_A) {
      packetisation.stapA++;
      // Each aggregated unit is a 16-bit size followed by the NAL unit (§5.7.1, figure 7).
      let offset = 1;
      while (offset < payload.length) {
        const size = ((payload[offset] ?? 0) << 8) | (payload[offset + 1] ?? 0);
        offset += 2;
        if (size === 0 || offset + size > payload.length) {
          throw new Error(`STAP-A in RTP payload ${i} has a unit of ${size} bytes past its end`);
        }
        emit(payload.subarray(offset, offset + size));
        offset += size;
      }
    } else if (type === NAL_TYPE_FU_A) {
      packetisation.fuA++;
      const header = payload[1];
      if (header === undefined) {
        throw new Error(`FU-A in RTP payload ${i} has no FU header`);
      }
      const start = (header & 0x80) !== 0;
      const end = (header & 0x40) !== 0;
      if (start === (fragments !== undefined)) {
        throw new Error(`FU-A in RTP payload ${i}: start bit ${start} out of sequence`);
      }
      if (start) {
        // The reconstructed NAL header takes F and NRI from the FU indicator and the type from the
        // FU header (§5.8).
        fragments = [new Uint8Array([(indicator & 0xe0) | (header & 0x1f)])];
      }
      fragments?.push(payload.subarray(2));
      if (end && fragments !== undefined) {
        emit(concat(fragments));
        fragments = undefined;
      }
    } else {
      throw new Error(`RTP payload ${i} has NAL unit type ${type}, not used in packetization-mode 1`);
    }
  }
  if (fragments !== undefined) {
    throw new Error('the stream ends inside an FU-A');
  }
  return { annexB: concat(chunks), nalTypes, packetisation };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What ffprobe reads from a raw H.264 file, decoding every frame. */
export interface H264Probe {
  readonly codecName: string;
  readonly width: number;
  readonly height: number;
  /** Frames ffprobe decoded (-count_frames). */
  readonly frames: number;
  /** ffprobe's stderr at -v error: empty when every frame decoded cleanly. */
  readonly errors: string;
}

export async function probeH264File(path: string): Promise<H264Probe> {
  const ffprobe = spawnTracked('ffprobe', 'ffprobe', [
    '-v',
    'error',
    '-f',
    'h264',
    '-count_frames',
    '-show_entries',
    'stream=codec_name,width,height,nb_read_frames',
    '-of',
    'json',
    path,
  ]);
  const stdout: string[] = [];
  const stderr: string[] = [];
  ffprobe.child.stdout?.on('data', (d: Buffer) => stdout.push(d.toString()));
  ffprobe.child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const code = await waitExit(ffprobe, 30_000);
  if (code !== 0) {
    throw new Error(`ffprobe exited ${code}:\n${ffprobe.output()}`);
  }
  const json = JSON.parse(stdout.join('')) as {
    streams?: { codec_name?: string; width?: number; height?: number; nb_read_frames?: string }[];
  };
  const stream = json.streams?.[0];
  if (stream === undefined) {
    throw new Error(`ffprobe found no stream in ${path}:\n${ffprobe.output()}`);
  }
  return {
    codecName: stream.codec_name ?? '',
    width: stream.width ?? 0,
    height: stream.height ?? 0,
    frames: Number(stream.nb_read_frames ?? 'NaN'),
    errors: stderr.join(''),
  };
}

/** The number of frames ffmpeg says it encoded: the last "frame=" of its progress output. */
export function ffmpegEncodedFrames(output: string): number | undefined {
  const all = [...output.matchAll(/frame=\s*(\d+)/g)];
  const last = all.at(-1)?.[1];
  return last === undefined ? undefined : Number(last);
}
