/** The RTSP server's bounds and counters (docs/api.md "RTSP", "Metrics"). */

export interface RtspLimits {
  /** RTSP session timeout, announced in the Session header (RFC 2326 §12.37). */
  readonly sessionTimeoutS: number;
  readonly maxConnections: number;
  /** Connections from one address, so that one client cannot take every connection. */
  readonly maxConnectionsPerAddress: number;
  readonly maxSessions: number;
  /** Requests a connection may send in one second before it is closed as a flood. */
  readonly maxRequestsPerSecond: number;
  /** Bytes queued to a slow client before packets are dropped (a client never buffers the node). */
  readonly maxSendBufferBytes: number;
}

export const DEFAULT_RTSP_LIMITS: RtspLimits = {
  sessionTimeoutS: 60,
  maxConnections: 256,
  maxConnectionsPerAddress: 32,
  maxSessions: 512,
  maxRequestsPerSecond: 50,
  maxSendBufferBytes: 1024 * 1024,
};

/** The counters /metrics shows (running totals, except the gauges named in the comment). */
export interface RtspCounters {
  /** Gauges: open connections, RTSP sessions, sessions playing. */
  connections: number;
  sessions: number;
  playing: number;
  connectionsAccepted: number;
  connectionsRefused: number;
  requests: number;
  malformed: number;
  unauthorized: number;
  forbidden: number;
  /** Requests answered 503 because too many password checks were running. */
  busy: number;
  floodClosed: number;
  sessionsTimedOut: number;
  plays: number;
  packetsSent: number;
  packetsDropped: number;
}
