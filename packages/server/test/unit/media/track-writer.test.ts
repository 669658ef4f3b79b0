import { closeSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { TrackWriter } from '../../../src/media/track-writer.js';
import { PCAP_GLOBAL_HEADER_BYTES, PcapReader } from '../../../src/protocol/container/pcap.js';

const DESTINATION = { address: '192.0.2.10', port: 30000 };
const RECORD_BYTES = 44 + 172; // pcap record overhead + 20 ms G.711 RTP packet.

function packet(n: number, size = 172): Buffer {
  return Buffer.alloc(size, n & 0xff);
}

async function records(path: string): Promise<Buffer[]> {
  const reader = new PcapReader();
  const out = reader.push(await readFile(path)).map((p) => Buffer.from(p.payload));
  assert.equal(reader.error, undefined);
  return out;
}

void describe('TrackWriter', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-writer-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function fail(error: Error): never {
    throw error;
  }

  void it('creates the directory and the file with its global header at once', async () => {
    const path = join(dir, 'a', 'b', 'header.pcap');
    const writer = await TrackWriter.create(path, DESTINATION, {}, fail);
    assert.equal((await stat(path)).size, PCAP_GLOBAL_HEADER_BYTES);
    await writer.close();
  });

  void it('refuses to overwrite an existing file', async () => {
    const path = join(dir, 'existing.pcap');
    await writeFile(path, 'recording');
    await assert.rejects(TrackWriter.create(path, DESTINATION, {}, fail), { code: 'EEXIST' });
    assert.equal(await readFile(path, 'utf8'), 'recording');
  });

  void it('writes a batch once it holds flushRecords records, the rest on flush', async () => {
    const path = join(dir, 'batch.pcap');
    const writer = await TrackWriter.create(path, DESTINATION, { bufferBytes: 4096, flushRecords: 3 }, fail);
    writer.append(1_000_000, '192.0.2.1', 4000, packet(1));
    writer.append(1_020_000, '192.0.2.1', 4000, packet(2));
    await writer.whenWritten();
    assert.equal((await stat(path)).size, PCAP_GLOBAL_HEADER_BYTES, 'two records stay buffered');
    assert.equal(writer.pendingBytes, 2 * RECORD_BYTES);
    writer.append(1_040_000, '192.0.2.1', 4000, packet(3));
    assert.equal(writer.pendingBytes, 3 * RECORD_BYTES, 'the batch is being written');
    await writer.whenWritten();
    assert.equal(writer.pendingBytes, 0);
    assert.equal((await stat(path)).size, PCAP_GLOBAL_HEADER_BYTES + 3 * RECORD_BYTES);
    writer.append(1_060_000, '192.0.2.1', 4000, packet(4));
    writer.flush();
    await writer.whenWritten();
    assert.equal((await stat(path)).size, PCAP_GLOBAL_HEADER_BYTES + 4 * RECORD_BYTES);
    await writer.close();
    assert.deepEqual(await records(path), [packet(1), packet(2), packet(3), packet(4)]);
  });

  void it('keeps arrival order when the buffer fills and for records larger than a batch', async () => {
    const path = join(dir, 'order.pcap');
    const writer = await TrackWriter.create(path, DESTINATION, { bufferBytes: 512, flushRecords: 100 }, fail);
    const sent = [packet(1), packet(2), packet(3, 1400), packet(4), packet(5), packet(6)];
    sent.forEach((p, i) => writer.append(2_000_000 + i * 20_000, '192.0.2.1', 4000, p));
    await writer.close();
    assert.deepEqual(await records(path), sent);
  });

  void it('stores the arrival time, source and destination of each record', async () => {
    const path = join(dir, 'fields.pcap');
    const writer = await TrackWriter.create(path, DESTINATION, {}, fail);
    writer.append(1_700_000_000_123_456, '198.51.100.7', 16384, packet(9));
    await writer.close();
    const reader = new PcapReader();
    const [only] = reader.push(await readFile(path));
    assert.ok(only !== undefined);
    assert.equal(only.timestampUs, 1_700_000_000_123_456);
    assert.equal(only.sourceAddress, '198.51.100.7');
    assert.equal(only.sourcePort, 16384);
    assert.equal(only.destinationAddress, '192.0.2.10');
    assert.equal(only.destinationPort, 30000);
  });

  void it('reports a write error once and ignores later appends', async () => {
    const path = join(dir, 'broken.pcap');
    const errors: Error[] = [];
    const writer = await TrackWriter.create(path, DESTINATION, { flushRecords: 1 }, (error) =>
      errors.push(error),
    );
    // Pull the descriptor away underneath the writer, as a failing disk would fail the write.
    closeSync(writer.fd);
    writer.append(1_000_000, '192.0.2.1', 4000, packet(1));
    await writer.whenWritten();
    assert.equal(errors.length, 1);
    assert.equal(writer.failed, true);
    writer.append(1_020_000, '192.0.2.1', 4000, packet(2));
    await writer.whenWritten();
    assert.equal(errors.length, 1);
    await assert.rejects(writer.close(), { code: 'EBADF' });
  });
});
