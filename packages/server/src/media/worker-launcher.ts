import { Worker } from 'node:worker_threads';

import type { RtpWorkerSettings } from './worker-messages.js';

/** How the media engine starts a worker thread: startRtpWorker, unless the caller wraps it. */
export type RtpWorkerLauncher = (settings: RtpWorkerSettings) => Worker;

/**
 * Starts an RTP worker thread from wherever this module runs: rtp-worker.js next to it in dist/
 * (compiled), or rtp-worker.ts in src/ under tsx (tests, development).
 *
 * Under `node --import tsx`, a worker inherits the flag through execArgv, but on Node 20 the
 * loader hooks tsx registers that way do not apply to the worker's own entry module: a Worker
 * given the .ts URL fails with ERR_UNKNOWN_FILE_EXTENSION (verified on Node 20.20). So from
 * source, the worker starts with a two-line bootstrap that registers tsx through its API and
 * then imports the .ts entry, which loads its .js-specified imports as TypeScript too.
 */
export function startRtpWorker(settings: RtpWorkerSettings): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './rtp-worker.ts' : './rtp-worker.js', import.meta.url);
  if (!fromSource) {
    return new Worker(entry, { workerData: settings });
  }
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((api) => { api.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: settings });
}
