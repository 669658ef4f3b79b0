/**
 * Audio helpers for tests: synthesise G.711 RTP streams and pcap track files, and analyse WAV
 * output (frequency per channel, silent stretches). The WAV reader is written independently of
 * src/protocol/container/wav.ts on purpose, so an export is checked by a second implementation.
 */
import { encodeAlawSample, encodeMulawSample } from '../../src/protocol/codec/g711.js';
import {
  PCAP_GLOBAL_HEADER_BYTES,
  encodePcapGlobalHeader,
  encodePcapRecord,
  pcapRecordBytes,
} from '../../src/protocol/container/pcap.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';

/**
 * Relative power of `frequencyHz` in samples[start, start + length) by the Goertzel algorithm,
 * normalised so that a full-scale sine gives about 0.25 × 32768², independent of the length.
 */
export function goertzelPower(
  samples: ArrayLike<number>,
  sampleRateHz: number,
  frequencyHz: number,
  start = 0,
  length = samples.length - start,
): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequencyHz) / sampleRateHz);
  let previous = 0;
  let beforePrevious = 0;
  for (let i = start; i < start + length; i++) {
    const current = (samples[i] ?? 0) + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
  }
  const power =
    previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious;
  return length > 0 ? power / (length * length) : 0;
}

/**
 * The strongest frequency in samples[start, start + length) (at most one second is analysed),
 * found by a 5 Hz Goertzel scan refined to 1 Hz. Returns 0 for silence.
 */
export function dominantFrequencyHz(
  samples: ArrayLike<number>,
  sampleRateHz: number,
  start = 0,
  length = samples.length - start,
): number {
  const n = Math.min(length, sampleRateHz);
  let energy = 0;
  for (let i = start; i < start + n; i++) {
    energy += (samples[i] ?? 0) ** 2;
  }
  if (energy === 0) {
    return 0;
  }
  let best = 0;
  let bestPower = -1;
  const scan = (from: number, to: number, step: number): void => {
    for (let f = Math.max(step, from); f <= to; f += step) {
      const power = goertzelPower(samples, sampleRateHz, f, start, n);
      if (power > bestPower) {
        bestPower = power;
        best = f;
      }
    }
  };
  scan(20, sampleRateHz / 2 - 20, 5);
  scan(best - 5, best + 5, 1);
  return best;
}

/** Root-mean-square level of samples[start, end). */
export function rmsLevel(samples: ArrayLike<number>, start = 0, end = samples.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) {
    sum += (samples[i] ?? 0) ** 2;
  }
  return end > start ? Math.sqrt(sum / (end - start)) : 0;
}

export interface WavSamples {
  sampleRateHz: number;
  channels: number;
  bitsPerSample: number;
  /** Samples per channel, de-interleaved. */
  channelSamples: Int16Array[];
  /** Sample frames × 1000 / rate. */
  durationMs: number;
  /** Where the sample data starts in the file. */
  dataOffset: number;
}

/**
 * Parses a 16-bit PCM WAV file (any chunk layout, WAVE_FORMAT_EXTENSIBLE included). A data size
 * of 0xFFFFFFFF, or one running past the file, means "to the end of the file".
 */
export function readWavSamples(bytes: Uint8Array): WavSamples {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = (offset: number): string => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || ascii(0) !== 'RIFF' || ascii(8) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let format: { tag: number; channels: number; rate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = ascii(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      let tag = view.getUint16(body, true);
      if (tag === 0xfffe) {
        tag = view.getUint16(body + 24, true);
      }
      format = {
        tag,
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (format === undefined) {
        throw new Error('data chunk before fmt chunk');
      }
      if (format.tag !== 1 || format.bits !== 16) {
        throw new Error(`only 16-bit PCM is supported (format ${format.tag}, ${format.bits} bits)`);
      }
      const available = bytes.length - body;
      const dataBytes = size === 0xffffffff || size > available ? available : size;
      const frames = Math.floor(dataBytes / (2 * format.channels));
      const channelSamples = Array.from({ length: format.channels }, () => new Int16Array(frames));
      for (let frame = 0; frame < frames; frame++) {
        for (let channel = 0; channel < format.channels; channel++) {
          (channelSamples[channel] as Int16Array)[frame] = view.getInt16(
            body + (frame * format.channels + channel) * 2,
            true,
          );
        }
      }
      return {
        sampleRateHz: format.rate,
        channels: format.channels,
        bitsPerSample: format.bits,
        channelSamples,
        durationMs: (frames * 1000) / format.rate,
        dataOffset: body,
      };
    }
    offset = body + size + (size & 1);
  }
  throw new Error('no data chunk');
}

export interface Stretch {
  startMs: number;
  endMs: number;
}

/**
 * Stretches of at least `minDurationMs` where every sample's magnitude is at most `threshold`
 * (0 finds exact digital silence: lost packets and missing tracks), in milliseconds.
 */
export function findSilences(
  samples: ArrayLike<number>,
  sampleRateHz: number,
  options: { minDurationMs?: number; threshold?: number } = {},
): Stretch[] {
  const minSamples = Math.max(1, Math.round(((options.minDurationMs ?? 10) * sampleRateHz) / 1000));
  const threshold = options.threshold ?? 0;
  const stretches: Stretch[] = [];
  let runStart = -1;
  for (let i = 0; i <= samples.length; i++) {
    const quiet = i < samples.length && Math.abs(samples[i] ?? 0) <= threshold;
    if (quiet && runStart < 0) {
      runStart = i;
    } else if (!quiet && runStart >= 0) {
      if (i - runStart >= minSamples) {
        stretches.push({ startMs: (runStart * 1000) / sampleRateHz, endMs: (i * 1000) / sampleRateHz });
      }
      runStart = -1;
    }
  }
  return stretches;
}

/** findSilences for every channel of a WAV file. */
export function silencesPerChannel(
  wav: WavSamples,
  options: { minDurationMs?: number; threshold?: number } = {},
): Stretch[][] {
  return wav.channelSamples.map((samples) => findSilences(samples, wav.sampleRateHz, options));
}

export interface SinePacket {
  sequenceNumber: number;
  timestamp: number;
  /** Index of the packet's first sample in the generated signal. */
  firstSampleIndex: number;
  /** The G.711 payload. */
  payload: Uint8Array;
  /** The whole RTP datagram. */
  datagram: Uint8Array;
}

export interface SinePacketOptions {
  codec: 'PCMU' | 'PCMA';
  frequencyHz: number;
  count: number;
  /** Peak amplitude, 16-bit scale; default 8000. */
  amplitude?: number;
  /** Default 20 ms (160 samples at 8 kHz). */
  packetMs?: number;
  /** Default 0 for PCMU and 8 for PCMA. */
  payloadType?: number;
  ssrc?: number;
  firstSequenceNumber?: number;
  firstTimestamp?: number;
  /** Phase origin: the first packet starts at this sample of the sine. */
  firstSampleIndex?: number;
}

/** A phase-continuous sine wave at 8 kHz cut into G.711 RTP packets. */
export function sineG711Packets(options: SinePacketOptions): SinePacket[] {
  const samplesPerPacket = Math.round(((options.packetMs ?? 20) * 8000) / 1000);
  const amplitude = options.amplitude ?? 8000;
  const encode = options.codec === 'PCMU' ? encodeMulawSample : encodeAlawSample;
  const payloadType = options.payloadType ?? (options.codec === 'PCMU' ? 0 : 8);
  const packets: SinePacket[] = [];
  for (let p = 0; p < options.count; p++) {
    const firstSampleIndex = (options.firstSampleIndex ?? 0) + p * samplesPerPacket;
    const payload = new Uint8Array(samplesPerPacket);
    for (let i = 0; i < samplesPerPacket; i++) {
      const n = firstSampleIndex + i;
      payload[i] = encode(Math.round(amplitude * Math.sin((2 * Math.PI * options.frequencyHz * n) / 8000)));
    }
    const sequenceNumber = ((options.firstSequenceNumber ?? 1000) + p) & 0xffff;
    const timestamp = ((options.firstTimestamp ?? 160_000) + p * samplesPerPacket) >>> 0;
    const datagram = serializeRtpPacket(
      { marker: p === 0, payloadType, sequenceNumber, timestamp, ssrc: options.ssrc ?? 0x5eed },
      payload,
    );
    packets.push({ sequenceNumber, timestamp, firstSampleIndex, payload, datagram });
  }
  return packets;
}

export interface CapturedDatagram {
  /** Arrival time, epoch microseconds. */
  timestampUs: number;
  datagram: Uint8Array;
  sourceAddress?: string;
  sourcePort?: number;
  destinationAddress?: string;
  destinationPort?: number;
}

/** A complete track file (global header and one record per datagram, in the given order). */
export function buildPcapFile(datagrams: readonly CapturedDatagram[]): Uint8Array {
  const size = datagrams.reduce(
    (sum, d) => sum + pcapRecordBytes(d.datagram.length),
    PCAP_GLOBAL_HEADER_BYTES,
  );
  const out = new Uint8Array(size);
  out.set(encodePcapGlobalHeader(), 0);
  let offset = PCAP_GLOBAL_HEADER_BYTES;
  for (const d of datagrams) {
    offset += encodePcapRecord(out, offset, {
      timestampUs: d.timestampUs,
      sourceAddress: d.sourceAddress ?? '192.0.2.10',
      sourcePort: d.sourcePort ?? 20000,
      destinationAddress: d.destinationAddress ?? '192.0.2.1',
      destinationPort: d.destinationPort ?? 32768,
      payload: d.datagram,
    });
  }
  return out;
}
