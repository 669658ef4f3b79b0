import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import BetterSqlite3 from 'better-sqlite3';

import { openRepository } from '../../src/db/index.js';
import type { QueryExpression, Repository, SessionQuery } from '../../src/db/repository.js';
import { SORT_INDEX_MAX_ROWS, WIDE_WINDOW_ROWS } from '../../src/db/session-query.js';

/**
 * Search and Play's sorted pages over a wide time window (db/session-query.ts sortIndexFirst):
 * with more than WIDE_WINDOW_ROWS sessions in the window, a page sorted by duration or ccid is
 * read in the sort index's order with the window tested per row. Whichever way SQLite reads
 * them, the pages must be the exact rows and order of the rule "sort key, then session id, unknown
 * durations last", checked here against the same sort done in JavaScript.
 */

const T0 = 1_765_000_000_000;
const COUNT = 2 * WIDE_WINDOW_ROWS;

interface Row {
  id: string;
  start: number;
  duration: number | null;
  state: string;
  ccid: string;
  health: string | null;
}

// Deterministic pseudo-random numbers, so a failure repeats.
let seed = 7;
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
}

const rows: Row[] = Array.from({ length: COUNT }, (_, i) => {
  const active = i % 500 === 0;
  return {
    id: `s${String(i).padStart(6, '0')}`,
    start: T0 + Math.floor(random() * 40 * 86_400_000),
    // Whole seconds, so that many sessions share a duration and the id must break the ties.
    duration: active ? null : Math.floor(random() * 600) * 1000,
    state: active ? 'ACTIVE' : i % 97 === 0 ? 'CLOSED_ERROR' : 'CLOSED_NORMAL',
    ccid: String(Math.floor(random() * 5_000)),
    health: active ? null : i % 13 === 0 ? 'packet-loss,gap' : '',
  };
});

void describe('pages sorted by duration or ccid over a wide window', () => {
  let dir: string;
  let repo: Repository;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-db-sort-index-'));
    const path = join(dir, 'verbatim.db');
    repo = await openRepository({ kind: 'sqlite', path });
    await repo.migrate();
    const raw = new BetterSqlite3(path);
    const insert = raw.prepare(
      `insert into sessions (session_id, state, start_ms, duration_ms, end_ms, controller_ip, controller_type, ccid, node_id, health_kinds)
       values (?, ?, ?, ?, ?, '10.0.0.1', 'Cisco-CUCM', ?, 'node-a', ?)`,
    );
    raw.transaction(() => {
      for (const r of rows) {
        insert.run(
          r.id,
          r.state,
          r.start,
          r.duration,
          r.duration === null ? null : r.start + r.duration,
          r.ccid,
          r.health,
        );
      }
    })();
    raw.exec('analyze');
    raw.close();
  });

  after(async () => {
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });

  function window(from: number, to: number): QueryExpression {
    return { kind: 'condition', field: 'sessionStartDate', operator: 'between', values: [from, to] };
  }

  /** The page the rule gives, computed in JavaScript. */
  function expected(
    where: (r: Row) => boolean,
    key: 'duration' | 'ccid',
    order: 'ASC' | 'DESC',
    offset: number,
    limit: number,
  ): string[] {
    const sign = order === 'ASC' ? 1 : -1;
    return rows
      .filter(where)
      .sort((a, b) => {
        const x = a[key];
        const y = b[key];
        if (x === null || y === null) {
          // Unknown durations last, in both directions; then by id in the sort's direction.
          return x === y ? sign * a.id.localeCompare(b.id) : x === null ? 1 : -1;
        }
        return x < y ? -sign : x > y ? sign : sign * (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      })
      .slice(offset, offset + limit)
      .map((r) => r.id);
  }

  async function page(query: SessionQuery): Promise<string[]> {
    return (await repo.querySessions(query)).map((s) => s.sessionId);
  }

  void it('answers the same rows in the same order as the rule, first pages and late ones', async () => {
    const from = T0 + 5 * 86_400_000;
    const to = T0 + 35 * 86_400_000;
    const inWindow = (r: Row) => r.start >= from && r.start <= to;
    assert.ok(rows.filter(inWindow).length > WIDE_WINDOW_ROWS, 'the window is wide');
    for (const key of ['duration', 'ccid'] as const) {
      for (const order of ['ASC', 'DESC'] as const) {
        // A first page, a later one, and one past SORT_INDEX_MAX_ROWS (sorted the other way).
        for (const offset of [0, 450, SORT_INDEX_MAX_ROWS + 100]) {
          const query: SessionQuery = {
            where: window(from, to),
            sort: [{ field: key === 'duration' ? 'sessionDuration' : 'ccid', order }],
            offset,
            limit: 26,
          };
          assert.deepEqual(
            await page(query),
            expected(inWindow, key, order, offset, 26),
            `${key} ${order} at ${offset}`,
          );
        }
      }
    }
  });

  void it('keeps the filters on the sessions own columns, and the ACTIVE sessions last', async () => {
    const from = T0;
    const to = T0 + 40 * 86_400_000;
    const gap = (r: Row) => r.start >= from && r.start <= to && (r.health ?? '').split(',').includes('gap');
    const where: QueryExpression = {
      kind: 'and',
      items: [
        window(from, to),
        { kind: 'condition', field: 'healthProblem', operator: 'equals', values: ['gap'] },
      ],
    };
    assert.deepEqual(
      await page({ where, sort: [{ field: 'sessionDuration', order: 'DESC' }], offset: 0, limit: 50 }),
      expected(gap, 'duration', 'DESC', 0, 50),
    );
    // The last page of the window by duration ends with the ACTIVE sessions (no duration yet).
    const all = (r: Row) => r.start >= from && r.start <= to;
    const last = expected(all, 'duration', 'ASC', COUNT - 60, 60);
    assert.ok(last.slice(-10).every((id) => rows.find((r) => r.id === id)?.duration === null));
    const errored: QueryExpression = {
      kind: 'and',
      items: [
        window(from, to),
        { kind: 'condition', field: 'sessionState', operator: 'equals', values: ['CLOSED_ERROR'] },
      ],
    };
    const isError = (r: Row) => all(r) && r.state === 'CLOSED_ERROR';
    assert.deepEqual(
      await page({
        where: errored,
        sort: [{ field: 'sessionDuration', order: 'ASC' }],
        offset: 0,
        limit: 26,
      }),
      expected(isError, 'duration', 'ASC', 0, 26),
    );
  });
});
