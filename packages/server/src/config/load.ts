import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { Result } from '../protocol/result.js';
import { isWildcardAddress } from './cidr.js';
import type { Config, OutboundConfig } from './config.js';
import {
  CONFIG_OPTION_NAMES,
  camelNameOf,
  envNameOf,
  optionSpec,
  SERVE_OPTIONS,
  type ConfigHost,
  type ConfigOptionName,
  type OptionValues,
} from './options.js';
import { show } from './values.js';

export type { ConfigHost } from './options.js';

/**
 * Builds the one validated Config from defaults < `--config` YAML file < VERBATIM_* environment <
 * flags (DESIGN.md §1.1). Each value is parsed by its entry in the schema (options.ts); what is
 * written here by hand is the precedence between the sources, the YAML file, the defaults that
 * depend on other options (--advertise, --db) and the checks across options (ports). This is the
 * only module that reads the environment (tests pass their own `env`). Every problem is collected
 * and reported at once: an operator fixing a unit file should not have to restart it once per typo.
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

export interface LoadConfigInput {
  /**
   * Options given on the command line, keyed by kebab-case name, with the raw text the user typed
   * (`{ 'sip-port': 'abc' }`); `'no-tls': true` for the bare flag. cli/ fills it from commander,
   * taking only the options whose value source is the command line.
   */
  readonly flags: Readonly<Partial<Record<ConfigOptionName, string | boolean>>>;
  /** The environment; process.env when not given (tests give their own). */
  readonly env?: NodeJS.ProcessEnv;
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

export function loadConfig(input: LoadConfigInput): Result<Config, readonly ConfigProblem[]> {
  const host = input.host ?? {
    networkInterfaces: () => os.networkInterfaces(),
    hostname: () => os.hostname(),
  };
  const env = input.env ?? process.env;
  const problems: ConfigProblem[] = [];
  const file = readConfigFile(input, env, problems);

  /** The winning raw value of an option: flag over environment over file. */
  const pick = (name: ConfigOptionName): Raw | undefined => {
    const flag = input.flags[name];
    if (flag !== undefined) {
      return { value: flag, source: `--${name}`, baseDir: input.cwd };
    }
    const envName = envNameOf(name);
    const fromEnv = env[envName];
    // An empty variable counts as unset, as shells and unit files often write `VERBATIM_X=`.
    if (fromEnv !== undefined && fromEnv !== '') {
      return { value: fromEnv, source: envName, baseDir: input.cwd };
    }
    return file?.values.get(name);
  };

  // Every option through its schema entry, in schema order, so the problems come out in that order.
  const values: Partial<Record<ConfigOptionName, unknown>> = {};
  let valid = true;
  for (const name of CONFIG_OPTION_NAMES) {
    const spec = optionSpec(name);
    const raw = name === 'config' ? undefined : pick(name);
    if (raw === undefined) {
      values[name] =
        'compute' in spec.default ? spec.default.compute({ cwd: input.cwd, host }) : spec.default.value;
      continue;
    }
    const parsed = spec.parse(raw.value, raw.baseDir);
    if (parsed.ok) {
      values[name] = parsed.value;
    } else {
      valid = false;
      for (const text of parsed.problems) {
        problems.push({
          code: 'VERBATIM_ERR_CONFIG_INVALID_VALUE',
          option: name,
          source: raw.source,
          message: `${raw.source}: ${text}`,
        });
      }
    }
  }
  if (!valid) {
    return { ok: false, error: problems };
  }
  // Each entry was filled from its own spec above, so each holds its option's type.
  const options = values as OptionValues;

  checkPortConflicts(
    [
      { name: 'sip-port', port: options['sip-port'], service: 'the SIP port' },
      { name: 'sip-tls-port', port: options['sip-tls-port'], service: 'the SIP TLS port' },
      { name: 'http-port', port: options['http-port'], service: 'the HTTP port' },
      { name: 'rtsp-port', port: options['rtsp-port'], service: 'the RTSP port' },
    ],
    options['rtp-ports'],
    pick,
    problems,
  );
  checkOutboundCredentials(options, pick, problems);
  if (problems.length > 0) {
    return { ok: false, error: problems };
  }

  const dataDir = options['data-dir'];
  const config: Config = {
    dataDir,
    bind: options.bind,
    advertise: options.advertise ?? defaultAdvertise(options.bind, host),
    sipPort: options['sip-port'],
    sipTlsPort: options['sip-tls-port'],
    httpPort: options['http-port'],
    rtspPort: options['rtsp-port'],
    rtpPortMin: options['rtp-ports'].min,
    rtpPortMax: options['rtp-ports'].max,
    db: options.db ?? { kind: 'sqlite', path: join(dataDir, 'verbatim.db') },
    tls: !options['no-tls'],
    trustedPeers: options['trusted-peers'],
    nodeId: options['node-id'],
    mediaTimeoutMs: options['media-timeout'],
    maxSessions: options['max-sessions'],
    admission: options.admission,
    admissionMaxLagMs: options['admission-max-lag'],
    sipInviteRate: options['sip-invite-rate'],
    apiMaxRequests: options['api-max-requests'],
    storageCriticalPercent: options['storage-critical-percent'],
    storageIntervalMs: options['storage-interval'],
    storageHistoryIntervalMs: options['storage-history-interval'],
    eventsFailingAfterMs: options['events-failing-after'],
    logLevel: options['log-level'],
    logFormat: options['log-format'],
  };
  const adminPassword = options['admin-password'];
  const eventsCa = options['events-ca'];
  const outbound = outboundConfig(options);
  return {
    ok: true,
    value: {
      ...config,
      ...(adminPassword === undefined ? {} : { adminPassword }),
      ...(eventsCa === undefined ? {} : { eventsCa }),
      ...(outbound === undefined ? {} : { outbound }),
    },
  };
}

/** Direct outbound recording: on with --outbound-proxy; credentials when a user name is given. */
function outboundConfig(options: OptionValues): OutboundConfig | undefined {
  const proxy = options['outbound-proxy'];
  if (proxy === undefined) {
    return undefined;
  }
  const username = options['outbound-username'];
  return {
    proxy,
    answerTimeoutMs: options['outbound-answer-timeout'],
    ...(username === undefined
      ? {}
      : { credentials: { username, password: options['outbound-password'] ?? '' } }),
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
function readConfigFile(
  input: LoadConfigInput,
  environment: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
): ConfigFile | undefined {
  const flag = input.flags.config;
  const env = environment[envNameOf('config')];
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
  const name = SERVE_OPTIONS.config.parse(given.value, input.cwd);
  if (!name.ok || name.value === undefined) {
    return fileProblem(
      'VERBATIM_ERR_CONFIG_INVALID_VALUE',
      given.source,
      name.ok ? `${show(given.value)} is not a file name` : name.problems.join('; '),
    );
  }
  const path = resolve(input.cwd, name.value);
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
  const source = name.value;
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
  for (const name of CONFIG_OPTION_NAMES) {
    if (optionSpec(name).inFile) {
      byKey.set(name, name);
      byKey.set(camelNameOf(name), name);
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

/**
 * Credentials for the outbound proxy only make sense with it, and a password only with its user
 * name: a half-configured outbound recording is reported at start, not at the first challenge.
 */
function checkOutboundCredentials(
  options: OptionValues,
  pick: (name: ConfigOptionName) => Raw | undefined,
  problems: ConfigProblem[],
): void {
  const conflict = (option: ConfigOptionName, message: string): void => {
    const source = pick(option)?.source ?? option;
    problems.push({ code: 'VERBATIM_ERR_CONFIG_CONFLICT', option, source, message: `${source}: ${message}` });
  };
  if (options['outbound-proxy'] === undefined && options['outbound-username'] !== undefined) {
    conflict('outbound-username', 'is set but --outbound-proxy is not');
  }
  if (options['outbound-username'] === undefined && options['outbound-password'] !== undefined) {
    conflict('outbound-password', 'is set but --outbound-username is not');
  }
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

/**
 * A specific bind address is the only one the services answer on, so it is also the one to
 * advertise; under a wildcard bind the first non-loopback IPv4 is the best guess, loopback the last.
 */
function defaultAdvertise(bind: string, host: ConfigHost): string {
  if (!isWildcardAddress(bind)) {
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
