import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { policyChangeOf } from '../../../src/cli/storage.js';
import type { VerbatimEvent } from '../../../src/model/events.js';
import type { Session } from '../../../src/model/session.js';
import { checkPolicyChange, isOnLegalHold, policyChangeDetail } from '../../../src/model/storage-policy.js';
import { RetentionService } from '../../../src/storage/retention.js';
import type { StorageSample } from '../../../src/storage/storage-agent.js';
import type { StorageLevel } from '../../../src/storage/storage-thresholds.js';
import { FakeRepository, sampleSession } from '../../support/fake-repository.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_780_000_000_000;

function session(id: string, ageDays: number, extra: Partial<Session> = {}): Session {
  // No track files: removal of absent files counts as done (session-media.ts).
  const base = sampleSession({ sessionId: id, sessionStartDate: NOW - ageDays * DAY, ...extra });
  return { ...base, tracks: base.tracks.map((t) => ({ ...t, mediaPath: '' })) };
}

const hold = (name: string) => [{ tagName: name, tagType: 'USER_DEFINED' as const, tagCreateDate: NOW }];

function retentionOver(repository: FakeRepository, level: StorageLevel = 'NORMAL') {
  const events: VerbatimEvent[] = [];
  const storage = {
    level,
    check: (): Promise<StorageSample | undefined> => Promise.resolve(undefined),
    onSample: () => undefined,
  };
  const retention = new RetentionService({
    store: repository,
    mediaDir: '/nonexistent-media',
    storage,
    events: { publish: (e) => events.push(e) },
    logger: pino({ level: 'silent' }),
    now: () => NOW,
    ageBatch: 2,
  });
  return { retention, events, storage };
}

describe('retention selection', () => {
  it('prunes by age: past the cutoff only, oldest first in batches, never ACTIVE, never on legal hold', async () => {
    const repository = new FakeRepository();
    for (const s of [
      session('d-61', 61),
      session('d-59', 59),
      session('d-90', 90),
      session('d-200', 200),
      session('d-70-held', 70, { tags: hold('LEGALHOLD') }),
      session('d-80-track-held', 80),
      session('d-100-active', 100, { sessionState: 'ACTIVE' }),
    ]) {
      repository.sessions.set(s.sessionId, s);
    }
    // A hold on a track's own tag list counts too.
    const trackHeld = repository.sessions.get('d-80-track-held');
    assert.ok(trackHeld !== undefined);
    repository.sessions.set('d-80-track-held', {
      ...trackHeld,
      tracks: trackHeld.tracks.map((t, i) => (i === 0 ? { ...t, tags: hold('legalhold') } : t)),
    });
    const { retention, events } = retentionOver(repository);
    await retention.pruneByAgeNow();
    const prunedIds = events.flatMap((e) => (e.eventAction === 'PRUNED' ? [[...e.sessionIds]] : []));
    assert.deepEqual(prunedIds, [['d-200', 'd-90'], ['d-61']]);
    assert.equal(repository.sessions.get('d-59')?.prunedAt, undefined);
    assert.equal(repository.sessions.get('d-70-held')?.prunedAt, undefined);
    assert.equal(repository.sessions.get('d-80-track-held')?.prunedAt, undefined);
    assert.equal(repository.sessions.get('d-100-active')?.prunedAt, undefined);
    assert.equal(repository.sessions.get('d-61')?.prunedAt, NOW);
  });

  it('follows a changed age, and prunes nothing in retention priority', async () => {
    const repository = new FakeRepository();
    repository.sessions.set('d-20', session('d-20', 20));
    const { retention, events } = retentionOver(repository);
    await retention.setPolicy({ mode: 'RETENTION_PRIORITY', maxAgeDays: 10 }, 'test');
    await retention.pruneByAgeNow();
    assert.deepEqual(events, []);
    await retention.setPolicy({ mode: 'RECORDING_PRIORITY' }, 'test');
    await retention.settled();
    assert.equal(repository.sessions.get('d-20')?.prunedAt, NOW);
  });

  it('refuses new calls by mode: retention from CRITICAL, recording only at EMERGENCY', async () => {
    const { retention, storage } = retentionOver(new FakeRepository());
    const table: [string, StorageLevel, boolean][] = [];
    for (const mode of ['RECORDING_PRIORITY', 'RETENTION_PRIORITY'] as const) {
      await retention.setPolicy({ mode }, 'test');
      for (const level of ['NORMAL', 'LOW', 'CRITICAL', 'EMERGENCY'] as const) {
        storage.level = level;
        table.push([mode, level, retention.refusesNewCalls()]);
      }
    }
    await retention.close();
    assert.deepEqual(
      table.filter(([, , refused]) => refused).map(([mode, level]) => `${mode} ${level}`),
      ['RECORDING_PRIORITY EMERGENCY', 'RETENTION_PRIORITY CRITICAL', 'RETENTION_PRIORITY EMERGENCY'],
    );
  });
});

describe('storage policy', () => {
  it('checks changes and compares the legal hold tag without case', () => {
    assert.equal(checkPolicyChange({ maxAgeDays: 1 }), undefined);
    assert.equal(checkPolicyChange({ maxAgeDays: 3650 }), undefined);
    assert.match(checkPolicyChange({ maxAgeDays: 3651 }) ?? '', /1 to 3650/);
    assert.match(checkPolicyChange({ maxAgeDays: 1.5 }) ?? '', /whole number/);
    assert.match(checkPolicyChange({ legalHoldTag: ' Hold' }) ?? '', /legalHoldTag/);
    assert.equal(isOnLegalHold({ tags: hold('LEGALhold'), tracks: [] }, 'LegalHold'), true);
    assert.equal(isOnLegalHold({ tags: hold('LegalHolds'), tracks: [] }, 'LegalHold'), false);
    assert.deepEqual(
      policyChangeDetail(
        { mode: 'RECORDING_PRIORITY', maxAgeDays: 60, deleteMetadata: false, legalHoldTag: 'LegalHold' },
        { mode: 'RECORDING_PRIORITY', maxAgeDays: 30, deleteMetadata: true, legalHoldTag: 'LegalHold' },
      ),
      { maxAgeDays: '60 -> 30', deleteMetadata: 'false -> true' },
    );
  });

  it('reads the command line options of verbatim storage policy set', () => {
    assert.deepEqual(
      policyChangeOf({ mode: 'Retention', maxAgeDays: '30', deleteMetadata: 'yes', legalHoldTag: 'Hold' }),
      { mode: 'RETENTION_PRIORITY', maxAgeDays: 30, deleteMetadata: true, legalHoldTag: 'Hold' },
    );
    assert.deepEqual(policyChangeOf({ mode: 'recording-priority' }), { mode: 'RECORDING_PRIORITY' });
    assert.throws(() => policyChangeOf({}), /nothing to change/);
    assert.throws(() => policyChangeOf({ maxAgeDays: '0' }), /1-3650/);
    assert.throws(() => policyChangeOf({ deleteMetadata: 'maybe' }), /neither yes nor no/);
  });
});
