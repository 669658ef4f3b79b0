/**
 * A rough look at getSessions latency on a seeded SQLite database; not a test and not asserted.
 *
 *   node --import tsx packages/server/test/bench/db-get-sessions.ts [sessionCount=100000] [dbPath]
 *
 * Seeds `sessionCount` closed two-track CUCM sessions over 30 days (one participant per track,
 * 2,000 agent extensions, a tag on one session in ten) with raw prepared statements, then runs
 * typical MediaSense queries through the repository and prints p50/p95 per query.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import BetterSqlite3 from 'better-sqlite3';

import { openRepository } from '../../src/db/index.js';
import type { QueryExpression, SessionQuery } from '../../src/db/repository.js';

const count = Number(process.argv[2] ?? 100_000);
// Without a path the database lives in a temporary directory removed at the end.
const dir = process.argv[3] === undefined ? await mkdtemp(join(tmpdir(), 'verbatim-bench-')) : undefined;
const path = dir === undefined ? (process.argv[3] ?? '') : join(dir, 'bench.db');
const DAY_MS = 86_400_000;
const END_MS = 1_760_000_000_000;
const START_MS = END_MS - 30 * DAY_MS;

const repo = await openRepository({ kind: 'sqlite', path });
await repo.migrate();

// Deterministic pseudo-random numbers, so runs are comparable.
let seed = 42;
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
}

const raw = new BetterSqlite3(path);
const existing = (raw.prepare('select count(*) as n from sessions').get() as { n: number }).n;
if (existing < count) {
  const seedStarted = performance.now();
  const insertSession = raw.prepare(
    `insert into sessions (session_id, state, start_ms, duration_ms, end_ms, controller_ip, controller_type, ccid, node_id)
     values (?, ?, ?, ?, ?, '10.0.0.1', 'Cisco-CUCM', ?, 'node-a')`,
  );
  const insertTrack = raw.prepare(
    `insert into tracks (session_id, track_number, media_type, codec, payload_type, clock_rate_hz, start_ms, duration_ms, media_path)
     values (?, ?, ?, ?, 0, 8000, ?, ?, ?)`,
  );
  const insertParticipant = raw.prepare(
    `insert into participants (session_id, track_number, position, device_ref, device_id, xref_ci, is_conference, start_ms, duration_ms)
     values (?, ?, 0, ?, ?, ?, 0, ?, ?)`,
  );
  const insertTag = raw.prepare(
    `insert into tags (session_id, seq, track_number, tag_track_number, name, name_lower, type, create_ms, offset_ms)
     values (?, 0, null, null, ?, ?, 'USER_DEFINED', ?, 0)`,
  );
  const seedBatch = raw.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = `bench-${i.toString(16).padStart(8, '0')}`;
      const startMs = START_MS + Math.floor(random() * 30 * DAY_MS);
      const active = i >= count - 200;
      const durationMs = active ? null : Math.floor(random() * 600_000);
      insertSession.run(
        id,
        active ? 'ACTIVE' : 'CLOSED_NORMAL',
        startMs,
        durationMs,
        durationMs === null ? null : startMs + durationMs,
        String(10_000_000 + i),
      );
      const agent = String(1000 + Math.floor(random() * 2000));
      const far = `+1555${String(Math.floor(random() * 10_000_000)).padStart(7, '0')}`;
      for (const [track, deviceRef] of [agent, far].entries()) {
        insertTrack.run(
          id,
          track,
          // One session in a thousand has video on its far-end track.
          track === 1 && i % 1000 === 7 ? 'VIDEO' : 'AUDIO',
          random() < 0.9 ? 'PCMU' : 'G722',
          startMs,
          durationMs,
          `media/${id}/${track}.pcap`,
        );
        insertParticipant.run(
          id,
          track,
          deviceRef,
          track === 0 ? `SEP${agent}` : 'trunk',
          String(2 * i + track),
          startMs,
          durationMs,
        );
      }
      if (random() < 0.1) {
        const name = random() < 0.5 ? 'Escalation' : `note-${Math.floor(random() * 100)}`;
        insertTag.run(id, name, name.toLowerCase(), startMs + 1000);
      }
    }
  });
  for (let from = existing; from < count; from += 10_000) {
    seedBatch(from, Math.min(count, from + 10_000));
  }
  // Pruning removes the oldest media first: the first two days are pruned.
  raw
    .prepare('update sessions set pruned_ms = end_ms + ? where start_ms < ? and end_ms is not null')
    .run(30 * DAY_MS, START_MS + 2 * DAY_MS);
  raw.exec('analyze');
  console.log(`seeded ${count - existing} sessions in ${Math.round(performance.now() - seedStarted)} ms`);
}
raw.close();

const day = {
  kind: 'condition',
  field: 'sessionStartDate',
  operator: 'between',
  values: [END_MS - DAY_MS, END_MS],
} as const;
const month = {
  kind: 'condition',
  field: 'sessionStartDate',
  operator: 'between',
  values: [START_MS, END_MS],
} as const;
function and(...items: QueryExpression[]): QueryExpression {
  return { kind: 'and', items };
}

const queries: [string, SessionQuery][] = [
  ['last day, newest 100', { where: day, sort: [], offset: 0, limit: 100 }],
  ['month, newest 1000', { where: month, sort: [], offset: 0, limit: 1000 }],
  ['month, page at offset 900', { where: month, sort: [], offset: 900, limit: 100 }],
  [
    'month, deviceRef equals an agent',
    {
      where: and(month, { kind: 'condition', field: 'deviceRef', operator: 'equals', values: ['1500'] }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, xRefCi equals',
    {
      where: and(month, { kind: 'condition', field: 'xRefCi', operator: 'equals', values: ['1234'] }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, ccid equals',
    {
      where: and(month, { kind: 'condition', field: 'ccid', operator: 'equals', values: ['10000042'] }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, tagName equals',
    {
      where: and(month, { kind: 'condition', field: 'tagName', operator: 'equals', values: ['escalation'] }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, ACTIVE',
    {
      where: and(month, { kind: 'condition', field: 'sessionState', operator: 'equals', values: ['ACTIVE'] }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'day, deviceRef contains',
    {
      where: and(day, { kind: 'condition', field: 'deviceRef', operator: 'contains', values: ['555123'] }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, pruned (getAllPrunedSessions), 100',
    { where: month, sort: [], offset: 0, limit: 100, prunedOnly: true },
  ],
  [
    'month, trackMediaType VIDEO (ByMediaType)',
    {
      where: and(month, {
        kind: 'condition',
        field: 'trackMediaType',
        operator: 'equals',
        values: ['VIDEO'],
      }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, trackMediaType AUDIO (ByMediaType)',
    {
      where: and(month, {
        kind: 'condition',
        field: 'trackMediaType',
        operator: 'equals',
        values: ['AUDIO'],
      }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, deviceRef > "2990" (text range)',
    {
      where: and(month, { kind: 'condition', field: 'deviceRef', operator: 'greaterThan', values: ['2990'] }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, xRefCi < "100" (text range)',
    {
      where: and(month, { kind: 'condition', field: 'xRefCi', operator: 'lessThan', values: ['100'] }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, ccid between by gt/lt',
    {
      where: and(
        month,
        { kind: 'condition', field: 'ccid', operator: 'greaterThan', values: ['10000100'] },
        { kind: 'condition', field: 'ccid', operator: 'lessThan', values: ['10000200'] },
      ),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, deviceRef 3 agents OR-ed',
    {
      where: and(month, {
        kind: 'or',
        items: ['1500', '1501', '1502'].map((v) => ({
          kind: 'condition' as const,
          field: 'deviceRef' as const,
          operator: 'equals' as const,
          values: [v],
        })),
      }),
      sort: [],
      offset: 0,
      limit: 100,
    },
  ],
  [
    'month, duration > 9 min, by duration',
    {
      where: and(month, {
        kind: 'condition',
        field: 'sessionDuration',
        operator: 'greaterThan',
        values: [540_000],
      }),
      sort: [{ field: 'sessionDuration', order: 'DESC' }],
      offset: 0,
      limit: 100,
    },
  ],
];

for (const [name, query] of queries) {
  const timesMs: number[] = [];
  let rows = 0;
  for (let run = 0; run < 15; run++) {
    const started = performance.now();
    rows = (
      await repo.querySessions({
        ...query,
        sort: query.sort.length > 0 ? query.sort : [{ field: 'sessionStartDate', order: 'DESC' }],
      })
    ).length;
    timesMs.push(performance.now() - started);
  }
  timesMs.sort((a, b) => a - b);
  const p50 = timesMs[Math.floor(timesMs.length * 0.5)] ?? 0;
  const p95 = timesMs[Math.ceil(timesMs.length * 0.95) - 1] ?? 0;
  console.log(
    `${name.padEnd(40)} rows ${String(rows).padStart(4)}  p50 ${p50.toFixed(1)} ms  p95 ${p95.toFixed(1)} ms`,
  );
}

await repo.close();
if (dir !== undefined) {
  await rm(dir, { recursive: true, force: true });
}
