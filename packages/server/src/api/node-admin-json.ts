import type { HourActivity } from '../model/node-activity.js';

/**
 * The answers of getNodeStatus and of the SIP service's APIs as plain types, without imports
 * beyond the model: the web app imports them (packages/web/src/api/admin-node.ts, admin-peers.ts)
 * and the routes build them, so the two cannot drift.
 */

export interface NodePortsJson {
  readonly sipUdp: number;
  readonly sipTcp: number;
  readonly sipTls?: number;
  readonly http: number;
  readonly rtsp?: number;
  readonly rtpMin: number;
  readonly rtpMax: number;
}

export interface NodeAdmissionJson {
  /** `--admission`: whether headroom is watched at all. */
  readonly enabled: boolean;
  readonly level: 'open' | 'ramping' | 'refusing';
  readonly reason?: string;
  /** Whether new calls are refused for storage (critical level, retention priority, a failed write). */
  readonly storageRefusing: boolean;
  /** INVITEs refused since the start, by reason. */
  readonly refusals: Readonly<Record<string, number>>;
}

export interface NodeStatusJson {
  readonly nodeId: string;
  readonly productVersion: string;
  readonly startedAt: number;
  readonly at: number;
  readonly uptimeSeconds: number;
  readonly activeSessions: number;
  readonly maxSessions: number;
  readonly admission: NodeAdmissionJson;
  readonly bind: string;
  readonly advertise: string;
  readonly tls: boolean;
  readonly ports?: NodePortsJson;
  readonly activeByMinute: readonly { readonly minute: number; readonly peak: number }[];
  readonly hours: readonly HourActivity[];
}

export interface TrustedPeerJson {
  readonly cidr: string;
  readonly note: string;
  readonly addedAt: number;
  readonly addedBy: string;
}

export interface TrustedPeersJson {
  /** The blocks of `--trusted-peers`, as configured. */
  readonly configured: readonly string[];
  /** The blocks added through the API, oldest first. */
  readonly stored: readonly TrustedPeerJson[];
}

export interface CallControllerSettingsJson {
  readonly sipUdpPort: number;
  readonly sipTcpPort: number;
  /** Absent when `--sip-tls-port 0` turned SIP over TLS off. */
  readonly sipTlsPort?: number;
  readonly advertise: string;
  readonly bind: string;
  readonly sipInviteRate: number;
  readonly maxSessions: number;
  readonly mediaTimeoutSeconds: number;
  readonly rtpPortMin: number;
  readonly rtpPortMax: number;
  readonly admission: boolean;
  readonly outbound?: {
    readonly proxy: string;
    readonly transport: 'udp' | 'tcp' | 'tls';
    readonly username?: string;
    readonly answerTimeoutSeconds: number;
  };
  readonly codecs: {
    readonly offered: readonly string[];
    readonly decoded: readonly string[];
    readonly storedOnly: readonly string[];
  };
}
