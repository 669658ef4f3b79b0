import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LiveAudioStream } from '../../../src/playback/live-audio.js';
import type { LivePacket } from '../../../src/playback/live-feed.js';
import { LiveMixer } from '../../../src/playback/live-mixer.js';
import { goertzelPower, sineG711Packets } from '../../support/audio.js';

/**
 * The live mix's clock, on a virtual clock: real PCMU packets of two parties go through the live
 * decoder (live-audio.ts) into the mixer in tap batches (every 40 ms, as the media workers hand
 * them over), and 20 ms packets are taken 160 ms behind, as the RTSP pacer does.
 */

const T0 = 1_700_000_000_000;
const DELAY_MS = 160;
const NEAR_HZ = 500;
const FAR_HZ = 1300;
const CALL_MS = 4000;

interface Scheduled {
  readonly track: number;
  readonly arrivalMs: number;
  readonly rtp: Uint8Array;
}

/** A deterministic jitter of 0-29 ms per packet. */
function jitterMs(index: number): number {
  return (index * 7919) % 30;
}

/**
 * Near party: 500 Hz from 0 to 4 s, every packet 0-29 ms late. Far party: 1300 Hz, starts sending
 * 0.8 s into the call (late), stalls from 1.2 s to 1.7 s (those 25 packets arrive at once at
 * 1.7 s), then its clock runs 10 % fast (a 20 ms packet every 18 ms) until its last packet at
 * 3.32 s. Placed by its timestamps alone it would end at 3.52 s, ever later.
 */
function schedule(): Scheduled[] {
  const out: Scheduled[] = [];
  const near = sineG711Packets({ codec: 'PCMU', frequencyHz: NEAR_HZ, count: CALL_MS / 20, ssrc: 0x11 });
  near.forEach((packet, i) => {
    out.push({ track: 0, arrivalMs: T0 + i * 20 + jitterMs(i), rtp: packet.datagram });
  });
  const far = sineG711Packets({
    codec: 'PCMU',
    frequencyHz: FAR_HZ,
    count: 136,
    ssrc: 0x22,
    firstTimestamp: 4242,
  });
  far.forEach((packet, i) => {
    const sentMs = i < 20 ? 800 + i * 20 : i < 45 ? 1700 : 1700 + (i - 45) * 18;
    const arrivalMs = i >= 20 && i < 45 ? 1700 : sentMs + jitterMs(i + 3);
    out.push({ track: 1, arrivalMs: T0 + arrivalMs, rtp: packet.datagram });
  });
  return out.sort((a, b) => a.arrivalMs - b.arrivalMs);
}

async function mixOnVirtualClock(
  packets: readonly Scheduled[] = schedule(),
  callMs = CALL_MS,
): Promise<{ mixed: Int16Array; mixer: LiveMixer }> {
  const mixer = new LiveMixer({ originMs: T0 });
  const audio = new LiveAudioStream({
    codecOf: () => Promise.resolve({ codec: 'PCMU', clockRateHz: 8000, payloadType: 0 }),
    send: (frame) => {
      mixer.push(frame);
    },
    now: () => 0,
  });
  const taken: Int16Array[] = [];
  let next = 0;
  let sent = 0;
  const totalPackets = callMs / 20;
  // The tap hands over what arrived every 40 ms; the pacer takes what is due every 20 ms.
  for (let now = T0; sent < totalPackets; now += 20) {
    if ((now - T0) % 40 === 0) {
      const batches = new Map<number, LivePacket[]>();
      while (next < packets.length && (packets[next]?.arrivalMs ?? Infinity) <= now) {
        const packet = packets[next++];
        if (packet !== undefined) {
          const batch = batches.get(packet.track) ?? [];
          batch.push({ arrivalMs: packet.arrivalMs, rtp: packet.rtp });
          batches.set(packet.track, batch);
        }
      }
      for (const [track, batch] of batches) {
        audio.push(track, batch);
      }
      await audio.drained();
    }
    while (sent < totalPackets && T0 + DELAY_MS + (sent + 1) * 20 <= now) {
      taken.push(mixer.take(160));
      sent++;
    }
  }
  const mixed = new Int16Array(taken.length * 160);
  taken.forEach((piece, i) => {
    mixed.set(piece, i * 160);
  });
  return { mixed, mixer };
}

/** Tone power in 100 ms blocks from `fromS` to `toS` of the mix. */
function blocks(mixed: Int16Array, hz: number, fromS: number, toS: number): number[] {
  const out: number[] = [];
  for (let start = fromS * 8000; start + 800 <= toS * 8000; start += 800) {
    out.push(goertzelPower(mixed, 8000, hz, start, 800));
  }
  return out;
}

void describe('LiveMixer', () => {
  void it('mixes two parties with jitter on one clock, without gaps, and a late party adds no delay', async () => {
    const { mixed, mixer } = await mixOnVirtualClock();
    assert.equal(mixed.length, (CALL_MS / 20) * 160, 'one 20 ms packet per 20 ms of the call');
    // A 8000-peak tone in a 100 ms block has a power of about (8000/2)^2 = 1.6e7 at its frequency.
    const loud = 1e6;
    const quiet = 1e4;
    // The near party, jittered by up to 30 ms and delivered 40 ms at a time: no hole anywhere.
    const near = blocks(mixed, NEAR_HZ, 0.1, 3.9);
    assert.ok(
      near.every((p) => p > loud),
      `near party continuous: ${near.map((p) => p.toExponential(1)).join(' ')}`,
    );
    // The far party from when it started (0.8 s) to its stall (1.2 s), and after it.
    assert.ok(
      blocks(mixed, FAR_HZ, 0.9, 1.2).every((p) => p > loud),
      'far party before its stall',
    );
    const far = blocks(mixed, FAR_HZ, 1.8, 3.3);
    assert.ok(
      far.every((p) => p > loud),
      `far party after its stall: ${far.map((p) => p.toExponential(1)).join(' ')}`,
    );
    // Nothing of it before it started, and nothing after its last packet: neither the 0.5 s burst
    // (too late: dropped, not queued) nor its fast clock pushed its audio later.
    assert.ok(
      blocks(mixed, FAR_HZ, 0, 0.7).every((p) => p < quiet),
      'far party silent before it starts',
    );
    const after = blocks(mixed, FAR_HZ, 3.5, 4.0);
    assert.ok(
      after.every((p) => p < quiet),
      `far party ends with its last packet: ${after.map((p) => p.toExponential(1)).join(' ')}`,
    );
    // The stall: the mix is silent for most of it (those packets came 0.5 s late) and the burst was dropped.
    assert.ok(mixer.lateSamples >= 0.3 * 8000, `late samples dropped: ${mixer.lateSamples}`);
    assert.ok(
      blocks(mixed, FAR_HZ, 1.3, 1.5).every((p) => p < quiet),
      'the stalled stretch is not played late',
    );
  });

  void it('follows a party that paused without moving its timestamps on (placed by its arrival)', async () => {
    // 0.5 s of 700 Hz, nothing for 0.5 s, then 1 s more whose timestamps continue the first.
    const tone = sineG711Packets({ codec: 'PCMU', frequencyHz: 700, count: 75, ssrc: 0x33 });
    const packets = tone.map((packet, i) => ({
      track: 0,
      arrivalMs: T0 + (i < 25 ? i * 20 : 1000 + (i - 25) * 20) + jitterMs(i),
      rtp: packet.datagram,
    }));
    const { mixed } = await mixOnVirtualClock(packets, 2400);
    const heard = blocks(mixed, 700, 1.1, 1.9);
    assert.ok(
      heard.every((p) => p > 1e6),
      `heard after the pause: ${heard.map((p) => p.toExponential(1)).join(' ')}`,
    );
    assert.ok(
      blocks(mixed, 700, 0.6, 0.9).every((p) => p < 1e4),
      'silent during the pause',
    );
  });

  void it('sums and clips, and a party that sent nothing is silence', () => {
    const mixer = new LiveMixer({ originMs: T0 });
    const loud = new Int16Array(160).fill(30000);
    const placement = { continuous: false, lastOffset: 0, lastArrivalMs: T0 };
    mixer.push({ channel: 0, trackNumber: 0, sampleRateHz: 8000, arrivalMs: T0, pcm: loud, placement });
    mixer.push({ channel: 1, trackNumber: 1, sampleRateHz: 8000, arrivalMs: T0, pcm: loud, placement });
    const first = mixer.take(160);
    assert.ok(first.every((s) => s === 32767));
    const second = mixer.take(160);
    assert.ok(second.every((s) => s === 0));
  });

  void it('places a 16 kHz party (G.722) at 8 kHz on the same clock', () => {
    const mixer = new LiveMixer({ originMs: T0 });
    const pcm = new Int16Array(16000);
    for (let i = 0; i < pcm.length; i++) {
      pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 700 * i) / 16000));
    }
    mixer.push({
      channel: 0,
      trackNumber: 0,
      sampleRateHz: 16000,
      arrivalMs: T0 + 200,
      pcm,
      placement: { continuous: false, lastOffset: 0, lastArrivalMs: T0 + 200 },
    });
    const mixed = mixer.take(8000 + 1600);
    assert.ok(goertzelPower(mixed, 8000, 700, 0, 1600) < 1e4, 'silent before it arrived (200 ms)');
    assert.ok(goertzelPower(mixed, 8000, 700, 1700, 7600) > 1e6, 'the tone for one second from 200 ms');
  });
});
