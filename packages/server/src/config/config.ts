/**
 * The validated configuration of `verbatim serve` (DESIGN.md §1.1). Built once by config/load.ts
 * from defaults < config file < VERBATIM_* environment < flags; every other module receives the
 * slice it needs through its constructor and never reads process.env.
 */
export interface Config {
  readonly dataDir: string;
  readonly bind: string;
  /** Address written into SDP c= lines, SIP Contact headers and media URLs. */
  readonly advertise: string;
  readonly sipPort: number;
  /** 0 disables SIP over TLS. */
  readonly sipTlsPort: number;
  readonly httpPort: number;
  readonly rtspPort: number;
  /** Inclusive UDP range for received media; both ends even-aligned by the allocator. */
  readonly rtpPortMin: number;
  readonly rtpPortMax: number;
  readonly db: DatabaseConfig;
  /** False under --no-tls: plain HTTP. */
  readonly tls: boolean;
  /** CIDR blocks allowed to send INVITEs, e.g. "10.0.0.0/8", "::1/128". */
  readonly trustedPeers: readonly string[];
  readonly nodeId: string;
  /** A leg with no RTP for this long ends its session as CLOSED_ERROR. */
  readonly mediaTimeoutMs: number;
  /** Concurrent sessions recorded at most; INVITEs that would start another get 503. */
  readonly maxSessions: number;
  /** Admission control by the node's headroom (recording/admission.ts); false under `--admission off`. */
  readonly admission: boolean;
  /** Media worker lag or event-loop delay at which new calls are refused. */
  readonly admissionMaxLagMs: number;
  /** New-dialog INVITEs per second per source address; 0: no per-source limit. */
  readonly sipInviteRate: number;
  /** `/ora` requests in progress at once before 5042. */
  readonly apiMaxRequests: number;
  /** The storage agent's CRITICAL threshold as free space on the media partition, in percent (0 = never). */
  readonly storageCriticalPercent: number;
  /** How often the storage agent samples the media partition. */
  readonly storageIntervalMs: number;
  /** How often a storage sample is kept for the history (`--storage-history-interval`). */
  readonly storageHistoryIntervalMs: number;
  /** PEM file of extra CAs for HTTPS event receivers (`--events-ca`). */
  readonly eventsCa?: string;
  /** A subscription failing this long becomes FAILING (`--events-failing-after`). */
  readonly eventsFailingAfterMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `pretty` lines for a person, `json` for a collector, `auto`: pretty on a terminal only. */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** Direct outbound recording (`--outbound-*`): absent without `--outbound-proxy`. */
  readonly outbound?: OutboundConfig;
  /** VERBATIM_ADMIN_PASSWORD: the first-start admin password, when given. */
  readonly adminPassword?: string;
}

/** The call controller of direct outbound recording, from `--outbound-proxy`. */
export interface OutboundProxyConfig {
  /** As configured, for logs and messages. */
  readonly uri: string;
  readonly protocol: 'udp' | 'tcp' | 'tls';
  readonly host: string;
  readonly port: number;
}

export interface OutboundConfig {
  readonly proxy: OutboundProxyConfig;
  /** Digest credentials for the controller's 401/407 challenge, when configured. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Ringing for this long ends the call with CANCEL. */
  readonly answerTimeoutMs: number;
}

export type DatabaseConfig =
  { readonly kind: 'sqlite'; readonly path: string } | { readonly kind: 'postgres'; readonly url: string };
