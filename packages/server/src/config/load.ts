import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { Result } from '../protocol/result.js';
import { isIpAddress, parseCidr, parseIpAddress } from './cidr.js';
import type { Config, DatabaseConfig } from './config.js';
import {
  CONFIG_OPTIONS,
  DEFAULT_TRUSTED_PEERS,
  LOG_LEVELS,
  camelNameOf,
  envNameOf,
  type ConfigOptionName,
} from './options.js';

/**
 * Builds the one validated Config from defaults < `--config` YAML file < VERBATIM_* environment <
 * flags (DESIGN.md §1.1). This is the only module that reads the environment, and it reads it from
 * the `env` it is given, so tests pass their own. Every problem is collected and reported at once:
 * an operator fixing a unit file should not have to restart it once per typo.
 */

export type ConfigErrorCode =
  /** A value that does not parse or is out of range. */
  | 'VERBATIM_ERR_CONFIG_INVALID_VALUE'
  /** Values that are each valid but do not fit together (two services on one port). */
  | 'VERBATIM_ERR_CONFIG_CONFLICT'
  /** A key in the YAML file that is no option. */
  | 'VERBATIM_ERR_CONFIG_UNKNOWN_KEY'
  /** The --config file cannot be read. */
  | 'VERBATIM_ERR_CONFIG_FILE_UNREADABLE'
  /** The --config file is not YAML, or not a mapping. */
  | 'VERBATIM_ERR_CONFIG_FILE_INVALID';

export interface ConfigProblem {
  readonly code: ConfigErrorCode;
  /** The option concerned (kebab-case), or undefined for a problem with the file as a whole. */
  readonly option?: ConfigOptionName;
  /** Where the value came from: `--sip-port`, `VERBATIM_SIP_PORT` or `verbatim.yaml: sip-port`. */
  readonly source: string;
  /** One line for a human, starting with the source: "--sip-port: 'abc' is not a port number (0-65535)". */
  readonly message: string;
}

/** What the host contributes to defaults; tests replace it to get stable values. */
export interface ConfigHost {
  networkInterfaces(): NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  hostname(): string;
}

export interface LoadConfigInput {
  /**
   * Options given on the command line, keyed by kebab-case name, with the raw text the user typed
   * (`{ 'sip-port': 'abc' }`); `'no-tls': true` for the bare flag. main.ts fills it from commander,
   * taking only the options whose value source is the command line.
   */
  readonly flags: Readonly<Partial<Record<ConfigOptionName, string | boolean>>>;
  readonly env: NodeJS.ProcessEnv;
  /** Relative paths given by flags or environment resolve against this directory. */
  readonly cwd: string;
  readonly host?: ConfigHost;
}

/** A raw value and where it came from. */
interface Raw {
  readonly value: unknown;
  readonly source: string;
  /** Directory relative paths resolve against: cwd, or the directory of the config file. */
  readonly baseDir: string;
}

type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

const PORT_TEXT = 'is not a port number (0-65535)';
const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MAX_MEDIA_TIMEOUT_S = 86_400;
const MAX_MAX_SESSIONS = 1_000_000;
const MIN_ADMIN_PASSWORD_LENGTH = 8;
const WILDCARD_IPV4_MAPPED = parseIpAddress('0.0.0.0');

export function loadConfig(input: LoadConfigInput): Result<Config, readonly ConfigProblem[]> {
  const host = input.host ?? {
    networkInterfaces: () => os.networkInterfaces(),
    hostname: () => os.hostname(),
  };
  const problems: ConfigProblem[] = [];
  const fail = (
    code: ConfigErrorCode,
    raw: Raw,
    option: ConfigOptionName | undefined,
    text: string,
  ): Parsed<never> => {
    const problem = { code, source: raw.source, message: `${raw.source}: ${text}` };
    problems.push(option === undefined ? problem : { ...problem, option });
    return { ok: false };
  };

  const file = readConfigFile(input, problems);

  /** The winning raw value of an option: flag over environment over file. */
  const pick = (name: ConfigOptionName): Raw | undefined => {
    const flag = input.flags[name];
    if (flag !== undefined) {
      return { value: flag, source: `--${name}`, baseDir: input.cwd };
    }
    const envName = envNameOf(name);
    const env = input.env[envName];
    // An empty variable counts as unset, as shells and unit files often write `VERBATIM_X=`.
    if (env !== undefined && env !== '') {
      return { value: env, source: envName, baseDir: input.cwd };
    }
    return file?.values.get(name);
  };

  const withDefault = <T>(name: ConfigOptionName, fallback: T, parse: (raw: Raw) => Parsed<T>): Parsed<T> => {
    const raw = pick(name);
    return raw === undefined ? { ok: true, value: fallback } : parse(raw);
  };

  const port = (name: ConfigOptionName, fallback: number): Parsed<number> =>
    withDefault(name, fallback, (raw) => {
      const value = integerOf(raw.value);
      return value !== undefined && value >= 0 && value <= 65535
        ? { ok: true, value }
        : fail('VERBATIM_ERR_CONFIG_INVALID_VALUE', raw, name, `${show(raw.value)} ${PORT_TEXT}`);
    });

  const dataDir = withDefault('data-dir', resolve(input.cwd, 'data'), (raw) =>
    typeof raw.value === 'string' && raw.value.trim() !== ''
      ? { ok: true, value: resolve(raw.baseDir, raw.value) }
      : fail(
          'VERBATIM_ERR_CONFIG_INVALID_VALUE',
          raw,
          'data-dir',
          `${show(raw.value)} is not a directory path`,
        ),
  );

  const ipOption = (name: 'bind' | 'advertise') => (raw: Raw) =>
    typeof raw.value === 'string' && isIpAddress(raw.value)
      ? { ok: true as const, value: raw.value }
      : fail('VERBATIM_ERR_CONFIG_INVALID_VALUE', raw, name, `${show(raw.value)} is not an IP address`);
  const bind = withDefault<string>('bind', '0.0.0.0', ipOption('bind'));
  const advertiseRaw = pick('advertise');
  let advertise: Parsed<string | undefined> = { ok: true, value: undefined };
  if (advertiseRaw !== undefined) {
    advertise = ipOption('advertise')(advertiseRaw);
    if (advertise.ok && isWildcard(advertise.value ?? '')) {
      advertise = fail(
        'VERBATIM_ERR_CONFIG_INVALID_VALUE',
        advertiseRaw,
        'advertise',
        `${show(advertiseRaw.value)} is a wildcard address, not one peers can send media to`,
      );
    }
  }

  const sipPort = port('sip-port', 5060);
  const sipTlsPort = port('sip-tls-port', 5061);
  const httpPort = port('http-port', 8440);
  const rtspPort = port('rtsp-port', 8554);
  const rtpPorts = withDefault('rtp-ports', { min: 32768, max: 61000 }, (raw) => {
    const match = typeof raw.value === 'string' ? /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(raw.value) : null;
    if (match === null) {
      return fail(
        'VERBATIM_ERR_CONFIG_INVALID_VALUE',
        raw,
        'rtp-ports',
        `${show(raw.value)} is not a port range (A-B)`,
      );
    }
    const min = Number(match[1]);
    const max = Number(match[2]);
    if (min < 1 || max > 65535) {
      return fail(
        'VERBATIM_ERR_CONFIG_INVALID_VALUE',
        raw,
        'rtp-ports',
        `range ${min}-${max} is outside 1-65535`,
      );
    }
    if (max < min) {
      return fail('VERBATIM_ERR_CONFIG_INVALID_VALUE', raw, 'rtp-ports', `range ${min}-${max} is empty`);
    }
    // RTP takes an even port and RTCP the next odd one (RFC 3550 §11), so a stream needs a pair.
    if (min % 2 !== 0) {
      return fail(
        'VERBATIM_ERR_CONFIG_INVALID_VALUE',
        raw,
        'rtp-ports',
        `range ${min}-${max} starts on an odd port (RTP uses even ports, RFC 3550 §11)`,
      );
    }
    if (max - min + 1 < 2) {
      return fail(
        'VERBATIM_ERR_CONFIG_INVALID_VALUE',
        raw,
        'rtp-ports',
        `range ${min}-${max} has fewer than 2 ports (one RTP + RTCP pair)`,
      );
    }
    return { ok: true, value: { min, max } };
  });

  const dbRaw = pick('db');
  let db: Parsed<DatabaseConfig | undefined> = { ok: true, value: undefined };
  if (dbRaw !== undefined) {
    const parsed = parseDatabase(dbRaw);
    db =
      typeof parsed === 'string'
        ? fail('VERBATIM_ERR_CONFIG_INVALID_VALUE', dbRaw, 'db', parsed)
        : { ok: true, value: parsed };
  }

  const noTls = withDefault<boolean>('no-tls', false, (raw) => {
    const value = booleanOf(raw.value);
    return value !== undefined
      ? { ok: true, value }
      : fail(
          'VERBATIM_ERR_CONFIG_INVALID_VALUE',
          raw,
          'no-tls',
          `${show(raw.value)} is not a boolean (true/false, 1/0)`,
        );
  });

  const trustedPeers = withDefault('trusted-peers', DEFAULT_TRUSTED_PEERS, (raw) => {
    let entries: unknown[];
    if (typeof raw.value === 'string') {
      entries = raw.value.split(',');
    } else if (Array.isArray(raw.value)) {
      entries = raw.value as unknown[];
    } else {
      return fail(
        'VERBATIM_ERR_CONFIG_INVALID_VALUE',
        raw,
        'trusted-peers',
        `${show(raw.value)} is not a list of CIDR blocks`,
      );
    }
    const blocks: string[] = [];
    let valid = true;
    for (const entry of entries) {
      const text = typeof entry === 'string' ? entry.trim() : entry;
      if (text === '') {
        continue;
      }
      if (typeof text === 'string' && parseCidr(text) !== undefined) {
        blocks.push(text);
      } else {
        valid = false;
        fail('VERBATIM_ERR_CONFIG_INVALID_VALUE', raw, 'trusted-peers', `${show(text)} is not a CIDR block`);
      }
    }
    return valid ? { ok: true, value: blocks } : { ok: false };
  });

  const nodeId = withDefault('node-id', defaultNodeId(host), (raw) =>
    typeof raw.value === 'string' && NODE_ID_PATTERN.test(raw.value)
      ? { ok: true, value: raw.value }
      : fail(
          'VERBATIM_ERR_CONFIG_INVALID_VALUE',
          raw,
          'node-id',
          `${show(raw.value)} is not a node id (1-63 letters, digits, '.', '_' or '-')`,
        ),
  );

  const mediaTimeoutMs = withDefault<number>('media-timeout', 30_000, (raw) => {
    const seconds = numberOf(raw.value);
    return seconds !== undefined &&
      seconds > 0 &&
      seconds <= MAX_MEDIA_TIMEOUT_S &&
      Math.round(seconds * 1000) >= 1
      ? { ok: true, value: Math.round(seconds * 1000) }
      : fail(
          'VERBATIM_ERR_CONFIG_INVALID_VALUE',
          raw,
          'media-timeout',
          `${show(raw.value)} is not a number of seconds (above 0, at most ${MAX_MEDIA_TIMEOUT_S})`,
        );
  });

  const maxSessions = withDefault<number>('max-sessions', 2000, (raw) => {
    const n = numberOf(raw.value);
    return n !== undefined && Number.isInteger(n) && n >= 1 && n <= MAX_MAX_SESSIONS
      ? { ok: true, value: n }
      : fail(
          'VERBATIM_ERR_CONFIG_INVALID_VALUE',
          raw,
          'max-sessions',
          `${show(raw.value)} is not a whole number of sessions (1-${MAX_MAX_SESSIONS})`,
        );
  });

  const storageCriticalPercent = withDefault<number>('storage-critical-percent', 5, (raw) => {
    const n = numberOf(raw.value);
    return n !== undefined && n >= 0 && n <= 100
      ? { ok: true, value: n }
      : fail(
          'VERBATIM_ERR_CONFIG_INVALID_VALUE',
          raw,
          'storage-critical-percent',
          `${show(raw.value)} is not a percentage of free disk space (0-100)`,
        );
  });

  const logLevel = withDefault<Config['logLevel']>('log-level', 'info', (raw) => {
    const text = typeof raw.value === 'string' ? raw.value.toLowerCase() : undefined;
    const level = LOG_LEVELS.find((l) => l === text);
    return level !== undefined
      ? { ok: true, value: level }
      : fail(
          'VERBATIM_ERR_CONFIG_INVALID_VALUE',
          raw,
          'log-level',
          `${show(raw.value)} is not a log level (${LOG_LEVELS.join(', ')})`,
        );
  });

  const adminPasswordRaw = pick('admin-password');
  let adminPassword: Parsed<string | undefined> = { ok: true, value: undefined };
  if (adminPasswordRaw !== undefined) {
    const value = adminPasswordRaw.value;
    // The value itself is never echoed: it is a secret.
    if (typeof value !== 'string') {
      adminPassword = fail(
        'VERBATIM_ERR_CONFIG_INVALID_VALUE',
        adminPasswordRaw,
        'admin-password',
        'must be a string (quote it in YAML)',
      );
    } else if (value.length < MIN_ADMIN_PASSWORD_LENGTH) {
      adminPassword = fail(
        'VERBATIM_ERR_CONFIG_INVALID_VALUE',
        adminPasswordRaw,
        'admin-password',
        `is shorter than ${MIN_ADMIN_PASSWORD_LENGTH} characters`,
      );
    } else {
      adminPassword = { ok: true, value };
    }
  }

  if (
    !dataDir.ok ||
    !bind.ok ||
    !advertise.ok ||
    !sipPort.ok ||
    !sipTlsPort.ok ||
    !httpPort.ok ||
    !rtspPort.ok ||
    !rtpPorts.ok ||
    !db.ok ||
    !noTls.ok ||
    !trustedPeers.ok ||
    !nodeId.ok ||
    !mediaTimeoutMs.ok ||
    !maxSessions.ok ||
    !storageCriticalPercent.ok ||
    !logLevel.ok ||
    !adminPassword.ok
  ) {
    return { ok: false, error: problems };
  }

  checkPortConflicts(
    [
      { name: 'sip-port', port: sipPort.value, service: 'the SIP port' },
      { name: 'sip-tls-port', port: sipTlsPort.value, service: 'the SIP TLS port' },
      { name: 'http-port', port: httpPort.value, service: 'the HTTP port' },
      { name: 'rtsp-port', port: rtspPort.value, service: 'the RTSP port' },
    ],
    rtpPorts.value,
    pick,
    problems,
  );
  if (problems.length > 0) {
    return { ok: false, error: problems };
  }

  const config: Config = {
    dataDir: dataDir.value,
    bind: bind.value,
    advertise: advertise.value ?? defaultAdvertise(bind.value, host),
    sipPort: sipPort.value,
    sipTlsPort: sipTlsPort.value,
    httpPort: httpPort.value,
    rtspPort: rtspPort.value,
    rtpPortMin: rtpPorts.value.min,
    rtpPortMax: rtpPorts.value.max,
    db: db.value ?? { kind: 'sqlite', path: join(dataDir.value, 'verbatim.db') },
    tls: !noTls.value,
    trustedPeers: trustedPeers.value,
    nodeId: nodeId.value,
    mediaTimeoutMs: mediaTimeoutMs.value,
    maxSessions: maxSessions.value,
    storageCriticalPercent: storageCriticalPercent.value,
    logLevel: logLevel.value,
  };
  return {
    ok: true,
    value: adminPassword.value === undefined ? config : { ...config, adminPassword: adminPassword.value },
  };
}

/** One line per problem, for stderr. */
export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => p.message).join('\n');
}

interface ConfigFile {
  readonly values: Map<ConfigOptionName, Raw>;
}

/**
 * Reads the YAML file named by --config or VERBATIM_CONFIG. Keys use the flag's spelling
 * (`sip-port`) or camelCase (`sipPort`); relative paths in it resolve against the file's own
 * directory, so a unit file running in `/` and `verbatim serve` run by hand read the same file alike.
 */
function readConfigFile(input: LoadConfigInput, problems: ConfigProblem[]): ConfigFile | undefined {
  const flag = input.flags.config;
  const env = input.env[envNameOf('config')];
  const given: Raw | undefined =
    flag !== undefined
      ? { value: flag, source: '--config', baseDir: input.cwd }
      : env !== undefined && env !== ''
        ? { value: env, source: envNameOf('config'), baseDir: input.cwd }
        : undefined;
  if (given === undefined) {
    return undefined;
  }
  const fileProblem = (code: ConfigErrorCode, source: string, text: string): undefined => {
    problems.push({ code, source, message: `${source}: ${text}` });
    return undefined;
  };
  if (typeof given.value !== 'string' || given.value === '') {
    return fileProblem(
      'VERBATIM_ERR_CONFIG_INVALID_VALUE',
      given.source,
      `${show(given.value)} is not a file name`,
    );
  }
  const path = resolve(input.cwd, given.value);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    return fileProblem(
      'VERBATIM_ERR_CONFIG_FILE_UNREADABLE',
      given.source,
      `cannot read '${path}' (${reason})`,
    );
  }
  const source = given.value;
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const firstLine = error.message.split('\n')[0] ?? error.message;
      fileProblem('VERBATIM_ERR_CONFIG_FILE_INVALID', source, `invalid YAML: ${firstLine}`);
    }
    return undefined;
  }
  const content: unknown = doc.toJS();
  if (content === null || content === undefined) {
    return { values: new Map() };
  }
  if (typeof content !== 'object' || Array.isArray(content)) {
    return fileProblem('VERBATIM_ERR_CONFIG_FILE_INVALID', source, 'must be a mapping of option: value');
  }
  const byKey = new Map<string, ConfigOptionName>();
  for (const option of CONFIG_OPTIONS) {
    if (option.inFile) {
      byKey.set(option.name, option.name);
      byKey.set(camelNameOf(option.name), option.name);
    }
  }
  const values = new Map<ConfigOptionName, Raw>();
  const baseDir = dirname(path);
  for (const [key, value] of Object.entries(content as Record<string, unknown>)) {
    const name = byKey.get(key);
    if (name === undefined) {
      const suggestion = closestKey(key, [...byKey.keys()]);
      fileProblem(
        'VERBATIM_ERR_CONFIG_UNKNOWN_KEY',
        source,
        `unknown key '${key}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}`,
      );
      continue;
    }
    if (values.has(name)) {
      fileProblem('VERBATIM_ERR_CONFIG_CONFLICT', source, `'${key}' repeats option '${name}'`);
      continue;
    }
    values.set(name, { value, source: `${source}: ${key}`, baseDir });
  }
  return { values };
}

/** `sqlite:PATH` (also `sqlite://PATH`, `sqlite::memory:`) or `postgres://…` / `postgresql://…`. */
function parseDatabase(raw: Raw): DatabaseConfig | string {
  if (typeof raw.value !== 'string') {
    return `${show(raw.value)} is not a database URL (use sqlite:PATH or postgres://…)`;
  }
  const text = raw.value.trim();
  if (text.startsWith('sqlite:')) {
    let path = text.slice('sqlite:'.length);
    if (path.startsWith('//')) {
      path = path.slice(2);
    }
    if (path === '') {
      return `'${text}' names no file (use sqlite:PATH)`;
    }
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(raw.baseDir, path) };
  }
  if (text.startsWith('postgres://') || text.startsWith('postgresql://')) {
    try {
      new URL(text);
    } catch {
      // The URL class explains nothing useful here; the message below does.
      return `'${redactUrl(text)}' is not a valid URL`;
    }
    return { kind: 'postgres', url: text };
  }
  return `unsupported URL '${redactUrl(text)}' (use sqlite:PATH or postgres://…)`;
}

/** Hides the password of `scheme://user:password@host` in messages. */
function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

function checkPortConflicts(
  services: readonly { name: ConfigOptionName; port: number; service: string }[],
  rtp: { min: number; max: number },
  pick: (name: ConfigOptionName) => Raw | undefined,
  problems: ConfigProblem[],
): void {
  const sourceOf = (name: ConfigOptionName): string => pick(name)?.source ?? `--${name} (default)`;
  // Port 0 asks the system for a free port, so it never collides.
  const open = services.filter((s) => s.port !== 0);
  for (let i = 0; i < open.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = open[j];
      const b = open[i];
      if (a !== undefined && b !== undefined && a.port === b.port) {
        const source = sourceOf(b.name);
        problems.push({
          code: 'VERBATIM_ERR_CONFIG_CONFLICT',
          option: b.name,
          source,
          message: `${source}: port ${b.port} is also ${a.service} (${sourceOf(a.name)})`,
        });
      }
    }
  }
  // SIP also listens on UDP, the protocol of the RTP range.
  const sip = services.find((s) => s.name === 'sip-port');
  if (sip !== undefined && sip.port >= rtp.min && sip.port <= rtp.max) {
    const source = sourceOf('rtp-ports');
    problems.push({
      code: 'VERBATIM_ERR_CONFIG_CONFLICT',
      option: 'rtp-ports',
      source,
      message: `${source}: range ${rtp.min}-${rtp.max} includes the SIP port ${sip.port}`,
    });
  }
}

/** 0.0.0.0 and :: (in any spelling) mean "every interface", never one peers can reach. */
function isWildcard(address: string): boolean {
  const value = parseIpAddress(address);
  return value === 0n || value === WILDCARD_IPV4_MAPPED;
}

/**
 * A specific bind address is the only one the services answer on, so it is also the one to
 * advertise; under a wildcard bind the first non-loopback IPv4 is the best guess, loopback the last.
 */
function defaultAdvertise(bind: string, host: ConfigHost): string {
  if (!isWildcard(bind)) {
    return bind;
  }
  for (const addresses of Object.values(host.networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal && !address.address.startsWith('169.254.')) {
        return address.address;
      }
    }
  }
  return '127.0.0.1';
}

function defaultNodeId(host: ConfigHost): string {
  const name = host.hostname();
  return name === '' ? 'verbatim' : name;
}

function integerOf(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) ? value : undefined;
  }
  return typeof value === 'string' && /^\s*\d{1,5}\s*$/.test(value) ? Number(value) : undefined;
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : undefined;
  }
  return typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : undefined;
}

function booleanOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') {
    return value;
  }
  const text =
    typeof value === 'string' ? value.trim().toLowerCase() : typeof value === 'number' ? String(value) : '';
  if (['1', 'true', 'yes', 'on'].includes(text)) {
    return true;
  }
  if (['0', 'false', 'no', 'off'].includes(text)) {
    return false;
  }
  return undefined;
}

/** A value as it appears in messages: strings quoted, anything else as JSON. */
function show(value: unknown): string {
  if (typeof value === 'string') {
    return `'${value}'`;
  }
  const json = JSON.stringify(value) as string | undefined;
  return json ?? String(value);
}

/** The known key nearest to a misspelt one, when it is close enough to be a typo. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
