/**
 * The media workers' latest load reports, kept by the engine on the main thread for
 * MediaEngine.load(): each worker's mean wait over the last statistics window and its pending
 * writes.
 */

interface LagReport {
  readonly atMs: number;
  /** The worker's mean wait over the report's interval (LagProbe), and that interval's length. */
  readonly meanWaitMs: number;
  readonly windowMs: number;
  /** The longest wait within the report's interval. */
  readonly maxWaitMs: number;
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

  /** A worker's report: its mean wait over the `windowMs` since its previous report. */
  report(worker: number, nowMs: number, lag: Omit<LagReport, 'atMs'>, pendingWriteBytes?: number): void {
    let load = this.#workers.get(worker);
    if (load === undefined) {
      load = { reports: [], lastReportAtMs: nowMs, pendingWriteBytes: 0 };
      this.#workers.set(worker, load);
    }
    load.reports = load.reports.filter((r) => r.atMs > nowMs - this.#windowMs);
    load.reports.push({
      atMs: nowMs,
      meanWaitMs: lag.meanWaitMs,
      windowMs: lag.windowMs,
      maxWaitMs: lag.maxWaitMs,
    });
    load.lastReportAtMs = nowMs;
    if (pendingWriteBytes !== undefined) {
      load.pendingWriteBytes = pendingWriteBytes;
    }
  }

  /**
   * The mean wait over the window of the worker that is furthest behind (each report weighs as
   * long as it lasted: the report after a stall covers the stall). A worker whose report is
   * overdue is behind by at least as much as it is overdue: a worker starved of CPU cannot say so
   * itself.
   */
  workerLagMs(nowMs: number, workers: readonly number[]): number {
    let worst = 0;
    for (const worker of workers) {
      const load = this.#workers.get(worker);
      if (load === undefined) {
        continue;
      }
      worst = Math.max(
        worst,
        this.#weightedMeanWaitMs(load, nowMs),
        nowMs - load.lastReportAtMs - this.#reportIntervalMs,
      );
    }
    return Math.round(worst * 10) / 10;
  }

  /**
   * The longest wait any worker reported within the window; a worker whose report is overdue
   * has kept a datagram waiting at least as long as it is overdue.
   */
  workerMaxWaitMs(nowMs: number, workers: readonly number[]): number {
    let worst = 0;
    for (const worker of workers) {
      const load = this.#workers.get(worker);
      if (load === undefined) {
        continue;
      }
      for (const report of load.reports) {
        if (report.atMs > nowMs - this.#windowMs) {
          worst = Math.max(worst, report.maxWaitMs);
        }
      }
      worst = Math.max(worst, nowMs - load.lastReportAtMs - this.#reportIntervalMs);
    }
    return Math.round(worst * 10) / 10;
  }

  /** The mean wait of the reports within the window, each weighed by the time it covers. */
  #weightedMeanWaitMs(load: WorkerLoad, nowMs: number): number {
    let sum = 0;
    let weight = 0;
    for (const report of load.reports) {
      if (report.atMs > nowMs - this.#windowMs) {
        sum += report.meanWaitMs * report.windowMs;
        weight += report.windowMs;
      }
    }
    return weight > 0 ? sum / weight : 0;
  }

  pendingWriteBytes(workers: readonly number[]): number {
    let total = 0;
    for (const worker of workers) {
      total += this.#workers.get(worker)?.pendingWriteBytes ?? 0;
    }
    return total;
  }
}
