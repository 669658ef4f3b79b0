import type { TapBatch } from './worker-messages.js';

/** The most bytes one stream's batch holds (some 4 s of 64 kbit/s audio at a 40 ms tick). */
const MAX_BATCH_BYTES = 256 * 1024;
const INITIAL_BYTES = 2048;
const INITIAL_PACKETS = 16;

/**
 * The copies of one tapped stream's packets between two tap ticks, inside the media worker. Each
 * packet is copied once, into a buffer that `take()` hands over whole (it is transferred to the
 * main thread, so a new one is started). Bounded: past MAX_BATCH_BYTES in one tick (a main thread
 * that stopped taking, a flood) packets are not copied and are counted in `dropped`; the
 * recording never waits for a tap.
 */
export class TapBuffer {
  #bytes = new Uint8Array(INITIAL_BYTES);
  #arrivalMs = new Float64Array(INITIAL_PACKETS);
  #offsets = new Uint32Array(INITIAL_PACKETS + 1);
  #count = 0;
  #used = 0;
  #dropped = 0;

  /** Packets not copied because a batch was full. */
  get dropped(): number {
    return this.#dropped;
  }

  push(arrivalMs: number, packet: Uint8Array): void {
    const end = this.#used + packet.length;
    if (end > MAX_BATCH_BYTES) {
      this.#dropped++;
      return;
    }
    if (end > this.#bytes.length) {
      this.#bytes = grown(this.#bytes, Math.min(MAX_BATCH_BYTES, Math.max(end, this.#bytes.length * 2)));
    }
    if (this.#count === this.#arrivalMs.length) {
      const arrival = new Float64Array(this.#count * 2);
      arrival.set(this.#arrivalMs);
      this.#arrivalMs = arrival;
      const offsets = new Uint32Array(this.#count * 2 + 1);
      offsets.set(this.#offsets);
      this.#offsets = offsets;
    }
    this.#bytes.set(packet, this.#used);
    this.#arrivalMs[this.#count] = arrivalMs;
    this.#count++;
    this.#used = end;
    this.#offsets[this.#count] = end;
  }

  /** The packets since the last take, or undefined when none came; the buffer starts afresh. */
  take(streamId: string): TapBatch | undefined {
    if (this.#count === 0) {
      return undefined;
    }
    const batch: TapBatch = {
      streamId,
      count: this.#count,
      arrivalMs: this.#arrivalMs.subarray(0, this.#count),
      offsets: this.#offsets.subarray(0, this.#count + 1),
      bytes: this.#bytes.subarray(0, this.#used),
    };
    // The next batch is about as big as this one: its buffers start at this one's size.
    this.#bytes = new Uint8Array(Math.max(INITIAL_BYTES, this.#bytes.length));
    this.#arrivalMs = new Float64Array(this.#arrivalMs.length);
    this.#offsets = new Uint32Array(this.#arrivalMs.length + 1);
    this.#count = 0;
    this.#used = 0;
    return batch;
  }
}

function grown(bytes: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  const next = new Uint8Array(length);
  next.set(bytes);
  return next;
}

/** The buffers to transfer with a message carrying these batches. */
export function transferList(batches: readonly TapBatch[]): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const batch of batches) {
    buffers.push(
      batch.arrivalMs.buffer as ArrayBuffer,
      batch.offsets.buffer as ArrayBuffer,
      batch.bytes.buffer as ArrayBuffer,
    );
  }
  return buffers;
}
