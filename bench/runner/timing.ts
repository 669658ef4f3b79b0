/**
 * Small helpers for pacing. The benchmark polls conditions with the test suite's `waitFor`
 * (packages/server/test/support/wait.ts) and never relies on a fixed sleep to be "enough".
 */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Sleeps until `performance.now()` reaches `atMs`. */
export function sleepUntil(atMs: number): Promise<void> {
  return sleep(atMs - performance.now());
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
