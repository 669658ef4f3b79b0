import { resolve } from 'node:path';
import os from 'node:os';
import { parseSipUri } from '../protocol/sip/uri.js';
import { isIpAddress, isWildcardAddress, parseCidr } from './cidr.js';
import type { DatabaseConfig, OutboundProxyConfig } from './config.js';
import { booleanOf, integerOf, numberOf, parseDatabase, show } from './values.js';

/**
 * The one declared schema of every `verbatim serve` option (DESIGN.md §1.1, plus --media-timeout,
 * --max-sessions, --storage-critical-percent, --log-level and --log-format). From it come the
 * parsing and validation of each value (config/load.ts), the flags and --help text (cli/), the
 * VERBATIM_* variables and YAML keys accepted, and the README's option table (option-docs.ts,
 * checked by test/unit/config/readme-options.test.ts), so none of them can drift from the others.
 * Precedence between the sources and the checks across options (ports) stay in load.ts.
 */
export interface OptionSpec<T> {
  /** Placeholder of the flag's value (`N` gives `--sip-port <N>`); absent for a bare boolean flag. */
  readonly argument?: string;
  readonly description: string;
  readonly default: OptionDefault<T>;
  /** False for options that must not be typed on a command line (secrets). */
  readonly isFlag: boolean;
  /** False for options that only make sense outside the YAML file (--config itself). */
  readonly inFile: boolean;
  /**
   * Reads a raw value (the text of a flag or variable, or any YAML value); relative paths resolve
   * against `baseDir`. A failure lists one line per problem, without the source (load.ts adds it).
   */
  readonly parse: (value: unknown, baseDir: string) => OptionParse<T>;
}

export type OptionParse<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * A constant, or one computed from the host; `text` is what --help and the README show (by
 * default the value itself). Defaults that depend on other options (--advertise, --db) are
 * `undefined` here and filled in by load.ts.
 */
export type OptionDefault<T> =
  | { readonly value: T; readonly text?: string }
  | { readonly compute: (context: DefaultContext) => T; readonly text: string };

export interface DefaultContext {
  readonly cwd: string;
  readonly host: ConfigHost;
}

/** What the host contributes to defaults; tests replace it to get stable values. */
export interface ConfigHost {
  networkInterfaces(): NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  hostname(): string;
}

const DEFAULT_EVENTS_FAILING_AFTER_S = 300;
const MAX_EVENTS_FAILING_AFTER_S = 7 * 24 * 3600;

export const DEFAULT_TRUSTED_PEERS: readonly string[] = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MAX_MEDIA_TIMEOUT_S = 86_400;
const MAX_MAX_SESSIONS = 1_000_000;
const MIN_ADMISSION_LAG_MS = 10;
const MAX_ADMISSION_LAG_MS = 60_000;
const MIN_ADMIN_PASSWORD_LENGTH = 8;
const MAX_SIP_INVITE_RATE = 100_000;
/**
 * DESIGN.md §3 asks for at least 200 calls a second of set-up from one controller, and a CUCM
 * sends two INVITEs per recorded call: 400 a second. 500 leaves a quarter of margin; a burst of
 * twice the rate (uas-core.ts) lets a controller that fails over send its backlog at once.
 */
const DEFAULT_SIP_INVITE_RATE = 500;

/**
 * `/ora` requests handled at once; the next one is answered 5042 at once. MediaSense's standard
 * node accepts 15 running + 10 queued requests and refuses the 26th (addendum §1). Verbatim
 * runs requests on one event loop with no separate queue, so the 25 together are the bound.
 */
export const DEFAULT_API_MAX_REQUESTS = 25;
/** More than this many requests in progress would only queue work on the one event loop. */
const MAX_API_MAX_REQUESTS = 10_000;

/** How long an outbound call may ring before it is CANCELled, in seconds (RFC 3261 Timer C is 3 min). */
const DEFAULT_OUTBOUND_ANSWER_TIMEOUT_S = 30;
const MAX_OUTBOUND_ANSWER_TIMEOUT_S = 180;

const ok = <T>(value: T): OptionParse<T> => ({ ok: true, value });
const bad = (problem: string): OptionParse<never> => ({ ok: false, problems: [problem] });

/** Keeps T inferred per option while checking the spec's shape. */
function option<T>(spec: OptionSpec<T>): OptionSpec<T> {
  return spec;
}

function port(description: string, fallback: number): OptionSpec<number> {
  return option({
    argument: 'N',
    description,
    default: { value: fallback },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const n = integerOf(value);
      return n !== undefined && n >= 0 && n <= 65535
        ? ok(n)
        : bad(`${show(value)} is not a port number (0-65535)`);
    },
  });
}

function ipAddress(value: unknown): OptionParse<string> {
  return typeof value === 'string' && isIpAddress(value)
    ? ok(value)
    : bad(`${show(value)} is not an IP address`);
}

function parseRtpPorts(value: unknown): OptionParse<{ min: number; max: number }> {
  const match = typeof value === 'string' ? /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(value) : null;
  if (match === null) {
    return bad(`${show(value)} is not a port range (A-B)`);
  }
  const min = Number(match[1]);
  const max = Number(match[2]);
  if (min < 1 || max > 65535) {
    return bad(`range ${min}-${max} is outside 1-65535`);
  }
  if (max < min) {
    return bad(`range ${min}-${max} is empty`);
  }
  // RTP takes an even port and RTCP the next odd one (RFC 3550 §11), so a stream needs a pair.
  if (min % 2 !== 0) {
    return bad(`range ${min}-${max} starts on an odd port (RTP uses even ports, RFC 3550 §11)`);
  }
  if (max - min + 1 < 2) {
    return bad(`range ${min}-${max} has fewer than 2 ports (one RTP + RTCP pair)`);
  }
  return ok({ min, max });
}

function parseTrustedPeers(value: unknown): OptionParse<readonly string[]> {
  let entries: unknown[];
  if (typeof value === 'string') {
    entries = value.split(',');
  } else if (Array.isArray(value)) {
    entries = value as unknown[];
  } else {
    return bad(`${show(value)} is not a list of CIDR blocks`);
  }
  const blocks: string[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const text = typeof entry === 'string' ? entry.trim() : entry;
    if (text === '') {
      continue;
    }
    if (typeof text === 'string' && parseCidr(text) !== undefined) {
      blocks.push(text);
    } else {
      // Every bad block is reported, not only the first.
      problems.push(`${show(text)} is not a CIDR block`);
    }
  }
  return problems.length === 0 ? ok(blocks) : { ok: false, problems };
}

/**
 * The call controller of direct outbound recording: `sip:host[:port][;transport=udp|tcp|tls]` or
 * `sips:host[:port]` (TLS). Only the host, port and transport are used.
 */
function parseOutboundProxy(value: unknown): OptionParse<OutboundProxyConfig> {
  const text = typeof value === 'string' ? value.trim() : undefined;
  const uri = text === undefined ? undefined : parseSipUri(text);
  if (uri === undefined || !uri.ok || (uri.value.scheme !== 'sip' && uri.value.scheme !== 'sips')) {
    return bad(`${show(value)} is not a SIP URI (e.g. sip:10.0.0.5:5060;transport=tcp)`);
  }
  const { scheme, host, port, params } = uri.value;
  if (host === '') {
    return bad(`${show(value)} names no host`);
  }
  const transport = params.get('transport')?.toLowerCase() ?? (scheme === 'sips' ? 'tls' : 'udp');
  if (transport !== 'udp' && transport !== 'tcp' && transport !== 'tls') {
    return bad(`${show(value)}: transport ${transport} is not udp, tcp or tls`);
  }
  const protocol = scheme === 'sips' ? 'tls' : transport;
  return ok({
    uri: text ?? '',
    protocol,
    host: host.replace(/^\[|\]$/g, ''),
    port: port ?? (protocol === 'tls' ? 5061 : 5060),
  });
}

/** In the order --help, the README and error messages list them. */
export const SERVE_OPTIONS = {
  config: option<string | undefined>({
    argument: 'FILE',
    description:
      'YAML file with any of these options (keys as the flags: `sip-port: 5070`; camelCase also accepted)',
    default: { value: undefined, text: 'none' },
    isFlag: true,
    inFile: false,
    parse: (value) =>
      typeof value === 'string' && value !== '' ? ok(value) : bad(`${show(value)} is not a file name`),
  }),
  'data-dir': option<string>({
    argument: 'DIR',
    description: 'media, SQLite file, generated certificate',
    default: { compute: ({ cwd }) => resolve(cwd, 'data'), text: '`./data`' },
    isFlag: true,
    inFile: true,
    parse: (value, baseDir) =>
      typeof value === 'string' && value.trim() !== ''
        ? ok(resolve(baseDir, value))
        : bad(`${show(value)} is not a directory path`),
  }),
  bind: option<string>({
    argument: 'IP',
    description: 'listen address for every service',
    default: { value: '0.0.0.0', text: '`0.0.0.0`' },
    isFlag: true,
    inFile: true,
    parse: ipAddress,
  }),
  advertise: option<string | undefined>({
    argument: 'IP',
    description: 'address written into SDP `c=` lines, SIP Contact headers and media URLs',
    default: { value: undefined, text: 'the bind IP; under a wildcard bind, the first non-loopback IPv4' },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const parsed = ipAddress(value);
      return parsed.ok && isWildcardAddress(parsed.value)
        ? bad(`${show(value)} is a wildcard address, not one peers can send media to`)
        : parsed;
    },
  }),
  'sip-port': port('SIP over UDP and TCP', 5060),
  'sip-tls-port': port('SIP over TLS (0 disables)', 5061),
  'http-port': port(
    'API and media download (HTTPS unless `--no-tls`; plain HTTP on the same port reaches getAPIVersion only)',
    8440,
  ),
  'rtsp-port': port('RTSP playback and live monitoring (`rtspUrl`); 0 turns the RTSP server off', 8554),
  'rtp-ports': option<{ readonly min: number; readonly max: number }>({
    argument: 'A-B',
    description: 'UDP range for received media (starts on an even port)',
    default: { value: { min: 32768, max: 61000 }, text: '32768-61000' },
    isFlag: true,
    inFile: true,
    parse: parseRtpPorts,
  }),
  db: option<DatabaseConfig | undefined>({
    argument: 'URL',
    description: '`sqlite:PATH`; `postgres://…` is reserved for the cluster work',
    default: { value: undefined, text: '`sqlite:<data-dir>/verbatim.db`' },
    isFlag: true,
    inFile: true,
    parse: (value, baseDir) => {
      const parsed = parseDatabase(value, baseDir);
      return typeof parsed === 'string' ? bad(parsed) : ok(parsed);
    },
  }),
  'no-tls': option<boolean>({
    description:
      'plain HTTP (behind a TLS-terminating proxy, or in tests); in the environment `VERBATIM_NO_TLS=1` (or true/yes/on)',
    default: { value: false, text: 'off' },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const flag = booleanOf(value);
      return flag !== undefined ? ok(flag) : bad(`${show(value)} is not a boolean (true/false, 1/0)`);
    },
  }),
  'trusted-peers': option<readonly string[]>({
    argument: 'CIDR,...',
    description: 'who may send INVITEs; others get 403',
    default: { value: DEFAULT_TRUSTED_PEERS, text: 'loopback + RFC 1918 ranges' },
    isFlag: true,
    inFile: true,
    parse: parseTrustedPeers,
  }),
  'node-id': option<string>({
    argument: 'ID',
    description: 'name of this node in a cluster',
    default: {
      compute: ({ host }) => {
        const name = host.hostname();
        return name === '' ? 'verbatim' : name;
      },
      text: 'host name',
    },
    isFlag: true,
    inFile: true,
    parse: (value) =>
      typeof value === 'string' && NODE_ID_PATTERN.test(value)
        ? ok(value)
        : bad(`${show(value)} is not a node id (1-63 letters, digits, '.', '_' or '-')`),
  }),
  /** Given in seconds, held in milliseconds. */
  'media-timeout': option<number>({
    argument: 'SECONDS',
    description: 'a leg without RTP for this long ends its session as CLOSED_ERROR',
    default: { value: 30_000, text: '30' },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const seconds = numberOf(value);
      return seconds !== undefined &&
        seconds > 0 &&
        seconds <= MAX_MEDIA_TIMEOUT_S &&
        Math.round(seconds * 1000) >= 1
        ? ok(Math.round(seconds * 1000))
        : bad(`${show(value)} is not a number of seconds (above 0, at most ${MAX_MEDIA_TIMEOUT_S})`);
    },
  }),
  'max-sessions': option<number>({
    argument: 'N',
    description:
      'sessions recorded at once at most; past it new calls get 503 with `Retry-After`, so the controller tries the next recorder and the calls being recorded are not degraded',
    default: { value: 2000 },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const n = numberOf(value);
      return n !== undefined && Number.isInteger(n) && n >= 1 && n <= MAX_MAX_SESSIONS
        ? ok(n)
        : bad(`${show(value)} is not a whole number of sessions (1-${MAX_MAX_SESSIONS})`);
    },
  }),
  admission: option<boolean>({
    argument: 'on/off',
    description:
      'refuse new calls with 503 and `Retry-After` before the calls in progress would lose packets, judged by the media workers\' lag, kernel receive drops, event-loop delay, pending writes and memory; take them again when headroom returns (docs/api.md "Admission control")',
    default: { value: true, text: 'on' },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const flag = booleanOf(value);
      return flag !== undefined ? ok(flag) : bad(`${show(value)} is not on or off`);
    },
  }),
  'admission-max-lag': option<number>({
    argument: 'MS',
    description:
      'media worker lag (mean wait) at which new calls are refused; from a quarter of it new calls are taken at a bounded pace (2 % a second of the sessions held, or of the most held calmly in the last minute)',
    default: { value: 200 },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const n = numberOf(value);
      return n !== undefined && Number.isInteger(n) && n >= MIN_ADMISSION_LAG_MS && n <= MAX_ADMISSION_LAG_MS
        ? ok(n)
        : bad(
            `${show(value)} is not a whole number of milliseconds (${MIN_ADMISSION_LAG_MS}-${MAX_ADMISSION_LAG_MS})`,
          );
    },
  }),
  'sip-invite-rate': option<number>({
    argument: 'N',
    description:
      'INVITEs opening a new dialog that one source address may send per second (twice as many at once); beyond it they get 503 with `Retry-After` before anything is allocated. Retransmissions and requests inside a dialog are not counted; 0 disables',
    default: { value: DEFAULT_SIP_INVITE_RATE },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const n = numberOf(value);
      return n !== undefined && Number.isInteger(n) && n >= 0 && n <= MAX_SIP_INVITE_RATE
        ? ok(n)
        : bad(`${show(value)} is not a whole number of INVITEs per second (0-${MAX_SIP_INVITE_RATE})`);
    },
  }),
  'api-max-requests': option<number>({
    argument: 'N',
    description:
      '`/ora` API requests in progress at once; the next one gets 5042 (MediaSense: "the system has exceeded the maximum number of concurrent requests") at once. getSystemTime and getAPIVersion are never refused',
    default: { value: DEFAULT_API_MAX_REQUESTS },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const n = numberOf(value);
      return n !== undefined && Number.isInteger(n) && n >= 1 && n <= MAX_API_MAX_REQUESTS
        ? ok(n)
        : bad(`${show(value)} is not a whole number of requests (1-${MAX_API_MAX_REQUESTS})`);
    },
  }),
  'outbound-proxy': option<OutboundProxyConfig | undefined>({
    argument: 'URI',
    description:
      'call controller through which startRecording calls a device (direct outbound recording): `sip:10.0.0.5:5060;transport=tcp`; the INVITE goes to `sip:<deviceRef>@<its host>`. Without it startRecording is refused',
    default: { value: undefined, text: 'none' },
    isFlag: true,
    inFile: true,
    parse: parseOutboundProxy,
  }),
  'outbound-username': option<string | undefined>({
    argument: 'NAME',
    description: "user name answering the call controller's digest challenge (401/407) to an outbound INVITE",
    default: { value: undefined, text: 'none' },
    isFlag: true,
    inFile: true,
    parse: (value) =>
      typeof value === 'string' && value !== '' && !/[\r\n"]/.test(value)
        ? ok(value)
        : bad(`${show(value)} is not a user name`),
  }),
  // A password on the command line shows in `ps`, so it comes only from the environment or the file.
  'outbound-password': option<string | undefined>({
    description: 'password of `outbound-username`',
    default: { value: undefined, text: 'none' },
    isFlag: false,
    inFile: true,
    // The value itself is never echoed: it is a secret.
    parse: (value) => (typeof value === 'string' ? ok(value) : bad('must be a string (quote it in YAML)')),
  }),
  /** Given in seconds, held in milliseconds. */
  'outbound-answer-timeout': option<number>({
    argument: 'SECONDS',
    description: 'an outbound call ringing this long is CANCELled and startRecording answers "no answer"',
    default: {
      value: DEFAULT_OUTBOUND_ANSWER_TIMEOUT_S * 1000,
      text: String(DEFAULT_OUTBOUND_ANSWER_TIMEOUT_S),
    },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const seconds = numberOf(value);
      return seconds !== undefined && seconds >= 1 && seconds <= MAX_OUTBOUND_ANSWER_TIMEOUT_S
        ? ok(Math.round(seconds * 1000))
        : bad(`${show(value)} is not a number of seconds (1-${MAX_OUTBOUND_ANSWER_TIMEOUT_S})`);
    },
  }),
  'storage-critical-percent': option<number>({
    argument: 'P',
    description:
      "the storage agent's CRITICAL threshold, as free space: CRITICAL from (100 - P) % of the media partition used, left 5 points lower (default 10: MediaSense's 90/85; LOW 75/70 and EMERGENCY 99/97 are fixed). From CRITICAL up the oldest recordings are pruned (recording priority, the default) or new calls get 503 with `Retry-After` (retention priority); from EMERGENCY new calls get 503 in both modes; each crossing is a `STORAGE_THRESHOLD_EVENT`. 0 turns CRITICAL off",
    default: { value: 10 },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const n = numberOf(value);
      return n !== undefined && n >= 0 && n <= 100
        ? ok(n)
        : bad(`${show(value)} is not a percentage of free disk space (0-100)`);
    },
  }),
  /** Given in seconds, held in milliseconds. */
  'storage-interval': option<number>({
    argument: 'SECONDS',
    description: 'how often the storage agent samples the media partition (0.1-3600)',
    default: { value: 5000, text: '5' },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const seconds = numberOf(value);
      return seconds !== undefined && seconds >= 0.1 && seconds <= 3600
        ? ok(Math.round(seconds * 1000))
        : bad(`${show(value)} is not a number of seconds (0.1-3600)`);
    },
  }),
  /** Given in seconds, held in milliseconds. */
  'storage-history-interval': option<number>({
    argument: 'SECONDS',
    description:
      'how often a sample of the media partition is kept for the storage use chart of Administration (getStorageHistory), the first at start; samples are kept 90 days (1-86400)',
    default: { value: 300_000, text: '300' },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const seconds = numberOf(value);
      return seconds !== undefined && seconds >= 1 && seconds <= 86_400
        ? ok(Math.round(seconds * 1000))
        : bad(`${show(value)} is not a number of seconds (1-86400)`);
    },
  }),
  'events-ca': option<string | undefined>({
    argument: 'FILE',
    description:
      'PEM file of CA certificates trusted for HTTPS event receivers, besides the built-in roots (a receiver with a private CA or a self-signed certificate)',
    default: { value: undefined, text: 'none' },
    isFlag: true,
    inFile: true,
    parse: (value, baseDir) =>
      typeof value === 'string' && value.trim() !== ''
        ? ok(resolve(baseDir, value))
        : bad(`${show(value)} is not a file path`),
  }),
  /** Given in seconds, held in milliseconds. */
  'events-failing-after': option<number>({
    argument: 'SECONDS',
    description:
      'an event subscription whose every delivery attempt has failed for this long is marked FAILING and logged (its events are kept and retried; it is never dropped)',
    default: { value: DEFAULT_EVENTS_FAILING_AFTER_S * 1000, text: String(DEFAULT_EVENTS_FAILING_AFTER_S) },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const seconds = numberOf(value);
      return seconds !== undefined && seconds >= 1 && seconds <= MAX_EVENTS_FAILING_AFTER_S
        ? ok(Math.round(seconds * 1000))
        : bad(`${show(value)} is not a number of seconds (1-${MAX_EVENTS_FAILING_AFTER_S})`);
    },
  }),
  'log-level': option<LogLevel>({
    argument: 'LEVEL',
    description: `pino log level: ${LOG_LEVELS.join(', ')}`,
    default: { value: 'info' },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const text = typeof value === 'string' ? value.toLowerCase() : undefined;
      const level = LOG_LEVELS.find((l) => l === text);
      return level !== undefined
        ? ok(level)
        : bad(`${show(value)} is not a log level (${LOG_LEVELS.join(', ')})`);
    },
  }),
  'log-format': option<LogFormat>({
    argument: 'FORMAT',
    description:
      '`pretty`: readable lines; `json`: one JSON object a line, for a log collector; `auto`: pretty when the output is a terminal, else JSON',
    default: { value: 'auto' },
    isFlag: true,
    inFile: true,
    parse: (value) => {
      const text = typeof value === 'string' ? value.toLowerCase() : undefined;
      const format = LOG_FORMATS.find((f) => f === text);
      return format !== undefined
        ? ok(format)
        : bad(`${show(value)} is not a log format (${LOG_FORMATS.join(', ')})`);
    },
  }),
  // A password on the command line shows in `ps`, so it comes only from the environment or the file.
  'admin-password': option<string | undefined>({
    description:
      'password of user `admin`, created on the first start with an empty user table; without it a password is generated and printed once',
    default: { value: undefined, text: 'generated' },
    isFlag: false,
    inFile: true,
    // The value itself is never echoed: it is a secret.
    parse: (value) =>
      typeof value !== 'string'
        ? bad('must be a string (quote it in YAML)')
        : value.length < MIN_ADMIN_PASSWORD_LENGTH
          ? bad(`is shorter than ${MIN_ADMIN_PASSWORD_LENGTH} characters`)
          : ok(value),
  }),
} as const;

export type ConfigOptionName = keyof typeof SERVE_OPTIONS;
/** The parsed type of one option. */
export type OptionValue<K extends ConfigOptionName> =
  (typeof SERVE_OPTIONS)[K] extends OptionSpec<infer T> ? T : never;
export type OptionValues = { readonly [K in ConfigOptionName]: OptionValue<K> };

export const CONFIG_OPTION_NAMES = Object.keys(SERVE_OPTIONS) as readonly ConfigOptionName[];

export function optionSpec(name: ConfigOptionName): OptionSpec<unknown> {
  return SERVE_OPTIONS[name];
}

/** `sip-port` → `VERBATIM_SIP_PORT`. */
export function envNameOf(name: ConfigOptionName): string {
  return `VERBATIM_${name.toUpperCase().replaceAll('-', '_')}`;
}

/** `sip-port` → `sipPort`: the camelCase spelling also accepted in the YAML file. */
export function camelNameOf(name: ConfigOptionName): string {
  return name.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** `--sip-port <N>`, as commander wants it. */
export function flagOf(name: ConfigOptionName): string {
  const argument = optionSpec(name).argument;
  return argument === undefined ? `--${name}` : `--${name} <${argument}>`;
}

/** What --help and the README show as the default. */
export function defaultTextOf(name: ConfigOptionName): string {
  const fallback = optionSpec(name).default;
  if ('compute' in fallback || fallback.text !== undefined) {
    return fallback.text ?? '';
  }
  return String(fallback.value);
}
