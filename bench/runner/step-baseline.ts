import { join } from 'node:path';
import type { BaselineCommand, BaselineReport } from './baseline-messages.js';
import type { GeneratorPool } from './generator-client.js';
import { forkChild, type Child } from './processes.js';
import { startCpuWindow, startWindow, type WindowSample } from './proc-stats.js';
import { REPO_ROOT } from './recorder.js';
import { messageOf, sleep, sleepUntil } from './timing.js';
import { waitFor } from '../../packages/server/test/support/wait.js';

/**
 * Step b: the same packet load (streams, pacing, window) sent by the load generator to a bare Node
 * UDP receiver that only counts (bench/baseline-receiver.ts). Its CPU per call-minute is what
 * receiving the packets costs Node on this machine at all; the recorder's figure is judged against
 * it (target: within 3×).
 */

export interface BaselinePlan {
  readonly calls: number;
  readonly settleMs: number;
  readonly steadyMs: number;
  readonly tailMs: number;
}

export interface BaselineResult {
  readonly calls: number;
  readonly streams: number;
  readonly receiverSteady: WindowSample;
  readonly generatorSteady: { readonly cpuSeconds: number; readonly processes: number };
  /** CPU seconds of the receiver per call (two streams) per minute of steady window. */
  readonly baselineCpuPerCall: number;
  readonly sentPackets: number;
  readonly latePackets: number;
  readonly receivedPackets: number;
  readonly lossRatio: number;
}

class Receiver {
  readonly #child: Child;
  readonly #reports: BaselineReport[] = [];

  constructor() {
    this.#child = forkChild('baseline receiver', join(REPO_ROOT, 'bench/baseline-receiver.ts'), {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
    });
    this.#child.process.on('message', (report: BaselineReport) => this.#reports.push(report));
  }

  get pid(): number {
    return this.#child.pid;
  }

  async next<T extends BaselineReport['type']>(type: T): Promise<Extract<BaselineReport, { type: T }>> {
    return waitFor(
      () => {
        if (!this.#child.running()) {
          throw new Error(`baseline receiver exited:\n${this.#child.output()}`);
        }
        const index = this.#reports.findIndex((r) => r.type === type || r.type === 'error');
        if (index < 0) {
          return undefined;
        }
        const [report] = this.#reports.splice(index, 1);
        if (report?.type === 'error') {
          throw new Error(`baseline receiver: ${report.message}`);
        }
        return report as Extract<BaselineReport, { type: T }>;
      },
      { timeoutMs: 30_000, intervalMs: 20, what: `the baseline receiver's ${type}` },
    );
  }

  send(command: BaselineCommand): void {
    this.#child.process.send(command);
  }

  async close(): Promise<void> {
    if (this.#child.running() && this.#child.process.connected) {
      this.send({ type: 'exit' });
    }
    await this.#child.stop(3000);
  }
}

export async function runBaseline(generators: GeneratorPool, plan: BaselinePlan): Promise<BaselineResult> {
  const receiver = new Receiver();
  try {
    await receiver.next('ready');
    const streams = plan.calls * 2;
    receiver.send({ type: 'open', host: '127.0.0.1', sockets: streams });
    const { ports } = await receiver.next('opened');
    const durationMs = plan.settleMs + plan.steadyMs + plan.tailMs;
    const t0 = performance.now();
    const sending = generators
      .with((generator) => generator.sendRtp(generator.tag('baseline'), '127.0.0.1', ports, durationMs))
      .then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    await sleepUntil(t0 + plan.settleMs);
    const receiverWindow = startWindow(receiver.pid);
    const generatorWindow = startCpuWindow(generators.pids);
    await sleepUntil(t0 + plan.settleMs + plan.steadyMs);
    const receiverSteady = receiverWindow.finish();
    const generatorSteady = generatorWindow.finish();
    const sent = await sending;
    if (!sent.ok) {
      throw new Error(`send-rtp failed: ${messageOf(sent.error)}`);
    }
    // Packets still in the socket buffers when the generator reported.
    await sleep(300);
    receiver.send({ type: 'count' });
    const counted = await receiver.next('counted');
    return {
      calls: plan.calls,
      streams,
      receiverSteady,
      generatorSteady,
      baselineCpuPerCall: receiverSteady.cpuSeconds / (plan.calls * (receiverSteady.wallSeconds / 60)),
      sentPackets: sent.value.sentPackets,
      latePackets: sent.value.latePackets,
      receivedPackets: counted.packets,
      lossRatio:
        sent.value.sentPackets > 0
          ? Math.max(0, sent.value.sentPackets - counted.packets) / sent.value.sentPackets
          : 0,
    };
  } finally {
    await receiver.close();
  }
}
