import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { generate } from 'selfsigned';
import { cliFinished, runCli, type CliRun } from '../support/cli-process.js';
import { freeTcpPort, freeUdpTcpPort, claimRtpRange } from '../support/ports.js';
import { useTempDir } from '../support/temp-dir.js';
import { startServer, type RunningServer } from '../support/verbatim-server.js';

// `verbatim doctor` as an operator runs it, a child process with the options serve would get, on
// random free loopback ports. Each case builds the machine state it checks: a port held by a test
// socket, a running node, a bad certificate, a database that is unmigrated or not a database, a
// small tmpfs filled past the CRITICAL threshold.

interface JsonReport {
  readonly ok: boolean;
  readonly counts: { readonly ok: number; readonly warning: number; readonly problem: number };
  readonly checks: readonly { id: string; status: string; message: string; fix?: string }[];
}

const DAY_MS = 86_400_000;
const MAIN = resolve(import.meta.dirname, '../../src/main.ts');
const TSX = import.meta.resolve('tsx');

void describe('verbatim doctor', () => {
  const temp = useTempDir('verbatim-cli-doctor-');
  let n = 0;

  /** Fresh free ports and a data directory of its own for each run. */
  async function portArgs(): Promise<{ args: string[]; httpPort: number; sipPort: number }> {
    const sipPort = await freeUdpTcpPort();
    const httpPort = await freeTcpPort();
    const rtp = claimRtpRange(200);
    const args = [
      '--bind',
      '127.0.0.1',
      '--advertise',
      '127.0.0.1',
      '--sip-port',
      String(sipPort),
      '--sip-tls-port',
      String(await freeTcpPort()),
      '--http-port',
      String(httpPort),
      '--rtsp-port',
      String(await freeTcpPort()),
      '--rtp-ports',
      `${rtp.min}-${rtp.max}`,
      '--max-sessions',
      '20',
    ];
    return { args, httpPort, sipPort };
  }

  /** `verbatim doctor ARGS` started by prlimit with the open-file limit SOFT:HARD. */
  function underLimit(limit: string, args: readonly string[]): Promise<CliRun> {
    const child = spawn(
      'prlimit',
      [`--nofile=${limit}`, process.execPath, '--import', TSX, MAIN, 'doctor', ...args],
      { cwd: temp.path, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return cliFinished(child);
  }

  function freshDataDir(): string {
    n += 1;
    return join(temp.path, `data-${n}`);
  }

  async function doctor(dataDir: string, extra: readonly string[] = []): Promise<CliRun> {
    const { args } = await portArgs();
    return runCli(['doctor', '--data-dir', dataDir, ...args, ...extra], temp.path);
  }

  async function doctorJson(dataDir: string, extra: readonly string[] = []): Promise<JsonReport> {
    const run = await doctor(dataDir, [...extra, '--json']);
    return JSON.parse(run.stdout) as JsonReport;
  }

  const check = (report: JsonReport, id: string): JsonReport['checks'][number] => {
    const found = report.checks.find((c) => c.id === id);
    assert.ok(found, `no check ${id} in ${JSON.stringify(report.checks.map((c) => c.id))}`);
    return found;
  };

  async function migratedDataDir(): Promise<string> {
    const dataDir = freshDataDir();
    const migrate = await runCli(['migrate', '--data-dir', dataDir], temp.path);
    assert.equal(migrate.code, 0, migrate.stderr);
    return dataDir;
  }

  void it('on a fresh data directory every check is ok (the clock may be unknown) and it exits 0', async () => {
    const dataDir = freshDataDir();
    const first = await doctor(dataDir);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /^ok {7}data directory .*: not created yet/m);
    assert.match(first.stdout, /^ok {7}database sqlite:.*: not created yet/m);
    assert.match(first.stdout, /^ok {7}TLS certificate: none in .* yet/m);
    assert.match(first.stdout, /^ok {7}SIP port UDP 127\.0\.0\.1:\d+: free$/m);
    assert.match(first.stdout, /^ok {7}HTTP API port TCP 127\.0\.0\.1:\d+: free$/m);
    assert.match(first.stdout, /^ok {7}open-file limit: .* concurrent calls fit \(6 descriptors a call/m);
    assert.match(first.stdout, /^ok {7}ffmpeg: ffmpeg version /m);
    // Doctor created nothing.
    assert.equal(spawnSync('test', ['-e', dataDir]).status, 1);

    const migrated = await migratedDataDir();
    const run = await doctor(migrated);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^ok {7}database sqlite:.*: opens, migrations up to date$/m);
    assert.match(run.stdout, /^ok {7}database sqlite:.*: quick integrity check passed$/m);
    assert.match(run.stdout, /^ok {7}data directory .*: writable$/m);
    for (const line of run.stdout.trim().split('\n')) {
      assert.match(line, /^(ok|warning) {2}|^ {9}fix: |^\d+ problem\(s\)|^all checks passed$/, line);
    }
  });

  void it('--json: ok, counts and one object per check with id, status, message (and fix)', async () => {
    const report = await doctorJson(await migratedDataDir());
    assert.equal(report.ok, true);
    assert.deepEqual(Object.keys(report.counts).sort(), ['ok', 'problem', 'warning']);
    assert.equal(report.counts.ok + report.counts.warning + report.counts.problem, report.checks.length);
    for (const c of report.checks) {
      assert.match(c.id, /^[a-z][a-z0-9.-]*$/);
      assert.ok(['ok', 'warning', 'problem'].includes(c.status));
      assert.equal(typeof c.message, 'string');
    }
    for (const id of [
      'data-dir',
      'port.sip-udp',
      'port.sip-tcp',
      'port.sip-tls',
      'port.http',
      'port.rtsp',
      'port.rtp',
      'disk.space',
      'disk.inodes',
      'fd.limit',
      'tool.ffmpeg',
      'tool.ffprobe',
      'db.migrations',
      'db.integrity',
      'tls.certificate',
      'clock',
    ]) {
      check(report, id);
    }
  });

  void describe('with a port held by a test socket', () => {
    let holder: Server | undefined;
    after(() => holder?.close());

    void it('is a problem naming the port, and exits 1', async () => {
      const { args, httpPort } = await portArgs();
      holder = createServer();
      await new Promise<void>((resolve) => holder?.listen(httpPort, '127.0.0.1', resolve));
      const run = await runCli(['doctor', '--data-dir', freshDataDir(), ...args], temp.path);
      assert.equal(run.code, 1, run.stdout);
      assert.match(
        run.stdout,
        new RegExp(
          `^problem {2}HTTP API port TCP 127\\.0\\.0\\.1:${httpPort}: in use by another program$`,
          'm',
        ),
      );
      assert.match(run.stdout, /fix: stop that program .* or choose another port with --http-port/);
    });

    void it('takes the port from the --config file as serve does (a UDP SIP port held here)', async () => {
      const { args, sipPort } = await portArgs();
      const udp = createSocket('udp4');
      await new Promise<void>((resolve) => udp.bind(sipPort, '127.0.0.1', resolve));
      try {
        const config = join(temp.path, 'doctor-config.yaml');
        await writeFile(config, `sip-port: ${sipPort}\n`);
        const flags = args.filter((_, i) => args[i] !== '--sip-port' && args[i - 1] !== '--sip-port');
        const run = await runCli(
          ['doctor', '--config', config, '--data-dir', freshDataDir(), ...flags],
          temp.path,
        );
        assert.equal(run.code, 1, run.stdout);
        assert.match(
          run.stdout,
          new RegExp(`^problem {2}SIP port UDP 127\\.0\\.0\\.1:${sipPort}: in use by another program$`, 'm'),
        );
      } finally {
        udp.close();
      }
    });
  });

  void describe('beside a running node', () => {
    let server: RunningServer | undefined;
    let sipTlsPort = 0;
    before(async () => {
      sipTlsPort = await freeTcpPort();
      // HTTPS and SIP over TLS as a node runs by default, so that every probe is exercised.
      server = await startServer({ tls: true, extraArgs: ['--sip-tls-port', String(sipTlsPort)] });
    });
    after(async () => {
      await server?.stop();
    });

    void it('reports the ports the node holds as in use by the running Verbatim node, exit 0', async () => {
      const node = server!;
      const run = await runCli(
        [
          'doctor',
          '--data-dir',
          node.dataDir,
          '--bind',
          '127.0.0.1',
          '--advertise',
          '127.0.0.1',
          '--sip-port',
          String(node.sipPort),
          '--sip-tls-port',
          String(sipTlsPort),
          '--http-port',
          String(node.httpPort),
          '--rtsp-port',
          String(node.rtspPort),
          '--rtp-ports',
          `${node.rtpRange.min}-${node.rtpRange.max}`,
          '--max-sessions',
          '20',
        ],
        temp.path,
      );
      assert.equal(run.code, 0, run.stdout + run.stderr);
      for (const label of [
        'SIP port UDP',
        'SIP port TCP',
        'SIP TLS port TCP',
        'HTTP API port TCP',
        'RTSP port TCP',
      ]) {
        assert.match(
          run.stdout,
          new RegExp(`^ok {7}${label} .*: in use by the running Verbatim node \\(Verbatim`, 'm'),
        );
      }
      // Its live database, read beside it.
      assert.match(run.stdout, /^ok {7}database .*: opens, migrations up to date$/m);
      // The certificate the node generated, naming --advertise.
      assert.match(run.stdout, /^ok {7}TLS certificate .*server\.crt: valid until /m);
      assert.match(run.stdout, /^ok {7}TLS certificate names the advertised address 127\.0\.0\.1$/m);
      // And the node said at start how many calls its open-file limit allows.
      assert.match(node.process.output(), /the open-file limit allows \d+ concurrent calls/);
    });
  });

  void it('reports the limit serve runs under: Node raises the soft limit to the hard one', async () => {
    // prlimit starts doctor with soft 1024 and hard 4096: Node raises its soft limit at start.
    const { args } = await portArgs();
    const raised = await underLimit('1024:4096', ['--data-dir', freshDataDir(), ...args, '--json']);
    assert.equal(raised.code, 0, raised.stdout + raised.stderr);
    const fd = check(JSON.parse(raised.stdout) as JsonReport, 'fd.limit');
    assert.equal(fd.status, 'ok');
    assert.match(fd.message, /soft 4096, hard 4096 .* 640 concurrent calls fit/);

    const low = await underLimit('512:512', ['--data-dir', freshDataDir(), ...args, '--max-sessions', '100']);
    assert.equal(low.code, 0, low.stdout + low.stderr);
    assert.match(
      low.stdout,
      /^warning {2}open-file limit: soft 512, hard 512 .* 42 concurrent calls fit .* fewer than --max-sessions 100$/m,
    );
    assert.match(low.stdout, /fix: raise the hard limit: LimitNOFILE=65536/);
  });

  void describe('certificates', () => {
    async function writePair(dataDir: string, pem: { cert: string; key: string }): Promise<void> {
      await mkdir(join(dataDir, 'tls'), { recursive: true });
      await writeFile(join(dataDir, 'tls', 'server.crt'), pem.cert);
      await writeFile(join(dataDir, 'tls', 'server.key'), pem.key, { mode: 0o600 });
    }
    async function pair(notBefore: number, notAfter: number): Promise<{ cert: string; key: string }> {
      const pems = await generate([{ name: 'commonName', value: 'doctor-test' }], {
        keyType: 'ec',
        curve: 'P-256',
        algorithm: 'sha256',
        notBeforeDate: new Date(notBefore),
        notAfterDate: new Date(notAfter),
        extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
      });
      return { cert: pems.cert, key: pems.private };
    }

    void it('a valid pair naming the advertised address is ok', async () => {
      const dataDir = await migratedDataDir();
      await writePair(dataDir, await pair(Date.now() - DAY_MS, Date.now() + 365 * DAY_MS));
      const report = await doctorJson(dataDir);
      assert.equal(check(report, 'tls.certificate').status, 'ok');
      assert.equal(check(report, 'tls.key').status, 'ok');
      assert.equal(check(report, 'tls.names').status, 'ok');
      assert.equal(report.ok, true);
    });

    void it('an expired certificate is a problem', async () => {
      const dataDir = await migratedDataDir();
      await writePair(dataDir, await pair(Date.now() - 400 * DAY_MS, Date.now() - DAY_MS));
      const run = await doctor(dataDir);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /^problem {2}TLS certificate .*server\.crt: expired on \d{4}-/m);
    });

    void it('a key that does not match the certificate is a problem', async () => {
      const dataDir = await migratedDataDir();
      const one = await pair(Date.now() - DAY_MS, Date.now() + 365 * DAY_MS);
      const other = await pair(Date.now() - DAY_MS, Date.now() + 365 * DAY_MS);
      await writePair(dataDir, { cert: one.cert, key: other.key });
      const run = await doctor(dataDir);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stdout, /^problem {2}TLS key: does not match the certificate/m);
    });
  });

  void describe('databases', () => {
    void it('an unmigrated database is a problem telling to run verbatim migrate', async () => {
      const dataDir = freshDataDir();
      await mkdir(dataDir, { recursive: true });
      // A SQLite file with a table of someone else's, and none of Verbatim's migrations.
      const sqlite = new BetterSqlite3(join(dataDir, 'verbatim.db'));
      sqlite.exec('CREATE TABLE unrelated (x INTEGER)');
      sqlite.close();
      const run = await doctor(dataDir);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /^problem {2}database sqlite:.*: \d+ migration\(s\) not applied \(0001-initial/m,
      );
      assert.match(run.stdout, /fix: run verbatim migrate/);
    });

    void it('a file that is not a database is a problem', async () => {
      const dataDir = freshDataDir();
      await mkdir(dataDir, { recursive: true });
      await writeFile(join(dataDir, 'verbatim.db'), Buffer.alloc(8192, 0x5a));
      const run = await doctor(dataDir);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /^problem {2}database sqlite:.*: cannot be opened \(file is not a database\)/m,
      );
    });

    void it('a damaged page is a problem of the integrity check', async () => {
      const dataDir = await migratedDataDir();
      const path = join(dataDir, 'verbatim.db');
      const sqlite = new BetterSqlite3(path);
      sqlite.pragma('journal_mode = DELETE');
      const pageSize = sqlite.pragma('page_size', { simple: true }) as number;
      const pages = sqlite.pragma('page_count', { simple: true }) as number;
      sqlite.close();
      // Overwrite every page but the first (the header and schema root): the schema still reads,
      // the b-trees do not.
      const fd = openSync(path, 'r+');
      try {
        const junk = Buffer.alloc(pageSize, 0xa5);
        for (let page = 2; page <= pages; page++) {
          writeSync(fd, junk, 0, pageSize, (page - 1) * pageSize);
        }
      } finally {
        closeSync(fd);
      }
      const run = await doctor(dataDir);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /^problem {2}database sqlite:.*: (integrity check failed|cannot be opened)/m);
    });
  });

  void describe('file systems made for the test (tmpfs)', () => {
    let mounted = '';
    after(() => {
      if (mounted !== '') {
        execFileSync('umount', [mounted]);
      }
    });

    void it('is a problem naming the threshold', async (t) => {
      const dataDir = await migratedDataDir();
      const media = join(dataDir, 'media');
      await mkdir(media, { recursive: true });
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', media], {
        encoding: 'utf8',
      });
      if (mount.status !== 0) {
        t.skip(
          `cannot mount a tmpfs here (tests must run as root with CAP_SYS_ADMIN): ${mount.stderr.trim()}`,
        );
        return;
      }
      mounted = media;
      // 3.7 MiB of 4 MiB: 92.5 % used.
      await writeFile(join(media, 'filler'), Buffer.alloc(3.7 * 1024 * 1024, 1));
      const run = await doctor(dataDir);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /^problem {2}media partition \(.*media\): .* free of 4\.0 MiB, 9\d\.\d % used: at or above the CRITICAL threshold \(90 % used\): the oldest recordings are pruned/m,
      );
    });

    void it('a data directory on a read-only mount is a problem', async (t) => {
      const dataDir = freshDataDir();
      await mkdir(dataDir, { recursive: true });
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', dataDir], {
        encoding: 'utf8',
      });
      if (mount.status !== 0) {
        t.skip(
          `cannot mount a tmpfs here (tests must run as root with CAP_SYS_ADMIN): ${mount.stderr.trim()}`,
        );
        return;
      }
      try {
        const run = await doctor(dataDir);
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /^problem {2}data directory .*: not writable \(EROFS\)$/m);
      } finally {
        execFileSync('umount', [dataDir]);
      }
    });
  });
});
