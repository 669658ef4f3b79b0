import type { Worker } from 'node:worker_threads';

import type { Logger } from 'pino';

import { MEDIA_ERR_WORKER_EXITED, MediaError } from './media-errors.js';
import type { RtpWorkerLauncher } from './worker-launcher.js';
import type { FromWorker, RtpWorkerSettings, ToWorker } from './worker-messages.js';

/**
 * The media worker threads and the messaging with them: starting them, request/reply by
 * `requestId`, the messages a worker sends unasked, and what happens when one dies (its pending
 * requests fail, its owner hears of it, a new worker takes its place). It knows nothing of
 * streams: the engine (create-media-engine.ts) decides which worker gets which stream.
 */

/** A message that expects a reply, without the `requestId` the pool gives it. */
export type WorkerRequest = WithoutRequestId<ToWorker>;
type WithoutRequestId<Message> = Message extends { readonly requestId: number }
  ? Omit<Message, 'requestId'>
  : never;

/** The reply to a WorkerRequest. */
export type WorkerReply = Extract<FromWorker, { readonly requestId: number }>;

/**
 * What a worker sends unasked: statistics, its load, events, a stream it had to close, the copies
 * of tapped streams.
 */
export type WorkerNotice = Extract<
  FromWorker,
  { readonly type: 'stats' | 'load' | 'event' | 'failed' | 'tapped' }
>;

export interface WorkerPoolOptions {
  readonly settings: RtpWorkerSettings;
  readonly workerCount: number;
  readonly launch: RtpWorkerLauncher;
  readonly log: Logger;
  /** A notice from a running worker, and the worker's index. */
  readonly onNotice: (notice: WorkerNotice, workerIndex: number) => void;
  /**
   * A worker exited without being stopped (a crash). Its pending requests were rejected with
   * `failure`; once this returns, the pool replaces the worker unless it is closing.
   */
  readonly onCrash: (workerIndex: number, exitCode: number, failure: MediaError) => void;
}

interface Pending {
  readonly resolve: (reply: WorkerReply) => void;
  readonly reject: (error: Error) => void;
}

interface WorkerSlot {
  readonly index: number;
  worker: Worker;
  readonly pending: Map<number, Pending>;
  /** Set when the pool itself stops the worker, so the exit is not a crash. */
  stopping: boolean;
  /** The current worker loaded; one that dies before is not restarted (it would only die again). */
  ready: boolean;
}

export class RtpWorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #log: Logger;
  readonly #slots: WorkerSlot[] = [];
  #nextRequestId = 1;
  /** Set once the owner closes (or the start failed): a worker that dies is not replaced. */
  #closing = false;

  /** Launches the workers; `start` waits for them. */
  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#log = options.log;
    for (let index = 0; index < options.workerCount; index++) {
      this.#slots.push({
        index,
        worker: this.#spawn(index),
        pending: new Map(),
        stopping: false,
        ready: false,
      });
    }
  }

  get size(): number {
    return this.#slots.length;
  }

  /**
   * Resolves once every worker has loaded, or stops them all and rejects with a MediaError when
   * one cannot start.
   */
  async start(): Promise<void> {
    try {
      await Promise.all(this.#slots.map((slot) => waitReady(slot.worker)));
    } catch (error: unknown) {
      this.#closing = true;
      await this.terminate();
      throw new MediaError(MEDIA_ERR_WORKER_EXITED, 'a media worker failed to start', { cause: error });
    }
  }

  /** False for a worker that was stopped, or that died before it was ready: it takes no work. */
  isRunning(workerIndex: number): boolean {
    const slot = this.#slots[workerIndex];
    return slot !== undefined && !slot.stopping;
  }

  /** The indexes of the running workers. */
  running(): number[] {
    return this.#slots.filter((slot) => !slot.stopping).map((slot) => slot.index);
  }

  /** Sends a request to the worker; rejects with a MediaError if the worker dies first. */
  request(workerIndex: number, request: WorkerRequest): Promise<WorkerReply> {
    const slot = this.#slotAt(workerIndex);
    const message = { ...request, requestId: this.#nextRequestId++ } as ToWorker & {
      readonly requestId: number;
    };
    return new Promise((resolve, reject) => {
      slot.pending.set(message.requestId, { resolve, reject });
      slot.worker.postMessage(message);
    });
  }

  /** Sends a message that expects no reply to the worker's current thread. */
  post(workerIndex: number, message: ToWorker): void {
    this.#slotAt(workerIndex).worker.postMessage(message);
  }

  /** From now on a worker that dies is not replaced (the owner is closing). */
  stopReplacing(): void {
    this.#closing = true;
  }

  /** Stops every worker; their exits are not crashes. */
  async terminate(): Promise<void> {
    await Promise.all(
      this.#slots.map((slot) => {
        slot.stopping = true;
        return slot.worker.terminate();
      }),
    );
  }

  #slotAt(workerIndex: number): WorkerSlot {
    const slot = this.#slots[workerIndex];
    if (slot === undefined) {
      throw new RangeError(`no media worker ${workerIndex}`);
    }
    return slot;
  }

  #spawn(index: number): Worker {
    const worker = this.#options.launch(this.#options.settings);
    worker.on('message', (message: FromWorker) => {
      const slot = this.#slots[index];
      if (slot?.worker === worker) {
        this.#onMessage(slot, message);
      }
    });
    worker.on('error', (error) => {
      this.#log.error({ worker: index, err: error }, 'media worker failed');
    });
    worker.on('exit', (exitCode) => {
      const slot = this.#slots[index];
      if (slot?.worker === worker) {
        this.#onExit(slot, exitCode);
      }
    });
    return worker;
  }

  #onMessage(slot: WorkerSlot, message: FromWorker): void {
    switch (message.type) {
      case 'ready':
        slot.ready = true;
        return;
      case 'opened':
      case 'open-failed':
      case 'closed':
      case 'flushed':
      case 'paused': {
        const pending = slot.pending.get(message.requestId);
        slot.pending.delete(message.requestId);
        pending?.resolve(message);
        return;
      }
      case 'stats':
      case 'load':
      case 'event':
      case 'failed':
      case 'tapped':
        this.#options.onNotice(message, slot.index);
        return;
      case 'log':
        this.#log[message.level]({ worker: slot.index, ...message.fields }, message.message);
        return;
      default: {
        // A reply type missing above would leave its requests pending for ever: caught here.
        const unhandled: never = message;
        this.#log.error({ worker: slot.index, message: unhandled }, 'unknown message from a media worker');
      }
    }
  }

  /**
   * A worker that exits while the pool did not stop it crashed: its pending requests fail, the
   * owner is told (it retires the worker's streams), and a new worker takes its place.
   */
  #onExit(slot: WorkerSlot, exitCode: number): void {
    if (slot.stopping) {
      return;
    }
    const failure = new MediaError(
      MEDIA_ERR_WORKER_EXITED,
      `media worker ${slot.index} exited with ${exitCode}`,
    );
    for (const pending of slot.pending.values()) {
      pending.reject(failure);
    }
    slot.pending.clear();
    this.#options.onCrash(slot.index, exitCode, failure);
    if (this.#closing) {
      return;
    }
    if (!slot.ready) {
      // Restarting a worker that cannot even load would loop; its slot takes no more work.
      slot.stopping = true;
      this.#log.error({ worker: slot.index }, 'media worker died before it was ready; not restarting it');
      return;
    }
    slot.ready = false;
    slot.worker = this.#spawn(slot.index);
  }
}

function waitReady(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker): void => {
      if (message.type === 'ready') {
        cleanup();
        resolve();
      }
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onExit = (exitCode: number): void => {
      cleanup();
      reject(new Error(`media worker exited with ${exitCode} before it was ready`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
