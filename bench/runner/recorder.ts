import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnChild, type Child } from './processes.js';
import { freeTcpPort, freeUdpTcpPort } from '../../packages/server/test/support/ports.js';
import { readRssBytes } from './proc-stats.js';
import { messageOf } from './timing.js';
import { waitFor } from '../../packages/server/test/support/wait.js';

/**
 * The recorder under test, started exactly as a user starts it: the built CLI
 * (`packages/server/bin/verbatim.js serve`), SQLite and local disk in a data directory of its own.
 * Its pid is the process whose CPU and memory the benchmark reports.
 */

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
const SERVER_DIR = join(REPO_ROOT, 'packages/server');
const CLI = join(SERVER_DIR, 'bin/verbatim.js');
const DIST_MAIN = join(SERVER_DIR, 'dist/main.js');
export const ADMIN_PASSWORD = 'bench-admin-password';

export interface BuildInfo {
  /** 'fresh': dist was newer than every source file; 'rebuilt': `npm run build` ran. */
  readonly state: 'fresh' | 'rebuilt' | 'stale-kept';
  readonly seconds: number;
  /** Set when the build reported errors (tsc still emits, so dist exists but may lag the source). */
  readonly warning?: string;
}

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      newest = Math.max(newest, newestMtimeMs(path));
    } else if (entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

/**
 * Makes sure dist/ reflects src/, so the numbers belong to the code being looked at: builds when
 * dist is missing, and when it is older than a source file unless `rebuildStale` is false.
 */
export function ensureBuilt(rebuildStale: boolean): BuildInfo {
  let distMtimeMs = 0;
  try {
    distMtimeMs = statSync(DIST_MAIN).mtimeMs;
  } catch {
    distMtimeMs = -1;
  }
  const stale = distMtimeMs < newestMtimeMs(join(SERVER_DIR, 'src'));
  if (distMtimeMs >= 0 && (!stale || !rebuildStale)) {
    return { state: stale ? 'stale-kept' : 'fresh', seconds: 0 };
  }
  const started = performance.now();
  const result = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  try {
    statSync(DIST_MAIN);
  } catch {
    throw new Error(`npm run build produced no ${DIST_MAIN}:\n${result.stdout}${result.stderr}`);
  }
  if (result.status !== 0) {
    const tail = `${result.stdout}${result.stderr}`.trim().split('\n').slice(-5).join(' | ');
    return { state: 'rebuilt', seconds, warning: `npm run build exited ${result.status}: ${tail}` };
  }
  return { state: 'rebuilt', seconds };
}

/** `verbatim migrate --data-dir DIR`: the schema a fresh node would create, made by the server itself. */
export function migrate(dataDir: string): void {
  const result = spawnSync(process.execPath, [CLI, 'migrate', '--data-dir', dataDir], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`verbatim migrate failed (exit ${result.status}): ${result.stderr}`);
  }
}

export interface RecorderOptions {
  readonly dataDir: string;
  readonly rtpPorts: { readonly min: number; readonly max: number };
  readonly maxSessions?: number;
  readonly mediaTimeoutSeconds?: number;
  /** `--admission off` when false (the overload step tests the hard cap alone); default on. */
  readonly admission?: boolean;
}

export interface ApiEnvelope {
  readonly responseCode: number;
  readonly responseMessage: string;
  readonly responseBody?: Record<string, unknown>;
  readonly detail?: string;
}

export interface Recorder {
  readonly pid: number;
  readonly sipPort: number;
  readonly httpPort: number;
  readonly baseUrl: string;
  readonly dataDir: string;
  readonly dbPath: string;
  readonly child: Child;
  readonly jsessionId: string;
  /** VmRSS once it had started and accepted a sign-in, before any call: the base of the per-call memory figures. */
  readonly startRssBytes: number;
  /** POSTs `body` (or GETs) an API path with the admin session cookie. */
  api(path: string, body?: unknown): Promise<ApiEnvelope>;
  /** SIGTERM and wait for the exit code (SIGKILL after 15 s). */
  stop(): Promise<number | string>;
}

export async function startRecorder(options: RecorderOptions): Promise<Recorder> {
  const sipPort = await freeUdpTcpPort();
  const httpPort = await freeTcpPort();
  const rtspPort = await freeTcpPort();
  const args = [
    CLI,
    'serve',
    '--no-tls',
    '--bind',
    '127.0.0.1',
    '--advertise',
    '127.0.0.1',
    '--sip-port',
    String(sipPort),
    '--sip-tls-port',
    '0',
    '--http-port',
    String(httpPort),
    '--rtsp-port',
    String(rtspPort),
    '--rtp-ports',
    `${options.rtpPorts.min}-${options.rtpPorts.max}`,
    '--data-dir',
    options.dataDir,
    '--log-level',
    'warn',
    '--media-timeout',
    String(options.mediaTimeoutSeconds ?? 10),
    ...(options.maxSessions === undefined ? [] : ['--max-sessions', String(options.maxSessions)]),
    ...(options.admission === false ? ['--admission', 'off'] : []),
  ];
  const child = spawnChild('verbatim serve', process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, VERBATIM_ADMIN_PASSWORD: ADMIN_PASSWORD },
  });
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  let jsessionId: string;
  try {
    jsessionId = await waitFor(
      async () => {
        if (!child.running()) {
          throw new Error('exited');
        }
        return signIn(baseUrl);
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the recorder to accept a sign-in' },
    );
  } catch (error) {
    await child.stop(2000);
    throw new Error(`verbatim serve did not start: ${messageOf(error)}\n${child.output()}`);
  }
  const api = async (path: string, body?: unknown): Promise<ApiEnvelope> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        cookie: `JSESSIONID=${jsessionId}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await response.json()) as ApiEnvelope;
  };
  return {
    pid: child.pid,
    sipPort,
    httpPort,
    baseUrl,
    dataDir: options.dataDir,
    dbPath: join(options.dataDir, 'verbatim.db'),
    child,
    jsessionId,
    startRssBytes: readRssBytes(child.pid),
    api,
    stop: () => child.stop(15_000),
  };
}

async function signIn(baseUrl: string): Promise<string | undefined> {
  const response = await fetch(`${baseUrl}/ora/authenticationService/authentication/signIn`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ requestParameters: { username: 'admin', password: ADMIN_PASSWORD } }),
  });
  const body = (await response.json()) as ApiEnvelope;
  const match = /JSESSIONID=([^;]+)/.exec(response.headers.get('set-cookie') ?? '');
  return body.responseCode === 2000 && match?.[1] !== undefined ? match[1] : undefined;
}
