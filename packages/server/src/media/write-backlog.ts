/**
 * The bytes of stored packets that one media worker's track writers hold in memory for the disk
 * (buffered and queued), against a limit. While the disk keeps up this stays at a few batches
 * per stream; when it stalls (a hung NFS mount, a saturated disk) every stream's queue would grow
 * until the process ran out of memory and lost every call. Past the limit a record is refused
 * instead: the writer counts it in its track's `unstored`, and the calls go on.
 *
 * Updated once per record appended and once per batch written, so it is plain arithmetic: no
 * allocation, no iteration.
 */
export class WriteBacklog {
  readonly limitBytes: number;
  readonly #onOverChange: ((event: WriteBacklogEvent) => void) | undefined;
  #bytes = 0;
  /** Refused a record and not yet back under half the limit. */
  #over = false;
  /** Records refused since the backlog went over its limit. */
  #refused = 0;

  /**
   * `onOverChange` runs once when a record is first refused (the disk fell behind), and once when
   * the backlog is back under half its limit: a disk that keeps the backlog at its limit refuses
   * and frees a batch at each write, and is reported once, not at every write.
   */
  constructor(limitBytes: number, onOverChange?: (event: WriteBacklogEvent) => void) {
    this.limitBytes = limitBytes;
    this.#onOverChange = onOverChange;
  }

  /** Bytes buffered and queued in the writers now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Takes `bytes` for a record, or refuses it (false) when they would put the total over the limit. */
  reserve(bytes: number): boolean {
    if (this.#bytes + bytes > this.limitBytes) {
      this.#refused++;
      if (!this.#over) {
        this.#over = true;
        this.#onOverChange?.({ over: true, bytes: this.#bytes, limitBytes: this.limitBytes, refused: 1 });
      }
      return false;
    }
    this.#bytes += bytes;
    return true;
  }

  /** Gives back the bytes of records written to their file, or discarded with a failed one. */
  release(bytes: number): void {
    this.#bytes -= bytes;
    if (this.#over && this.#bytes <= this.limitBytes / 2) {
      this.#over = false;
      const refused = this.#refused;
      this.#refused = 0;
      this.#onOverChange?.({ over: false, bytes: this.#bytes, limitBytes: this.limitBytes, refused });
    }
  }
}

export interface WriteBacklogEvent {
  /** True when the backlog went over its limit, false when it is back under half of it. */
  readonly over: boolean;
  readonly bytes: number;
  readonly limitBytes: number;
  /** Records refused since it went over (1 when it goes over). */
  readonly refused: number;
}
