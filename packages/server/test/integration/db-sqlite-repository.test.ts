import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql, SqliteDialect } from 'kysely';

import { DbError, openRepository } from '../../src/db/index.js';
import { MIGRATIONS } from '../../src/db/migrations/index.js';
import type { QueryExpression, Repository, SessionQuery } from '../../src/db/repository.js';
import type { Participant, Session, Tag, Track } from '../../src/model/session.js';
import { EMPTY_TRACK_STATS } from '../../src/model/session.js';
import type { User } from '../../src/model/user.js';

function participant(deviceRef: string, extra: Partial<Participant> = {}): Participant {
  return { deviceRef, isConference: false, participantStartDate: 1_700_000_000_000, ...extra };
}

function track(trackNumber: number, extra: Partial<Track> = {}): Track {
  return {
    trackNumber,
    trackMediaType: 'AUDIO',
    codec: 'PCMU',
    payloadType: 0,
    clockRateHz: 8000,
    trackStartDate: 1_700_000_000_000,
    mediaPath: `media/s/${trackNumber}.pcap`,
    participants: [],
    tags: [],
    stats: EMPTY_TRACK_STATS,
    ...extra,
  };
}

/** A session; CLOSED_NORMAL with a minute's duration unless `extra` says otherwise. */
function session(sessionId: string, extra: Partial<Session> = {}): Session {
  const base = {
    sessionId,
    sessionState: 'CLOSED_NORMAL',
    sessionStartDate: 1_700_000_000_000,
    callControllerIP: '10.0.0.1',
    callControllerType: 'Cisco-CUCM',
    ccid: `ccid-${sessionId}`,
    nodeId: 'node-a',
    tags: [],
    tracks: [],
  } as const satisfies Partial<Session>;
  return extra.sessionState === 'ACTIVE'
    ? { ...base, ...extra }
    : { ...base, sessionDuration: 60_000, ...extra };
}

/** An ACTIVE session: no sessionDuration key at all. */
function activeSession(sessionId: string, extra: Partial<Session> = {}): Session {
  return session(sessionId, { sessionState: 'ACTIVE', ...extra });
}

function tag(tagName: string, tagCreateDate: number, extra: Partial<Tag> = {}): Tag {
  return { tagName, tagType: 'USER_DEFINED', tagCreateDate, ...extra };
}

/** A session with every optional field present, on tracks, participants, tags and stats. */
const FULL: Session = session('full-1', {
  sessionStartDate: 1_700_000_123_456,
  sessionDuration: 93_500,
  callControllerIP: '192.0.2.10',
  ccid: '12345678',
  correlation: {
    sipSessionId: 'ab30317f1a784dc48ff824d0d3715d86;remote=00000000000000000000000000000000',
    ucid: '00FA0802',
  },
  tags: [
    tag('Escalation', 1_700_000_130_000, { tagOffset: 6544 }),
    tag('TrackInactive', 1_700_000_140_000, { tagType: 'SYSTEM_DEFINED', tagOffset: 16_544, trackNumber: 1 }),
  ],
  tracks: [
    track(0, {
      trackDuration: 93_000,
      participants: [
        participant('1001', {
          deviceId: 'SEP0011223344',
          xRefCi: '16777217',
          participantStartDate: 1_700_000_123_456,
          participantDuration: 93_000,
        }),
        participant('1002', { isConference: true }),
      ],
      tags: [
        tag('DTMF 5', 1_700_000_125_000, { tagType: 'SYSTEM_DEFINED', tagOffset: 1544, trackNumber: 0 }),
      ],
      stats: {
        packets: 4650,
        bytes: 744_000,
        lost: 3,
        duplicated: 1,
        reordered: 2,
        jitterMs: 1.375,
        dropped: 7,
        srtpAuthFailures: 2,
        kernelDropped: 4,
        unreadAtClose: 5,
        unstored: 6,
        firstPacketAt: 1_700_000_123_500,
        lastPacketAt: 1_700_000_216_480,
      },
    }),
    track(1, {
      codec: 'G722',
      payloadType: 9,
      clockRateHz: 8000,
      participants: [participant('+4930123456')],
    }),
  ],
});

void describe('SQLite repository: storage', () => {
  let dir: string;
  let repo: Repository;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-db-'));
    repo = await openRepository({ kind: 'sqlite', path: join(dir, 'nested', 'data', 'verbatim.db') });
    await repo.migrate();
  });

  after(async () => {
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('creates the parent directory of the database file, in WAL mode', () => {
    const path = join(dir, 'nested', 'data', 'verbatim.db');
    assert.ok(existsSync(path));
    const probe = new BetterSqlite3(path, { readonly: true });
    try {
      assert.equal(probe.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      probe.close();
    }
  });

  void it('migrates idempotently, also from a second connection to the same file', async () => {
    const kept = session('migrate-1');
    await repo.createSession(kept);
    await repo.migrate();
    const other = await openRepository({ kind: 'sqlite', path: join(dir, 'nested', 'data', 'verbatim.db') });
    try {
      await other.migrate();
      // Both connections see the data written before the repeated migrations.
      assert.deepStrictEqual(await other.getSession('migrate-1'), kept);
      assert.deepStrictEqual(await repo.getSession('migrate-1'), kept);
    } finally {
      await other.close();
    }
  });

  void it('returns exactly the session written, optional fields omitted', async () => {
    await repo.createSession(FULL);
    assert.deepStrictEqual(await repo.getSession(FULL.sessionId), FULL);
  });

  void it('migration 0005 adds unstored to the tracks stored before it as 0, the other counters kept', async () => {
    const path = join(dir, 'before-0005.db');
    const first = await openRepository({ kind: 'sqlite', path });
    await first.migrate();
    await first.createSession({ ...FULL, sessionId: 'before-0005' });
    await first.close();
    // Back to the schema of 0004, as a database of the release before: every later migration undone.
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(path) }) });
    for (const name of Object.keys(MIGRATIONS)
      .filter((n) => n >= '0005')
      .reverse()) {
      await MIGRATIONS[name]?.down?.(db);
      await sql`delete from kysely_migration where name = ${name}`.execute(db);
    }
    await db.destroy();

    const upgraded = await openRepository({ kind: 'sqlite', path });
    try {
      await upgraded.migrate();
      const read = await upgraded.getSession('before-0005');
      assert.ok(read !== undefined);
      const [stored] = FULL.tracks;
      assert.ok(stored !== undefined && stored.stats.unstored > 0);
      assert.deepStrictEqual(read.tracks[0]?.stats, { ...stored.stats, unstored: 0 });
    } finally {
      await upgraded.close();
    }
  });

  void it('round-trips an ACTIVE session without duration or children', async () => {
    const written = activeSession('active-1');
    assert.ok(!('sessionDuration' in written));
    await repo.createSession(written);
    const read = await repo.getSession('active-1');
    assert.deepStrictEqual(read, written);
    assert.ok(!('sessionDuration' in read));
  });

  void it('returns undefined for an unknown session', async () => {
    assert.equal(await repo.getSession('nope'), undefined);
  });

  void it('refuses a second session with the same id', async () => {
    await assert.rejects(repo.createSession(FULL), { name: 'DbError', code: 'VERBATIM_ERR_DB_CONFLICT' });
  });

  void it('adds a track with its participants and tags', async () => {
    await repo.createSession(activeSession('add-1', { tags: [tag('first', 10)] }));
    const added = track(0, {
      codec: '',
      payloadType: -1,
      participants: [participant('2001', { xRefCi: '99' })],
      tags: [tag('TrackActive', 5, { trackNumber: 0 })],
    });
    await repo.addTrack('add-1', added);
    const read = await repo.getSession('add-1');
    assert.deepStrictEqual(read?.tracks, [added]);
    assert.deepStrictEqual(read.tags, [tag('first', 10)]);
  });

  void it('refuses a track for a missing session or a duplicate track number', async () => {
    await assert.rejects(repo.addTrack('missing', track(0)), { code: 'VERBATIM_ERR_DB_NOT_FOUND' });
    await assert.rejects(repo.addTrack('add-1', track(0)), { code: 'VERBATIM_ERR_DB_CONFLICT' });
  });

  void it('updates a track: codec after the ACK, duration and statistics', async () => {
    const stats = { ...EMPTY_TRACK_STATS, packets: 50, bytes: 8000, jitterMs: 0.5, firstPacketAt: 123 };
    await repo.updateTrack('add-1', 0, { codec: 'PCMA', payloadType: 8, clockRateHz: 8000 });
    await repo.updateTrack('add-1', 0, { trackDuration: 1000, stats });
    const updated = (await repo.getSession('add-1'))?.tracks[0];
    assert.equal(updated?.codec, 'PCMA');
    assert.equal(updated.payloadType, 8);
    assert.equal(updated.trackDuration, 1000);
    assert.deepStrictEqual(updated.stats, stats);
    // The packets a paused recording did not store are kept with the track (migration 0009).
    await repo.updateTrack('add-1', 0, { stats: { ...stats, paused: 120 } });
    assert.equal((await repo.getSession('add-1'))?.tracks[0]?.stats.paused, 120);
    await repo.updateTrack('add-1', 0, { stats });
    await repo.updateTrack('add-1', 0, {});
    await assert.rejects(repo.updateTrack('add-1', 7, { codec: 'PCMU' }), {
      code: 'VERBATIM_ERR_DB_NOT_FOUND',
    });
    await assert.rejects(repo.updateTrack('add-1', 7, {}), { code: 'VERBATIM_ERR_DB_NOT_FOUND' });
  });

  void it('replaces the participants of one track, keeping their order', async () => {
    const next = [participant('3003', { deviceId: 'SEPB' }), participant('3001'), participant('3002')];
    await repo.replaceParticipants('add-1', 0, next);
    assert.deepStrictEqual((await repo.getSession('add-1'))?.tracks[0]?.participants, next);
    await repo.replaceParticipants('add-1', 0, []);
    assert.deepStrictEqual((await repo.getSession('add-1'))?.tracks[0]?.participants, []);
    await assert.rejects(repo.replaceParticipants('add-1', 3, next), { code: 'VERBATIM_ERR_DB_NOT_FOUND' });
  });

  void it('adds session tags, read back in create-time order', async () => {
    await repo.addSessionTag('add-1', tag('third', 30));
    await repo.addSessionTag('add-1', tag('second', 20, { trackNumber: 0, tagOffset: 0 }));
    await repo.addSessionTag('add-1', tag('also-second', 20));
    const read = await repo.getSession('add-1');
    assert.deepStrictEqual(read?.tags, [
      tag('first', 10),
      tag('second', 20, { trackNumber: 0, tagOffset: 0 }),
      tag('also-second', 20),
      tag('third', 30),
    ]);
    // The track's own tag list is untouched by session tags that name the track.
    assert.deepStrictEqual(read.tracks[0]?.tags, [tag('TrackActive', 5, { trackNumber: 0 })]);
    await assert.rejects(repo.addSessionTag('missing', tag('x', 1)), { code: 'VERBATIM_ERR_DB_NOT_FOUND' });
  });

  void it('closes a session with its final state and duration', async () => {
    await repo.createSession(activeSession('close-1'));
    await repo.closeSession('close-1', 'CLOSED_ERROR', 4321);
    const read = await repo.getSession('close-1');
    assert.equal(read?.sessionState, 'CLOSED_ERROR');
    assert.equal(read.sessionDuration, 4321);
    await assert.rejects(repo.closeSession('missing', 'CLOSED_NORMAL', 1), {
      code: 'VERBATIM_ERR_DB_NOT_FOUND',
    });
  });

  void it('lists only ACTIVE sessions, oldest first', async () => {
    await repo.createSession(activeSession('active-0', { sessionStartDate: 5 }));
    const active = await repo.listActiveSessions();
    assert.deepStrictEqual(
      active.map((s) => s.sessionId),
      ['active-0', 'active-1', 'add-1'],
    );
  });

  void it('keeps users: create, get, list, count, update', async () => {
    const alice: User = {
      username: 'alice',
      role: 'supervisor',
      passwordHash: 'scrypt$a',
      createdAt: 1_700_000_000_000,
    };
    const admin: User = {
      username: 'admin',
      role: 'admin',
      passwordHash: 'scrypt$b',
      createdAt: 1_700_000_000_001,
    };
    assert.equal(await repo.countUsers(), 0);
    await repo.createUser(alice);
    await repo.createUser(admin);
    await assert.rejects(repo.createUser(alice), { code: 'VERBATIM_ERR_DB_CONFLICT' });
    assert.deepStrictEqual(await repo.getUser('alice'), alice);
    assert.equal(await repo.getUser('Alice'), undefined);
    assert.deepStrictEqual(await repo.listUsers(), [admin, alice]);
    assert.equal(await repo.countUsers(), 2);
    assert.equal(await repo.updateUser('alice', { role: 'auditor' }), true);
    assert.equal(await repo.updateUser('alice', { passwordHash: 'scrypt$c' }), true);
    assert.deepStrictEqual(await repo.getUser('alice'), {
      ...alice,
      role: 'auditor',
      passwordHash: 'scrypt$c',
    });
    assert.equal(await repo.updateUser('alice', {}), true);
    assert.equal(await repo.updateUser('bob', { role: 'api' }), false);
    assert.equal(await repo.updateUser('bob', {}), false);
  });
});

void describe('SQLite repository: getSessions queries', () => {
  let dir: string;
  let repo: Repository;

  // Six sessions chosen so that each operator on each field selects a distinct subset.
  const sessions: Session[] = [
    session('s1', {
      sessionStartDate: 1000,
      sessionDuration: 60_000,
      ccid: 'CCID-1',
      callControllerIP: '10.0.0.1',
      callControllerType: 'Cisco-CUCM',
      tags: [tag('Important', 1)],
      tracks: [
        track(0, { participants: [participant('1000', { deviceId: 'SEP001', xRefCi: '111' })] }),
        track(1, { participants: [participant('2000', { xRefCi: '112' })] }),
      ],
    }),
    session('s2', {
      sessionStartDate: 2000,
      sessionDuration: 30_000,
      ccid: 'CCID-2',
      callControllerIP: '10.0.0.2',
      callControllerType: 'Cisco-SIPGateway',
      tracks: [
        track(0, {
          codec: 'PCMA',
          payloadType: 8,
          participants: [participant('1001', { deviceId: 'SEPabc' })],
          tags: [tag('review', 2, { trackNumber: 0 })],
        }),
        track(1, {
          trackMediaType: 'VIDEO',
          codec: 'H264',
          payloadType: 96,
          clockRateHz: 90_000,
          participants: [participant('3000')],
        }),
      ],
    }),
    session('s3', {
      sessionState: 'ACTIVE',
      sessionStartDate: 3000,
      sessionDuration: 45_000, // Stored but ignored: ACTIVE sessions have no duration for queries.
      ccid: 'ccid-3',
      callControllerIP: '10.0.0.1',
      callControllerType: 'SIPREC',
      tracks: [track(0, { codec: 'G722', payloadType: 9, participants: [participant('+15551234')] })],
    }),
    session('s4', {
      sessionState: 'CLOSED_ERROR',
      sessionStartDate: 4000,
      sessionDuration: 120_000,
      ccid: 'X*Y',
      callControllerIP: '192.168.1.5',
      callControllerType: 'SIP',
      tags: [tag('IMPORTANT', 3)],
      tracks: [track(0, { participants: [participant('1000')] })],
    }),
    session('s5', {
      sessionState: 'DELETED',
      sessionStartDate: 5000,
      sessionDuration: 30_000,
      ccid: 'XZ-5',
      callControllerIP: '10.0.0.1',
      callControllerType: 'Cisco-CUCM',
      tags: [tag('other', 4)],
      tracks: [track(0, { codec: 'G729', payloadType: 18, participants: [participant('abc')] })],
    }),
    session('s6', {
      sessionStartDate: 5000,
      sessionDuration: 90_000,
      ccid: 'CCID-6',
      callControllerIP: '10.0.0.6',
      callControllerType: 'SIP',
      tracks: [track(0, { codec: 'PCMA', payloadType: 8, participants: [participant('4000')] })],
    }),
  ];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-db-query-'));
    repo = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repo.migrate();
    for (const s of sessions) {
      await repo.createSession(s);
    }
  });

  after(async () => {
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ALL = { kind: 'and', items: [] } as const satisfies QueryExpression;

  function where(
    field: Extract<QueryExpression, { kind: 'condition' }>['field'],
    operator: Extract<QueryExpression, { kind: 'condition' }>['operator'],
    ...values: (string | number)[]
  ): QueryExpression {
    return { kind: 'condition', field, operator, values };
  }

  async function ids(whereExpr: QueryExpression, extra: Partial<SessionQuery> = {}): Promise<string[]> {
    const found = await repo.querySessions({
      where: whereExpr,
      sort: [{ field: 'sessionStartDate', order: 'ASC' }],
      offset: 0,
      limit: 1000,
      ...extra,
    });
    return found.map((s) => s.sessionId);
  }

  const cases: [string, QueryExpression, string[]][] = [
    [
      'sessionStartDate between (inclusive)',
      where('sessionStartDate', 'between', 2000, 4000),
      ['s2', 's3', 's4'],
    ],
    [
      'sessionStartDate between numeric strings',
      where('sessionStartDate', 'between', '2000', '4000'),
      ['s2', 's3', 's4'],
    ],
    ['sessionStartDate greaterThan', where('sessionStartDate', 'greaterThan', 4000), ['s5', 's6']],
    ['sessionStartDate lessThan', where('sessionStartDate', 'lessThan', 2000), ['s1']],
    ['sessionStartDate equals', where('sessionStartDate', 'equals', 3000), ['s3']],
    ['sessionStartDate notEquals', where('sessionStartDate', 'notEquals', 5000), ['s1', 's2', 's3', 's4']],
    ['sessionState equals', where('sessionState', 'equals', 'ACTIVE'), ['s3']],
    ['sessionState notEquals', where('sessionState', 'notEquals', 'CLOSED_NORMAL'), ['s3', 's4', 's5']],
    ['sessionState contains', where('sessionState', 'contains', 'CLOSED'), ['s1', 's2', 's4', 's6']],
    ['sessionState startsWith', where('sessionState', 'startsWith', 'CLOSED_E'), ['s4']],
    [
      'sessionDuration greaterThan skips ACTIVE',
      where('sessionDuration', 'greaterThan', 40_000),
      ['s1', 's4', 's6'],
    ],
    [
      'sessionDuration lessThan skips ACTIVE',
      where('sessionDuration', 'lessThan', 100_000),
      ['s1', 's2', 's5', 's6'],
    ],
    ['sessionDuration equals', where('sessionDuration', 'equals', 30_000), ['s2', 's5']],
    [
      'sessionDuration notEquals skips ACTIVE',
      where('sessionDuration', 'notEquals', 30_000),
      ['s1', 's4', 's6'],
    ],
    ['sessionDuration between', where('sessionDuration', 'between', 30_000, 60_000), ['s1', 's2', 's5']],
    ['ccid equals is case-sensitive', where('ccid', 'equals', 'ccid-1'), []],
    ['ccid equals', where('ccid', 'equals', 'CCID-1'), ['s1']],
    ['ccid contains is case-sensitive', where('ccid', 'contains', 'CCID'), ['s1', 's2', 's6']],
    ['ccid contains a wildcard character literally', where('ccid', 'contains', '*'), ['s4']],
    ['ccid startsWith', where('ccid', 'startsWith', 'X'), ['s4', 's5']],
    ['ccid startsWith a wildcard character literally', where('ccid', 'startsWith', 'X*'), ['s4']],
    ['ccid startsWith [ literally', where('ccid', 'startsWith', '[X'), []],
    ['ccid greaterThan (binary order)', where('ccid', 'greaterThan', 'CCID-5'), ['s3', 's4', 's5', 's6']],
    ['callControllerIP equals', where('callControllerIP', 'equals', '10.0.0.1'), ['s1', 's3', 's5']],
    ['callControllerIP startsWith', where('callControllerIP', 'startsWith', '192.168.'), ['s4']],
    ['callControllerType equals', where('callControllerType', 'equals', 'Cisco-CUCM'), ['s1', 's5']],
    [
      'callControllerType notEquals',
      where('callControllerType', 'notEquals', 'SIP'),
      ['s1', 's2', 's3', 's5'],
    ],
    ['deviceRef equals', where('deviceRef', 'equals', '1000'), ['s1', 's4']],
    ['deviceRef equals a number', where('deviceRef', 'equals', 1000), ['s1', 's4']],
    [
      'deviceRef notEquals: no participant is',
      where('deviceRef', 'notEquals', '1000'),
      ['s2', 's3', 's5', 's6'],
    ],
    ['deviceRef contains', where('deviceRef', 'contains', '555'), ['s3']],
    ['deviceRef startsWith', where('deviceRef', 'startsWith', '+1'), ['s3']],
    ['deviceRef between', where('deviceRef', 'between', '1000', '1001'), ['s1', 's2', 's4']],
    ['deviceRef greaterThan', where('deviceRef', 'greaterThan', '2999'), ['s2', 's5', 's6']],
    ['deviceRef lessThan', where('deviceRef', 'lessThan', '1001'), ['s1', 's3', 's4']],
    ['deviceId equals', where('deviceId', 'equals', 'SEP001'), ['s1']],
    ['deviceId contains', where('deviceId', 'contains', 'SEP'), ['s1', 's2']],
    ['deviceId startsWith is case-sensitive', where('deviceId', 'startsWith', 'sep'), []],
    ['xRefCi equals', where('xRefCi', 'equals', '111'), ['s1']],
    ['xRefCi notEquals', where('xRefCi', 'notEquals', '111'), ['s2', 's3', 's4', 's5', 's6']],
    ['tagName equals ignores case', where('tagName', 'equals', 'important'), ['s1', 's4']],
    ['tagName equals finds track tags', where('tagName', 'equals', 'REVIEW'), ['s2']],
    ['tagName contains ignores case', where('tagName', 'contains', 'PORT'), ['s1', 's4']],
    ['tagName startsWith', where('tagName', 'startsWith', 'Oth'), ['s5']],
    ['tagName notEquals', where('tagName', 'notEquals', 'important'), ['s2', 's3', 's5', 's6']],
    ['codec equals', where('codec', 'equals', 'PCMU'), ['s1', 's4']],
    ['codec notEquals', where('codec', 'notEquals', 'PCMU'), ['s2', 's3', 's5', 's6']],
    ['codec contains', where('codec', 'contains', 'CM'), ['s1', 's2', 's4', 's6']],
    ['trackMediaType equals', where('trackMediaType', 'equals', 'VIDEO'), ['s2']],
    ['empty and matches all', ALL, ['s1', 's2', 's3', 's4', 's5', 's6']],
    ['empty or matches none', { kind: 'or', items: [] }, []],
    [
      'and of a participant and a session field',
      {
        kind: 'and',
        items: [where('deviceRef', 'equals', '1000'), where('sessionState', 'equals', 'CLOSED_NORMAL')],
      },
      ['s1'],
    ],
    [
      'or with a nested and',
      {
        kind: 'or',
        items: [
          where('ccid', 'equals', 'CCID-2'),
          {
            kind: 'and',
            items: [where('tagName', 'equals', 'important'), where('sessionStartDate', 'greaterThan', 2000)],
          },
        ],
      },
      ['s2', 's4'],
    ],
    [
      'and with a nested or over three tables',
      {
        kind: 'and',
        items: [
          where('sessionStartDate', 'between', 1000, 5000),
          {
            kind: 'or',
            items: [
              where('codec', 'equals', 'PCMA'),
              where('trackMediaType', 'equals', 'VIDEO'),
              where('sessionState', 'equals', 'ACTIVE'),
            ],
          },
        ],
      },
      ['s2', 's3', 's6'],
    ],
  ];

  for (const [name, expr, expected] of cases) {
    void it(name, async () => {
      assert.deepStrictEqual(await ids(expr), expected);
    });
  }

  void it('returns whole sessions, equal to those written', async () => {
    const found = await repo.querySessions({
      where: where('ccid', 'equals', 'CCID-2'),
      sort: [],
      offset: 0,
      limit: 10,
    });
    assert.deepStrictEqual(found, [sessions[1]]);
  });

  void it('sorts by start date both ways, ties broken by session id', async () => {
    assert.deepStrictEqual(await ids(ALL), ['s1', 's2', 's3', 's4', 's5', 's6']);
    assert.deepStrictEqual(await ids(ALL, { sort: [{ field: 'sessionStartDate', order: 'DESC' }] }), [
      's6',
      's5',
      's4',
      's3',
      's2',
      's1',
    ]);
  });

  void it('sorts by duration with ACTIVE sessions last in both directions', async () => {
    // s7 is ACTIVE and has no duration yet.
    await repo.createSession(activeSession('s7', { sessionStartDate: 7000 }));
    try {
      const window = where('sessionStartDate', 'between', 4000, 7000);
      assert.deepStrictEqual(await ids(window, { sort: [{ field: 'sessionDuration', order: 'ASC' }] }), [
        's5',
        's6',
        's4',
        's7',
      ]);
      assert.deepStrictEqual(await ids(window, { sort: [{ field: 'sessionDuration', order: 'DESC' }] }), [
        's4',
        's6',
        's5',
        's7',
      ]);
    } finally {
      await repo.closeSession('s7', 'DELETED', 0);
    }
  });

  void it('sorts by ccid in binary order and by state then start date', async () => {
    const window = where('sessionStartDate', 'between', 1000, 5000);
    assert.deepStrictEqual(await ids(window, { sort: [{ field: 'ccid', order: 'ASC' }] }), [
      's1',
      's2',
      's6',
      's4',
      's5',
      's3',
    ]);
    assert.deepStrictEqual(
      await ids(window, {
        sort: [
          { field: 'sessionState', order: 'ASC' },
          { field: 'sessionStartDate', order: 'DESC' },
        ],
      }),
      ['s3', 's4', 's6', 's2', 's1', 's5'],
    );
  });

  void it('pages with offset and limit', async () => {
    const window = where('sessionStartDate', 'between', 1000, 5000);
    assert.deepStrictEqual(await ids(window, { offset: 2, limit: 2 }), ['s3', 's4']);
    assert.deepStrictEqual(await ids(window, { offset: 4, limit: 10 }), ['s5', 's6']);
    assert.deepStrictEqual(await ids(window, { offset: 10, limit: 10 }), []);
    assert.deepStrictEqual(await ids(window, { limit: 0 }), []);
  });

  void it('refuses conditions whose values do not fit', async () => {
    const bad: QueryExpression[] = [
      where('sessionStartDate', 'between', 1000),
      where('sessionStartDate', 'equals', 1, 2),
      where('sessionStartDate', 'equals', 'yesterday'),
      where('sessionStartDate', 'equals', ''),
      where('sessionDuration', 'contains', '1'),
    ];
    for (const expr of bad) {
      await assert.rejects(ids(expr), (error: unknown) => {
        assert.ok(error instanceof DbError);
        assert.equal(error.code, 'VERBATIM_ERR_DB_QUERY_INVALID');
        return true;
      });
    }
    await assert.rejects(ids(ALL, { offset: -1 }), { code: 'VERBATIM_ERR_DB_QUERY_INVALID' });
    await assert.rejects(ids(ALL, { limit: 1.5 }), { code: 'VERBATIM_ERR_DB_QUERY_INVALID' });
  });
});

void describe('openRepository', () => {
  void it('refuses PostgreSQL for now without repeating the URL', async () => {
    await assert.rejects(
      openRepository({ kind: 'postgres', url: 'postgres://u:secret@db/verbatim' }),
      (error: unknown) => {
        assert.ok(error instanceof DbError);
        assert.equal(error.code, 'VERBATIM_ERR_DB_UNSUPPORTED');
        assert.match(error.message, /PostgreSQL support is not available yet/);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
  });

  void it('refuses use after close, and close is idempotent', async () => {
    const repo = await openRepository({ kind: 'sqlite', path: ':memory:' });
    await repo.migrate();
    await repo.close();
    await repo.close();
    await assert.rejects(repo.countUsers(), { code: 'VERBATIM_ERR_DB_CLOSED' });
  });
});
