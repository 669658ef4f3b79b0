import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import BetterSqlite3 from 'better-sqlite3';

import { openRepository } from '../../src/db/index.js';
import type { QueryExpression, Repository, SessionQuery } from '../../src/db/repository.js';
import type { Session, Tag } from '../../src/model/session.js';
import { sampleSession } from '../support/fake-repository.js';

/**
 * The repository methods of issue 10 on a real SQLite file: track tags, user tags added once and
 * deleted by name and offset, the pruned flag and its query, lexicographic ranges on text, and
 * the indexes the new queries use (EXPLAIN QUERY PLAN).
 */

const T0 = 1_750_000_000_000;

function userTag(tagName: string, extra: Partial<Tag> = {}): Tag {
  return { tagName, tagType: 'USER_DEFINED', tagCreateDate: T0, ...extra };
}

function between(from: number, to: number): QueryExpression {
  return { kind: 'condition', field: 'sessionStartDate', operator: 'between', values: [from, to] };
}

function query(where: QueryExpression, extra: Partial<SessionQuery> = {}): SessionQuery {
  return { where, sort: [{ field: 'sessionStartDate', order: 'DESC' }], offset: 0, limit: 100, ...extra };
}

void describe('SQLite repository: tags and pruning (issue 10)', () => {
  let dir: string;
  let path: string;
  let repo: Repository;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-db-tags-'));
    path = join(dir, 'verbatim.db');
    repo = await openRepository({ kind: 'sqlite', path });
    await repo.migrate();
  });

  after(async () => {
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function stored(sessionId: string): Promise<Session> {
    const session = await repo.getSession(sessionId);
    assert.ok(session !== undefined, `session ${sessionId}`);
    return session;
  }

  void it('adds a track tag to that track’s list, not the session’s', async () => {
    await repo.createSession(sampleSession({ sessionId: 'track-tags', sessionState: 'ACTIVE' }));
    const hold: Tag = {
      tagName: 'TrackInactive',
      tagType: 'SYSTEM_DEFINED',
      tagCreateDate: T0,
      tagOffset: 1200,
    };
    await repo.addTrackTag('track-tags', 1, hold);
    const session = await stored('track-tags');
    assert.deepEqual(session.tags, []);
    assert.deepEqual(session.tracks[0]?.tags, []);
    assert.deepEqual(session.tracks[1]?.tags, [{ ...hold, trackNumber: 1 }]);
    await assert.rejects(repo.addTrackTag('track-tags', 7, hold), { code: 'VERBATIM_ERR_DB_NOT_FOUND' });
    await assert.rejects(repo.addTrackTag('missing', 0, hold), { code: 'VERBATIM_ERR_DB_NOT_FOUND' });
  });

  void it('adds a user tag once: the same name in another case and the same offset is not added again', async () => {
    await repo.createSession(sampleSession({ sessionId: 'once' }));
    const add = async (tag: Tag): Promise<string> => (await repo.addSessionTagOnce('once', tag)).outcome;
    assert.equal(await add(userTag('Keep')), 'added');
    assert.equal(await add(userTag('KEEP')), 'unchanged');
    assert.equal(await add(userTag('Mark', { tagOffset: 5 })), 'added');
    assert.equal(await add(userTag('mark', { tagOffset: 5 })), 'unchanged');
    assert.equal(await add(userTag('mark', { tagOffset: 6 })), 'added');
    // A whole-session tag given an offset moves there (its spelling and create date kept).
    assert.deepEqual(
      await repo.addSessionTagOnce('once', userTag('keep', { tagOffset: 9, tagCreateDate: 99 })),
      {
        outcome: 'updated',
        tag: { ...userTag('Keep'), tagOffset: 9 },
      },
    );
    assert.equal(await add(userTag('keep', { tagOffset: 9 })), 'unchanged');
    // A system tag of the same name is another tag.
    assert.equal(await add({ ...userTag('Keep'), tagType: 'SYSTEM_DEFINED' }), 'added');
    assert.deepEqual(
      (await stored('once')).tags.map((t) => [t.tagName, t.tagType, t.tagOffset]),
      [
        ['Keep', 'USER_DEFINED', 9],
        ['Mark', 'USER_DEFINED', 5],
        ['mark', 'USER_DEFINED', 6],
        ['Keep', 'SYSTEM_DEFINED', undefined],
      ],
    );
    await assert.rejects(repo.addSessionTagOnce('missing', userTag('x')), {
      code: 'VERBATIM_ERR_DB_NOT_FOUND',
    });
  });

  void it('deletes user tags by name without regard to case, and by offset when given', async () => {
    await repo.createSession(
      sampleSession({
        sessionId: 'delete',
        tags: [
          userTag('Review'),
          userTag('review', { tagOffset: 10 }),
          userTag('REVIEW', { tagOffset: 20 }),
          { tagName: 'review', tagType: 'SYSTEM_DEFINED', tagCreateDate: T0 },
          userTag('other'),
        ],
      }),
    );
    await repo.addTrackTag('delete', 0, userTag('review'));
    const atTen = await repo.deleteSessionTags('delete', {
      tagName: 'Review',
      tagType: 'USER_DEFINED',
      tagOffset: 10,
    });
    assert.deepEqual(atTen, [userTag('review', { tagOffset: 10 })]);
    const rest = await repo.deleteSessionTags('delete', { tagName: 'rEvIeW', tagType: 'USER_DEFINED' });
    assert.deepEqual(rest, [userTag('Review'), userTag('REVIEW', { tagOffset: 20 })]);
    assert.deepEqual(
      await repo.deleteSessionTags('delete', { tagName: 'review', tagType: 'USER_DEFINED' }),
      [],
    );
    const session = await stored('delete');
    assert.deepEqual(
      session.tags.map((t) => [t.tagName, t.tagType]),
      [
        ['review', 'SYSTEM_DEFINED'],
        ['other', 'USER_DEFINED'],
      ],
    );
    assert.deepEqual(
      session.tracks[0]?.tags.map((t) => t.tagName),
      ['review'],
      'track tags are not the session list',
    );
    assert.deepEqual(await repo.deleteSessionTags('missing', { tagName: 'x', tagType: 'USER_DEFINED' }), []);
  });

  void it('flags a session pruned without changing its state; the first time stays; queries find only pruned ones', async () => {
    const windowStart = T0 + 1_000_000;
    for (const [i, state] of (
      ['CLOSED_NORMAL', 'CLOSED_ERROR', 'CLOSED_NORMAL', 'ACTIVE'] as const
    ).entries()) {
      await repo.createSession(
        sampleSession({ sessionId: `p${i}`, sessionState: state, sessionStartDate: windowStart + i * 1000 }),
      );
    }
    assert.equal(await repo.markSessionPruned('p0', T0 + 5), true);
    assert.equal(await repo.markSessionPruned('p1', T0 + 6), true);
    assert.equal(await repo.markSessionPruned('p1', T0 + 7), true);
    assert.equal(await repo.markSessionPruned('missing', T0), false);
    const p1 = await stored('p1');
    assert.equal(p1.sessionState, 'CLOSED_ERROR');
    assert.equal(p1.prunedAt, T0 + 6);
    assert.equal((await stored('p2')).prunedAt, undefined);
    assert.ok(!('prunedAt' in (await stored('p2'))));

    const window = between(windowStart, windowStart + 10_000);
    const pruned = await repo.querySessions(query(window, { prunedOnly: true }));
    assert.deepEqual(
      pruned.map((s) => [s.sessionId, s.sessionState, s.prunedAt]),
      [
        ['p1', 'CLOSED_ERROR', T0 + 6],
        ['p0', 'CLOSED_NORMAL', T0 + 5],
      ],
    );
    assert.equal((await repo.querySessions(query(window))).length, 4, 'without the flag every session');
    const page = await repo.querySessions(query(window, { prunedOnly: true, offset: 1, limit: 1 }));
    assert.deepEqual(
      page.map((s) => s.sessionId),
      ['p0'],
    );
  });

  void it('compares text lexicographically with greaterThan and lessThan, on the session and on participants', async () => {
    const start = T0 + 2_000_000;
    const devices = ['1000', '1999', '2000', '30'];
    for (const [i, deviceRef] of devices.entries()) {
      const base = sampleSession({
        sessionId: `lex${i}`,
        sessionStartDate: start + i,
        ccid: `c${deviceRef}`,
      });
      await repo.createSession({
        ...base,
        tracks: base.tracks.map((t) => ({
          ...t,
          participants: t.participants.map((p) => ({ ...p, deviceRef, xRefCi: `x${deviceRef}` })),
        })),
      });
    }
    const window = between(start, start + 10);
    const ids = async (
      field: 'ccid' | 'deviceRef' | 'xRefCi',
      operator: 'greaterThan' | 'lessThan',
      value: string,
    ) =>
      (
        await repo.querySessions(
          query(
            { kind: 'and', items: [window, { kind: 'condition', field, operator, values: [value] }] },
            {
              sort: [{ field: 'sessionStartDate', order: 'ASC' }],
            },
          ),
        )
      ).map((s) => s.sessionId);
    // "30" > "2000" as text, "1999" < "2" as text.
    assert.deepEqual(await ids('deviceRef', 'greaterThan', '2'), ['lex2', 'lex3']);
    assert.deepEqual(await ids('deviceRef', 'lessThan', '2'), ['lex0', 'lex1']);
    assert.deepEqual(await ids('xRefCi', 'greaterThan', 'x1999'), ['lex2', 'lex3']);
    assert.deepEqual(await ids('ccid', 'lessThan', 'c2000'), ['lex0', 'lex1']);
    assert.deepEqual(await ids('ccid', 'greaterThan', 'c2000'), ['lex3']);
  });

  void it('answers the pruned and the media-type queries from the indexes of migration 0007', () => {
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      const plan = (sqlText: string, ...params: unknown[]): string =>
        db
          .prepare(`explain query plan ${sqlText}`)
          .all(...params)
          .map((row) => (row as { detail: string }).detail)
          .join('\n');
      const pruned = plan(
        'select * from sessions where start_ms between ? and ? and pruned_ms is not null order by start_ms desc, session_id desc limit 10',
        0,
        T0 * 2,
      );
      assert.match(pruned, /sessions_pruned_start_idx/);
      assert.doesNotMatch(pruned, /TEMP B-TREE/, 'sorted by the index, no sort step');
      const video = plan(
        'select session_id from sessions where session_id in (select session_id from tracks where media_type = ?)',
        'VIDEO',
      );
      assert.match(video, /tracks_media_type_idx/);
    } finally {
      db.close();
    }
  });
});
