import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../../src/config/config.js';
import {
  formatConfigProblems,
  loadConfig,
  type ConfigHost,
  type ConfigProblem,
  type LoadConfigInput,
} from '../../../src/config/load.js';

const CWD = '/srv/verbatim';

const host: ConfigHost = {
  hostname: () => 'rec-node-1',
  networkInterfaces: () => ({
    lo: [
      {
        address: '127.0.0.1',
        netmask: '255.0.0.0',
        family: 'IPv4',
        mac: '00:00:00:00:00:00',
        internal: true,
        cidr: '127.0.0.1/8',
      },
    ],
    eth0: [
      {
        address: 'fe80::1',
        netmask: 'ffff:ffff:ffff:ffff::',
        family: 'IPv6',
        mac: '02:00:00:00:00:01',
        internal: false,
        cidr: 'fe80::1/64',
        scopeid: 2,
      },
      {
        address: '192.0.2.10',
        netmask: '255.255.255.0',
        family: 'IPv4',
        mac: '02:00:00:00:00:01',
        internal: false,
        cidr: '192.0.2.10/24',
      },
    ],
  }),
};

function load(input: Partial<LoadConfigInput>): ReturnType<typeof loadConfig> {
  return loadConfig({ flags: {}, env: {}, cwd: CWD, host, ...input });
}

function loaded(input: Partial<LoadConfigInput>): Config {
  const result = load(input);
  if (!result.ok) {
    assert.fail(`expected a config, got:\n${formatConfigProblems(result.error)}`);
  }
  return result.value;
}

function problems(input: Partial<LoadConfigInput>): readonly ConfigProblem[] {
  const result = load(input);
  if (result.ok) {
    assert.fail('expected configuration problems');
  }
  return result.error;
}

function messages(input: Partial<LoadConfigInput>): string[] {
  return problems(input).map((p) => p.message);
}

void describe('loadConfig defaults', () => {
  void it('fills every option from DESIGN.md §1.1 when nothing is given', () => {
    assert.deepEqual(loaded({}), {
      dataDir: '/srv/verbatim/data',
      bind: '0.0.0.0',
      advertise: '192.0.2.10',
      sipPort: 5060,
      sipTlsPort: 5061,
      httpPort: 8440,
      rtspPort: 8554,
      rtpPortMin: 32768,
      rtpPortMax: 61000,
      db: { kind: 'sqlite', path: '/srv/verbatim/data/verbatim.db' },
      tls: true,
      trustedPeers: ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
      nodeId: 'rec-node-1',
      mediaTimeoutMs: 30_000,
      maxSessions: 2000,
      admission: true,
      admissionMaxLagMs: 200,
      sipInviteRate: 500,
      apiMaxRequests: 25,
      storageCriticalPercent: 10,
      storageIntervalMs: 5000,
      storageHistoryIntervalMs: 300_000,
      eventsFailingAfterMs: 300_000,
      logLevel: 'info',
      logFormat: 'auto',
    });
  });

  void it('advertises a specific bind address, and loopback when a wildcard bind finds no interface', () => {
    assert.equal(loaded({ flags: { bind: '127.0.0.1' } }).advertise, '127.0.0.1');
    const lonely: ConfigHost = { hostname: () => 'h', networkInterfaces: () => ({}) };
    assert.equal(loaded({ host: lonely }).advertise, '127.0.0.1');
    assert.equal(loaded({ host: lonely, flags: { bind: '::' } }).advertise, '127.0.0.1');
  });

  void it('puts the default SQLite file inside a given data dir', () => {
    const config = loaded({ flags: { 'data-dir': 'rec' } });
    assert.equal(config.dataDir, '/srv/verbatim/rec');
    assert.deepEqual(config.db, { kind: 'sqlite', path: '/srv/verbatim/rec/verbatim.db' });
  });
});

void describe('loadConfig from flags and environment', () => {
  void it('reads every option from flags', () => {
    const config = loaded({
      flags: {
        'data-dir': '/var/lib/verbatim',
        bind: '10.1.1.1',
        advertise: '203.0.113.5',
        'sip-port': '5070',
        'sip-tls-port': '0',
        'http-port': '8443',
        'rtsp-port': '9554',
        'rtp-ports': '20000-20999',
        db: 'postgres://rec:secret@db.example:5432/verbatim',
        'no-tls': true,
        'trusted-peers': '10.0.0.0/8, 2001:db8::/32',
        'node-id': 'node-b',
        'media-timeout': '2.5',
        'max-sessions': '500',
        admission: 'off',
        'admission-max-lag': '500',
        'sip-invite-rate': '0',
        'api-max-requests': '40',
        'storage-critical-percent': '2.5',
        'events-ca': 'ca/receivers.pem',
        'events-failing-after': '60',
        'log-level': 'DEBUG',
        'log-format': 'JSON',
      },
    });
    assert.deepEqual(config, {
      dataDir: '/var/lib/verbatim',
      bind: '10.1.1.1',
      advertise: '203.0.113.5',
      sipPort: 5070,
      sipTlsPort: 0,
      httpPort: 8443,
      rtspPort: 9554,
      rtpPortMin: 20000,
      rtpPortMax: 20999,
      db: { kind: 'postgres', url: 'postgres://rec:secret@db.example:5432/verbatim' },
      tls: false,
      trustedPeers: ['10.0.0.0/8', '2001:db8::/32'],
      nodeId: 'node-b',
      mediaTimeoutMs: 2500,
      maxSessions: 500,
      admission: false,
      admissionMaxLagMs: 500,
      sipInviteRate: 0,
      apiMaxRequests: 40,
      storageCriticalPercent: 2.5,
      storageIntervalMs: 5000,
      storageHistoryIntervalMs: 300_000,
      eventsFailingAfterMs: 60_000,
      logLevel: 'debug',
      logFormat: 'json',
      eventsCa: '/srv/verbatim/ca/receivers.pem',
    });
  });

  void it('reads every option from VERBATIM_* variables', () => {
    const config = loaded({
      env: {
        VERBATIM_DATA_DIR: 'store',
        VERBATIM_BIND: '::',
        VERBATIM_ADVERTISE: '2001:db8::7',
        VERBATIM_SIP_PORT: '0',
        VERBATIM_SIP_TLS_PORT: '5071',
        VERBATIM_HTTP_PORT: '0',
        VERBATIM_RTSP_PORT: '0',
        VERBATIM_RTP_PORTS: '40000-40001',
        VERBATIM_DB: 'sqlite:db/rec.sqlite',
        VERBATIM_NO_TLS: 'true',
        VERBATIM_TRUSTED_PEERS: '127.0.0.1',
        VERBATIM_NODE_ID: 'a.b-c_d',
        VERBATIM_MEDIA_TIMEOUT: '45',
        VERBATIM_MAX_SESSIONS: '600',
        VERBATIM_ADMISSION: 'no',
        VERBATIM_ADMISSION_MAX_LAG: '80',
        VERBATIM_SIP_INVITE_RATE: '40',
        VERBATIM_EVENTS_FAILING_AFTER: '1.5',
        VERBATIM_LOG_LEVEL: 'warn',
        VERBATIM_LOG_FORMAT: 'pretty',
        VERBATIM_ADMIN_PASSWORD: 'correct horse',
      },
    });
    assert.deepEqual(config, {
      dataDir: '/srv/verbatim/store',
      bind: '::',
      advertise: '2001:db8::7',
      sipPort: 0,
      sipTlsPort: 5071,
      httpPort: 0,
      rtspPort: 0,
      rtpPortMin: 40000,
      rtpPortMax: 40001,
      db: { kind: 'sqlite', path: '/srv/verbatim/db/rec.sqlite' },
      tls: false,
      trustedPeers: ['127.0.0.1'],
      nodeId: 'a.b-c_d',
      mediaTimeoutMs: 45_000,
      maxSessions: 600,
      admission: false,
      admissionMaxLagMs: 80,
      sipInviteRate: 40,
      apiMaxRequests: 25,
      storageCriticalPercent: 10,
      storageIntervalMs: 5000,
      storageHistoryIntervalMs: 300_000,
      eventsFailingAfterMs: 1500,
      logLevel: 'warn',
      logFormat: 'pretty',
      adminPassword: 'correct horse',
    });
  });

  void it('reads VERBATIM_NO_TLS as 1/0 and treats an empty variable as unset', () => {
    assert.equal(loaded({ env: { VERBATIM_NO_TLS: '1' } }).tls, false);
    assert.equal(loaded({ env: { VERBATIM_NO_TLS: '0' } }).tls, true);
    assert.equal(loaded({ env: { VERBATIM_SIP_PORT: '' } }).sipPort, 5060);
  });

  void it('lets flags win over the environment', () => {
    const config = loaded({
      flags: { 'sip-port': '5080' },
      env: { VERBATIM_SIP_PORT: '5090', VERBATIM_HTTP_PORT: '8000' },
    });
    assert.equal(config.sipPort, 5080);
    assert.equal(config.httpPort, 8000);
  });

  void it('accepts sqlite::memory:, sqlite:///absolute and postgresql://', () => {
    assert.deepEqual(loaded({ flags: { db: 'sqlite::memory:' } }).db, { kind: 'sqlite', path: ':memory:' });
    assert.deepEqual(loaded({ flags: { db: 'sqlite:///tmp/x.db' } }).db, {
      kind: 'sqlite',
      path: '/tmp/x.db',
    });
    assert.deepEqual(loaded({ flags: { db: 'postgresql://h/db' } }).db, {
      kind: 'postgres',
      url: 'postgresql://h/db',
    });
  });
});

void describe('loadConfig errors', () => {
  void it('names the option and the source in each message', () => {
    assert.deepEqual(messages({ flags: { 'sip-port': 'abc' } }), [
      "--sip-port: 'abc' is not a port number (0-65535)",
    ]);
    assert.deepEqual(messages({ env: { VERBATIM_RTP_PORTS: '4000-3000' } }), [
      'VERBATIM_RTP_PORTS: range 4000-3000 is empty',
    ]);
    assert.deepEqual(messages({ flags: { 'trusted-peers': '10.0.0.0/33' } }), [
      "--trusted-peers: '10.0.0.0/33' is not a CIDR block",
    ]);
    assert.deepEqual(messages({ flags: { db: 'mysql://root:hunter2@db/rec' } }), [
      "--db: unsupported URL 'mysql://root:***@db/rec' (use sqlite:PATH or postgres://…)",
    ]);
    assert.deepEqual(messages({ flags: { bind: '1.2.3' } }), ["--bind: '1.2.3' is not an IP address"]);
  });

  void it('reports every problem at once, with its code and option', () => {
    const found = problems({
      flags: { 'sip-port': 'abc', 'rtp-ports': '9-3', 'log-level': 'loud' },
      env: { VERBATIM_HTTP_PORT: '70000', VERBATIM_MEDIA_TIMEOUT: '0', VERBATIM_ADMIN_PASSWORD: 'Xq7z' },
    });
    assert.deepEqual(
      found.map((p) => [p.code, p.option, p.source]),
      [
        ['VERBATIM_ERR_CONFIG_INVALID_VALUE', 'sip-port', '--sip-port'],
        ['VERBATIM_ERR_CONFIG_INVALID_VALUE', 'http-port', 'VERBATIM_HTTP_PORT'],
        ['VERBATIM_ERR_CONFIG_INVALID_VALUE', 'rtp-ports', '--rtp-ports'],
        ['VERBATIM_ERR_CONFIG_INVALID_VALUE', 'media-timeout', 'VERBATIM_MEDIA_TIMEOUT'],
        ['VERBATIM_ERR_CONFIG_INVALID_VALUE', 'log-level', '--log-level'],
        ['VERBATIM_ERR_CONFIG_INVALID_VALUE', 'admin-password', 'VERBATIM_ADMIN_PASSWORD'],
      ],
    );
    assert.doesNotMatch(formatConfigProblems(found), /Xq7z/, 'the password itself is never echoed');
  });

  void it('rejects each kind of bad value', () => {
    const cases: [LoadConfigInput['flags'], string][] = [
      [{ 'data-dir': ' ' }, "--data-dir: ' ' is not a directory path"],
      [{ advertise: 'example.com' }, "--advertise: 'example.com' is not an IP address"],
      [
        { advertise: '0.0.0.0' },
        "--advertise: '0.0.0.0' is a wildcard address, not one peers can send media to",
      ],
      [{ 'sip-tls-port': '-1' }, "--sip-tls-port: '-1' is not a port number (0-65535)"],
      [{ 'rtsp-port': '80.5' }, "--rtsp-port: '80.5' is not a port number (0-65535)"],
      [{ 'rtp-ports': '40000' }, "--rtp-ports: '40000' is not a port range (A-B)"],
      [{ 'rtp-ports': '0-100' }, '--rtp-ports: range 0-100 is outside 1-65535'],
      [
        { 'rtp-ports': '4001-5000' },
        '--rtp-ports: range 4001-5000 starts on an odd port (RTP uses even ports, RFC 3550 §11)',
      ],
      [
        { 'rtp-ports': '4000-4000' },
        '--rtp-ports: range 4000-4000 has fewer than 2 ports (one RTP + RTCP pair)',
      ],
      [{ db: 'sqlite:' }, "--db: 'sqlite:' names no file (use sqlite:PATH)"],
      [{ db: 'postgres://[bad' }, "--db: 'postgres://[bad' is not a valid URL"],
      [
        { 'node-id': 'has space' },
        "--node-id: 'has space' is not a node id (1-63 letters, digits, '.', '_' or '-')",
      ],
      [
        { 'media-timeout': 'soon' },
        "--media-timeout: 'soon' is not a number of seconds (above 0, at most 86400)",
      ],
      [{ 'max-sessions': '1.5' }, "--max-sessions: '1.5' is not a whole number of sessions (1-1000000)"],
      [{ admission: 'maybe' }, "--admission: 'maybe' is not on or off"],
      [
        { 'admission-max-lag': '5' },
        "--admission-max-lag: '5' is not a whole number of milliseconds (10-60000)",
      ],
      [
        { 'sip-invite-rate': '-1' },
        "--sip-invite-rate: '-1' is not a whole number of INVITEs per second (0-100000)",
      ],
      [
        { 'storage-critical-percent': '101' },
        "--storage-critical-percent: '101' is not a percentage of free disk space (0-100)",
      ],
      [{ 'trusted-peers': '10.0.0.0/8,bogus,::1/200' }, "--trusted-peers: 'bogus' is not a CIDR block"],
      [{ 'log-format': 'xml' }, "--log-format: 'xml' is not a log format (auto, json, pretty)"],
    ];
    for (const [flags, expected] of cases) {
      assert.equal(messages({ flags })[0], expected);
    }
    assert.deepEqual(messages({ env: { VERBATIM_NO_TLS: 'maybe' } }), [
      "VERBATIM_NO_TLS: 'maybe' is not a boolean (true/false, 1/0)",
    ]);
  });

  void it('reports every bad CIDR block of a list', () => {
    assert.deepEqual(messages({ flags: { 'trusted-peers': '10.0.0.0/33,ok,::1/128' } }), [
      "--trusted-peers: '10.0.0.0/33' is not a CIDR block",
      "--trusted-peers: 'ok' is not a CIDR block",
    ]);
  });

  void it('reports services sharing a port, and SIP inside the RTP range', () => {
    const found = problems({ flags: { 'http-port': '5060', 'rtp-ports': '5000-6000' } });
    assert.deepEqual(
      found.map((p) => [p.code, p.message]),
      [
        [
          'VERBATIM_ERR_CONFIG_CONFLICT',
          '--http-port: port 5060 is also the SIP port (--sip-port (default))',
        ],
        ['VERBATIM_ERR_CONFIG_CONFLICT', '--rtp-ports: range 5000-6000 includes the SIP port 5060'],
      ],
    );
    // Port 0 means "any free port" and never collides.
    assert.equal(loaded({ flags: { 'sip-port': '0', 'http-port': '0', 'rtsp-port': '0' } }).httpPort, 0);
  });
});

void describe('loadConfig with a YAML file', () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-config-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  void it('reads kebab-case and camelCase keys, lists and numbers; resolves paths against the file', async () => {
    const path = await file(
      'good.yaml',
      [
        'sip-port: 5070',
        'httpPort: 8081',
        'rtp-ports: 30000-30099',
        'trusted-peers:',
        '  - 10.0.0.0/8',
        '  - ::1/128',
        'noTls: true',
        'data-dir: rec',
        'db: sqlite:db/verbatim.db',
        'media-timeout: 12',
        'admin-password: "12345678"',
        'logFormat: json',
        '',
      ].join('\n'),
    );
    const config = loaded({ flags: { config: path } });
    assert.equal(config.sipPort, 5070);
    assert.equal(config.httpPort, 8081);
    assert.equal(config.rtpPortMin, 30000);
    assert.deepEqual(config.trustedPeers, ['10.0.0.0/8', '::1/128']);
    assert.equal(config.tls, false);
    assert.equal(config.dataDir, join(dir, 'rec'));
    assert.deepEqual(config.db, { kind: 'sqlite', path: join(dir, 'db/verbatim.db') });
    assert.equal(config.mediaTimeoutMs, 12_000);
    assert.equal(config.adminPassword, '12345678');
    assert.equal(config.logFormat, 'json');
  });

  void it('ranks flags over environment over file over defaults', async () => {
    const path = await file('rank.yaml', 'sip-port: 5001\nhttp-port: 5002\nrtsp-port: 5003\n');
    const config = loaded({
      flags: { config: path, 'sip-port': '6001' },
      env: { VERBATIM_SIP_PORT: '7001', VERBATIM_HTTP_PORT: '7002' },
    });
    assert.equal(config.sipPort, 6001);
    assert.equal(config.httpPort, 7002);
    assert.equal(config.rtspPort, 5003);
    assert.equal(config.sipTlsPort, 5061);
  });

  void it('finds the file through VERBATIM_CONFIG relative to cwd', async () => {
    await file('env.yaml', 'node-id: from-file\n');
    assert.equal(loaded({ cwd: dir, env: { VERBATIM_CONFIG: 'env.yaml' } }).nodeId, 'from-file');
  });

  void it('accepts an empty file', async () => {
    const path = await file('empty.yaml', '# nothing yet\n');
    assert.equal(loaded({ flags: { config: path } }).sipPort, 5060);
  });

  void it('names the file and key of a bad value', async () => {
    const path = await file('bad-value.yaml', 'sipPort: abc\nlog-level: 3\n');
    assert.deepEqual(messages({ flags: { config: path } }), [
      `${path}: sipPort: 'abc' is not a port number (0-65535)`,
      `${path}: log-level: 3 is not a log level (fatal, error, warn, info, debug, trace, silent)`,
    ]);
  });

  void it('reports unknown keys, suggesting a near one, alongside other problems', async () => {
    const path = await file(
      'unknown.yaml',
      'sip-prot: 5060\ncolour: blue\nconfig: other.yaml\nhttp-port: x\n',
    );
    const found = problems({ flags: { config: path } });
    assert.deepEqual(
      found.map((p) => [p.code, p.message]),
      [
        ['VERBATIM_ERR_CONFIG_UNKNOWN_KEY', `${path}: unknown key 'sip-prot' (did you mean 'sip-port'?)`],
        ['VERBATIM_ERR_CONFIG_UNKNOWN_KEY', `${path}: unknown key 'colour'`],
        ['VERBATIM_ERR_CONFIG_UNKNOWN_KEY', `${path}: unknown key 'config'`],
        ['VERBATIM_ERR_CONFIG_INVALID_VALUE', `${path}: http-port: 'x' is not a port number (0-65535)`],
      ],
    );
  });

  void it('reports an option given in both spellings', async () => {
    const path = await file('twice.yaml', 'sip-port: 5070\nsipPort: 5071\n');
    assert.deepEqual(messages({ flags: { config: path } }), [`${path}: 'sipPort' repeats option 'sip-port'`]);
  });

  void it('reports a file that cannot be read', () => {
    const path = join(dir, 'missing.yaml');
    const found = problems({ flags: { config: path } });
    assert.deepEqual(
      found.map((p) => [p.code, p.message]),
      [['VERBATIM_ERR_CONFIG_FILE_UNREADABLE', `--config: cannot read '${path}' (ENOENT)`]],
    );
  });

  void it('reports YAML syntax errors with their line, and a file that is no mapping', async () => {
    const broken = await file('broken.yaml', 'sip-port: 5060\nhttp-port: [8440\n');
    const found = problems({ flags: { config: broken } });
    assert.ok(found.length >= 1);
    for (const problem of found) {
      assert.equal(problem.code, 'VERBATIM_ERR_CONFIG_FILE_INVALID');
      assert.match(problem.message, new RegExp(`^${broken}: invalid YAML: .*line \\d+`));
    }
    const duplicate = await file('duplicate.yaml', 'sip-port: 1\nsip-port: 2\n');
    assert.match(
      messages({ flags: { config: duplicate } })[0] ?? '',
      /invalid YAML: Map keys must be unique/,
    );
    const list = await file('list.yaml', '- sip-port: 1\n');
    assert.deepEqual(messages({ flags: { config: list } }), [`${list}: must be a mapping of option: value`]);
  });
});
