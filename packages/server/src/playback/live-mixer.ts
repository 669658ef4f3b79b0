import { StreamingResampler } from '../protocol/codec/resample.js';
import type { LiveAudioFrame } from './live-frame.js';

/**
 * The live mix (RTSP `/live/<id>?mix=1`): the decoded frames of an ACTIVE call's parties
 * (live-audio.ts) placed on one clock and summed, 8 kHz mono, for one PCMU stream.
 *
 * The clock is the wall clock: mixer sample s is the instant `originMs + s / 8` ms. A party's
 * audio is placed by its arrival at the recorder, but arrival times carry the network's jitter,
 * so within a run of contiguous audio (live-audio.ts fills lost packets) the samples keep their
 * own spacing (RTP timestamps) and arrivals only anchor the run: a frame whose arrival puts it
 * more than `earlySlackMs` before, or `lateSlackMs` after, where the run puts it starts a new run
 * at its arrival (the sender restarted, paused without a timestamp jump, or its clock drifts).
 * The two differ because jitter only ever delays: a frame later than its run predicts keeps its
 * place as long as it can still be played (re-anchoring would glitch for nothing), while a run
 * ahead of the arrivals holds audio back, which is the delay that must not grow. The anchor is the arrival of
 * the frame's LAST packet: a burst after a stall is then placed where its newest audio belongs,
 * its older part falls before the playout point and is dropped, so a late party never piles up
 * delay. The driver takes samples `delay` behind the wall clock (play-session.ts), and what is
 * written behind the playout point is dropped (counted in `lateSamples`).
 *
 * Each party is kept in its own ring (a re-anchored run overwrites, never doubles, what it
 * overlaps), summed and clipped when taken. A party that sent nothing is silence.
 */

export const MIX_RATE_HZ = 8000;

export interface LiveMixerOptions {
  /** Wall-clock instant of mixer sample 0 (epoch ms). */
  readonly originMs: number;
  /** How far a run may place a frame after its arrival before it is re-anchored. Default 60. */
  readonly earlySlackMs?: number;
  /**
   * How far a frame may arrive after where its run places it before the run is re-anchored: keep
   * it below the playout delay, beyond which the frame would be dropped anyway. Default 100.
   */
  readonly lateSlackMs?: number;
  /** How far ahead of the playout point audio is kept. Default 2000. */
  readonly capacityMs?: number;
}

interface Run {
  /** Mixer position of the run's first output sample. */
  readonly start: number;
  readonly rateHz: number;
  readonly resampler: StreamingResampler;
  /** Input samples (at rateHz) pushed into the run. */
  pushed: number;
}

interface Party {
  readonly ring: Int16Array;
  run: Run | undefined;
}

export class LiveMixer {
  readonly #originMs: number;
  readonly #earlySlack: number;
  readonly #lateSlack: number;
  readonly #capacity: number;
  readonly #parties = new Map<number, Party>();
  /** Next mixer sample to take (the playout point). */
  #position = 0;
  /** Samples that came too late (behind the playout point) or too early, and were dropped. */
  lateSamples = 0;
  earlySamples = 0;
  /** Runs started again at a frame's arrival (the first run of a party included). */
  reanchors = 0;

  constructor(options: LiveMixerOptions) {
    this.#originMs = options.originMs;
    this.#earlySlack = ((options.earlySlackMs ?? 60) * MIX_RATE_HZ) / 1000;
    this.#lateSlack = ((options.lateSlackMs ?? 100) * MIX_RATE_HZ) / 1000;
    this.#capacity = Math.max(
      MIX_RATE_HZ / 10,
      Math.round(((options.capacityMs ?? 2000) * MIX_RATE_HZ) / 1000),
    );
  }

  /** The next sample `take` returns, as a mixer position. */
  get position(): number {
    return this.#position;
  }

  /** Places one decoded frame of a party (its channel) on the mixer's clock. */
  push(frame: LiveAudioFrame): void {
    if (frame.pcm.length === 0 || !(frame.sampleRateHz > 0)) {
      return;
    }
    let party = this.#parties.get(frame.channel);
    if (party === undefined) {
      party = { ring: new Int16Array(this.#capacity), run: undefined };
      this.#parties.set(frame.channel, party);
    }
    const rate = frame.sampleRateHz;
    const placement = frame.placement ?? {
      continuous: false,
      lastOffset: 0,
      lastArrivalMs: frame.arrivalMs,
    };
    // Where the frame starts if its last packet is placed at its arrival.
    const arrivalStart =
      ((placement.lastArrivalMs - this.#originMs) * MIX_RATE_HZ) / 1000 -
      (placement.lastOffset * MIX_RATE_HZ) / rate;
    let run = party.run;
    if (run !== undefined && placement.continuous && run.rateHz === rate) {
      const runStart = run.start + (run.pushed * MIX_RATE_HZ) / rate;
      const late = arrivalStart - runStart;
      if (late > this.#lateSlack || -late > this.#earlySlack) {
        run = undefined;
      }
    } else {
      run = undefined;
    }
    if (run === undefined) {
      run = {
        start: Math.round(arrivalStart),
        rateHz: rate,
        resampler: new StreamingResampler(rate, MIX_RATE_HZ),
        pushed: 0,
      };
      party.run = run;
      this.reanchors += 1;
    }
    run.resampler.push(frame.pcm);
    run.pushed += frame.pcm.length;
    // Pull what the input so far determines (all of it at 8 kHz; a few ms less through a filter).
    const resampler = run.resampler;
    let count = Math.floor((run.pushed * MIX_RATE_HZ) / rate) - resampler.produced;
    while (count > 0 && resampler.inputNeeded(resampler.produced + count) > run.pushed) {
      count--;
    }
    if (count <= 0) {
      return;
    }
    const first = run.start + resampler.produced;
    const out = new Int16Array(count);
    resampler.pull(count, out);
    this.#write(party.ring, first, out);
  }

  #write(ring: Int16Array, first: number, samples: Int16Array): void {
    const from = Math.max(0, this.#position - first);
    const to = Math.min(samples.length, this.#position + this.#capacity - first);
    this.lateSamples += Math.min(from, samples.length);
    this.earlySamples += Math.max(0, samples.length - Math.max(to, from));
    for (let i = from; i < to; i++) {
      ring[(first + i) % this.#capacity] = samples[i] ?? 0;
    }
  }

  /** The next `count` mixed samples (every party summed, clipped), moving the playout point on. */
  take(count: number): Int16Array {
    const mixed = new Int16Array(count);
    const capacity = this.#capacity;
    for (const party of this.#parties.values()) {
      const ring = party.ring;
      for (let i = 0; i < count; i++) {
        const index = (this.#position + i) % capacity;
        const sum = (mixed[i] ?? 0) + (ring[index] ?? 0);
        mixed[i] = sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum;
        ring[index] = 0;
      }
    }
    this.#position += count;
    return mixed;
  }

  /** Moves the playout point on without output (the pacer fell far behind). */
  skip(count: number): void {
    const capacity = this.#capacity;
    for (const party of this.#parties.values()) {
      for (let i = 0; i < Math.min(count, capacity); i++) {
        party.ring[(this.#position + i) % capacity] = 0;
      }
    }
    this.#position += count;
  }
}
