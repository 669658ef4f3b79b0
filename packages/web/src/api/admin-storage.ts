import type { StorageHistorySample } from '../../../server/src/model/storage-history.ts';
import {
  MAX_MAX_AGE_DAYS,
  MIN_MAX_AGE_DAYS,
  type StoragePolicy,
  type StoragePolicyChange,
} from '../../../server/src/model/storage-policy.ts';
import type { StorageLevel } from '../../../server/src/storage/storage-thresholds.ts';
import { getApi, postApi } from './client.ts';

/** Storage (docs/api.md "Storage"): status, retention policy and history for Administration. */

export { MAX_MAX_AGE_DAYS, MIN_MAX_AGE_DAYS };
export type { StorageHistorySample, StoragePolicy, StoragePolicyChange, StorageLevel };

const STORAGE = '/ora/storageService/storage';

interface Threshold {
  readonly enter: number | null;
  readonly exit: number | null;
}

/** getStorageStatus's answer (api/storage-routes.ts StorageStatusSchema). */
export interface StorageStatusJson {
  readonly nodeId: string;
  readonly partition: string;
  readonly level: StorageLevel;
  readonly levelSince: number;
  readonly percentageUtilization?: number;
  readonly totalBytes?: number;
  readonly usedBytes?: number;
  readonly freeBytes?: number;
  readonly sampledAt?: number;
  readonly thresholds: Readonly<Record<string, Threshold>>;
  readonly crossings: Readonly<Record<string, number>>;
  readonly sampleFailures: number;
  readonly retentionMode?: string;
  readonly refusingCalls?: boolean;
  readonly pruned?: number;
  readonly recordingsEnded?: number;
  readonly writable?: boolean;
  readonly writeFailures?: readonly {
    readonly target: string;
    readonly reason: string;
    readonly since: number;
  }[];
}

export interface StorageHistory {
  readonly intervalMs?: number;
  readonly samples: readonly StorageHistorySample[];
}

export async function getStorageStatus(signal?: AbortSignal): Promise<StorageStatusJson> {
  return (await getApi(`${STORAGE}/getStorageStatus`, {}, signal)).responseBody as StorageStatusJson;
}

export async function getStoragePolicy(signal?: AbortSignal): Promise<StoragePolicy> {
  return (await getApi(`${STORAGE}/getStoragePolicy`, {}, signal)).responseBody as StoragePolicy;
}

export async function setStoragePolicy(change: StoragePolicyChange): Promise<StoragePolicy> {
  return (await postApi(`${STORAGE}/setStoragePolicy`, change)).responseBody as StoragePolicy;
}

/** The kept samples of the window, averaged to at most `maxPoints` per node (2001: none). */
export async function getStorageHistory(
  window: { readonly from: number; readonly to: number; readonly nodeId?: string },
  signal?: AbortSignal,
  maxPoints = 500,
): Promise<StorageHistory> {
  const query = { ...window, maxPoints };
  const body = (await getApi(`${STORAGE}/getStorageHistory`, query, signal)).responseBody as
    StorageHistory | undefined;
  return body ?? { samples: [] };
}
