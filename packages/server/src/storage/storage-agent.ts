import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { EventSink } from '../model/events.js';
import {
  levelAtLeast,
  levelOf,
  NO_THRESHOLDS,
  stepThresholds,
  type StorageLevel,
  type StorageThresholdAction,
  type StorageThresholds,
  type ThresholdFlags,
} from './storage-thresholds.js';

/**
 * The storage agent of a node (MediaSense had one on every node): samples the media partition
 * every few seconds, keeps the threshold state of storage-thresholds.ts, and on each crossing, up
 * or down, logs it and publishes a STORAGE_THRESHOLD_EVENT (delivered to subscribers by the
 * outbox). The retention policy (retention.ts) reads the level after each sample: it decides
 * when new calls get 503, prunes, or ends recordings.
 */

/** What statfs tells; `bfree` counts the blocks reserved for root too (absent: same as bavail). */
export interface FileSystemStats {
  readonly blocks: number;
  readonly bavail: number;
  readonly bfree?: number;
  readonly bsize: number;
}

export type FileSystemSampler = (path: string) => Promise<FileSystemStats>;

export interface StorageAgentOptions {
  /** A path on the watched partition (the media directory). */
  readonly path: string;
  readonly thresholds: StorageThresholds;
  readonly nodeId: string;
  readonly logger: Logger;
  readonly events?: EventSink;
  /** How often the partition is sampled (default 5 s). */
  readonly intervalMs?: number;
  /** The file system query; tests replace it. */
  readonly sampler?: FileSystemSampler;
  readonly now?: () => number;
}

export interface StorageSample {
  readonly totalBytes: number;
  readonly usedBytes: number;
  readonly freeBytes: number;
  /** Used, in percent of what can be used, as `df` computes it (used / (used + available)). */
  readonly percentUsed: number;
  readonly sampledAt: number;
}

export interface StorageStatus {
  readonly partition: string;
  readonly level: StorageLevel;
  /** When the current level was entered (the agent's start for the first one). */
  readonly levelSince: number;
  readonly thresholds: StorageThresholds;
  readonly sample?: StorageSample;
  /** Crossings since start, by event action. */
  readonly crossings: Readonly<Partial<Record<StorageThresholdAction, number>>>;
  readonly sampleFailures: number;
}

/** Told after every sample that read the partition, once its crossings were published. */
export type SampleListener = (sample: StorageSample, level: StorageLevel, previous: StorageLevel) => void;

export class StorageAgent {
  readonly #options: StorageAgentOptions;
  readonly #log: Logger;
  readonly #sampler: FileSystemSampler;
  readonly #now: () => number;
  readonly #listeners: SampleListener[] = [];
  readonly #crossings: Partial<Record<StorageThresholdAction, number>> = {};
  #flags: ThresholdFlags = NO_THRESHOLDS;
  #levelSince: number;
  #sample: StorageSample | undefined;
  #sampleFailures = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<StorageSample | undefined> | undefined;

  constructor(options: StorageAgentOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'storage' });
    this.#sampler = options.sampler ?? ((path) => statfs(path));
    this.#now = options.now ?? Date.now;
    this.#levelSince = this.#now();
  }

  get level(): StorageLevel {
    return levelOf(this.#flags);
  }

  /** True from CRITICAL up. */
  get critical(): boolean {
    return levelAtLeast(this.level, 'CRITICAL');
  }

  get lastSample(): StorageSample | undefined {
    return this.#sample;
  }

  /** Called after every sample (the retention policy acts on the level and its changes). */
  onSample(listener: SampleListener): void {
    this.#listeners.push(listener);
  }

  status(): StorageStatus {
    return {
      partition: this.#options.path,
      level: this.level,
      levelSince: this.#levelSince,
      thresholds: this.#options.thresholds,
      ...(this.#sample === undefined ? {} : { sample: this.#sample }),
      crossings: { ...this.#crossings },
      sampleFailures: this.#sampleFailures,
    };
  }

  /** Samples now, then every interval until close(). */
  async start(): Promise<void> {
    await this.check();
    this.#timer = setInterval(() => {
      void this.check();
    }, this.#options.intervalMs ?? 5000);
    this.#timer.unref();
  }

  /**
   * One sample; a failing query is logged and leaves the state as it was. Calls made while one
   * runs share it, so a slow disk never has two samples in flight.
   */
  check(): Promise<StorageSample | undefined> {
    this.#running ??= this.#check().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #check(): Promise<StorageSample | undefined> {
    let stats: FileSystemStats;
    try {
      stats = await this.#sampler(this.#options.path);
    } catch (error) {
      this.#sampleFailures++;
      this.#log.error(
        { err: error, path: this.#options.path },
        'cannot read the usage of the media partition',
      );
      return undefined;
    }
    const sample = sampleOf(stats, this.#now());
    this.#sample = sample;
    const previous = this.level;
    const step = stepThresholds(this.#flags, sample.percentUsed, this.#options.thresholds);
    this.#flags = step.flags;
    for (const action of step.crossings) {
      this.#publish(action, sample);
    }
    const level = this.level;
    if (level !== previous) {
      this.#levelSince = sample.sampledAt;
    }
    for (const listener of this.#listeners) {
      try {
        listener(sample, level, previous);
      } catch (error) {
        this.#log.error({ err: error }, 'a storage sample listener failed');
      }
    }
    return sample;
  }

  #publish(action: StorageThresholdAction, sample: StorageSample): void {
    this.#crossings[action] = (this.#crossings[action] ?? 0) + 1;
    const context = {
      action,
      partition: this.#options.path,
      percentUsed: round2(sample.percentUsed),
      freeBytes: sample.freeBytes,
      totalBytes: sample.totalBytes,
      level: this.level,
    };
    const message = crossingMessage(action);
    if (action.startsWith('ENTER_') && action !== 'ENTER_LOW_STORAGE_SPACE') {
      this.#log.error(context, message);
    } else {
      this.#log.warn(context, message);
    }
    this.#options.events?.publish({
      eventType: 'STORAGE_THRESHOLD_EVENT',
      eventAction: action,
      nodeId: this.#options.nodeId,
      partition: this.#options.path,
      // MediaSense sends a whole number (reference §8.3: `"percentageUtilization": 70`).
      percentageUtilization: Math.round(sample.percentUsed),
      at: sample.sampledAt,
    });
  }

  close(): void {
    if (this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

export function sampleOf(stats: FileSystemStats, sampledAt: number): StorageSample {
  const totalBytes = stats.blocks * stats.bsize;
  const usedBytes = (stats.blocks - (stats.bfree ?? stats.bavail)) * stats.bsize;
  const freeBytes = stats.bavail * stats.bsize;
  const usable = usedBytes + freeBytes;
  return {
    totalBytes,
    usedBytes,
    freeBytes,
    // A partition that reports no blocks is treated as full: nothing can be written to it.
    percentUsed: usable > 0 ? (100 * usedBytes) / usable : 100,
    sampledAt,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function crossingMessage(action: StorageThresholdAction): string {
  switch (action) {
    case 'ENTER_LOW_STORAGE_SPACE':
      return 'media partition low on space';
    case 'EXIT_LOW_STORAGE_SPACE':
      return 'media partition no longer low on space';
    case 'ENTER_CRITICAL_STORAGE_SPACE':
      return 'media partition critically full: new calls are refused with 503';
    case 'EXIT_CRITICAL_STORAGE_SPACE':
      return 'media partition no longer critically full';
    case 'ENTER_EMERGENCY_STORAGE_SPACE':
      return 'media partition in emergency: nearly full';
    case 'EXIT_EMERGENCY_STORAGE_SPACE':
      return 'media partition no longer in emergency';
  }
}
