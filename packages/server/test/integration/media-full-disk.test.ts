import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { TrackWriter } from '../../src/media/track-writer.js';
import { PCAP_GLOBAL_HEADER_BYTES, PcapReader } from '../../src/protocol/container/pcap.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

/**
 * Issue 13: a track file on a partition that fills. The write that meets the full disk is short
 * (the bytes that fit in the file's last page) and then fails with ENOSPC; the writer cuts the
 * file back to the last batch written whole, so what was stored before stays a valid capture
 * with no torn record, and the records that were not stored are counted.
 */

const DESTINATION = { address: '192.0.2.10', port: 30000 };
const RECORD_BYTES = 16 + 20 + 8 + 172; // pcap record header, IPv4, UDP, a 20 ms G.711 RTP packet.
const BATCH_RECORDS = 10;

/** Takes every whole page left on the partition. */
async function fillUp(path: string): Promise<void> {
  const file = await open(path, 'w');
  try {
    const page = Buffer.alloc(4096, 0x55);
    for (;;) {
      try {
        await file.write(page);
      } catch (error: unknown) {
        assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
        return;
      }
    }
  } finally {
    await file.close();
  }
}

describe('TrackWriter on a full partition', () => {
  let dir: string;
  const mount = { tmpfs: undefined as Tmpfs | undefined, skip: '' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-track-full-'));
    const mounted = await mountTmpfs(dir, 256 * 1024);
    if (typeof mounted === 'string') {
      mount.skip = mounted;
    } else {
      mount.tmpfs = mounted;
    }
  });

  after(async () => {
    await mount.tmpfs?.unmount();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every batch written whole, cuts the torn one off and counts the rest as unstored', async (t) => {
    if (mount.tmpfs === undefined) {
      t.skip(mount.skip);
      return;
    }
    const path = join(dir, 'track0.pcap');
    const errors: Error[] = [];
    const writer = await TrackWriter.create(
      path,
      DESTINATION,
      { bufferBytes: 4096, flushRecords: BATCH_RECORDS },
      (error) => errors.push(error),
    );
    // The file's first page is allocated; then the partition has no page left.
    await fillUp(join(dir, 'filler.bin'));

    // The first batch fits in the file's first page; the second crosses into a page there is
    // none of: part of it is written, then ENOSPC.
    for (let n = 0; n < 3 * BATCH_RECORDS; n++) {
      writer.append(1_000_000 + n * 20_000, '192.0.2.1', 4000, Buffer.alloc(172, n));
      if (n === BATCH_RECORDS - 1) {
        await writer.whenWritten();
      }
    }
    await writer.whenWritten();
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as NodeJS.ErrnoException).code, 'ENOSPC');
    assert.equal(writer.failed, true);
    await writer.close(false);

    assert.equal((await stat(path)).size, PCAP_GLOBAL_HEADER_BYTES + BATCH_RECORDS * RECORD_BYTES);
    const reader = new PcapReader();
    const stored = reader.push(await readFile(path));
    assert.equal(reader.error, undefined);
    assert.equal(reader.end().truncatedTailBytes, 0, 'no torn record');
    assert.deepEqual(
      stored.map((record) => record.payload[0]),
      Array.from({ length: BATCH_RECORDS }, (_, n) => n),
    );
    assert.equal(writer.unstored, 2 * BATCH_RECORDS);
  });
});
