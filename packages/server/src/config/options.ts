/**
 * The options of `verbatim serve` (DESIGN.md §1.1, plus --media-timeout, --max-sessions,
 * --storage-critical-percent and --log-level). One table
 * drives the CLI flags and --help text (main.ts), the VERBATIM_* environment variables and the
 * keys accepted in the --config YAML file (config/load.ts), so the three sources cannot drift.
 */
export interface ConfigOptionSpec {
  /** Kebab-case name: the flag without dashes and the YAML key (camelCase is accepted too). */
  readonly name: ConfigOptionName;
  /** Commander flag syntax, e.g. `--sip-port <N>`. */
  readonly flag: string;
  readonly description: string;
  /** Shown in --help; the real default is computed by config/load.ts. */
  readonly defaultText?: string;
  /** False for options that must not be typed on a command line (secrets). */
  readonly isFlag: boolean;
  /** False for options that only make sense outside the YAML file (--config itself). */
  readonly inFile: boolean;
}

export type ConfigOptionName =
  | 'config'
  | 'data-dir'
  | 'bind'
  | 'advertise'
  | 'sip-port'
  | 'sip-tls-port'
  | 'http-port'
  | 'rtsp-port'
  | 'rtp-ports'
  | 'db'
  | 'no-tls'
  | 'trusted-peers'
  | 'node-id'
  | 'media-timeout'
  | 'max-sessions'
  | 'storage-critical-percent'
  | 'log-level'
  | 'admin-password';

export const DEFAULT_TRUSTED_PEERS: readonly string[] = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const CONFIG_OPTIONS: readonly ConfigOptionSpec[] = [
  {
    name: 'config',
    flag: '--config <FILE>',
    description: 'YAML file with any of these options (keys as the flags: sip-port: 5070)',
    isFlag: true,
    inFile: false,
  },
  {
    name: 'data-dir',
    flag: '--data-dir <DIR>',
    description: 'media, SQLite file, generated certificate',
    defaultText: './data',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'bind',
    flag: '--bind <IP>',
    description: 'listen address for every service',
    defaultText: '0.0.0.0',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'advertise',
    flag: '--advertise <IP>',
    description: 'address written into SDP c= lines and media URLs',
    defaultText: 'the bind IP, or the first non-loopback IPv4',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'sip-port',
    flag: '--sip-port <N>',
    description: 'SIP over UDP and TCP',
    defaultText: '5060',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'sip-tls-port',
    flag: '--sip-tls-port <N>',
    description: 'SIP over TLS (0 disables)',
    defaultText: '5061',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'http-port',
    flag: '--http-port <N>',
    description: 'API, web UI, media download (HTTPS unless --no-tls)',
    defaultText: '8440',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'rtsp-port',
    flag: '--rtsp-port <N>',
    description: 'RTSP playback and live monitoring',
    defaultText: '8554',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'rtp-ports',
    flag: '--rtp-ports <A-B>',
    description: 'UDP range for received media (starts on an even port)',
    defaultText: '32768-61000',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'db',
    flag: '--db <URL>',
    description: 'sqlite:PATH, or postgres://… for a cluster',
    defaultText: 'sqlite:<data-dir>/verbatim.db',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'no-tls',
    flag: '--no-tls',
    description: 'plain HTTP (behind a TLS-terminating proxy, or in tests)',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'trusted-peers',
    flag: '--trusted-peers <CIDR,...>',
    description: 'who may send INVITEs; others get 403',
    defaultText: 'loopback + RFC 1918 ranges',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'node-id',
    flag: '--node-id <ID>',
    description: 'name of this node in a cluster',
    defaultText: 'host name',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'media-timeout',
    flag: '--media-timeout <SECONDS>',
    description: 'a leg with no RTP for this long ends its session as CLOSED_ERROR',
    defaultText: '30',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'max-sessions',
    flag: '--max-sessions <N>',
    description: 'concurrent sessions recorded at most; beyond it INVITEs get 503 with Retry-After',
    defaultText: '2000',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'storage-critical-percent',
    flag: '--storage-critical-percent <P>',
    description:
      'storage is critical when less than P % of the media disk is free: INVITEs then get 503 with Retry-After',
    defaultText: '5',
    isFlag: true,
    inFile: true,
  },
  {
    name: 'log-level',
    flag: '--log-level <LEVEL>',
    description: LOG_LEVELS.join(', '),
    defaultText: 'info',
    isFlag: true,
    inFile: true,
  },
  {
    // A password on the command line shows in `ps`, so it comes only from the environment or the file.
    name: 'admin-password',
    flag: '',
    description: 'password of the admin user created on first start (VERBATIM_ADMIN_PASSWORD)',
    isFlag: false,
    inFile: true,
  },
];

/** `sip-port` → `VERBATIM_SIP_PORT`. */
export function envNameOf(name: ConfigOptionName): string {
  return `VERBATIM_${name.toUpperCase().replaceAll('-', '_')}`;
}

/** `sip-port` → `sipPort`: the camelCase spelling also accepted in the YAML file. */
export function camelNameOf(name: ConfigOptionName): string {
  return name.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}
