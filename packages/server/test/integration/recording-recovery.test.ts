import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import {
  PCAP_GLOBAL_HEADER_BYTES,
  PCAP_RECORD_OVERHEAD_BYTES,
  encodePcapGlobalHeader,
  encodePcapRecord,
} from '../../src/protocol/container/pcap.js';
import { TrackWriter } from '../../src/media/track-writer.js';
import { EMPTY_TRACK_STATS } from '../../src/model/session.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { recoverInterruptedSessions } from '../../src/recording/recovery.js';
import { createRecordCounter } from '../../src/media/record-counter.js';
import { FakeRepository, sampleSession } from '../support/fake-repository.js';
import { sessionHealth } from '../../src/model/session-health.js';
import type { Tag } from '../../src/model/session.js';

/** Track files as a crash leaves them, recovered at the next start. */
describe('recoverInterruptedSessions', () => {
  /** Recovery as a node runs it at start; `onlyNodeId` as on a database shared with other nodes. */
  function recover(repository: FakeRepository, onlyNodeId?: string): Promise<string[]> {
    return recoverInterruptedSessions({
      repository,
      mediaDir,
      logger: pino({ level: 'silent' }),
      countRecords: createRecordCounter,
      ...(onlyNodeId === undefined ? {} : { onlyNodeId }),
    });
  }

  let mediaDir: string;

  before(async () => {
    mediaDir = await mkdtemp(join(tmpdir(), 'verbatim-recovery-'));
  });

  after(async () => {
    await rm(mediaDir, { recursive: true, force: true });
  });

  /** A track of `count` 20 ms packets from `startMs`, optionally with half a record torn off the end. */
  async function writeTrack(
    path: string,
    startMs: number,
    count: number,
    torn: boolean,
    /** When packet i arrived, ms after `startMs` (every 20 ms unless given), and its payload. */
    shape: { readonly atMs?: (i: number) => number; readonly payload?: Uint8Array } = {},
  ): Promise<number> {
    const rtp = (i: number): Uint8Array =>
      serializeRtpPacket(
        { marker: false, payloadType: 0, sequenceNumber: i, timestamp: i * 160, ssrc: 7 },
        shape.payload ?? new Uint8Array(160),
      );
    const recordBytes = PCAP_RECORD_OVERHEAD_BYTES + 172;
    const bytes = new Uint8Array(PCAP_GLOBAL_HEADER_BYTES + count * recordBytes + (torn ? recordBytes : 0));
    bytes.set(encodePcapGlobalHeader(), 0);
    let offset = PCAP_GLOBAL_HEADER_BYTES;
    for (let i = 0; i < count + (torn ? 1 : 0); i++) {
      offset += encodePcapRecord(bytes, offset, {
        timestampUs: (startMs + (shape.atMs?.(i) ?? i * 20)) * 1000,
        sourceAddress: '10.0.0.9',
        sourcePort: 4000,
        destinationAddress: '10.0.0.1',
        destinationPort: 30000,
        payload: rtp(i),
      });
    }
    const wholeBytes = PCAP_GLOBAL_HEADER_BYTES + count * recordBytes;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, torn ? bytes.subarray(0, wholeBytes + Math.floor(recordBytes / 2)) : bytes);
    return wholeBytes;
  }

  it('closes ACTIVE sessions as CLOSED_ERROR, cuts torn records and stores what the tracks hold', async () => {
    const repository = new FakeRepository();
    const start = 1_700_000_000_000;
    const session = sampleSession({
      sessionId: 'c0ffee0000000001',
      sessionState: 'ACTIVE',
      sessionStartDate: start,
    });
    await repository.createSession(session);
    const [near, far] = session.tracks;
    assert.ok(near && far);
    const nearWhole = await writeTrack(join(mediaDir, near.mediaPath), start + 100, 50, true);
    const farWhole = await writeTrack(join(mediaDir, far.mediaPath), start + 120, 100, false);

    const recovered = await recover(repository);

    assert.deepEqual(recovered, [session.sessionId]);
    assert.equal((await stat(join(mediaDir, near.mediaPath))).size, nearWhole, 'the torn record was cut off');
    assert.equal(
      (await readFile(join(mediaDir, far.mediaPath))).length,
      farWhole,
      'a whole file is left as it is',
    );
    const closed = await repository.getSession(session.sessionId);
    assert.equal(closed?.sessionState, 'CLOSED_ERROR');
    // The far track's last packet is the session's last: 120 ms + 99 × 20 ms after the start.
    assert.equal(closed.sessionDuration, 120 + 99 * 20);
    assert.deepEqual(
      closed.tracks.map((t) => [t.stats.packets, t.stats.bytes, t.trackDuration]),
      [
        [50, 50 * 160, 100 + 49 * 20],
        [100, 100 * 160, 120 + 99 * 20],
      ],
    );
    // Each track is digested as it stays on disk: after the torn record was cut.
    for (const track of closed.tracks) {
      const bytes = await readFile(join(mediaDir, track.mediaPath));
      assert.deepEqual(
        [track.mediaDigest?.sha256, track.mediaDigest?.bytes],
        [createHash('sha256').update(bytes).digest('hex'), bytes.length],
      );
    }
    assert.equal(closed.tracks[0]?.mediaDigest?.bytes, nearWhole);
  });

  it('counts every packet a live writer handed to its file before a kill -9, not the stale row', async () => {
    const repository = new FakeRepository();
    const start = 1_700_000_100_000;
    const sample = sampleSession({
      sessionId: 'c0ffee0000000003',
      sessionState: 'ACTIVE',
      sessionStartDate: start,
    });
    // The row as the killed node last wrote it: a few packets into the call.
    const staleStats = {
      ...EMPTY_TRACK_STATS,
      packets: 10,
      bytes: 1600,
      firstPacketAt: start,
      lastPacketAt: start + 180,
    };
    const session = { ...sample, tracks: sample.tracks.map((track) => ({ ...track, stats: staleStats })) };
    await repository.createSession(session);
    const flushedCounts = [75, 40];
    const writers: TrackWriter[] = [];
    try {
      for (const [index, track] of session.tracks.entries()) {
        const writer = await TrackWriter.create(
          join(mediaDir, track.mediaPath),
          { address: '10.0.0.1', port: 30000 + index * 2 },
          {},
          (error) => assert.fail(error),
        );
        writers.push(writer);
        const rtp = (i: number): Buffer =>
          Buffer.from(
            serializeRtpPacket(
              { marker: false, payloadType: 0, sequenceNumber: i, timestamp: i * 160, ssrc: 9 + index },
              new Uint8Array(160),
            ),
          );
        const flushed = flushedCounts[index] ?? 0;
        for (let i = 0; i < flushed; i++) {
          writer.append((start + 20 + i * 20) * 1000, '10.0.0.9', 4000 + index * 2, rtp(i));
        }
        // What serving the WAV of an ACTIVE session does: hand the batch to the file and wait.
        writer.flush();
        await writer.whenWritten();
        // Then a few more packets stay in the batch: they are the ones a kill -9 loses.
        for (let i = flushed; i < flushed + 4; i++) {
          writer.append((start + 20 + i * 20) * 1000, '10.0.0.9', 4000 + index * 2, rtp(i));
        }
      }

      // The node is killed here: no close, no fdatasync; the written records are in the page cache.
      const recovered = await recover(repository);

      assert.deepEqual(recovered, [session.sessionId]);
      const closed = await repository.getSession(session.sessionId);
      assert.equal(closed?.sessionState, 'CLOSED_ERROR');
      assert.deepEqual(
        closed.tracks.map((t) => [t.stats.packets, t.stats.bytes, t.stats.lastPacketAt, t.trackDuration]),
        flushedCounts.map((count) => [count, count * 160, start + count * 20, count * 20]),
        'the statistics of what the files hold, not the stale row',
      );
      assert.equal(closed.sessionDuration, 75 * 20, 'the session ends at its last stored packet');
      for (const [index, track] of session.tracks.entries()) {
        assert.equal(
          (await stat(join(mediaDir, track.mediaPath))).size,
          PCAP_GLOBAL_HEADER_BYTES + (flushedCounts[index] ?? 0) * (PCAP_RECORD_OVERHEAD_BYTES + 172),
          'nothing was cut off a file of whole records',
        );
      }
    } finally {
      for (const writer of writers) {
        closeSync(writer.fd);
      }
    }
  });

  it('computes the health from the files: gaps (not during a hold), silence, a one-sided call', async () => {
    const repository = new FakeRepository();
    const start = 1_700_000_100_000;
    const base = sampleSession({
      sessionId: 'c0ffee0000000003',
      sessionState: 'ACTIVE',
      sessionStartDate: start,
    });
    // Track 0 was held from 2 s to 5 s (its tags), track 1 never.
    const holdTag = (tagName: string, atMs: number): Tag => ({
      tagName,
      tagType: 'SYSTEM_DEFINED',
      tagCreateDate: start + atMs,
      tagOffset: atMs,
      trackNumber: 0,
    });
    const session = {
      ...base,
      tracks: base.tracks.map((t) =>
        t.trackNumber === 0
          ? { ...t, tags: [holdTag('TrackInactive', 2000), holdTag('TrackActive', 5000)] }
          : t,
      ),
    };
    await repository.createSession(session);
    const [near, far] = session.tracks;
    assert.ok(near && far);
    // Near: packets for 1.5 s, silent through the hold, from 5.1 s to 6 s, a 1.5 s hole, 8 s to 9 s.
    const nearTimes = [
      ...Array.from({ length: 75 }, (_, i) => i * 20),
      ...Array.from({ length: 45 }, (_, i) => 5100 + i * 20),
      ...Array.from({ length: 50 }, (_, i) => 7400 + i * 20),
    ];
    await writeTrack(join(mediaDir, near.mediaPath), start, nearTimes.length, false, {
      atMs: (i) => nearTimes[i] ?? 0,
    });
    // Far: 9 s of µ-law digital silence (0xff), without a break.
    await writeTrack(join(mediaDir, far.mediaPath), start, 450, false, {
      payload: new Uint8Array(160).fill(0xff),
    });

    await recover(repository);
    const closed = await repository.getSession(session.sessionId);
    assert.ok(closed !== undefined);
    const [nearStats, farStats] = closed.tracks.map((t) => t.stats);
    // Before the hold: 1.48 s to 2 s is no gap; the hold is none; 5.98 s to 7.4 s is.
    assert.deepEqual([nearStats?.gaps, nearStats?.gapMs], [1, 1420]);
    assert.equal(nearStats?.content, 'audio');
    assert.deepEqual([farStats?.gaps, farStats?.content], [undefined, 'silence']);
    assert.deepEqual(
      sessionHealth(closed).problems.map((p) => p.kind),
      ['gap', 'silent-track', 'one-sided'],
    );
  });

  it('still closes a session whose track file is missing', async () => {
    const repository = new FakeRepository();
    const session = sampleSession({ sessionId: 'c0ffee0000000002', sessionState: 'ACTIVE' });
    await repository.createSession(session);
    await recover(repository);
    assert.equal((await repository.getSession(session.sessionId))?.sessionState, 'CLOSED_ERROR');
  });

  it("leaves another node's ACTIVE sessions alone in a shared database, and takes them all in its own", async () => {
    const sessions = () => [
      sampleSession({ sessionId: 'c0ffee0000000003', sessionState: 'ACTIVE' }),
      sampleSession({ sessionId: 'c0ffee0000000004', sessionState: 'ACTIVE', nodeId: 'node-b' }),
    ];
    const shared = new FakeRepository();
    for (const session of sessions()) {
      await shared.createSession(session);
    }
    // sampleSession's node is node-a.
    assert.deepEqual(await recover(shared, 'node-a'), ['c0ffee0000000003']);
    assert.equal((await shared.getSession('c0ffee0000000003'))?.sessionState, 'CLOSED_ERROR');
    assert.equal((await shared.getSession('c0ffee0000000004'))?.sessionState, 'ACTIVE');

    // SQLite: one node opens the file, whatever id its sessions were recorded under.
    const own = new FakeRepository();
    for (const session of sessions()) {
      await own.createSession(session);
    }
    assert.deepEqual(await recover(own), ['c0ffee0000000003', 'c0ffee0000000004']);
  });
});
