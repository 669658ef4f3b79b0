import { execFileSync } from 'node:child_process';
import { closeSync, constants, createReadStream, openSync, writeSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { TrackWriter } from '../../../src/media/track-writer.js';
import { WriteBacklog } from '../../../src/media/write-backlog.js';
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
    assert.equal(writer.append(1_020_000, '192.0.2.1', 4000, packet(2)), false);
    await writer.whenWritten();
    assert.equal(errors.length, 1);
    assert.equal(writer.unstored, 2, 'the record of the failed write, and the one after it');
    await assert.rejects(writer.close(), { code: 'EBADF' });
  });

  void it('counts as unstored every record buffered or queued when the file fails, and gives their bytes back', async () => {
    const path = join(dir, 'broken-queue.pcap');
    const backlog = new WriteBacklog(64 * 1024);
    const errors: Error[] = [];
    const writer = await TrackWriter.create(path, DESTINATION, { flushRecords: 3, backlog }, (error) =>
      errors.push(error),
    );
    closeSync(writer.fd);
    // Three records go to the (failing) write, two more wait in the batch buffer.
    for (let n = 1; n <= 5; n++) {
      assert.equal(writer.append(1_000_000 + n * 20_000, '192.0.2.1', 4000, packet(n), 160), true);
    }
    assert.equal(backlog.bytes, 5 * RECORD_BYTES);
    await writer.whenWritten();
    assert.equal(errors.length, 1);
    assert.equal(writer.unstored, 5);
    assert.equal(writer.unstoredPayloadBytes, 5 * 160);
    assert.equal(writer.pendingBytes, 0);
    assert.equal(backlog.bytes, 0, 'a failed writer holds nothing of the backlog');
    assert.equal(writer.append(1_200_000, '192.0.2.1', 4000, packet(6), 160), false);
    assert.equal(writer.unstored, 6);
    assert.equal(backlog.bytes, 0);
    await assert.rejects(writer.close(false), { code: 'EBADF' }); // The descriptor was pulled away.
  });

  void it('holds its unwritten bytes in the backlog it shares, which is back to 0 once every writer drained', async () => {
    const backlog = new WriteBacklog(64 * 1024);
    const writers = await Promise.all(
      ['shared-a.pcap', 'shared-b.pcap'].map((name) =>
        TrackWriter.create(join(dir, name), DESTINATION, { flushRecords: 4, backlog }, fail),
      ),
    );
    for (let n = 1; n <= 10; n++) {
      for (const writer of writers) {
        assert.equal(writer.append(1_000_000 + n * 20_000, '192.0.2.1', 4000, packet(n)), true);
      }
      assert.equal(
        backlog.bytes,
        writers.reduce((sum, writer) => sum + writer.pendingBytes, 0),
      );
    }
    await Promise.all(writers.map((writer) => writer.whenWritten()));
    assert.equal(backlog.bytes, 2 * 2 * RECORD_BYTES, 'two records per writer stay buffered');
    await Promise.all(writers.map((writer) => writer.close()));
    assert.equal(backlog.bytes, 0);
    assert.deepEqual(
      writers.map((writer) => writer.unstored),
      [0, 0],
    );
    for (const name of ['shared-a.pcap', 'shared-b.pcap']) {
      assert.equal((await records(join(dir, name))).length, 10);
    }
  });

  void it('stops queueing at the backlog cap while the disk is stalled, counts what it refused, and stores the rest in order', async () => {
    // A FIFO stands for a stalled disk: once its pipe is full, a write blocks until someone reads.
    const fifo = join(dir, 'stalled.fifo');
    execFileSync('mkfifo', [fifo]);
    // Opened read-write, so the open does not wait for a reader and writes never see EPIPE.
    const fd = openSync(fifo, constants.O_RDWR);
    const cap = 4096;
    const backlog = new WriteBacklog(cap);
    const writer = await TrackWriter.fromDescriptor(
      fd,
      DESTINATION,
      { bufferBytes: 4096, flushRecords: 10, backlog },
      fail,
    );
    // Fill the rest of the pipe through a non-blocking descriptor, so the writer's next write blocks.
    const filler = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    let fillerBytes = 0;
    for (const chunk of [Buffer.alloc(4096, 0xee), Buffer.alloc(1, 0xee)]) {
      for (;;) {
        try {
          fillerBytes += writeSync(filler, chunk);
        } catch (error: unknown) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
            break;
          }
          throw error;
        }
      }
    }

    const accepted: Buffer[] = [];
    let refused = 0;
    const appendMany = (from: number, count: number): void => {
      for (let n = from; n < from + count; n++) {
        const p = packet(n);
        if (writer.append(1_000_000 + n * 20_000, '192.0.2.1', 4000, p)) {
          accepted.push(p);
        } else {
          refused++;
        }
      }
    };
    appendMany(0, 100);
    assert.ok(accepted.length > 0 && refused > 0, `accepted ${accepted.length}, refused ${refused}`);
    assert.ok(backlog.bytes <= cap && backlog.bytes > cap - RECORD_BYTES, `backlog ${backlog.bytes}`);
    assert.equal(writer.pendingBytes, backlog.bytes);
    assert.equal(writer.unstored, refused);
    // Still stalled, later turns of the event loop (and the flush timer) change nothing.
    await new Promise((resolve) => setImmediate(resolve));
    const held = backlog.bytes;
    writer.flush();
    appendMany(100, 100);
    assert.equal(backlog.bytes, held, 'the queue stopped growing at the cap');
    assert.equal(writer.pendingBytes, held);
    assert.equal(writer.unstored, refused);
    assert.equal(accepted.length + refused, 200);

    // The disk comes back: what was accepted reaches the file, and the backlog empties.
    const read = new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      createReadStream(fifo)
        .on('data', (chunk) => chunks.push(chunk as Buffer))
        .on('end', () => resolve(Buffer.concat(chunks)))
        .on('error', reject);
    });
    closeSync(filler);
    // A FIFO cannot be fdatasynced (EINVAL): close without it, as after a failure.
    await writer.close(false);
    assert.equal(backlog.bytes, 0);
    assert.equal(writer.unstored, refused);
    const stream = await read;
    const header = stream.subarray(0, PCAP_GLOBAL_HEADER_BYTES);
    const afterFiller = PCAP_GLOBAL_HEADER_BYTES + fillerBytes;
    assert.ok(stream.subarray(PCAP_GLOBAL_HEADER_BYTES, afterFiller).every((byte) => byte === 0xee));
    const reader = new PcapReader();
    const stored = reader
      .push(Buffer.concat([header, stream.subarray(afterFiller)]))
      .map((p) => Buffer.from(p.payload));
    assert.equal(reader.error, undefined);
    assert.deepEqual(stored, accepted);
  });
});
