/**
 * The media workers' latest load reports, kept by the engine on the main thread for
 * MediaEngine.load(): each worker's lag over the last statistics window and its pending writes.
 */

interface LagReport {
  readonly atMs: number;
  readonly lagMs: number;
}

interface WorkerLoad {
  reports: LagReport[];
  /** When the worker last reported, or when it started. */
  lastReportAtMs: number;
  pendingWriteBytes: number;
}

export class WorkerLoadTracker {
  readonly #windowMs: number;
  readonly #reportIntervalMs: number;
  readonly #workers = new Map<number, WorkerLoad>();

  /**
   * `windowMs`: how far back a lag report counts (the statistics interval); `reportIntervalMs`:
   * how often a worker reports ('load').
   */
  constructor(windowMs: number, reportIntervalMs: number) {
    this.#windowMs = windowMs;
    this.#reportIntervalMs = reportIntervalMs;
  }

  /** A worker started (or was replaced after a crash): it has no lag yet. */
  started(worker: number, nowMs: number): void {
    this.#workers.set(worker, { reports: [], lastReportAtMs: nowMs, pendingWriteBytes: 0 });
  }

  /** A report of `lagMs`, the worker's worst lag since its previous report. */
  report(worker: number, nowMs: number, lagMs: number, pendingWriteBytes?: number): void {
    let load = this.#workers.get(worker);
    if (load === undefined) {
      load = { reports: [], lastReportAtMs: nowMs, pendingWriteBytes: 0 };
      this.#workers.set(worker, load);
    }
    load.reports = load.reports.filter((r) => r.atMs > nowMs - this.#windowMs);
    load.reports.push({ atMs: nowMs, lagMs });
    load.lastReportAtMs = nowMs;
    if (pendingWriteBytes !== undefined) {
      load.pendingWriteBytes = pendingWriteBytes;
    }
  }

  /**
   * The worst lag of the given workers over the window. A worker whose report is overdue is late
   * by at least as much as it is overdue: a worker starved of CPU cannot say so itself.
   */
  workerLagMs(nowMs: number, workers: readonly number[]): number {
    let worst = 0;
    for (const worker of workers) {
      const load = this.#workers.get(worker);
      if (load === undefined) {
        continue;
      }
      for (const report of load.reports) {
        if (report.atMs > nowMs - this.#windowMs) {
          worst = Math.max(worst, report.lagMs);
        }
      }
      worst = Math.max(worst, nowMs - load.lastReportAtMs - this.#reportIntervalMs);
    }
    return worst;
  }

  pendingWriteBytes(workers: readonly number[]): number {
    let total = 0;
    for (const worker of workers) {
      total += this.#workers.get(worker)?.pendingWriteBytes ?? 0;
    }
    return total;
  }
}
