import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { encodeMulawSample } from '../../packages/server/src/protocol/codec/g711.js';
import {
  encodePcapGlobalHeader,
  encodePcapRecord,
  pcapRecordBytes,
} from '../../packages/server/src/protocol/container/pcap.js';

/**
 * A recorded call made without a network: two G.711 µ-law tracks of `seconds` each, written as
 * the recorder writes them (pcap, raw IPv4, one record per 20 ms RTP packet with its arrival
 * time, using the server's own encodePcapRecord), plus the database rows of a CLOSED_NORMAL
 * two-track session. Used to time the WAV export of a long call without recording one for an hour.
 */

export interface SynthCall {
  readonly sessionId: string;
  readonly ccid: string;
  readonly startMs: number;
  readonly durationMs: number;
  readonly packetsPerTrack: number;
  readonly trackBytes: number;
}

const PACKET_MS = 20;
const SAMPLES_PER_PACKET = 160;
const RTP_HEADER_BYTES = 12;
const PACKETS_PER_WRITE = 4096;

/** One 20 ms µ-law frame of a tone whose period divides 160 samples, so frames repeat exactly. */
function toneFrame(frequencyHz: number): Uint8Array {
  const frame = new Uint8Array(SAMPLES_PER_PACKET);
  for (let i = 0; i < SAMPLES_PER_PACKET; i++) {
    frame[i] = encodeMulawSample(Math.round(8000 * Math.sin((2 * Math.PI * frequencyHz * i) / 8000)));
  }
  return frame;
}

async function writeTrack(
  path: string,
  startMs: number,
  packets: number,
  ssrc: number,
  frame: Uint8Array,
): Promise<number> {
  const file = await open(path, 'w');
  try {
    await file.write(encodePcapGlobalHeader());
    const rtp = new Uint8Array(RTP_HEADER_BYTES + SAMPLES_PER_PACKET);
    const view = new DataView(rtp.buffer);
    rtp[0] = 0x80;
    view.setUint32(8, ssrc);
    rtp.set(frame, RTP_HEADER_BYTES);
    const recordBytes = pcapRecordBytes(rtp.length);
    const buffer = new Uint8Array(recordBytes * PACKETS_PER_WRITE);
    let written = 24;
    for (let first = 0; first < packets; first += PACKETS_PER_WRITE) {
      let offset = 0;
      const last = Math.min(packets, first + PACKETS_PER_WRITE);
      for (let i = first; i < last; i++) {
        rtp[1] = i === 0 ? 0x80 : 0x00; // Marker on the first packet, payload type 0 (PCMU).
        view.setUint16(2, i & 0xffff);
        view.setUint32(4, (i * SAMPLES_PER_PACKET) >>> 0);
        offset += encodePcapRecord(buffer, offset, {
          // Arrival a little after the send time, as on a LAN.
          timestampUs: (startMs + i * PACKET_MS) * 1000 + 300,
          sourceAddress: '10.1.0.20',
          sourcePort: 24_000 + (ssrc % 2),
          destinationAddress: '127.0.0.1',
          destinationPort: 10_000,
          payload: rtp,
        });
      }
      await file.write(buffer.subarray(0, offset));
      written += offset;
    }
    return written;
  } finally {
    await file.close();
  }
}

/** Writes the call's track files under `dataDir/media` and its rows into `dataDir/verbatim.db`. */
export async function writeSynthCall(dataDir: string, seconds: number, startMs: number): Promise<SynthCall> {
  const sessionId = 'be9c0de5e55a0001';
  const ccid = 'bench-export-call';
  const durationMs = seconds * 1000;
  const packets = durationMs / PACKET_MS;
  const day = new Date(startMs).toISOString().slice(0, 10);
  const relativeDir = `${day}/${sessionId}`;
  await mkdir(join(dataDir, 'media', relativeDir), { recursive: true });
  const frames = [toneFrame(400), toneFrame(1000)];
  let trackBytes = 0;
  for (const track of [0, 1]) {
    trackBytes = await writeTrack(
      join(dataDir, 'media', relativeDir, `track${track}.pcap`),
      startMs,
      packets,
      0x5eed_0000 + track,
      frames[track] ?? new Uint8Array(SAMPLES_PER_PACKET),
    );
  }
  const db = new BetterSqlite3(join(dataDir, 'verbatim.db'));
  try {
    db.transaction(() => {
      db.prepare(
        `insert into sessions (session_id, state, start_ms, duration_ms, end_ms, controller_ip, controller_type, ccid, node_id)
         values (?, 'CLOSED_NORMAL', ?, ?, ?, '10.1.0.1', 'Cisco-CUCM', ?, 'bench-node')`,
      ).run(sessionId, startMs, durationMs, startMs + durationMs, ccid);
      for (const track of [0, 1]) {
        db.prepare(
          `insert into tracks (session_id, track_number, media_type, codec, payload_type, clock_rate_hz, start_ms,
             duration_ms, media_path, stat_packets, stat_bytes, stat_first_packet_ms, stat_last_packet_ms)
           values (?, ?, 'AUDIO', 'PCMU', 0, 8000, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          sessionId,
          track,
          startMs,
          durationMs,
          `${relativeDir}/track${track}.pcap`,
          packets,
          packets * 172,
          startMs,
          startMs + durationMs - PACKET_MS,
        );
        db.prepare(
          `insert into participants (session_id, track_number, position, device_ref, device_id, xref_ci, is_conference, start_ms, duration_ms)
           values (?, ?, 0, ?, ?, ?, 0, ?, ?)`,
        ).run(
          sessionId,
          track,
          track === 0 ? '1001' : '+15550100',
          track === 0 ? 'SEP6C416A369525' : 'SIPTrunk1',
          String(90_000_000 - track),
          startMs,
          durationMs,
        );
      }
    })();
  } finally {
    db.close();
  }
  return { sessionId, ccid, startMs, durationMs, packetsPerTrack: packets, trackBytes };
}
