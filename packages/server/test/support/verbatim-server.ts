import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { claimRtpRange, freeTcpPort, freeUdpTcpPort, releaseRtpRange } from './ports.js';
import { after, before } from 'node:test';
import { spawnTracked, stopAll, type Spawned } from './processes.js';
import { waitFor } from './wait.js';
import { httpsRequest } from './https-request.js';
import { certificatePaths } from '../../src/transport/tls-certificate.js';

const execFileAsync = promisify(execFile);

const SERVER_ENTRY = resolve(import.meta.dirname, '../../src/main.ts');
export const ADMIN_PASSWORD = 'correct-horse-battery';

/**
 * A Verbatim node started as a user starts it (`verbatim serve`, SQLite, local disk), on random
 * loopback ports, plain HTTP, with a short media timeout, and an API client signed in as admin.
 */
export interface RunningServer {
  readonly sipPort: number;
  readonly httpPort: number;
  /** The RTSP server's port (a free one, so that nodes of parallel test files do not collide). */
  readonly rtspPort: number;
  readonly dataDir: string;
  readonly rtpRange: { readonly min: number; readonly max: number };
  readonly process: Spawned;
  readonly baseUrl: string;
  /** JSESSIONID of the admin sign-in. */
  readonly jsessionId: string;
  api(path: string, body?: unknown): Promise<ApiResponse>;
  /** SIGTERM (or the given signal) and wait for exit; the data dir is removed unless kept. */
  stop(options?: { keepData?: boolean; signal?: NodeJS.Signals }): Promise<number | string>;
}

export interface ApiResponse {
  readonly responseCode: number;
  readonly responseMessage: string;
  readonly responseBody?: Record<string, unknown>;
  readonly detail?: string;
}

export interface ServerOptions {
  mediaTimeoutSeconds?: number;
  extraArgs?: string[];
  dataDir?: string;
  /** How many RTP ports the node gets (200 unless given: two per track, so 50 two-party calls). */
  rtpPortCount?: number;
  /**
   * The node's RTP range, instead of `rtpPortCount` ports claimed apart from every other test
   * process's (claimRtpRange): the range of the node a restarted one replaces, or for the test
   * that holds thousands of ports, FLOOD_RTP_RANGE in ports.ts.
   */
  rtpRange?: { min: number; max: number };
  /**
   * Admission control (`--admission`), off unless asked for: the suite runs two test files at a
   * time on two cores, and admission's refusals depend on that instantaneous load, so a test
   * about something else would see its calls refused now and then. Tests of admission turn it on.
   */
  admission?: boolean;
  /**
   * Lower the node's open-file limit (soft and hard) to this once it has started, with prlimit
   * from util-linux, and wait for the node to say it works to it. Set after start: loading the
   * modules opens files in parallel, as many as the loader likes, which is not what is tested.
   */
  openFilesLimit?: number;
  /** More environment for the node (secrets such as VERBATIM_OUTBOUND_PASSWORD). */
  env?: Readonly<Record<string, string>>;
  /**
   * HTTPS on the API port, as a node runs by default (its generated certificate), instead of
   * `--no-tls`; the harness then trusts that certificate alone.
   */
  tls?: boolean;
}

/** A JSON request to the node, over plain HTTP with fetch or over HTTPS trusting `ca`. */
async function nodeRequest(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  ca: (() => Promise<string>) | undefined,
): Promise<{ json: unknown; setCookie: string }> {
  if (ca === undefined) {
    const response = await fetch(url, init);
    return { json: await response.json(), setCookie: response.headers.get('set-cookie') ?? '' };
  }
  const answer = await httpsRequest(url, await ca(), init);
  return { json: JSON.parse(answer.body), setCookie: String(answer.headers['set-cookie'] ?? '') };
}

async function lowerOpenFilesLimit(proc: Spawned, limit: number): Promise<void> {
  const pid = proc.child.pid;
  assert.ok(pid !== undefined, 'the node has a pid');
  await execFileAsync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`]);
  await waitFor(() => proc.output().includes(`"the open-file limit is now ${limit}"`), {
    timeoutMs: 10_000,
    what: `the node to work to an open-file limit of ${limit}`,
  });
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'verbatim-e2e-')));
  const sipPort = await freeUdpTcpPort();
  const httpPort = await freeTcpPort();
  const rtspPort = await freeTcpPort();
  const rtp = options.rtpRange ?? claimRtpRange(options.rtpPortCount);
  const proc = spawnTracked(
    'verbatim serve',
    process.execPath,
    [
      '--import',
      'tsx',
      SERVER_ENTRY,
      'serve',
      ...(options.tls === true ? [] : ['--no-tls']),
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
      `${rtp.min}-${rtp.max}`,
      '--data-dir',
      dataDir,
      '--media-timeout',
      String(options.mediaTimeoutSeconds ?? 3),
      '--admission',
      options.admission === true ? 'on' : 'off',
      ...(options.extraArgs ?? []),
    ],
    { env: { ...process.env, VERBATIM_ADMIN_PASSWORD: ADMIN_PASSWORD, ...options.env } },
  );
  const baseUrl = `${options.tls === true ? 'https' : 'http'}://127.0.0.1:${httpPort}`;
  const ca = options.tls === true ? () => readFile(certificatePaths(dataDir).certPath, 'utf8') : undefined;
  const jsessionId = await waitFor(
    async () => {
      if (proc.child.exitCode !== null) {
        throw new Error(`server exited early:\n${proc.output()}`);
      }
      const response = await nodeRequest(
        `${baseUrl}/ora/authenticationService/authentication/signIn`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ requestParameters: { username: 'admin', password: ADMIN_PASSWORD } }),
        },
        ca,
      );
      const body = response.json as ApiResponse;
      const match = /JSESSIONID=([^;]+)/.exec(response.setCookie);
      return body.responseCode === 2000 && match?.[1] !== undefined ? match[1] : undefined;
    },
    { timeoutMs: 30_000, what: 'the server to accept sign-in' },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\nserver output:\n${proc.output()}`);
  });
  if (options.openFilesLimit !== undefined) {
    await lowerOpenFilesLimit(proc, options.openFilesLimit);
  }
  return {
    sipPort,
    httpPort,
    rtspPort,
    dataDir,
    rtpRange: rtp,
    process: proc,
    baseUrl,
    jsessionId,
    async api(path: string, body?: unknown): Promise<ApiResponse> {
      const response = await nodeRequest(
        `${baseUrl}${path}`,
        {
          method: body === undefined ? 'GET' : 'POST',
          headers: {
            cookie: `JSESSIONID=${jsessionId}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        },
        ca,
      );
      return response.json as ApiResponse;
    },
    async stop(stopOptions: { keepData?: boolean; signal?: NodeJS.Signals } = {}) {
      let code: number | string;
      if (stopOptions.signal === 'SIGKILL') {
        proc.child.kill('SIGKILL');
        code = await proc.exited;
      } else {
        code = await proc.stop(15_000);
      }
      if (stopOptions.keepData !== true) {
        await rm(dataDir, { recursive: true, force: true });
      }
      // A node stopped to be started again on its data keeps its range for the restart.
      if (options.rtpRange === undefined && stopOptions.keepData !== true) {
        releaseRtpRange(rtp);
      }
      return code;
    },
  };
}

/**
 * One node for the tests of a describe block: a work folder and `verbatim serve` are made before
 * the tests (and handed to `started`), and after them every process a test left running is
 * stopped, the node is stopped and must shut down cleanly, and the folder is removed.
 */
export function serverForSuite(
  workPrefix: string,
  options: ServerOptions | (() => Promise<ServerOptions>),
  started: (suite: { server: RunningServer; work: string }) => void,
): void {
  let server: RunningServer | undefined;
  let work: string | undefined;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), `verbatim-${workPrefix}-`));
    server = await startServer(typeof options === 'function' ? await options() : options);
    started({ server, work });
  });
  after(async () => {
    // The node last, with its own grace: stopAll's 2 s would kill a node still draining its API.
    await stopAll(server === undefined ? [] : [server.process]);
    const code = await server?.stop();
    if (work !== undefined) {
      await rm(work, { recursive: true, force: true });
    }
    if (server !== undefined) {
      assert.equal(code, 0, `verbatim serve did not shut down cleanly:\n${server.process.output()}`);
    }
  });
}

/** `port` (an m= line of Verbatim's answer, named by `what`) lies in the node's RTP range. */
export function assertInRtpRange(server: RunningServer, port: number, what: string): void {
  assert.ok(
    port >= server.rtpRange.min && port <= server.rtpRange.max,
    `${what} ${port} is in Verbatim's RTP range`,
  );
}
