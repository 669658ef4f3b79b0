import { close, fdatasync, ftruncate, mkdir, open, write } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

import {
  encodePcapGlobalHeader,
  encodePcapRecord,
  PCAP_RECORD_OVERHEAD_BYTES,
  type PcapRecordInput,
} from '../protocol/container/pcap.js';
import { WriteBacklog } from './write-backlog.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);
const fdatasyncAsync = promisify(fdatasync);
const ftruncateAsync = promisify(ftruncate);
const mkdirAsync = promisify(mkdir);

export interface TrackWriterOptions {
  /**
   * Size of the batch buffer. The default holds 18 records of 20 ms G.711 (216 bytes each);
   * a stream keeps at most two such buffers, which keeps memory per call well under 100 KB.
   */
  readonly bufferBytes?: number;
  /** Records after which the batch is written even if there is room left. */
  readonly flushRecords?: number;
  /**
   * The backlog this writer shares with the other writers of its worker: a record that would put
   * it over its limit is not stored (see `unstored`). Without one, the writer has no limit.
   */
  readonly backlog?: WriteBacklog;
}

const DEFAULT_BUFFER_BYTES = 4096;
const DEFAULT_FLUSH_RECORDS = 10;

interface PendingWrite {
  readonly buffer: Buffer;
  readonly length: number;
  /** The records in it and their payload bytes: what becomes unstored if the file fails. */
  readonly records: number;
  readonly payloadBytes: number;
}

/**
 * Appends RTP packets to one pcap track file. Records are packed into a preallocated buffer
 * that is written with one fs.write when it holds `flushRecords` records, when the next record
 * would not fit, or when the owner calls `flush` (its timer does, every ~200 ms). At most one
 * write is in flight per file, so records land in arrival order; while it runs, records go to a
 * second buffer, and batches that wait behind it are queued.
 *
 * Every record buffered or queued holds its bytes in the worker's `WriteBacklog`, given back when
 * it is written. A record that would put the backlog over its limit (the disk fell behind) is not
 * stored. A write error fails the writer: the file is cut back to the end of the last batch
 * written whole (a full disk may have taken part of the failed one), so it stays a valid capture
 * of everything stored before; what is still buffered or queued is discarded, later appends are
 * refused, and `onError` runs once. Every record not stored for either reason is counted in
 * `unstored`.
 */
export class TrackWriter {
  readonly #fd: number;
  readonly #bufferBytes: number;
  readonly #flushRecords: number;
  readonly #onError: (error: Error) => void;
  readonly #backlog: WriteBacklog;
  #active: Buffer;
  #activeBytes = 0;
  #activeRecords = 0;
  #activePayloadBytes = 0;
  #spare: Buffer | undefined;
  readonly #queue: PendingWrite[] = [];
  /** Bytes of the queued buffers, written or being written. */
  #queuedBytes = 0;
  #writing = false;
  /** Bytes of the file written whole: the global header and every batch whose write completed. */
  #writtenBytes: number;
  #failed: Error | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #drainWaiters: (() => void)[] = [];
  #unstored = 0;
  #unstoredPayloadBytes = 0;
  /** One record description reused for every packet, so appending allocates nothing. */
  readonly #record: PcapRecordInput;

  private constructor(
    fd: number,
    headerBytes: number,
    destination: { readonly address: string; readonly port: number },
    options: TrackWriterOptions,
    onError: (error: Error) => void,
  ) {
    this.#fd = fd;
    this.#writtenBytes = headerBytes;
    this.#bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
    this.#flushRecords = options.flushRecords ?? DEFAULT_FLUSH_RECORDS;
    this.#onError = onError;
    this.#backlog = options.backlog ?? new WriteBacklog(Number.POSITIVE_INFINITY);
    this.#active = Buffer.allocUnsafeSlow(this.#bufferBytes);
    this.#record = {
      timestampUs: 0,
      sourceAddress: '',
      sourcePort: 0,
      destinationAddress: destination.address,
      destinationPort: destination.port,
      payload: this.#active,
    };
  }

  /**
   * Creates the file (and its directory) and writes the pcap global header at once, so the
   * file exists and is a valid, empty capture from the start. Refuses to overwrite an existing
   * file: a recording is never truncated by a reused path.
   */
  static async create(
    filePath: string,
    destination: { readonly address: string; readonly port: number },
    options: TrackWriterOptions,
    onError: (error: Error) => void,
  ): Promise<TrackWriter> {
    await mkdirAsync(dirname(filePath), { recursive: true });
    const fd = await openAsync(filePath, 'wx');
    return TrackWriter.fromDescriptor(fd, destination, options, onError);
  }

  /**
   * Starts a track on a descriptor the caller opened for writing, and owns it from then on: it is
   * closed by `close`, or here when the global header cannot be written. Tracks are made with
   * `create`; this part of it is its own so that a test can hand a FIFO that nobody reads, whose
   * writes block as those of a stalled disk do, rather than a mock of node:fs.
   */
  static async fromDescriptor(
    fd: number,
    destination: { readonly address: string; readonly port: number },
    options: TrackWriterOptions,
    onError: (error: Error) => void,
  ): Promise<TrackWriter> {
    const header = encodePcapGlobalHeader();
    try {
      await writeFully(
        fd,
        Buffer.from(header.buffer, header.byteOffset, header.byteLength),
        header.byteLength,
      );
    } catch (error: unknown) {
      await closeAsync(fd);
      throw error;
    }
    return new TrackWriter(fd, header.byteLength, destination, options, onError);
  }

  get fd(): number {
    return this.#fd;
  }

  /** Bytes of stored records not yet written to the file: buffered and queued. */
  get pendingBytes(): number {
    return this.#activeBytes + this.#queuedBytes;
  }

  get failed(): boolean {
    return this.#failed !== undefined;
  }

  /**
   * Records appended and not written to the file: refused because the backlog was over its limit,
   * discarded when the file failed, or appended after that.
   */
  get unstored(): number {
    return this.#unstored;
  }

  /** The `payloadBytes` given with the `unstored` records. */
  get unstoredPayloadBytes(): number {
    return this.#unstoredPayloadBytes;
  }

  /**
   * Stores one datagram with its arrival time (epoch µs). `payloadBytes` is what the caller
   * counts for it (the RTP payload), given back in `unstoredPayloadBytes` if it is not stored.
   * Returns false when the record is refused: the backlog is full, or the writer failed or closed.
   */
  append(
    arrivalUs: number,
    sourceAddress: string,
    sourcePort: number,
    packet: Buffer,
    payloadBytes = packet.length,
  ): boolean {
    const recordBytes = PCAP_RECORD_OVERHEAD_BYTES + packet.length;
    if (this.#failed !== undefined || this.#closed || !this.#backlog.reserve(recordBytes)) {
      this.#unstored++;
      this.#unstoredPayloadBytes += payloadBytes;
      return false;
    }
    if (this.#activeBytes + recordBytes > this.#bufferBytes) {
      this.flush();
    }
    const record = this.#record;
    record.timestampUs = arrivalUs;
    record.sourceAddress = sourceAddress;
    record.sourcePort = sourcePort;
    record.payload = packet;
    if (recordBytes > this.#bufferBytes) {
      // Larger than a whole batch (video, jumbo datagrams): a buffer of its own, written alone.
      const single = Buffer.allocUnsafe(recordBytes);
      encodePcapRecord(single, 0, record);
      this.#enqueue({ buffer: single, length: recordBytes, records: 1, payloadBytes });
      return true;
    }
    this.#activeBytes += encodePcapRecord(this.#active, this.#activeBytes, record);
    this.#activeRecords++;
    this.#activePayloadBytes += payloadBytes;
    if (this.#activeRecords >= this.#flushRecords) {
      this.flush();
    }
    return true;
  }

  /** Hands the records buffered so far to the file (asynchronously; see `whenWritten`). */
  flush(): void {
    if (this.#activeBytes === 0 || this.#failed !== undefined) {
      return;
    }
    const length = this.#activeBytes;
    let batch: Buffer;
    if (this.#writing) {
      // The disk is behind and the batch must wait: it waits in a buffer of its own length, so
      // that the memory the queue holds is what the backlog counts (a batch buffer is often half
      // full, and a fifth full for G.729), and the batch buffer takes records again at once.
      batch = Buffer.allocUnsafeSlow(length);
      this.#active.copy(batch, 0, 0, length);
    } else {
      batch = this.#active;
      this.#active = this.#spare ?? Buffer.allocUnsafeSlow(this.#bufferBytes);
      this.#spare = undefined;
    }
    const pending = {
      buffer: batch,
      length,
      records: this.#activeRecords,
      payloadBytes: this.#activePayloadBytes,
    };
    this.#activeBytes = 0;
    this.#activeRecords = 0;
    this.#activePayloadBytes = 0;
    this.#enqueue(pending);
  }

  /** Resolves once every record handed over by `flush` is written to the file descriptor. */
  whenWritten(): Promise<void> {
    if (!this.#writing && this.#queue.length === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Writes what is buffered, makes it durable with fdatasync (so a crash after close loses
   * nothing) and closes the file. With `sync` false (after a failure) it only closes.
   * Rejects with the write or sync error; the descriptor is closed in every case.
   */
  close(sync = true): Promise<void> {
    this.#closing ??= this.#close(sync);
    return this.#closing;
  }

  async #close(sync: boolean): Promise<void> {
    this.flush();
    await this.whenWritten();
    this.#closed = true;
    let failure = this.#failed;
    if (failure === undefined && sync) {
      try {
        await fdatasyncAsync(this.#fd);
      } catch (error: unknown) {
        failure = toError(error);
      }
    }
    await closeAsync(this.#fd);
    if (failure !== undefined && sync) {
      throw failure;
    }
  }

  #enqueue(pending: PendingWrite): void {
    this.#queue.push(pending);
    this.#queuedBytes += pending.length;
    if (!this.#writing) {
      this.#writeNext();
    }
  }

  #writeNext(): void {
    const next = this.#queue[0];
    if (next === undefined) {
      this.#writing = false;
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const resolve of waiters) {
        resolve();
      }
      return;
    }
    this.#writing = true;
    writeFully(this.#fd, next.buffer, next.length).then(
      () => {
        this.#queue.shift();
        this.#writtenBytes += next.length;
        this.#queuedBytes -= next.length;
        this.#backlog.release(next.length);
        if (next.buffer.length === this.#bufferBytes && this.#spare === undefined) {
          this.#spare = next.buffer;
        }
        this.#writeNext();
      },
      (error: unknown) => {
        const failure = toError(error);
        this.#failed = failure;
        // Best effort: a read-only file system refuses this too, and the reader cuts the torn
        // record itself (PcapReader). The descriptor stays open until it is done (#writing).
        ftruncateAsync(this.#fd, this.#writtenBytes)
          .catch(() => undefined)
          .finally(() => {
            this.#discardUnwritten();
            this.#writeNext();
            this.#onError(failure);
          });
      },
    );
  }

  /**
   * The file failed: the records buffered and queued (the failed batch included, which may be
   * partly written: a torn tail that recovery cuts) will never be stored. They are counted and
   * their bytes given back to the backlog.
   */
  #discardUnwritten(): void {
    for (const pending of this.#queue) {
      this.#unstored += pending.records;
      this.#unstoredPayloadBytes += pending.payloadBytes;
      this.#backlog.release(pending.length);
    }
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    this.#unstored += this.#activeRecords;
    this.#unstoredPayloadBytes += this.#activePayloadBytes;
    this.#backlog.release(this.#activeBytes);
    this.#activeBytes = 0;
    this.#activeRecords = 0;
    this.#activePayloadBytes = 0;
  }
}

/** fs.write may write fewer bytes than asked (a full disk, a signal): write the rest. */
function writeFully(fd: number, buffer: Buffer, length: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number): void => {
      write(fd, buffer, offset, length - offset, null, (error, written) => {
        if (error !== null) {
          reject(error);
        } else if (offset + written >= length) {
          resolve();
        } else if (written === 0) {
          reject(new Error(`write made no progress at byte ${offset} of ${length}`));
        } else {
          step(offset + written);
        }
      });
    };
    step(0);
  });
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
