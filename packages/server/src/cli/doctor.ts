import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { constants } from 'node:fs';
import { access, readFile, stat, statfs } from 'node:fs/promises';
import { createServer, isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { pino } from 'pino';
import type { Config } from '../config/config.js';
import { CONFIG_OPTION_NAMES, optionSpec } from '../config/options.js';
import { parseOpenFilesLimit, type OpenFilesLimit } from '../media/fd-budget.js';
import { certificatePaths } from '../transport/tls-certificate.js';
import { identifyVerbatim, type ProbeKind } from './doctor-probes.js';
import { messageOf, type RunAction } from './command-errors.js';
import { configOption, loadOrThrow } from './config-options.js';
import {
  checkCertificate,
  checkClock,
  checkDataDir,
  checkDatabase,
  checkDisk,
  checkFileDescriptors,
  checkPort,
  checkRtpRange,
  checkTool,
  doctorExitCode,
  type BindOutcome,
  type CertificateFact,
  type CheckResult,
  type ClockFact,
  type DataDirFact,
  type DatabaseFact,
  type DiskFact,
  type PortFact,
  type RunningNode,
  type ToolFact,
} from './doctor-checks.js';

/**
 * `verbatim doctor` (DESIGN.md §1.1): checks what `serve` would use, with the same options, and
 * prints one line per check (ok, warning, problem) with what to fix. It changes nothing: ports are
 * bound and released at once, the database is opened read-only, nothing is created. So it runs
 * before the first start as well as beside a running node, whose ports it recognises by asking
 * each one who holds it (doctor-probes.ts). Exit 0 when nothing is a problem (warnings included), 1 when
 * something is, 2 on bad usage.
 */

export function registerDoctor(program: Command, run: RunAction): void {
  const command = program
    .command('doctor')
    .description(
      'check what serve would use, with the same options: ports, media disk, file-descriptor limit, ' +
        'ffmpeg, database, TLS certificate, clock, data directory; print what to fix. Changes nothing.',
    );
  for (const name of CONFIG_OPTION_NAMES) {
    if (optionSpec(name).isFlag) {
      command.addOption(configOption(name));
    }
  }
  command.addOption(new Option('--json', 'one JSON document on stdout, for machines'));
  command.addHelpText(
    'after',
    '\nExit codes: 0 no problem (warnings allowed), 1 at least one problem, 2 bad usage or configuration.',
  );
  command.action((options: { json?: boolean }) => run(() => doctor(command, options.json === true)));
}

async function doctor(command: Command, json: boolean): Promise<number> {
  const config = loadOrThrow(command);
  const results = await runChecks(config);
  const exitCode = doctorExitCode(results);
  if (json) {
    const counts = { ok: 0, warning: 0, problem: 0 };
    for (const r of results) {
      counts[r.status] += 1;
    }
    process.stdout.write(`${JSON.stringify({ ok: exitCode === 0, counts, checks: results }, null, 2)}\n`);
  } else {
    process.stdout.write(formatResults(results));
  }
  return exitCode;
}

export function formatResults(results: readonly CheckResult[]): string {
  const lines = results.map((r) => {
    const head = `${r.status.padEnd(7)}  ${r.message}`;
    return r.fix === undefined ? head : `${head}\n${' '.repeat(9)}fix: ${r.fix}`;
  });
  const problems = results.filter((r) => r.status === 'problem').length;
  const warnings = results.filter((r) => r.status === 'warning').length;
  lines.push(
    problems === 0 && warnings === 0 ? 'all checks passed' : `${problems} problem(s), ${warnings} warning(s)`,
  );
  return lines.map((l) => `${l}\n`).join('');
}

async function runChecks(config: Config): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const dataDir = resolve(config.dataDir);
  results.push(checkDataDir(await dataDirFact(dataDir)));

  const ports = await portFacts(config);
  const nodeIdentity = ports.find((p) => p.id === 'http')?.heldBy;
  const node: RunningNode | undefined = nodeIdentity === undefined ? undefined : { identity: nodeIdentity };
  for (const fact of ports) {
    results.push(checkPort(fact, node));
  }
  results.push(
    ...checkRtpRange(
      {
        min: config.rtpPortMin,
        max: config.rtpPortMax,
        portsInUse: await udpPortsInUse(config.rtpPortMin, config.rtpPortMax),
        maxSessions: config.maxSessions,
      },
      node,
    ),
  );

  results.push(...checkDisk(await diskFact(join(dataDir, 'media'), config.storageCriticalPercent)));
  results.push(checkFileDescriptors(await openFilesLimit(), config.maxSessions));
  results.push(checkTool(await toolFact('ffmpeg')), checkTool(await toolFact('ffprobe')));
  results.push(...checkDatabase(await databaseFact(config)));
  results.push(...checkCertificate(await certificateFact(config), Date.now()));
  results.push(checkClock(await clockFact()));
  return results;
}

// Data directory.

async function dataDirFact(path: string): Promise<DataDirFact> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) {
      return { kind: 'not-a-directory', path };
    }
  } catch {
    const parent = await nearestExisting(dirname(path));
    return { kind: 'absent', path, parent, creatable: await writable(parent) };
  }
  try {
    // access() answers EROFS on a read-only mount, even to root.
    await access(path, constants.W_OK | constants.X_OK);
    return { kind: 'writable', path };
  } catch (error) {
    return { kind: 'not-writable', path, error: (error as NodeJS.ErrnoException).code ?? messageOf(error) };
  }
}

async function writable(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `path` or its closest parent that exists. */
async function nearestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    try {
      await stat(current);
      return current;
    } catch {
      const parent = dirname(current);
      if (parent === current) {
        return current;
      }
      current = parent;
    }
  }
}

// Ports.

async function portFacts(config: Config): Promise<PortFact[]> {
  const specs: (Omit<PortFact, 'outcome' | 'bind'> & { id: ProbeKind })[] = [
    { id: 'sip-udp', label: 'SIP', protocol: 'udp', port: config.sipPort, option: '--sip-port' },
    { id: 'sip-tcp', label: 'SIP', protocol: 'tcp', port: config.sipPort, option: '--sip-port' },
    { id: 'sip-tls', label: 'SIP TLS', protocol: 'tcp', port: config.sipTlsPort, option: '--sip-tls-port' },
    { id: 'http', label: 'HTTP API', protocol: 'tcp', port: config.httpPort, option: '--http-port' },
    { id: 'rtsp', label: 'RTSP', protocol: 'tcp', port: config.rtspPort, option: '--rtsp-port' },
  ];
  const facts: PortFact[] = [];
  for (const spec of specs) {
    if (spec.port === 0) {
      facts.push({ ...spec, bind: config.bind, outcome: 'free' });
      continue;
    }
    const tried = await tryBind(spec.protocol, config.bind, spec.port);
    const heldBy =
      tried.outcome === 'in-use' ? await identifyVerbatim(spec.id, config.bind, spec.port) : undefined;
    facts.push({ ...spec, bind: config.bind, ...tried, ...(heldBy === undefined ? {} : { heldBy }) });
  }
  return facts;
}

/** Binds the port as serve would, and releases it at once. */
function tryBind(
  protocol: 'udp' | 'tcp',
  host: string,
  port: number,
): Promise<{ outcome: BindOutcome; detail?: string }> {
  const outcomeOf = (error: NodeJS.ErrnoException): { outcome: BindOutcome; detail?: string } => {
    switch (error.code) {
      case 'EADDRINUSE':
        return { outcome: 'in-use' };
      case 'EACCES':
        return { outcome: 'no-permission' };
      case 'EADDRNOTAVAIL':
        return { outcome: 'no-address' };
      case undefined:
      default:
        return { outcome: 'failed', detail: error.code ?? error.message };
    }
  };
  return new Promise((resolvePort) => {
    if (protocol === 'udp') {
      const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
      socket.once('error', (error) => {
        socket.close();
        resolvePort(outcomeOf(error));
      });
      socket.bind(port, host, () => {
        socket.close(() => resolvePort({ outcome: 'free' }));
      });
    } else {
      const server = createServer();
      server.once('error', (error) => {
        resolvePort(outcomeOf(error));
      });
      server.listen({ port, host, exclusive: true }, () => {
        server.close(() => resolvePort({ outcome: 'free' }));
      });
    }
  });
}

/** UDP ports of [min, max] that any socket holds, from /proc/net/udp and udp6 (Linux). */
async function udpPortsInUse(min: number, max: number): Promise<number[] | undefined> {
  const ports = new Set<number>();
  let read = false;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    read = true;
    for (const line of text.split('\n').slice(1)) {
      // "  sl  local_address rem_address …": the local address is ADDRHEX:PORTHEX.
      const local = line.trim().split(/\s+/)[1];
      const portHex = local?.split(':')[1];
      if (portHex === undefined) {
        continue;
      }
      const port = Number.parseInt(portHex, 16);
      if (port >= min && port <= max) {
        ports.add(port);
      }
    }
  }
  return read ? [...ports].sort((a, b) => a - b) : undefined;
}

// Disk.

async function diskFact(
  mediaDir: string,
  criticalFreePercent: number,
): Promise<DiskFact | { path: string; error: string }> {
  const path = await nearestExisting(mediaDir);
  try {
    const s = await statfs(path);
    return {
      path,
      totalBytes: s.blocks * s.bsize,
      availableBytes: s.bavail * s.bsize,
      totalInodes: s.files,
      freeInodes: s.ffree,
      criticalFreePercent,
    };
  } catch (error) {
    return { path, error: messageOf(error) };
  }
}

// File descriptors.

async function openFilesLimit(): Promise<OpenFilesLimit | undefined> {
  try {
    return parseOpenFilesLimit(await readFile('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

// Tools.

function runTool(file: string, args: readonly string[]): Promise<{ stdout: string } | { error: string }> {
  return new Promise((resolveRun) => {
    execFile(file, args, { timeout: 10_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout) => {
      resolveRun(
        error === null
          ? { stdout }
          : {
              error:
                (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not on the PATH' : messageOf(error),
            },
      );
    });
  });
}

async function toolFact(name: 'ffmpeg' | 'ffprobe'): Promise<ToolFact> {
  const version = await runTool(name, ['-hide_banner', '-version']);
  if ('error' in version) {
    return { name, error: version.error };
  }
  const first = version.stdout.split('\n')[0]?.trim() ?? '';
  if (name === 'ffprobe') {
    return { name, version: first };
  }
  // The codecs Verbatim asks ffmpeg for: AAC for MP4 (playback/mp4-export.ts), G.729 decoding.
  const [encoders, decoders] = await Promise.all([
    runTool(name, ['-hide_banner', '-encoders']),
    runTool(name, ['-hide_banner', '-decoders']),
  ]);
  const has = (list: typeof encoders, codec: string): boolean =>
    'stdout' in list && new RegExp(`^\\s*\\S+\\s+${codec}\\s`, 'm').test(list.stdout);
  const missingCodecs = [
    ...(has(encoders, 'aac') ? [] : ['the AAC encoder']),
    ...(has(decoders, 'g729') ? [] : ['the G.729 decoder']),
  ];
  return { name, version: first, missingCodecs };
}

// Database.

async function databaseFact(config: Config): Promise<DatabaseFact> {
  if (config.db.kind !== 'sqlite') {
    return {
      kind: 'unsupported',
      where: 'postgres',
      error: 'PostgreSQL support is not available yet: use a sqlite: database',
    };
  }
  const path = config.db.path;
  const where = `sqlite:${path}`;
  try {
    await stat(path);
  } catch {
    return { kind: 'absent', where };
  }
  // Imported here, so a broken native module does not break --help.
  const [{ SqliteRepository }, { default: BetterSqlite3 }] = await Promise.all([
    import('../db/sqlite-repository.js'),
    import('better-sqlite3'),
  ]);
  let pending: string[];
  const repository = SqliteRepository.openReadOnly(path, pino({ level: 'silent' }));
  try {
    pending = await repository.pendingMigrations();
  } catch (error) {
    return { kind: 'unreadable', where, error: messageOf(error) };
  } finally {
    await repository.close();
  }
  let integrity: string[];
  try {
    // Read-only beside a running node: SQLite's WAL lets a reader in while it writes.
    const sqlite = new BetterSqlite3(path, { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      const rows = sqlite.pragma('quick_check(10)') as { quick_check: string }[];
      integrity = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    } finally {
      sqlite.close();
    }
  } catch (error) {
    integrity = [messageOf(error)];
  }
  return { kind: 'opened', where, pending, integrity };
}

// Certificate.

async function certificateFact(config: Config): Promise<CertificateFact> {
  if (!config.tls && config.sipTlsPort === 0) {
    return { kind: 'not-needed' };
  }
  const { dir, keyPath, certPath } = certificatePaths(resolve(config.dataDir));
  const [keyThere, certThere] = await Promise.all([exists(keyPath), exists(certPath)]);
  if (!keyThere && !certThere) {
    return { kind: 'absent', dir };
  }
  if (!keyThere || !certThere) {
    return keyThere
      ? { kind: 'incomplete', present: keyPath, missing: certPath }
      : { kind: 'incomplete', present: certPath, missing: keyPath };
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(await readFile(certPath));
  } catch (error) {
    return { kind: 'unreadable', path: certPath, error: messageOf(error) };
  }
  let keyMatches: boolean;
  let keyExposed: boolean;
  try {
    keyMatches = certificate.checkPrivateKey(createPrivateKey(await readFile(keyPath)));
    keyExposed = ((await stat(keyPath)).mode & 0o077) !== 0;
  } catch (error) {
    return { kind: 'unreadable', path: keyPath, error: messageOf(error) };
  }
  const advertise = config.advertise;
  const namesAdvertise =
    isIP(advertise) === 0
      ? certificate.checkHost(advertise) !== undefined
      : certificate.checkIP(advertise) !== undefined;
  return {
    kind: 'read',
    certPath,
    notBeforeMs: Date.parse(certificate.validFrom),
    notAfterMs: Date.parse(certificate.validTo),
    keyMatches,
    advertise,
    namesAdvertise,
    keyExposed,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

// Clock.

/**
 * Whether the clock is NTP-synchronised: systemd's answer (timedatectl, or timesyncd's flag file),
 * else chrony's. Unknown otherwise (a container often has neither): a warning, never a problem.
 */
async function clockFact(): Promise<ClockFact> {
  const timedatectl = await runTool('timedatectl', ['show', '--property=NTPSynchronized', '--value']);
  if ('stdout' in timedatectl) {
    const answer = timedatectl.stdout.trim();
    if (answer === 'yes' || answer === 'no') {
      return { synchronized: answer === 'yes', source: 'timedatectl' };
    }
  }
  if (await exists('/run/systemd/timesync/synchronized')) {
    return { synchronized: true, source: '/run/systemd/timesync/synchronized' };
  }
  const chrony = await runTool('chronyc', ['-n', 'tracking']);
  if ('stdout' in chrony) {
    const leap = /^Leap status\s*:\s*(.+)$/m.exec(chrony.stdout)?.[1]?.trim();
    if (leap !== undefined) {
      return { synchronized: leap !== 'Not synchronised', source: 'chronyc tracking' };
    }
  }
  return { synchronized: undefined };
}
