import {
  MEDIASENSE_THRESHOLDS,
  thresholdsFor,
  type StorageThresholds,
  type ThresholdName,
} from '../storage/storage-thresholds.js';
import { callsAllowedBy, FD_RESERVE, FDS_PER_AUDIO_CALL, type OpenFilesLimit } from '../media/fd-budget.js';

/**
 * The judgement of `verbatim doctor`: facts gathered by doctor.ts (ports tried, statfs, limits,
 * tool versions, the database, the certificate, the clock) in, one line per check out, each ok,
 * warning or problem with what to do about it. Pure, so the unit tests feed it any machine.
 */

export type CheckStatus = 'ok' | 'warning' | 'problem';

export interface CheckResult {
  /** Stable identifier for machines (`--json`): `port.sip-udp`, `disk.space`, … */
  readonly id: string;
  readonly status: CheckStatus;
  readonly message: string;
  /** What to do, for a warning or a problem. */
  readonly fix?: string;
}

const ok = (id: string, message: string): CheckResult => ({ id, status: 'ok', message });
const warning = (id: string, message: string, fix?: string): CheckResult => ({
  id,
  status: 'warning',
  message,
  ...(fix === undefined ? {} : { fix }),
});
const problem = (id: string, message: string, fix?: string): CheckResult => ({
  id,
  status: 'problem',
  message,
  ...(fix === undefined ? {} : { fix }),
});

/** 0 when nothing is a problem (warnings alone included), 1 otherwise. */
export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'problem') ? 1 : 0;
}

// Ports.

/** What trying to bind a port (and releasing it at once) said. */
export type BindOutcome = 'free' | 'in-use' | 'no-permission' | 'no-address' | 'failed';

export interface PortFact {
  /** `sip-udp`, `sip-tcp`, `sip-tls`, `http`, `rtsp`. */
  readonly id: string;
  /** For people: `SIP UDP`, `HTTP API`, … */
  readonly label: string;
  readonly protocol: 'udp' | 'tcp';
  readonly bind: string;
  /** 0: the service is turned off. */
  readonly port: number;
  readonly outcome: BindOutcome;
  readonly detail?: string;
  /** The option that sets it, for the fix. */
  readonly option: string;
  /** When in use: how the Verbatim node holding it named itself (`Verbatim/0.1.0`). */
  readonly heldBy?: string;
}

/** A Verbatim node that answered getAPIVersion on the HTTP port. */
export interface RunningNode {
  /** `Verbatim/<version>`. */
  readonly identity: string;
}

export function checkPort(fact: PortFact, node: RunningNode | undefined): CheckResult {
  const id = `port.${fact.id}`;
  const what = `${fact.label} port ${fact.protocol.toUpperCase()} ${fact.bind}:${fact.port}`;
  if (fact.port === 0) {
    return ok(id, `${fact.label}: turned off (${fact.option} 0)`);
  }
  switch (fact.outcome) {
    case 'free':
      return ok(id, `${what}: free`);
    case 'in-use': {
      if (fact.heldBy !== undefined) {
        return ok(id, `${what}: in use by the running Verbatim node (${fact.heldBy})`);
      }
      const fix = `stop that program (ss -lnp 'sport = :${fact.port}' names it) or choose another port with ${fact.option}`;
      return node === undefined
        ? problem(id, `${what}: in use by another program`, fix)
        : warning(
            id,
            `${what}: in use, and it did not answer as Verbatim although a Verbatim node (${node.identity}) holds the HTTP port`,
            `if that node does not use this port, ${fix}`,
          );
    }
    case 'no-permission':
      return problem(
        id,
        `${what}: no permission to listen`,
        'ports below 1024 need root or CAP_NET_BIND_SERVICE (setcap, or AmbientCapabilities= in the systemd unit)',
      );
    case 'no-address':
      return problem(id, `${what}: ${fact.bind} is not an address of this machine`, 'fix --bind');
    case 'failed':
      return problem(id, `${what}: cannot listen (${fact.detail ?? 'unknown error'})`);
  }
}

export interface RtpRangeFact {
  readonly min: number;
  readonly max: number;
  /** UDP ports of the range some socket holds (from /proc/net/udp*); undefined when unknown. */
  readonly portsInUse: readonly number[] | undefined;
  readonly maxSessions: number;
}

/** The even RTP ports p of the range with p + 1 in it too (as transport/port-allocator.ts pairs them). */
export function rtpPairs(min: number, max: number): number {
  const first = min % 2 === 0 ? min : min + 1;
  const last = (max - 1) % 2 === 0 ? max - 1 : max - 2;
  return last < first ? 0 : (last - first) / 2 + 1;
}

export function checkRtpRange(fact: RtpRangeFact, node: RunningNode | undefined): CheckResult[] {
  const id = 'port.rtp';
  const range = `RTP range UDP ${fact.min}-${fact.max}`;
  const pairs = rtpPairs(fact.min, fact.max);
  const calls = Math.floor(pairs / 2);
  const results: CheckResult[] = [];
  if (calls < fact.maxSessions) {
    results.push(
      warning(
        `${id}.size`,
        `${range}: ${pairs} RTP/RTCP pairs, enough for ${calls} calls of two streams, fewer than --max-sessions ${fact.maxSessions}`,
        `widen --rtp-ports (4 ports a call) or lower --max-sessions to ${calls}`,
      ),
    );
  } else {
    results.push(ok(`${id}.size`, `${range}: ${pairs} RTP/RTCP pairs, enough for ${calls} calls`));
  }
  if (fact.portsInUse === undefined) {
    results.push(warning(id, `${range}: cannot tell which ports are in use (no /proc/net/udp)`));
  } else if (fact.portsInUse.length === 0) {
    results.push(ok(id, `${range}: all free`));
  } else if (node !== undefined) {
    results.push(
      ok(
        id,
        `${range}: ${fact.portsInUse.length} port(s) in use, by the running Verbatim node's calls presumably`,
      ),
    );
  } else {
    const shown = fact.portsInUse.slice(0, 5).join(', ') + (fact.portsInUse.length > 5 ? ', …' : '');
    results.push(
      warning(
        id,
        `${range}: ${fact.portsInUse.length} port(s) held by other programs (${shown}); calls skip them`,
        'keep other programs out of the RTP range (for example net.ipv4.ip_local_port_range) or move --rtp-ports',
      ),
    );
  }
  return results;
}

// Disk.

interface ThresholdCheck {
  readonly name: ThresholdName;
  readonly percent: number;
  readonly status: 'problem' | 'warning';
  /** What the node does there (storage/storage-agent.ts, retention.ts). */
  readonly effect: string;
}

/**
 * The storage agent's thresholds (storage/storage-thresholds.ts), highest first, in percent of the
 * media partition used: the node's own, so doctor judges the disk exactly as serve will.
 */
function thresholdChecks(thresholds: StorageThresholds): ThresholdCheck[] {
  return [
    {
      name: 'EMERGENCY',
      percent: thresholds.EMERGENCY.enter,
      status: 'problem',
      effect: 'new calls are refused',
    },
    {
      name: 'CRITICAL',
      percent: thresholds.CRITICAL.enter,
      status: 'problem',
      effect:
        'the oldest recordings are pruned (recording priority) or new calls refused (retention priority)',
    },
    {
      name: 'LOW',
      percent: thresholds.LOW.enter,
      status: 'warning',
      effect: 'a STORAGE_THRESHOLD_EVENT is sent',
    },
  ];
}

export interface DiskFact {
  /** The directory measured (the media directory, or its nearest existing parent). */
  readonly path: string;
  readonly totalBytes: number;
  /** Free for an unprivileged writer (statfs bavail). */
  readonly availableBytes: number;
  readonly totalInodes: number;
  readonly freeInodes: number;
  /** `--storage-critical-percent`: the CRITICAL threshold, in percent free (0: none). */
  readonly criticalFreePercent: number;
}

export function checkDisk(fact: DiskFact | { readonly path: string; readonly error: string }): CheckResult[] {
  if ('error' in fact) {
    return [problem('disk.space', `media partition (${fact.path}): cannot read its size (${fact.error})`)];
  }
  const usedPercent =
    fact.totalBytes > 0 ? (100 * (fact.totalBytes - fact.availableBytes)) / fact.totalBytes : 100;
  const space = `${formatSize(fact.availableBytes)} free of ${formatSize(fact.totalBytes)}, ${usedPercent.toFixed(1)} % used`;
  // --storage-critical-percent (free space) is the critical threshold (100 - P % used).
  const results: CheckResult[] = [
    judgeUse(
      'disk.space',
      `media partition (${fact.path}): ${space}`,
      usedPercent,
      'space',
      thresholdsFor(fact.criticalFreePercent),
    ),
  ];
  if (fact.totalInodes === 0) {
    // Some file systems (btrfs) report no inode count: nothing to run out of.
    results.push(ok('disk.inodes', 'media partition inodes: not limited by this file system'));
  } else {
    const inodePercent = (100 * (fact.totalInodes - fact.freeInodes)) / fact.totalInodes;
    results.push(
      judgeUse(
        'disk.inodes',
        `media partition inodes: ${fact.freeInodes} free of ${fact.totalInodes}, ${inodePercent.toFixed(1)} % used`,
        inodePercent,
        'inodes',
        MEDIASENSE_THRESHOLDS,
      ),
    );
  }
  return results;
}

function judgeUse(
  id: string,
  message: string,
  usedPercent: number,
  what: 'space' | 'inodes',
  thresholds: StorageThresholds,
): CheckResult {
  const checks = thresholdChecks(thresholds);
  const threshold = checks.find((t) => usedPercent >= t.percent);
  if (threshold === undefined) {
    return ok(id, `${message} (below the LOW threshold, ${thresholds.LOW.enter} %)`);
  }
  const text = `${message}: at or above the ${threshold.name} threshold (${threshold.percent} % used): ${threshold.effect}`;
  const fix =
    what === 'space'
      ? 'free space on the media partition (remove or move old recordings) or enlarge it'
      : 'the partition holds too many files: move recordings elsewhere or make a file system with more inodes';
  return threshold.status === 'problem' ? problem(id, text, fix) : warning(id, text, fix);
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

// File descriptors.

export function checkFileDescriptors(limit: OpenFilesLimit | undefined, maxSessions: number): CheckResult {
  const id = 'fd.limit';
  if (limit === undefined) {
    return warning(id, 'open-file limit: unknown (no /proc/self/limits)');
  }
  const show = (n: number): string => (Number.isFinite(n) ? String(n) : 'unlimited');
  // Node raises its soft limit to the hard one when it starts, so serve runs under the hard limit.
  const effective = limit.hard;
  const calls = callsAllowedBy(effective);
  const text =
    `open-file limit: soft ${show(limit.soft)}, hard ${show(limit.hard)} (serve raises the soft limit to the hard one); ` +
    `${show(calls)} concurrent calls fit (${FDS_PER_AUDIO_CALL} descriptors a call: RTP and RTCP sockets and a track file per stream, ` +
    `plus ${FD_RESERVE} for the rest)`;
  const fix = `raise the hard limit: LimitNOFILE=${Math.max(65536, FD_RESERVE + FDS_PER_AUDIO_CALL * maxSessions)} in the systemd unit, or ulimit -Hn / limits.conf`;
  if (calls < 1) {
    return problem(id, `${text}: not even one call`, fix);
  }
  if (calls < maxSessions) {
    return warning(
      id,
      `${text}: fewer than --max-sessions ${maxSessions}`,
      `${fix}, or lower --max-sessions`,
    );
  }
  return ok(id, text);
}

// Tools.

export interface ToolFact {
  readonly name: 'ffmpeg' | 'ffprobe';
  /** The first line of `-version`; undefined when the program is missing or failed. */
  readonly version?: string;
  readonly error?: string;
  /** Codecs ffmpeg lacks that Verbatim uses (ffmpeg only). */
  readonly missingCodecs?: readonly string[];
}

export function checkTool(fact: ToolFact): CheckResult {
  const id = `tool.${fact.name}`;
  const use =
    fact.name === 'ffmpeg'
      ? 'MP4 downloads and exports, G.729 playback and the MP4 cache need it'
      : 'Verbatim itself does not run it; it is the tool to inspect recordings and exports';
  if (fact.version === undefined) {
    const message = `${fact.name}: not found or not working (${fact.error ?? 'unknown error'}); ${use}`;
    const fix = 'install it (Debian: apt-get install ffmpeg) and make sure it is on the PATH of the service';
    return fact.name === 'ffmpeg' ? problem(id, message, fix) : warning(id, message, fix);
  }
  if (fact.missingCodecs !== undefined && fact.missingCodecs.length > 0) {
    return warning(
      id,
      `${fact.name}: ${fact.version}, lacking ${fact.missingCodecs.join(', ')}`,
      'install a full ffmpeg build (Debian: apt-get install ffmpeg)',
    );
  }
  return ok(id, `${fact.name}: ${fact.version}`);
}

// Database.

export type DatabaseFact =
  | { readonly kind: 'absent'; readonly where: string }
  | { readonly kind: 'unsupported'; readonly where: string; readonly error: string }
  | { readonly kind: 'unreadable'; readonly where: string; readonly error: string }
  | {
      readonly kind: 'opened';
      readonly where: string;
      readonly pending: readonly string[];
      /** `PRAGMA quick_check` rows other than `ok`. */
      readonly integrity: readonly string[];
    };

export function checkDatabase(fact: DatabaseFact): CheckResult[] {
  switch (fact.kind) {
    case 'absent':
      return [ok('db.open', `database ${fact.where}: not created yet (serve creates and migrates it)`)];
    case 'unsupported':
      return [problem('db.open', `database ${fact.where}: ${fact.error}`)];
    case 'unreadable':
      return [
        problem(
          'db.open',
          `database ${fact.where}: cannot be opened (${fact.error})`,
          'check the file and its permissions; restore it from a backup if it is damaged',
        ),
      ];
    case 'opened': {
      const results: CheckResult[] = [
        fact.pending.length === 0
          ? ok('db.migrations', `database ${fact.where}: opens, migrations up to date`)
          : problem(
              'db.migrations',
              `database ${fact.where}: ${fact.pending.length} migration(s) not applied (${fact.pending.join(', ')})`,
              'run verbatim migrate (serve applies them at start too)',
            ),
      ];
      results.push(
        fact.integrity.length === 0
          ? ok('db.integrity', `database ${fact.where}: quick integrity check passed`)
          : problem(
              'db.integrity',
              `database ${fact.where}: integrity check failed: ${fact.integrity.slice(0, 3).join('; ')}`,
              'stop the node, keep a copy of the file, and restore it from a backup (or try sqlite3 .recover)',
            ),
      );
      return results;
    }
  }
}

// Certificate.

export type CertificateFact =
  | { readonly kind: 'not-needed' }
  | { readonly kind: 'absent'; readonly dir: string }
  | { readonly kind: 'incomplete'; readonly present: string; readonly missing: string }
  | { readonly kind: 'unreadable'; readonly path: string; readonly error: string }
  | {
      readonly kind: 'read';
      readonly certPath: string;
      readonly notBeforeMs: number;
      readonly notAfterMs: number;
      readonly keyMatches: boolean;
      /** The advertised address, and whether the certificate names it. */
      readonly advertise: string;
      readonly namesAdvertise: boolean;
      /** The key file is readable by group or others. */
      readonly keyExposed: boolean;
    };

const DAY_MS = 86_400_000;
/** A certificate expiring within this many days is a warning. */
export const CERT_EXPIRY_WARNING_DAYS = 30;

export function checkCertificate(fact: CertificateFact, nowMs: number): CheckResult[] {
  const id = 'tls.certificate';
  switch (fact.kind) {
    case 'not-needed':
      return [ok(id, 'TLS certificate: not used (--no-tls and --sip-tls-port 0)')];
    case 'absent':
      return [ok(id, `TLS certificate: none in ${fact.dir} yet (serve generates a self-signed one)`)];
    case 'incomplete':
      return [
        problem(
          id,
          `TLS certificate: ${fact.present} exists but ${fact.missing} does not: serve will not start`,
          'supply both files, or remove the one there to have a self-signed pair generated',
        ),
      ];
    case 'unreadable':
      return [
        problem(
          id,
          `TLS certificate: ${fact.path} cannot be read (${fact.error})`,
          'replace it with a PEM file',
        ),
      ];
    case 'read': {
      const results: CheckResult[] = [];
      const until = new Date(fact.notAfterMs).toISOString();
      const replace =
        'replace server.crt and server.key (or remove both to have a self-signed pair generated)';
      if (fact.notAfterMs <= nowMs) {
        results.push(problem(id, `TLS certificate ${fact.certPath}: expired on ${until}`, replace));
      } else if (fact.notBeforeMs > nowMs) {
        results.push(
          problem(
            id,
            `TLS certificate ${fact.certPath}: not valid before ${new Date(fact.notBeforeMs).toISOString()}`,
            'check the clock, or the certificate',
          ),
        );
      } else if (fact.notAfterMs - nowMs < CERT_EXPIRY_WARNING_DAYS * DAY_MS) {
        const days = Math.floor((fact.notAfterMs - nowMs) / DAY_MS);
        results.push(
          warning(id, `TLS certificate ${fact.certPath}: expires on ${until}, in ${days} day(s)`, replace),
        );
      } else {
        results.push(ok(id, `TLS certificate ${fact.certPath}: valid until ${until}`));
      }
      results.push(
        fact.keyMatches
          ? ok('tls.key', 'TLS key: matches the certificate')
          : problem('tls.key', 'TLS key: does not match the certificate: TLS handshakes fail', replace),
      );
      if (fact.keyExposed) {
        results.push(warning('tls.key-mode', 'TLS key: readable by other users', 'chmod 600 it'));
      }
      results.push(
        fact.namesAdvertise
          ? ok('tls.names', `TLS certificate names the advertised address ${fact.advertise}`)
          : warning(
              'tls.names',
              `TLS certificate does not name the advertised address ${fact.advertise}: clients checking names refuse it`,
              'issue a certificate with that address in its subjectAltName (or remove the generated pair to have it made again)',
            ),
      );
      return results;
    }
  }
}

// Clock.

export interface ClockFact {
  /** True/false when a source said; undefined when none could tell. */
  readonly synchronized: boolean | undefined;
  /** Where the answer came from (`timedatectl`, `/run/systemd/timesync/synchronized`, …). */
  readonly source?: string;
}

export function checkClock(fact: ClockFact): CheckResult {
  const id = 'clock';
  const fix =
    'run an NTP client (systemd-timesyncd, chrony): recordings from several nodes and controllers must agree on the time';
  if (fact.synchronized === undefined) {
    return warning(id, 'clock: cannot tell whether it is NTP-synchronised', fix);
  }
  return fact.synchronized
    ? ok(id, `clock: NTP-synchronised (${fact.source ?? 'unknown source'})`)
    : warning(id, `clock: not NTP-synchronised (${fact.source ?? 'unknown source'})`, fix);
}

// Data directory.

export type DataDirFact =
  | { readonly kind: 'writable'; readonly path: string }
  | { readonly kind: 'absent'; readonly path: string; readonly creatable: boolean; readonly parent: string }
  | { readonly kind: 'not-writable'; readonly path: string; readonly error: string }
  | { readonly kind: 'not-a-directory'; readonly path: string };

export function checkDataDir(fact: DataDirFact): CheckResult {
  const id = 'data-dir';
  switch (fact.kind) {
    case 'writable':
      return ok(id, `data directory ${fact.path}: writable`);
    case 'absent':
      return fact.creatable
        ? ok(id, `data directory ${fact.path}: not created yet (serve creates it)`)
        : problem(
            id,
            `data directory ${fact.path}: does not exist and ${fact.parent} is not writable`,
            'create it for the user that runs verbatim, or choose another --data-dir',
          );
    case 'not-writable':
      return problem(
        id,
        `data directory ${fact.path}: not writable (${fact.error})`,
        'give the user that runs verbatim write access (chown), or check the file system is not mounted read-only',
      );
    case 'not-a-directory':
      return problem(id, `data directory ${fact.path}: is not a directory`, 'choose another --data-dir');
  }
}
