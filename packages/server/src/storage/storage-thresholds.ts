/**
 * MediaSense's storage thresholds (reference §8.3 storageThresholdEvent): three levels on the
 * percentage of the media partition in use, each entered at one figure and left below a lower one,
 * so that a disk hovering at a threshold does not flap. Pure: the agent (storage-agent.ts) samples
 * the disk and feeds the figures here.
 */

export type StorageLevel = 'NORMAL' | 'LOW' | 'CRITICAL' | 'EMERGENCY';

/** The levels from the lowest to the highest. */
export const STORAGE_LEVELS: readonly StorageLevel[] = ['NORMAL', 'LOW', 'CRITICAL', 'EMERGENCY'];

export type ThresholdName = 'LOW' | 'CRITICAL' | 'EMERGENCY';

export const THRESHOLD_NAMES: readonly ThresholdName[] = ['LOW', 'CRITICAL', 'EMERGENCY'];

export type StorageThresholdAction =
  | 'ENTER_LOW_STORAGE_SPACE'
  | 'EXIT_LOW_STORAGE_SPACE'
  | 'ENTER_CRITICAL_STORAGE_SPACE'
  | 'EXIT_CRITICAL_STORAGE_SPACE'
  | 'ENTER_EMERGENCY_STORAGE_SPACE'
  | 'EXIT_EMERGENCY_STORAGE_SPACE';

/** One threshold: entered at `enter` % used or more, left below `exit` %. Infinity: never entered. */
export interface Threshold {
  readonly enter: number;
  readonly exit: number;
}

export type StorageThresholds = Readonly<Record<ThresholdName, Threshold>>;

/** MediaSense's figures. */
export const MEDIASENSE_THRESHOLDS: StorageThresholds = {
  LOW: { enter: 75, exit: 70 },
  CRITICAL: { enter: 90, exit: 85 },
  EMERGENCY: { enter: 99, exit: 97 },
};

/** Points under the critical threshold at which the critical state is left (MediaSense: 90 → 85). */
const CRITICAL_EXIT_MARGIN = 5;

/**
 * The thresholds with `--storage-critical-percent P` (free space, the option older releases had)
 * mapped onto the critical one: critical from 100 − P % used, left 5 points lower. The default
 * P = 10 gives MediaSense's 90/85; P = 0 turns the critical threshold off (emergency still applies).
 */
export function thresholdsFor(criticalFreePercent: number): StorageThresholds {
  if (criticalFreePercent <= 0) {
    return { ...MEDIASENSE_THRESHOLDS, CRITICAL: { enter: Infinity, exit: Infinity } };
  }
  const enter = 100 - criticalFreePercent;
  return { ...MEDIASENSE_THRESHOLDS, CRITICAL: { enter, exit: enter - CRITICAL_EXIT_MARGIN } };
}

/** Which thresholds are entered now. */
export type ThresholdFlags = Readonly<Record<ThresholdName, boolean>>;

export const NO_THRESHOLDS: ThresholdFlags = { LOW: false, CRITICAL: false, EMERGENCY: false };

export interface ThresholdStep {
  readonly flags: ThresholdFlags;
  /** The crossings of this step, in the order they are published: entries upwards, exits downwards. */
  readonly crossings: readonly StorageThresholdAction[];
}

/** The state after one sample of `percentUsed`: each threshold with its own hysteresis. */
export function stepThresholds(
  flags: ThresholdFlags,
  percentUsed: number,
  thresholds: StorageThresholds,
): ThresholdStep {
  const next: Record<ThresholdName, boolean> = { ...flags };
  const entered: StorageThresholdAction[] = [];
  const left: StorageThresholdAction[] = [];
  for (const name of THRESHOLD_NAMES) {
    const { enter, exit } = thresholds[name];
    if (!flags[name] && percentUsed >= enter) {
      next[name] = true;
      entered.push(`ENTER_${name}_STORAGE_SPACE`);
    } else if (flags[name] && percentUsed < exit) {
      next[name] = false;
      left.unshift(`EXIT_${name}_STORAGE_SPACE`);
    }
  }
  return { flags: next, crossings: [...left, ...entered] };
}

/** The highest threshold entered, or NORMAL. */
export function levelOf(flags: ThresholdFlags): StorageLevel {
  if (flags.EMERGENCY) {
    return 'EMERGENCY';
  }
  if (flags.CRITICAL) {
    return 'CRITICAL';
  }
  return flags.LOW ? 'LOW' : 'NORMAL';
}

/** Whether `level` is `at` or above it. */
export function levelAtLeast(level: StorageLevel, at: StorageLevel): boolean {
  return STORAGE_LEVELS.indexOf(level) >= STORAGE_LEVELS.indexOf(at);
}
