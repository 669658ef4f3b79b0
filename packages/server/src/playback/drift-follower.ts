/**
 * Follows a sender clock that runs fast or slow against the recorder's (docs/media.md, "Track
 * timeline", "Clock drift"), for one run of the track timeline (playback/track-timeline.ts).
 *
 * The timeline places a packet at anchor + its RTP position (samples of RTP time since the run's
 * first timestamp) + the *slew*, which this class keeps. A packet's lateness against its RTP
 * position is arrival − (anchor + RTP position); jitter only ever adds to it, so its minimum over
 * a window is the path delay's floor, and a drifting sender clock shows as a floor that moves
 * steadily (0.1 % is 1 ms per second). The slew follows the floor:
 * - the floor is the minimum lateness over the last FLOOR_WINDOW_BLOCKS seconds of RTP position
 *   that held packets (not of arrival: a stall followed by a catch-up burst adds packets whose RTP
 *   positions also cover the packets that came on time before the stall, so it cannot raise the
 *   floor; and a silence or a hold keeps the floor seen before it until the talk after it has
 *   filled the window);
 * - once the floor is more than DEAD_BAND_EARLY_MS below the slew or DEAD_BAND_LATE_MS above it,
 *   the slew moves toward it until they meet, by at most MAX_SLEW_RATE of one packet's samples per
 *   packet (at least one sample) and MAX_SLEW_RATE of the arrival time since its last move (a
 *   burst arriving at once cannot move it), and only on a packet that strictly continues the run
 *   (its caller says so): that packet is stretched or squeezed by the change (see `follow`;
 *   `stretchSamples` makes it), so the audio stays continuous;
 * - a packet that arrives after packets later in RTP time (reordered) is placed with the slew that
 *   was in force at its RTP position (`slewAt`), so it fits exactly between its neighbours.
 * Every cost is O(1) per packet (FLOOR_WINDOW_BLOCKS block minima), apart from a reordered packet's
 * look-up, which walks back over the slew changes made after it.
 *
 * A run's first MAX_DELAY_MS are also the track timeline's business: a packet earlier than its
 * place moves the whole run's anchor (its first packet was late); the slew then starts from where
 * the anchor settled.
 */

/** The floor window: the last this many blocks of one second of RTP position that held packets. */
const FLOOR_WINDOW_BLOCKS = 6;
const BLOCK_MS = 1000;
/**
 * A floor this close to the slew is left alone. Below it, a packet came through faster than the
 * slew allows: proof, acted on from 2 ms. Above it, it may only be that no packet of the window
 * happened to come through fast (under heavy jitter the window's minimum stays a few ms above the
 * true floor now and then): 4 ms.
 */
const DEAD_BAND_EARLY_MS = 2;
const DEAD_BAND_LATE_MS = 4;
/** The fastest the slew moves: 0.5 % of real time (5 ms per second), five times the 0.1 % asked for. */
const MAX_SLEW_RATE = 0.005;
/**
 * Slew changes remembered for reordered packets. A change of one sample needs 200 samples of
 * arrival since the last (MAX_SLEW_RATE): at 8 kHz that is 25 ms, so 1,024 changes cover 25 s.
 */
const HISTORY = 1024;

export class DriftFollower {
  readonly #blockSamples: number;
  readonly #deadBandEarlySamples: number;
  readonly #deadBandLateSamples: number;
  /**
   * The window, a ring of blocks of RTP position, newest at #newestSlot: each block's number and its
   * minimum of arrival − RTP position (NaN: an empty slot).
   */
  readonly #blockIndex = new Float64Array(FLOOR_WINDOW_BLOCKS);
  readonly #blockMin = new Float64Array(FLOOR_WINDOW_BLOCKS);
  #newestSlot = 0;
  /** The minimum over the window's blocks, kept as packets come. */
  #floor = Number.POSITIVE_INFINITY;
  #slew = 0;
  /** True from the floor leaving the dead band until the slew has reached it. */
  #correcting = false;
  #lastChangeArrival = 0;
  /** Slew changes, a ring: the RTP position of the stretched packet, and the slew before it. */
  readonly #changePosition = new Float64Array(HISTORY);
  readonly #slewBefore = new Float64Array(HISTORY);
  #changes = 0;

  /** `rateHz`: the samples the positions and arrivals count. */
  constructor(rateHz: number) {
    this.#blockSamples = (BLOCK_MS * rateHz) / 1000;
    this.#deadBandEarlySamples = (DEAD_BAND_EARLY_MS * rateHz) / 1000;
    this.#deadBandLateSamples = (DEAD_BAND_LATE_MS * rateHz) / 1000;
  }

  /** The slew of the packets now being placed, in samples. */
  get slew(): number {
    return this.#slew;
  }

  /** Starts a new run whose first packet arrived at `arrivalSample`, at RTP position 0. */
  reset(arrivalSample: number): void {
    this.#blockIndex.fill(Number.NaN);
    this.#blockMin.fill(Number.POSITIVE_INFINITY);
    this.#floor = Number.POSITIVE_INFINITY;
    this.#slew = 0;
    this.#correcting = false;
    this.#lastChangeArrival = arrivalSample;
    this.#changes = 0;
    this.observe(0, arrivalSample);
  }

  /** Counts a packet of the run, placed by its RTP position, in the floor. */
  observe(rtpPosition: number, arrivalSample: number): void {
    const block = Math.floor(rtpPosition / this.#blockSamples);
    const offset = arrivalSample - rtpPosition;
    let slot = this.#newestSlot;
    const newest = this.#blockIndex[slot] as number;
    if (!(block <= newest)) {
      // A new block (or the first): it takes the place of the oldest.
      slot = (slot + 1) % FLOOR_WINDOW_BLOCKS;
      this.#newestSlot = slot;
      this.#blockIndex[slot] = block;
      this.#blockMin[slot] = offset;
      this.#floor = Math.min(...this.#blockMin);
      return;
    }
    // A block of the window (the newest, almost always); a packet of an older one is left out.
    for (let age = 0; age < FLOOR_WINDOW_BLOCKS; age++) {
      if (this.#blockIndex[slot] === block) {
        if (offset < (this.#blockMin[slot] as number)) {
          this.#blockMin[slot] = offset;
          this.#floor = Math.min(this.#floor, offset);
        }
        return;
      }
      slot = (slot + FLOOR_WINDOW_BLOCKS - 1) % FLOOR_WINDOW_BLOCKS;
    }
  }

  /** The slew a packet at this RTP position is placed with: the one in force where it belongs. */
  slewAt(rtpPosition: number): number {
    let slew = this.#slew;
    const oldest = Math.max(0, this.#changes - HISTORY);
    for (let change = this.#changes - 1; change >= oldest; change--) {
      const slot = change % HISTORY;
      if (rtpPosition > (this.#changePosition[slot] as number)) {
        break;
      }
      slew = this.#slewBefore[slot] as number;
    }
    return slew;
  }

  /**
   * For a packet that strictly continues the run (the next sequence number, the run's packet
   * duration later), observed already: moves the slew toward the floor when it should, and
   * returns by how much (usually 0). The packet is then placed with the slew it had before and
   * rendered `change` samples longer, so that it ends exactly where the next packet starts.
   */
  follow(rtpPosition: number, arrivalSample: number, anchorSample: number, packetSamples: number): number {
    const error = this.#floor - anchorSample - this.#slew;
    if (!this.#correcting) {
      if (error <= this.#deadBandLateSamples && -error <= this.#deadBandEarlySamples) {
        return 0;
      }
      this.#correcting = true;
    }
    const allowed = Math.min(
      Math.max(1, Math.floor(packetSamples * MAX_SLEW_RATE)),
      Math.floor((arrivalSample - this.#lastChangeArrival) * MAX_SLEW_RATE),
      Math.floor(Math.abs(error)),
    );
    if (Math.abs(error) < 1) {
      this.#correcting = false;
    }
    if (allowed < 1) {
      return 0;
    }
    const change = Math.sign(error) * allowed;
    const slot = this.#changes % HISTORY;
    this.#changePosition[slot] = rtpPosition;
    this.#slewBefore[slot] = this.#slew;
    this.#changes++;
    this.#slew += change;
    this.#lastChangeArrival = arrivalSample;
    return change;
  }
}

/**
 * A packet's samples (G.711 bytes looked up in `table`) stretched by `by` samples (squeezed when
 * negative), linearly interpolated, first on first and last on last, so that the waveform runs on
 * without a step into the packets on either side. Too short a packet is only decoded.
 */
export function stretchSamples(samples: Uint8Array | Int16Array, by: number, table?: Int16Array): Int16Array {
  const last = samples.length - 1;
  const length = samples.length + by;
  const valueAt = (index: number): number =>
    table === undefined ? (samples[index] as number) : (table[samples[index] as number] as number);
  if (last < 1 || length < 2) {
    return Int16Array.from({ length: samples.length }, (_, index) => valueAt(index));
  }
  const scale = last / (length - 1);
  const out = new Int16Array(length);
  for (let index = 0; index < length; index++) {
    const position = index * scale;
    const below = Math.min(Math.floor(position), last);
    const before = valueAt(below);
    out[index] = Math.round(before + (valueAt(Math.min(below + 1, last)) - before) * (position - below));
  }
  return out;
}
