import BetterSqlite3 from 'better-sqlite3';

/**
 * Fills a migrated Verbatim SQLite file with realistic closed calls, fast: raw prepared statements
 * in transactions of 10,000 sessions (the repository's one-row-at-a-time path would take an hour
 * for a million). The rows mirror what the recorder writes (migrations/0001-initial.ts): two
 * tracks of one participant each, CUCM calls keyed by x-refci and CUBE calls by Cisco-Guid, start
 * times spread over `days`, states mostly CLOSED_NORMAL, a tag on one call in ten.
 */

export interface SeedPlan {
  readonly sessions: number;
  readonly days: number;
  readonly nowMs: number;
  /** Distinct agent extensions (deviceRef of track 0). */
  readonly agents: number;
}

export interface SeedResult {
  readonly sessions: number;
  readonly seconds: number;
  /** x-refci values of CUCM sessions started in the last 30 days, for the xRefCi queries. */
  readonly recentRefCis: readonly string[];
  readonly agentExtensions: readonly string[];
}

const DAY_MS = 86_400_000;
const BATCH = 10_000;

/** Deterministic pseudo-random numbers (a 32-bit LCG), so that two runs seed the same rows. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
}

export function seedSessions(dbPath: string, plan: SeedPlan): SeedResult {
  const started = performance.now();
  const random = randomSource(20_240_601);
  const db = new BetterSqlite3(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const insertSession = db.prepare(
    `insert into sessions (session_id, state, start_ms, duration_ms, end_ms, controller_ip, controller_type, ccid, node_id)
     values (?, ?, ?, ?, ?, ?, ?, ?, 'bench-node')`,
  );
  const insertTrack = db.prepare(
    `insert into tracks (session_id, track_number, media_type, codec, payload_type, clock_rate_hz, start_ms,
       duration_ms, media_path, stat_packets, stat_bytes, stat_lost, stat_jitter_ms, stat_first_packet_ms, stat_last_packet_ms)
     values (?, ?, 'AUDIO', ?, ?, 8000, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertParticipant = db.prepare(
    `insert into participants (session_id, track_number, position, device_ref, device_id, xref_ci, is_conference, start_ms, duration_ms)
     values (?, ?, 0, ?, ?, ?, 0, ?, ?)`,
  );
  const insertTag = db.prepare(
    `insert into tags (session_id, seq, track_number, tag_track_number, name, name_lower, type, create_ms, offset_ms)
     values (?, 0, null, null, ?, ?, 'USER_DEFINED', ?, ?)`,
  );
  const agentExtensions = Array.from({ length: plan.agents }, (_, i) => String(1000 + i));
  const recentRefCis: string[] = [];
  const firstMs = plan.nowMs - plan.days * DAY_MS;
  const spanMs = plan.days * DAY_MS - 600_000;

  const insertBatch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const sessionId = (0x5eed_0000_0000 + i).toString(16).padStart(16, '0');
      const startMs = firstMs + Math.floor(random() * spanMs);
      const roll = random();
      const state =
        startMs > plan.nowMs - 3_600_000 && roll < 0.05
          ? 'ACTIVE'
          : roll < 0.95
            ? 'CLOSED_NORMAL'
            : roll < 0.99
              ? 'CLOSED_ERROR'
              : 'DELETED';
      // Contact-centre calls: mostly 1 to 8 minutes, a few up to 30.
      const durationMs = state === 'ACTIVE' ? null : Math.floor(20_000 + random() * random() * 1_800_000);
      const cucm = i % 2 === 0;
      const refCi = String(16_777_216 + 2 * i);
      const ccid = cucm ? refCi : `${String(894_781_184 + i).padStart(10, '0')}-0000065536-0000000022-${i}`;
      const controllerIp = cucm ? `10.1.0.${1 + (i % 3)}` : `10.2.0.${1 + (i % 8)}`;
      insertSession.run(
        sessionId,
        state,
        startMs,
        durationMs,
        durationMs === null ? null : startMs + durationMs,
        controllerIp,
        cucm ? 'Cisco-CUCM' : 'Cisco-SIPGateway',
        ccid,
      );
      const agent = agentExtensions[Math.floor(random() * agentExtensions.length)] ?? '1000';
      const far = `+1555${String(Math.floor(random() * 10_000_000)).padStart(7, '0')}`;
      const codecRoll = random();
      const [codec, payloadType] =
        codecRoll < 0.85 ? ['PCMU', 0] : codecRoll < 0.95 ? ['PCMA', 8] : ['G722', 9];
      const day = new Date(startMs).toISOString().slice(0, 10);
      const packets = durationMs === null ? 0 : Math.floor(durationMs / 20);
      for (let track = 0; track < 2; track++) {
        insertTrack.run(
          sessionId,
          track,
          codec,
          payloadType,
          startMs,
          durationMs,
          `${day}/${sessionId}/track${track}.pcap`,
          packets,
          packets * 172,
          random() < 0.1 ? Math.floor(random() * 5) : 0,
          random() * 3,
          durationMs === null ? null : startMs,
          durationMs === null ? null : startMs + durationMs,
        );
        insertParticipant.run(
          sessionId,
          track,
          track === 0 ? agent : far,
          track === 0
            ? `SEP${(0x6c416a000000 + Number(agent)).toString(16).toUpperCase()}`
            : cucm
              ? 'SIPTrunk1'
              : controllerIp,
          cucm ? String(Number(refCi) - track) : null,
          startMs,
          durationMs,
        );
      }
      if (random() < 0.1) {
        const name = random() < 0.5 ? 'Escalation' : `note-${Math.floor(random() * 100)}`;
        insertTag.run(sessionId, name, name.toLowerCase(), startMs + 1000, 1000);
      }
      if (cucm && startMs > plan.nowMs - 30 * DAY_MS && recentRefCis.length < 10_000) {
        recentRefCis.push(refCi);
      }
    }
  });
  try {
    for (let from = 0; from < plan.sessions; from += BATCH) {
      insertBatch(from, Math.min(plan.sessions, from + BATCH));
    }
  } finally {
    db.close();
  }
  return {
    sessions: plan.sessions,
    seconds: (performance.now() - started) / 1000,
    recentRefCis,
    agentExtensions,
  };
}
