import { join } from 'node:path';
import type { CallsReport, GeneratorCommand, GeneratorReport } from '../protocol.js';
import { forkChild, type Child } from './processes.js';
import { REPO_ROOT } from './recorder.js';
import { messageOf } from './timing.js';
import { waitFor } from '../../packages/server/test/support/wait.js';

/**
 * The runner's side of bench/protocol.ts: forks bench/load-generator.ts as a process of its own
 * (so generating load never shares a process, or its CPU figure, with measuring it) and turns its
 * reports into promises, matched to commands by tag.
 */

const GENERATOR_PATH = join(REPO_ROOT, 'bench/load-generator.ts');

type Pending = {
  readonly resolve: (report: GeneratorReport) => void;
  readonly reject: (error: Error) => void;
};

/** A place-calls command without its type; the benchmark always sends PCMU. */
export type PlaceCallsRequest = Omit<Extract<GeneratorCommand, { type: 'place-calls' }>, 'type' | 'codec'>;

export interface RtpDone {
  readonly sentPackets: number;
  readonly latePackets: number;
}

export class GeneratorClient {
  readonly #child: Child;
  readonly #pending = new Map<string, Pending>();
  #tagCounter = 0;

  private constructor(child: Child) {
    this.#child = child;
    child.process.on('message', (message: GeneratorReport) => this.#onReport(message));
    void child.exited.then((code) => this.#failAll(new Error(`load generator exited (${code})`)));
  }

  static async start(): Promise<GeneratorClient> {
    const child = forkChild('load generator', GENERATOR_PATH, {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
    });
    let ready = false;
    child.process.on('message', (message: GeneratorReport) => {
      if (message.type === 'ready') {
        ready = true;
      }
    });
    try {
      await waitFor(
        () => {
          if (!child.running()) {
            throw new Error('exited');
          }
          return ready;
        },
        { timeoutMs: 30_000, intervalMs: 50, what: 'the load generator to report ready' },
      );
    } catch (error) {
      await child.stop(1000);
      throw new Error(`load generator did not start: ${messageOf(error)}\n${child.output()}`);
    }
    return new GeneratorClient(child);
  }

  get pid(): number {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#child.running();
  }

  /** A tag unique within this client, readable in the generator's log. */
  tag(prefix: string): string {
    this.#tagCounter++;
    return `${prefix}-${this.#tagCounter}`;
  }

  async placeCalls(request: PlaceCallsRequest): Promise<CallsReport> {
    const report = await this.#send(request.tag, { type: 'place-calls', codec: 'PCMU', ...request });
    if (report.type !== 'calls-done') {
      throw new Error(`load generator answered place-calls ${request.tag} with ${report.type}`);
    }
    return report;
  }

  async sendRtp(tag: string, host: string, ports: readonly number[], durationMs: number): Promise<RtpDone> {
    const report = await this.#send(tag, { type: 'send-rtp', tag, host, ports, durationMs });
    if (report.type !== 'rtp-done') {
      throw new Error(`load generator answered send-rtp ${tag} with ${report.type}`);
    }
    return { sentPackets: report.sentPackets, latePackets: report.latePackets };
  }

  async close(): Promise<void> {
    if (this.#child.running() && this.#child.process.connected) {
      this.#child.process.send({ type: 'exit' } satisfies GeneratorCommand);
      const timer = setTimeout(() => void this.#child.stop(1000), 5000);
      await this.#child.exited;
      clearTimeout(timer);
    }
    await this.#child.stop(1000);
  }

  #send(tag: string, command: GeneratorCommand): Promise<GeneratorReport> {
    if (!this.#child.running() || !this.#child.process.connected) {
      return Promise.reject(new Error(`load generator is not running:\n${this.#child.output()}`));
    }
    if (this.#pending.has(tag)) {
      return Promise.reject(new Error(`tag ${tag} is already in use`));
    }
    return new Promise<GeneratorReport>((resolve, reject) => {
      this.#pending.set(tag, { resolve, reject });
      this.#child.process.send(command);
    });
  }

  #onReport(report: GeneratorReport): void {
    switch (report.type) {
      case 'ready':
        return;
      case 'error':
        // Errors carry no tag: whatever was asked cannot be trusted any more.
        this.#failAll(new Error(`load generator error: ${report.message}`));
        return;
      case 'calls-done':
      case 'rtp-done': {
        const pending = this.#pending.get(report.tag);
        if (pending !== undefined) {
          this.#pending.delete(report.tag);
          pending.resolve(report);
        }
        return;
      }
    }
  }

  #failAll(error: Error): void {
    const detail = new Error(`${error.message}\n${this.#child.output().slice(-4000)}`);
    for (const pending of this.#pending.values()) {
      pending.reject(detail);
    }
    this.#pending.clear();
  }
}

/**
 * The load generator runs one command at a time (bench/load-generator.ts), while the benchmark
 * needs several at once: CUCM-style and CUBE-style calls together, and the overload step's extra
 * calls while the held ones are up. The pool gives each concurrent command a generator process of
 * its own, started on demand and reused when idle.
 */
export class GeneratorPool {
  readonly #all: GeneratorClient[] = [];
  readonly #idle: GeneratorClient[] = [];

  /** Starts processes until `count` exist, so a step's timing does not include forking them. */
  async ensure(count: number): Promise<void> {
    this.#dropDead();
    const missing = count - this.#all.length;
    const started = await Promise.all(
      Array.from({ length: Math.max(0, missing) }, () => GeneratorClient.start()),
    );
    this.#all.push(...started);
    this.#idle.push(...started);
  }

  /** The pids of every generator process, for CPU accounting. */
  get pids(): number[] {
    this.#dropDead();
    return this.#all.map((c) => c.pid);
  }

  /** Runs `use` with a generator process no other command is using. */
  async with<T>(use: (client: GeneratorClient) => Promise<T>): Promise<T> {
    this.#dropDead();
    let client = this.#idle.pop();
    if (client === undefined) {
      client = await GeneratorClient.start();
      this.#all.push(client);
    }
    try {
      return await use(client);
    } finally {
      if (client.running) {
        this.#idle.push(client);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#all.map((c) => c.close()));
    this.#all.length = 0;
    this.#idle.length = 0;
  }

  #dropDead(): void {
    for (const list of [this.#all, this.#idle]) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i]?.running !== true) {
          list.splice(i, 1);
        }
      }
    }
  }
}
