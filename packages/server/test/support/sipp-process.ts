import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freeSippMediaPort, freeUdpTcpPort } from './ports.js';
import { spawnTracked, waitExit, type Spawned } from './processes.js';
import type { RunningServer } from './verbatim-server.js';
import { waitFor } from './wait.js';

/**
 * Running SIPp as a call controller against a `verbatim serve` node: one call on loopback, its
 * scenario (see sipp-scenarios.ts) written to the test's work folder, every `<log message="…"/>`
 * of the scenario traced to a log file the test can wait on (ports read from an answer, "the
 * call is resumed now", …).
 */
export interface SippRun {
  readonly sipp: Spawned;
  /** The `-log_file` SIPp writes the scenario's `<log>` lines to. */
  readonly logFile: string;
  /** The base of SIPp's media ports (`-mp`): [media_port] in the scenario, +1..+3 are SIPp's too. */
  readonly mediaPort: number;
}

export interface SippOptions {
  /** The folder the scenario file and the log are written to. */
  readonly work: string;
  /** UDP (u1, the default) or TCP (t1). */
  readonly transport?: 'u1' | 't1';
  /** SIPp's -cid_str: the Call-ID the test chooses (`%u` the call number, `%s` the local address). */
  readonly callIdFormat?: string;
  /** SIPp's own -timeout for the whole call (40 s unless given). */
  readonly timeoutSeconds?: number;
  /**
   * A bulk run instead of one call: `calls` calls (-m, and -l so none waits for another) placed at
   * `callsPerSecond` (-r); [call_number] in the scenario tells them apart.
   */
  readonly bulk?: { readonly calls: number; readonly callsPerSecond: number };
  /** Runs SIPp under `taskset -c cpus` (e.g. "1"), away from the cores a test starves. */
  readonly cpus?: string;
}

let runCounter = 0;

/** Writes `scenario` to the work folder and starts SIPp on it. */
export async function spawnSipp(
  name: string,
  server: RunningServer,
  scenario: string,
  options: SippOptions,
): Promise<SippRun> {
  runCounter++;
  const base = join(options.work, `${name.replace(/[^A-Za-z0-9]+/g, '-')}-${runCounter}`);
  const scenarioFile = `${base}.xml`;
  const logFile = `${base}.log`;
  await writeFile(scenarioFile, scenario);
  const mediaPort = await freeSippMediaPort();
  const bulk = options.bulk;
  const sippArgs = [
    '-sf',
    scenarioFile,
    '-m',
    String(bulk?.calls ?? 1),
    ...(bulk === undefined ? [] : ['-l', String(bulk.calls), '-r', String(bulk.callsPerSecond)]),
    '-t',
    options.transport ?? 'u1',
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
    `${options.timeoutSeconds ?? 40}s`,
    '-timeout_error',
    '-nostdin',
    `127.0.0.1:${server.sipPort}`,
  ];
  const sipp =
    options.cpus === undefined
      ? spawnTracked(name, 'sipp', sippArgs)
      : spawnTracked(name, 'taskset', ['-c', options.cpus, 'sipp', ...sippArgs]);
  return { sipp, logFile, mediaPort };
}

/**
 * A port that was free when checked can be taken before SIPp binds it (another test's process);
 * SIPp then exits before sending anything, and only that case is worth another run.
 */
function couldNotBind(run: SippRun): boolean {
  return /Unable to bind|Address already in use/.test(run.sipp.output());
}

const BIND_ATTEMPTS = 3;

/**
 * Runs SIPp to its end and gives its exit code; a run that could not bind its ports is repeated
 * with fresh ones.
 */
export async function runSippToEnd(
  name: string,
  server: RunningServer,
  scenario: string,
  options: SippOptions & { readonly exitWithinMs?: number },
): Promise<{ code: number | string; run: SippRun }> {
  for (let attempt = 1; ; attempt++) {
    const run = await spawnSipp(name, server, scenario, options);
    const code = await waitExit(run.sipp, options.exitWithinMs ?? 45_000);
    if (code !== 0 && couldNotBind(run) && attempt < BIND_ATTEMPTS) {
      continue;
    }
    return { code, run };
  }
}

/**
 * Starts SIPp and waits for `first` (usually a line of its log) unless SIPp exits before; a run
 * that could not bind its ports is repeated with fresh ones. The call goes on: the test streams,
 * then waits for SIPp's exit.
 */
export async function startSipp<T>(
  name: string,
  server: RunningServer,
  scenario: string,
  options: SippOptions,
  first: (run: SippRun) => Promise<T>,
): Promise<{ run: SippRun; first: T }> {
  for (let attempt = 1; ; attempt++) {
    const run = await spawnSipp(name, server, scenario, options);
    try {
      return { run, first: await unlessSippExits(run, first(run)) };
    } catch (error) {
      await run.sipp.stop(1000);
      if (couldNotBind(run) && attempt < BIND_ATTEMPTS) {
        continue;
      }
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\n--- ${name} ---\n${run.sipp.output()}`,
        {
          cause: error,
        },
      );
    }
  }
}

/**
 * Waits until SIPp's log has a line written by the scenario with `prefix` (one of the LOG_*
 * prefixes of sipp-scenarios.ts) and gives what follows it, up to a `;`.
 */
export async function waitForLogged(run: SippRun, prefix: string, timeoutMs = 20_000): Promise<string> {
  return waitFor(
    async () => {
      const text = await readFile(run.logFile, 'utf8').catch(() => '');
      const start = text.indexOf(prefix);
      return start < 0 ? undefined : (/^[^;\n]*/.exec(text.slice(start + prefix.length))?.[0] ?? '');
    },
    { timeoutMs, what: `"${prefix}" in ${run.logFile}` },
  );
}

/** A port the scenario logged with `prefix` (LOG_AUDIO_PORT, LOG_SECOND_AUDIO_PORT). */
export async function waitForLoggedPort(run: SippRun, prefix: string): Promise<number> {
  return Number(await waitForLogged(run, prefix));
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
