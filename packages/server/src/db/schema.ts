import type { DeleteFailureReason, JobItemStatus, JobState, JobType } from '../model/job.js';
import type { Generated } from 'kysely';
import type { CallControllerType, SessionState, TagType, TrackMediaType } from '../model/session.js';
import type { Role } from '../model/user.js';
import type { SubscriptionApiVersion, SubscriptionState } from '../model/event-subscription.js';

/**
 * The Kysely view of the database, one interface per table. Column names are snake_case with
 * their unit (`_ms`, `_hz`); every time is epoch milliseconds and every boolean is 0/1, so the
 * same schema works on SQLite and PostgreSQL (where the time columns are bigint).
 */
export interface Database {
  sessions: SessionsTable;
  tracks: TracksTable;
  participants: ParticipantsTable;
  tags: TagsTable;
  users: UsersTable;
  // Jobs (migration 0006).
  jobs: JobsTable;
  job_items: JobItemsTable;
  job_id_sequence: JobIdSequenceTable;
  audit_log: AuditLogTable;
  // Event subscriptions (migration 0010).
  event_subscriptions: EventSubscriptionsTable;
  event_outbox: EventOutboxTable;
  event_deliveries: EventDeliveriesTable;
  // Agent sign-in intervals (migration 0011).
  agent_intervals: AgentIntervalsTable;
  // The retention policy (migration 0013).
  storage_policy: StoragePolicyTable;
  // Storage use over time (migration 0018).
  storage_samples: StorageSamplesTable;
  // Trusted peers added from Administration (migration 0019).
  trusted_peers: TrustedPeersTable;
  // Secrets drawn once and shared by the nodes (migration 0021).
  shared_secrets: SharedSecretsTable;
}

export interface SharedSecretsTable {
  name: string;
  value: string;
  created_ms: number;
}

export interface StorageSamplesTable {
  node_id: string;
  at_ms: number;
  total_bytes: number;
  used_bytes: number;
  free_bytes: number;
  sessions: number;
}

export interface TrustedPeersTable {
  cidr: string;
  note: string;
  added_ms: number;
  added_by: string;
}

export interface StoragePolicyTable {
  id: number;
  mode: string;
  max_age_days: number;
  /** 0 or 1. */
  delete_metadata: number;
  legal_hold_tag: string;
  updated_ms: number;
  updated_by: string;
}

export interface SessionsTable {
  session_id: string;
  state: SessionState;
  start_ms: number;
  /** NULL while ACTIVE. */
  duration_ms: number | null;
  /** start_ms + duration_ms, kept for pruning and time-window queries on the end of a call. */
  end_ms: number | null;
  controller_ip: string;
  controller_type: CallControllerType;
  ccid: string;
  node_id: string;
  /** JSON object of strings (migration 0003), or NULL. */
  correlation: string | null;
  /** When the session's media was pruned (migration 0007); NULL while it is kept. */
  pruned_ms: number | null;
  /** Why a CLOSED_ERROR session ended (migration 0017); NULL otherwise. */
  close_reason: string | null;
  /**
   * The health problem kinds found when the session closed, comma-separated ('' when ok; model/
   * session-health.ts healthKinds); NULL while ACTIVE and for sessions closed before migration 0016.
   */
  health_kinds: string | null;
}

export interface TracksTable {
  session_id: string;
  track_number: number;
  media_type: TrackMediaType;
  codec: string;
  payload_type: number;
  clock_rate_hz: number;
  start_ms: number;
  duration_ms: number | null;
  media_path: string;
  stat_packets: number;
  stat_bytes: number;
  stat_lost: number;
  stat_duplicated: number;
  stat_reordered: number;
  stat_jitter_ms: number;
  stat_dropped: number;
  /** SRTP packets that failed authentication (migration 0002). */
  stat_srtp_auth_failures: number;
  /** Datagrams the kernel dropped on the RTP socket, and left unread at close (migration 0004). */
  stat_kernel_dropped: number;
  stat_unread_at_close: number;
  /** Packets accepted but not written to the track file (migration 0005). */
  stat_unstored: number;
  /** Packets received while the recording was paused, never stored (migration 0009). */
  stat_paused: number;
  stat_first_packet_ms: number | null;
  stat_last_packet_ms: number | null;
  /** Gaps longer than a second: count, total and longest in ms (migration 0016). */
  stat_gaps: number;
  stat_gap_ms: number;
  stat_longest_gap_ms: number;
  /** 'audio' or 'silence' (G.711 checked), NULL when not checked (migration 0016). */
  stat_content: string | null;
  /**
   * SHA-256 (lower-case hex) of the finished track file, its length in bytes and when it was
   * computed (migration 0015); NULL until the file is final, and for tracks recorded before.
   */
  media_sha256: string | null;
  media_bytes: number | null;
  media_digested_ms: number | null;
}

export interface ParticipantsTable {
  session_id: string;
  track_number: number;
  /** Insertion order within the track, from 0. */
  position: number;
  device_ref: string;
  device_id: string | null;
  xref_ci: string | null;
  /** Display name (migration 0002). */
  name: string | null;
  /** 0 or 1. */
  is_conference: number;
  start_ms: number;
  duration_ms: number | null;
}

export interface TagsTable {
  session_id: string;
  /** Insertion order within the session, from 0: breaks ties between equal create_ms. */
  seq: number;
  /** The track whose tag list holds this tag; NULL for the session's own tag list. */
  track_number: number | null;
  /**
   * The tag's own trackNumber field as written. It normally equals track_number, but a tag added to
   * the session list may still name a track (hold tags), and the round trip must keep that.
   */
  tag_track_number: number | null;
  name: string;
  /** name.toLowerCase(): tagName queries are case-insensitive, as in MediaSense. */
  name_lower: string;
  type: TagType;
  create_ms: number;
  offset_ms: number | null;
}

export interface UsersTable {
  username: string;
  role: Role;
  password_hash: string;
  created_ms: number;
  /** Migration 0012: MD5(username:realm:password) for RTSP Digest; null until known. */
  digest_ha1: string | null;
}

// Jobs (migration 0006).

export interface JobsTable {
  job_id: number;
  job_type: JobType;
  state: JobState;
  created_ms: number;
  /** NULL until the job is COMPLETED, CANCELED or ERROR. */
  ended_ms: number | null;
  operations_total: number;
  /** Operations attempted, failed ones included. */
  operations_done: number;
  operations_failed: number;
  error_reason: string | null;
  /** VERIFY_MEDIA (migration 0015): its window and its result, JSON; NULL for other jobs. */
  parameters: string | null;
  result: string | null;
}

export interface JobItemsTable {
  job_id: number;
  /** Order within the job, from 0. */
  position: number;
  session_id: string;
  status: JobItemStatus;
  failure_reason: DeleteFailureReason | null;
}

/** One row per sequence (today only `jobs`): the last id handed out. */
export interface JobIdSequenceTable {
  name: string;
  last_value: number;
}

export interface AuditLogTable {
  /** Assigned by the database (autoincrement); never written. */
  id: Generated<number>;
  at_ms: number;
  username: string;
  role: string | null;
  action: string;
  target: string | null;
  /** The MediaSense response code the caller got. */
  outcome: number;
  source: string;
  /** JSON object of strings, or NULL. */
  detail: string | null;
}

// Event subscriptions (migration 0010).

export interface EventSubscriptionsTable {
  subscription_id: string;
  uri: string;
  /** Type names, comma-separated, in EVENT_TYPE_NAMES order. */
  event_types: string;
  tag_name_regex: string | null;
  secret: string | null;
  api_version: SubscriptionApiVersion;
  created_ms: number;
  created_by: string;
  state: SubscriptionState;
  failing_since_ms: number | null;
}

export interface EventOutboxTable {
  /** Assigned by the database; the delivery order. */
  id: Generated<number>;
  subscription_id: string;
  node_id: string;
  event: string;
  payload: string;
  created_ms: number;
}

export interface EventDeliveriesTable {
  id: Generated<number>;
  subscription_id: string;
  event_id: number;
  event: string;
  at_ms: number;
  http_status: number | null;
  latency_ms: number;
  error: string | null;
}

/** One agent sign-in at an extension (migration 0011; model/agent.ts). */
export interface AgentIntervalsTable {
  id: Generated<number>;
  login_id: string;
  login_name: string;
  first_name: string | null;
  last_name: string | null;
  extension: string;
  start_ms: number;
  last_keepalive_ms: number;
  /** NULL while open (an open interval expires AGENT_KEEPALIVE_TIMEOUT_MS after its last keepalive). */
  end_ms: number | null;
}
