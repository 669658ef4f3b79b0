import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { isStorageFailure } from '../../../src/model/storage-failure.js';
import {
  databaseFailureReason,
  trackWriteFailureReason,
  WriteHealth,
} from '../../../src/recording/write-health.js';
import { answered, cucmFrom, invite, offerCucmCall, setUp } from '../../support/recording-fakes.js';
import { waitFor } from '../../support/wait.js';

/**
 * Issue 13 point 3 in the recording domain, over the fakes: a track write that fails ends the
 * session CLOSED_ERROR with the disk's reason and BYE on its dialogs; a database write that fails
 * for the disk is retried until it is stored; while the node cannot write, new INVITEs get 503
 * `storage-unwritable`, and it takes calls again by itself once a probe write succeeds.
 */

const silent = pino({ level: 'silent' });

/** A write health whose probe fails until the test says the disk has room again. */
function controlledHealth(): { health: WriteHealth; disk: { full: boolean }; probes: () => number } {
  const disk = { full: true };
  let probes = 0;
  const health = new WriteHealth({
    mediaDir: '/nonexistent',
    log: silent,
    probeIntervalMs: 10,
    probe: () => {
      probes++;
      return disk.full
        ? Promise.reject(Object.assign(new Error('full'), { code: 'ENOSPC' }))
        : Promise.resolve();
    },
  });
  return { health, disk, probes: () => probes };
}

function sqliteFull(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

describe('write failures', () => {
  it('names the reason from the errno code and tells the disk’s database errors from the others', () => {
    assert.equal(trackWriteFailureReason('ENOSPC'), 'disk-full');
    assert.equal(trackWriteFailureReason('EDQUOT'), 'disk-full');
    assert.equal(trackWriteFailureReason('EIO'), 'write-failed: EIO');
    assert.equal(trackWriteFailureReason('EROFS'), 'write-failed: EROFS');
    for (const code of ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_READONLY', 'EROFS']) {
      assert.equal(isStorageFailure(Object.assign(new Error(code), { code })), true, code);
    }
    for (const error of [
      Object.assign(new Error('c'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }),
      Object.assign(new Error('e'), { code: 'SQLITE_ERROR' }),
      new Error('no code'),
      'text',
    ]) {
      assert.equal(isStorageFailure(error), false, String(error));
    }
    assert.equal(databaseFailureReason(sqliteFull()), 'disk-full');
    assert.equal(
      databaseFailureReason(Object.assign(new Error('io'), { code: 'SQLITE_IOERR_WRITE' })),
      'write-failed: SQLITE_IOERR_WRITE',
    );
  });

  it('ends the session CLOSED_ERROR with write-failed: EIO and BYE on both legs when a track write fails', async () => {
    const { health, disk } = controlledHealth();
    const { service, media, repository } = setUp({ writeHealth: health });
    const { near, far } = await offerCucmCall(service);
    media.emit({
      type: 'stream-error',
      streamId: 'session1-0',
      message: 'EIO: i/o error, write',
      code: 'EIO',
    });
    await waitFor(() => repository.sessions.get('session1')?.sessionState !== 'ACTIVE', {
      what: 'the close',
    });
    assert.equal(near.byes + far.byes, 2, 'both dialogs get BYE');
    const stored = repository.sessions.get('session1');
    assert.equal(stored?.sessionState, 'CLOSED_ERROR');
    assert.equal(stored.closeReason, 'write-failed: EIO');
    assert.equal(stored.tracks.length, 2);
    for (const track of stored.tracks) {
      assert.ok(track.trackDuration !== undefined, `track ${track.trackNumber} has its end stored`);
    }

    // While the disk cannot be written, a new call gets 503 with Retry-After, counted by reason.
    assert.deepEqual(
      service.writeHealth().failing.map((f) => [f.target, f.reason]),
      [['media', 'write-failed: EIO']],
    );
    const refused = invite(cucmFrom('x-nearend', '19301700'));
    service.onInvite(refused);
    await answered(refused);
    assert.equal(refused.rejection?.status, 503);
    assert.ok(refused.rejection.headers.some((h) => h.name === 'Retry-After'));
    assert.equal(service.admission().refusals['storage-unwritable'], 1);

    // Once a probe write succeeds, calls are taken again without anyone's help.
    disk.full = false;
    await waitFor(() => service.writeHealth().writable, { what: 'the probe to succeed' });
    const taken = invite(cucmFrom('x-nearend', '19301800'));
    service.onInvite(taken);
    await answered(taken);
    assert.ok(taken.answer !== undefined, 'the new call is answered');
    await service.close();
  });

  it('names a full disk disk-full', async () => {
    const { health } = controlledHealth();
    const { service, media, repository } = setUp({ writeHealth: health });
    await offerCucmCall(service);
    media.emit({ type: 'stream-error', streamId: 'session1-1', message: 'ENOSPC', code: 'ENOSPC' });
    await waitFor(() => repository.sessions.get('session1')?.sessionState !== 'ACTIVE', {
      what: 'the close',
    });
    assert.equal(repository.sessions.get('session1')?.closeReason, 'disk-full');
    await service.close();
  });

  it('retries a database write that fails for the disk until it is stored, refusing calls meanwhile', async () => {
    const { health } = controlledHealth();
    const { service, repository } = setUp({ writeHealth: health });
    const { near, far } = await offerCucmCall(service);
    const close = repository.closeSession.bind(repository);
    let failures = 3;
    repository.closeSession = (...args) => {
      if (failures > 0) {
        failures--;
        return Promise.reject(sqliteFull());
      }
      return close(...args);
    };
    near.delegate!.onBye!({
      type: 'request',
      method: 'BYE',
      requestUri: 'sip:x',
      headers: [],
      body: new Uint8Array(),
    });
    far.delegate!.onBye!({
      type: 'request',
      method: 'BYE',
      requestUri: 'sip:x',
      headers: [],
      body: new Uint8Array(),
    });
    await waitFor(() => failures < 3, { what: 'the first failed close' });
    assert.equal(service.writeHealth().writable, false);
    const refused = invite(cucmFrom('x-nearend', '19301900'));
    service.onInvite(refused);
    await answered(refused);
    assert.equal(refused.rejection?.status, 503);

    await waitFor(() => repository.sessions.get('session1')?.sessionState === 'CLOSED_NORMAL', {
      what: 'the close to be stored',
    });
    assert.equal(failures, 0);
    assert.equal(service.writeHealth().writable, true, 'the stored write shows the database writable');
    assert.equal(service.writeHealth().databaseRetries, 3);
    assert.equal(service.counters.databaseErrors, 0, 'nothing was lost');
    await service.close();
  });

  it('does not retry a database error that is not the disk’s', async () => {
    const { service, repository } = setUp();
    const { near, far } = await offerCucmCall(service);
    let attempts = 0;
    repository.closeSession = () => {
      attempts++;
      return Promise.reject(Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT_CHECK' }));
    };
    near.delegate!.onBye!({
      type: 'request',
      method: 'BYE',
      requestUri: 'sip:x',
      headers: [],
      body: new Uint8Array(),
    });
    far.delegate!.onBye!({
      type: 'request',
      method: 'BYE',
      requestUri: 'sip:x',
      headers: [],
      body: new Uint8Array(),
    });
    await waitFor(() => service.counters.databaseErrors > 0, { what: 'the failed close' });
    assert.equal(attempts, 1);
    assert.equal(service.counters.databaseErrors, 1);
    assert.equal(service.writeHealth().writable, true);
    await service.close();
  });

  it('keeps the media failing while the storage agent saw the partition full, until a probe succeeds', async () => {
    const { health, disk, probes } = controlledHealth();
    health.noteFailure('media', 'partition full');
    assert.equal(health.writable, false);
    await waitFor(() => probes() >= 2, { what: 'probes while full' });
    assert.equal(health.writable, false);
    disk.full = false;
    await waitFor(() => health.writable, { what: 'a probe to succeed' });
    assert.deepEqual(health.status().failures, { media: 1, database: 0 });
    health.close();
  });
});
