import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { cliFinished, runCli, startCli, type CliRun } from '../support/cli-process.js';
import { freeTcpPort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

// `verbatim serve` as an operator runs it: a child process with its own cwd and environment.

/** True once plain HTTP (so --no-tls took effect) answers on the port, whatever the status. */
async function answersHttp(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return true;
  } catch {
    // Not listening yet (or not plain HTTP): poll again.
    return false;
  }
}

const NO_STACK = /^\s+at /m;

void describe('verbatim serve: bad configuration', () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-cli-serve-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('exits 2 naming every bad option, without a stack trace, before touching the data dir', async () => {
    const run = await runCli(
      ['serve', '--sip-port', 'abc', '--rtp-ports', '9-3', '--data-dir', 'never'],
      dir,
    );
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--sip-port: 'abc' is not a port number/);
    assert.match(run.stderr, /--rtp-ports: range 9-3 is empty/);
    assert.doesNotMatch(run.stderr, NO_STACK);
    assert.equal(run.stdout, '');
    await assert.rejects(rm(join(dir, 'never')), { code: 'ENOENT' });
  });

  void it('reports environment variables and config file keys by their own names', async () => {
    await writeFile(join(dir, 'verbatim.yaml'), 'sip-prot: 5060\nhttp-port: 99999\n');
    const run = await runCli(['serve', '--config', 'verbatim.yaml'], dir, {
      env: { VERBATIM_TRUSTED_PEERS: '10.0.0.0/33', VERBATIM_NO_TLS: 'maybe' },
    });
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.deepEqual(lines, [
      "error: verbatim.yaml: unknown key 'sip-prot' (did you mean 'sip-port'?)",
      'error: verbatim.yaml: http-port: 99999 is not a port number (0-65535)',
      "error: VERBATIM_NO_TLS: 'maybe' is not a boolean (true/false, 1/0)",
      "error: VERBATIM_TRUSTED_PEERS: '10.0.0.0/33' is not a CIDR block",
    ]);
  });

  void it('exits 2 on an unknown option', async () => {
    const run = await runCli(['serve', '--sip-prot', '5060'], dir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown option '--sip-prot'/);
  });

  void it('lists every option of DESIGN.md §1.1 with its variable in --help', async () => {
    const run = await runCli(['serve', '--help'], dir);
    assert.equal(run.code, 0, run.stderr);
    for (const option of [
      'data-dir',
      'bind',
      'advertise',
      'sip-port',
      'sip-tls-port',
      'http-port',
      'rtsp-port',
      'rtp-ports',
      'db',
      'no-tls',
      'trusted-peers',
      'node-id',
      'media-timeout',
      'log-level',
      'log-format',
      'config',
    ]) {
      assert.match(run.stdout, new RegExp(`--${option}\\b`), option);
      assert.match(
        run.stdout,
        new RegExp(`VERBATIM_${option.toUpperCase().replaceAll('-', '_')}\\b`),
        option,
      );
    }
    assert.match(run.stdout, /VERBATIM_ADMIN_PASSWORD/);
  });

  void it('prints the version', async () => {
    const run = await runCli(['--version'], dir);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

void describe('verbatim serve: running', () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let udp: UdpSocket | undefined;
  let tcp: Server | undefined;

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-cli-run-'));
  });

  after(async () => {
    child?.kill('SIGKILL');
    udp?.close();
    tcp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const baseArgs = (httpPort: number): string[] => [
    'serve',
    '--bind',
    '127.0.0.1',
    '--sip-tls-port',
    '0',
    '--rtsp-port',
    '0',
    '--http-port',
    String(httpPort),
    '--rtp-ports',
    '41000-41099',
    '--log-level',
    'info',
  ];

  /** Starts serve plain-HTTP on a fresh port with `extraArgs`, waits until it answers, stops it with SIGTERM. */
  async function serveUntilAnsweringThenStop(extraArgs: readonly string[]): Promise<CliRun> {
    const httpPort = await freeTcpPort();
    child = startCli([...baseArgs(httpPort), '--sip-port', '0', '--no-tls', ...extraArgs], dir, {
      env: { VERBATIM_ADMIN_PASSWORD: 'admin-password' },
    });
    const done = cliFinished(child);
    await Promise.race([
      waitFor(() => answersHttp(httpPort), {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: `plain HTTP on port ${httpPort}`,
      }),
      done.then((run) => {
        throw new Error(`serve exited early with ${String(run.code)}: ${run.stderr}`);
      }),
    ]);
    child.kill('SIGTERM');
    const run = await done;
    child = undefined;
    return run;
  }

  void it('starts, serves, and exits 0 on SIGTERM after closing', async () => {
    const run = await serveUntilAnsweringThenStop(['--data-dir', 'data']);
    assert.equal(run.code, 0, run.stderr);
    const logs = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; signal?: string });
    assert.ok(
      logs.some((entry) => entry.signal === 'SIGTERM'),
      'the shutdown is logged as JSON with the signal',
    );
    assert.ok(
      logs.some((entry) => entry.msg === 'Verbatim is recording'),
      '--log-format auto writes JSON when stdout is a pipe',
    );
  });

  void it('closes cleanly on a SIGTERM that comes while it is still starting', async () => {
    const httpPort = await freeTcpPort();
    child = startCli([...baseArgs(httpPort), '--sip-port', '0', '--no-tls', '--data-dir', 'early'], dir, {
      env: { VERBATIM_ADMIN_PASSWORD: 'admin-password' },
    });
    const starting = child;
    const done = cliFinished(starting);
    // The first line the app writes while it is being built, well before start() returns.
    await new Promise<void>((resolve) => {
      const watch = (chunk: string): void => {
        if (chunk.includes('media engine started')) {
          starting.stdout?.off('data', watch);
          resolve();
        }
      };
      starting.stdout?.on('data', watch);
    });
    starting.kill('SIGTERM');
    const run = await done;
    child = undefined;
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const messages = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg?: string }).msg);
    assert.ok(messages.includes('signal received: shutting down'), run.stdout);
    assert.ok(
      messages.indexOf('Verbatim is recording') < messages.indexOf('shutting down: ending active recordings'),
      'the start finishes, then the node closes',
    );
  });

  void it('prints readable lines, not JSON, with --log-format pretty', async () => {
    const run = await serveUntilAnsweringThenStop(['--data-dir', 'pretty', '--log-format', 'pretty']);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n').filter((line) => line.trim() !== '');
    const started = lines.find((line) => line.includes('Verbatim is recording'));
    assert.ok(started !== undefined, run.stdout);
    assert.match(started, /\bINFO\b/);
    assert.ok(!started.trimStart().startsWith('{'), started);
    assert.ok(
      lines.some((line) => /\bINFO\b.*signal received: shutting down/.test(line)),
      'the shutdown is a readable line too',
    );
    assert.deepEqual(
      lines.filter((line) => line.startsWith('{')),
      [],
      'no JSON log line',
    );
  });

  void it('exits 1 with a one-line reason when the SIP port is taken', async () => {
    // Hold the port on both SIP transports, whichever the server binds first.
    tcp = createServer();
    await new Promise<void>((resolve) => tcp?.listen(0, '127.0.0.1', resolve));
    const address = tcp.address();
    assert.ok(typeof address === 'object' && address !== null);
    const sipPort = address.port;
    udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp?.bind(sipPort, '127.0.0.1', resolve));
    const run = await runCli(
      [...baseArgs(await freeTcpPort()), '--sip-port', String(sipPort), '--no-tls', '--data-dir', 'busy'],
      dir,
      { env: { VERBATIM_ADMIN_PASSWORD: 'admin-password' } },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.equal(
      run.stderr,
      `error: SIP port ${sipPort} is in use (on 127.0.0.1); stop the other program or choose another port\n`,
    );
  });
});
