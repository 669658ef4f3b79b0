import { readFile } from 'node:fs/promises';
import { freeSippMediaPort, freeUdpTcpPort } from './ports.js';
import { spawnTracked, type Spawned } from './processes.js';
import type { RunningServer } from './verbatim-server.js';
import { waitFor } from './wait.js';

/**
 * Running one SIPp call controller against a `verbatim serve` node: UDP on loopback, one call,
 * every message traced to a log file that the test polls for lines the scenario writes with
 * `<log message="…"/>` (ports read from an answer, "the call is resumed now", …).
 */
export interface SippRun {
  readonly sipp: Spawned;
  /** The `-log_file` SIPp writes the scenario's `<log>` lines to. */
  readonly logFile: string;
  /** The base of SIPp's media ports (`-mp`): [media_port] in the scenario, +1..+3 are SIPp's too. */
  readonly mediaPort: number;
}

export async function spawnSipp(
  name: string,
  server: RunningServer,
  scenarioFile: string,
  logFile: string,
  options: { readonly callIdFormat?: string; readonly timeoutSeconds?: number } = {},
): Promise<SippRun> {
  const mediaPort = await freeSippMediaPort();
  const timeoutSeconds = options.timeoutSeconds ?? 40;
  const sipp = spawnTracked(name, 'sipp', [
    '-sf',
    scenarioFile,
    '-m',
    '1',
    '-t',
    'u1',
    '-i',
    '127.0.0.1',
    '-p',
    String(await freeUdpTcpPort()),
    '-mi',
    '127.0.0.1',
    '-mp',
    String(mediaPort),
    ...(options.callIdFormat === undefined ? [] : ['-cid_str', options.callIdFormat]),
    '-trace_logs',
    '-log_file',
    logFile,
    '-timeout',
    `${timeoutSeconds}s`,
    '-timeout_error',
    '-nostdin',
    `127.0.0.1:${server.sipPort}`,
  ]);
  return { sipp, logFile, mediaPort };
}

/** Polls SIPp's log file until a line starts with `marker`; gives the rest of that line. */
export async function waitForLogLine(logFile: string, marker: string, timeoutMs: number): Promise<string> {
  return waitFor(
    async () => {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      const line = text.split('\n').find((l) => l.startsWith(marker));
      return line === undefined ? undefined : line.slice(marker.length);
    },
    { timeoutMs, what: `"${marker}" in ${logFile}` },
  );
}

/**
 * Waits for `promise` unless SIPp exits first: a scenario that failed never writes the line a
 * test waits for, and its output says why.
 */
export async function unlessSippExits<T>(run: SippRun, promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    run.sipp.exited.then((code): never => {
      throw new Error(`sipp exited (${code}) before the scenario got there`);
    }),
  ]);
}
