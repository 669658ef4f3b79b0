/** Small helpers for waiting: the benchmark polls conditions and never relies on a fixed sleep to be "enough". */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Sleeps until `performance.now()` reaches `atMs`. */
export function sleepUntil(atMs: number): Promise<void> {
  return sleep(atMs - performance.now());
}

/** Polls `condition` until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T>(
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== false) {
        return value;
      }
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) {
      const suffix = lastError === undefined ? '' : ` (last error: ${messageOf(lastError)})`;
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${suffix}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
