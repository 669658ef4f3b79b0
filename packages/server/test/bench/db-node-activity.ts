/**
 * A rough look at getNodeStatus's per-hour query on a seeded SQLite database; not a test and not
 * asserted (test/integration/api-node-status.test.ts asserts the query plans).
 *
 *   node --import tsx packages/server/test/bench/db-node-activity.ts [sessionCount=1000000] [dbPath]
 *
 * Seeds `sessionCount` closed two-track sessions evenly over 30 days with raw prepared
 * statements, then prints the time of a day's and of 192 hours' activity.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import BetterSqlite3 from 'better-sqlite3';

import { openRepository } from '../../src/db/index.js';
import { HOUR_MS } from '../../src/model/node-activity.js';

const count = Number(process.argv[2] ?? 1_000_000);
const dir = process.argv[3] === undefined ? await mkdtemp(join(tmpdir(), 'verbatim-bench-')) : undefined;
const path = dir === undefined ? (process.argv[3] ?? '') : join(dir, 'bench.db');
const DAY_MS = 86_400_000;
const END_MS = 1_760_000_000_000 - (1_760_000_000_000 % HOUR_MS);
const START_MS = END_MS - 30 * DAY_MS;

const repo = await openRepository({ kind: 'sqlite', path });
await repo.migrate();
const raw = new BetterSqlite3(path);
const existing = (raw.prepare('select count(*) as n from sessions').get() as { n: number }).n;
if (existing < count) {
  const started = performance.now();
  const insertSession = raw.prepare(
    `insert into sessions (session_id, state, start_ms, duration_ms, end_ms, controller_ip, controller_type, ccid, node_id)
     values (?, 'CLOSED_NORMAL', ?, 60000, ?, '10.0.0.1', 'Cisco-CUCM', ?, 'node-a')`,
  );
  const insertTrack = raw.prepare(
    `insert into tracks (session_id, track_number, media_type, codec, payload_type, clock_rate_hz, start_ms, duration_ms, media_path, stat_packets, stat_lost)
     values (?, ?, 'AUDIO', 'PCMU', 0, 8000, ?, 60000, ?, 3000, ?)`,
  );
  const seed = raw.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const id = `s${String(i).padStart(8, '0')}`;
      const start = START_MS + Math.floor(((END_MS - START_MS) * i) / count);
      insertSession.run(id, start, start + 60_000, id);
      for (const track of [0, 1]) {
        insertTrack.run(id, track, start, `${id}-${String(track)}.pcap`, i % 7);
      }
    }
  });
  for (let i = existing; i < count; i += 50_000) {
    seed(i, Math.min(count, i + 50_000));
  }
  raw.exec('analyze');
  console.log(
    `seeded ${String(count - existing)} sessions in ${(performance.now() - started).toFixed(0)} ms`,
  );
}

for (const hours of [24, 192]) {
  const times: number[] = [];
  for (let run = 0; run < 10; run++) {
    const t0 = performance.now();
    await repo.hourlyActivity(END_MS - hours * HOUR_MS, END_MS);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${String(hours)} hours: p50 ${times[5]?.toFixed(1) ?? '?'} ms, max ${times[9]?.toFixed(1) ?? '?'} ms`,
  );
}

raw.close();
await repo.close();
if (dir !== undefined) {
  await rm(dir, { recursive: true, force: true });
}
