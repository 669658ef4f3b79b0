/**
 * Where the generator's RTP streams run: on the main thread (workers = 0) or spread over worker
 * threads, each with its own RtpScheduler. On the 2-core benchmark machine one thread sends
 * 100,000 packets/s (2,000 streams) at about 60-70 % of one core, most of it in the kernel's
 * sendmsg, so the default is one worker: it keeps the packet timing away from the SIP work of
 * the main thread, and more workers only help on a machine with cores to spare.
 */
import { Worker } from 'node:worker_threads';
import { RtpScheduler, type RtpStreamDone, type RtpStreamSpec } from './rtp-scheduler.js';
import type { RtpWorkerCommand, RtpWorkerEvent } from './rtp-worker-messages.js';

export interface RtpSender {
  /** Resolves once every sending thread is up, so the first streams do not wait for one to load. */
  readonly ready: Promise<void>;
  start(spec: RtpStreamSpec, onDone: RtpStreamDone): void;
  stop(id: number): void;
  close(): Promise<void>;
}

/** Default number of RTP worker threads; BENCH_RTP_WORKERS overrides it (0: the main thread). */
export const DEFAULT_RTP_WORKERS = 1;
const CLOSE_TIMEOUT_MS = 2000;

export function rtpWorkersFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') {
    return DEFAULT_RTP_WORKERS;
  }
  const workers = Number(value);
  if (!Number.isInteger(workers) || workers < 0 || workers > 64) {
    throw new Error(`BENCH_RTP_WORKERS must be an integer from 0 to 64, not "${value}"`);
  }
  return workers;
}

export function createRtpSender(workers: number, onFatal: (error: Error) => void): RtpSender {
  return workers === 0 ? new InThreadRtpSender() : new WorkerRtpSender(workers, onFatal);
}

class InThreadRtpSender implements RtpSender {
  readonly #scheduler = new RtpScheduler();
  readonly ready = Promise.resolve();

  start(spec: RtpStreamSpec, onDone: RtpStreamDone): void {
    this.#scheduler.start(spec, onDone);
  }

  stop(id: number): void {
    this.#scheduler.stop(id);
  }

  close(): Promise<void> {
    this.#scheduler.close();
    return Promise.resolve();
  }
}

interface WorkerSlot {
  readonly worker: Worker;
  active: number;
  /** Specs to start, posted as one message at the end of the current turn. */
  pending: RtpStreamSpec[];
}

/**
 * Starts each worker with tsx registered inside it: Node 20 does not carry the parent's
 * `--import tsx` loader into worker threads, so the worker registers it itself before importing
 * the TypeScript entry (and is started without the parent's execArgv, so newer Node versions do
 * not register it twice).
 */
function startWorker(): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./rtp-worker.ts', import.meta.url).href;
  const code =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, execArgv: [] });
}

class WorkerRtpSender implements RtpSender {
  readonly ready: Promise<void>;
  readonly #slots: WorkerSlot[] = [];
  readonly #streams = new Map<number, { slot: WorkerSlot; onDone: RtpStreamDone }>();
  #closing: Promise<void> | undefined;

  constructor(workers: number, onFatal: (error: Error) => void) {
    for (let i = 0; i < workers; i++) {
      const slot: WorkerSlot = { worker: startWorker(), active: 0, pending: [] };
      slot.worker.on('message', (event: RtpWorkerEvent) => {
        if (event.type === 'done') {
          for (const result of event.results) {
            const entry = this.#streams.get(result.id);
            if (entry !== undefined) {
              this.#streams.delete(result.id);
              entry.slot.active--;
              entry.onDone(result);
            }
          }
        }
      });
      slot.worker.on('error', onFatal);
      this.#slots.push(slot);
    }
    this.ready = Promise.all(
      this.#slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            const onMessage = (event: RtpWorkerEvent): void => {
              if (event.type === 'ready') {
                slot.worker.off('message', onMessage);
                resolve();
              }
            };
            slot.worker.on('message', onMessage);
            // A worker that dies while loading is reported through onFatal.
            slot.worker.once('exit', () => {
              resolve();
            });
          }),
      ),
    ).then(() => undefined);
  }

  start(spec: RtpStreamSpec, onDone: RtpStreamDone): void {
    let chosen: WorkerSlot | undefined;
    for (const slot of this.#slots) {
      if (chosen === undefined || slot.active < chosen.active) {
        chosen = slot;
      }
    }
    if (chosen === undefined || this.#closing !== undefined) {
      onDone({ id: spec.id, sentPackets: 0, latePackets: 0, error: 'RTP sender closed' });
      return;
    }
    chosen.active++;
    this.#streams.set(spec.id, { slot: chosen, onDone });
    // One message per turn, not per stream: a worker that receives thousands of starts in
    // separate messages begins sending the first streams while it is still opening sockets for
    // the others, and those early packets leave late.
    if (chosen.pending.length === 0) {
      const slot = chosen;
      setImmediate(() => {
        this.#flush(slot);
      });
    }
    chosen.pending.push(spec);
  }

  #flush(slot: WorkerSlot): void {
    if (slot.pending.length > 0) {
      this.#post(slot, { type: 'start', specs: slot.pending });
      slot.pending = [];
    }
  }

  stop(id: number): void {
    const entry = this.#streams.get(id);
    if (entry !== undefined) {
      this.#flush(entry.slot);
      this.#post(entry.slot, { type: 'stop', id });
    }
  }

  close(): Promise<void> {
    this.#closing ??= Promise.all(this.#slots.map((slot) => this.#closeWorker(slot))).then(() => undefined);
    return this.#closing;
  }

  #post(slot: WorkerSlot, command: RtpWorkerCommand): void {
    slot.worker.postMessage(command);
  }

  async #closeWorker(slot: WorkerSlot): Promise<void> {
    // Each worker stops its streams (their results arrive as 'done' first) and says 'closed';
    // a worker that does not answer in time is terminated anyway.
    this.#flush(slot);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      slot.worker.on('message', (event: RtpWorkerEvent) => {
        if (event.type === 'closed') {
          clearTimeout(timer);
          resolve();
        }
      });
      slot.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#post(slot, { type: 'close' });
    });
    await slot.worker.terminate();
  }
}
