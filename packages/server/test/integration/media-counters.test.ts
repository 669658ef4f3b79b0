import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { pino } from 'pino';

import type { RtpMediaEngine } from '../../src/media/create-media-engine.js';
import type { MediaCounters, MediaLoad } from '../../src/media/media-engine.js';
import type { TrackStats } from '../../src/model/session.js';
import { PcapReader } from '../../src/protocol/container/pcap.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { boundUdpSocket, closeSockets, loopbackMediaEngine, statsReach } from '../support/loopback-media.js';
import { waitFor } from '../support/wait.js';

// Where every packet sent to a stream goes, with real sockets: stored, dropped by the kernel
// (receive buffer full while the process could not run), or still queued when it closed.

function rtp(seq: number): Uint8Array {
  return serializeRtpPacket(
    { marker: false, payloadType: 8, sequenceNumber: seq, timestamp: seq * 160, ssrc: 0x5eed },
    new Uint8Array(160).fill(seq & 0xff),
  );
}

/** Sends packets 1..count to `port` as fast as the socket takes them; resolves once all left. */
function sendBurst(socket: Socket, port: number, count: number): Promise<void> {
  const sent: Promise<void>[] = [];
  for (let seq = 1; seq <= count; seq++) {
    sent.push(
      new Promise((resolve, reject) => {
        socket.send(rtp(seq), port, '127.0.0.1', (error) => (error ? reject(error) : resolve()));
      }),
    );
  }
  return Promise.all(sent).then(() => undefined);
}

async function storedSequenceNumbers(filePath: string): Promise<number[]> {
  const reader = new PcapReader();
  const packets = reader.push(await readFile(filePath));
  assert.equal(reader.error, undefined);
  return packets.map((p) => p.payload[2]! * 256 + p.payload[3]!);
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => first + index);
}

/** The media engine of test/support/media-engine-child.ts, in a process the test can stop. */
class EngineChild {
  readonly #child: ChildProcess;
  readonly #replies: unknown[] = [];
  #waiter: (() => void) | undefined;

  constructor() {
    const script = new URL('../support/media-engine-child.ts', import.meta.url);
    this.#child = fork(script, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message) => {
      this.#replies.push(message);
      this.#waiter?.();
    });
  }

  async reply<T>(): Promise<T> {
    while (this.#replies.length === 0) {
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
    return this.#replies.shift() as T;
  }

  command(cmd: 'open' | 'close' | 'exit'): void {
    this.#child.send({ cmd });
  }

  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    this.#child.kill(signal);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) {
      return;
    }
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGCONT');
    this.command('exit');
    await exited;
  }
}

interface ChildClose {
  readonly stats: TrackStats;
  readonly load: MediaLoad;
  readonly counters: MediaCounters;
}

void describe('media counters with real sockets', () => {
  let dir: string;
  const sockets: Socket[] = [];
  const engines: RtpMediaEngine[] = [];
  const children: EngineChild[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-counters-'));
  });

  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.stop()));
    await Promise.all(engines.splice(0).map((engine) => engine.close()));
    await closeSockets(sockets.splice(0));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function openChild(): Promise<{ child: EngineChild; port: number; filePath: string }> {
    const child = new EngineChild();
    children.push(child);
    await child.reply();
    child.command('open');
    const { port, filePath } = await child.reply<{ port: number; filePath: string }>();
    return { child, port, filePath };
  }

  async function sender(): Promise<Socket> {
    const socket = await boundUdpSocket();
    sockets.push(socket);
    return socket;
  }

  void it('stores a burst that is still arriving when the stream is closed', async () => {
    const { engine } = await loopbackMediaEngine({ workerCount: 1 });
    engines.push(engine);
    const filePath = join(dir, 'burst.pcap');
    const { port } = await engine.openStream({ streamId: 'burst', filePath });
    const phone = await sender();
    // 200 G.711 datagrams fit in the default receive buffer (about 830 bytes each are charged).
    await sendBurst(phone, port, 200);
    const stats = await engine.closeStream('burst');

    assert.equal(stats.packets, 200);
    assert.equal(stats.lost, 0);
    assert.equal(stats.kernelDropped, 0);
    assert.equal(stats.unreadAtClose, 0);
    assert.equal(stats.unstored, 0);
    assert.deepEqual(await storedSequenceNumbers(filePath), range(1, 200));
    const counters = engine.counters();
    assert.equal(counters.packetsStored, 200);
    assert.equal(counters.streamsOpened, 1);
    assert.equal(counters.streamsClosed, 1);
  });

  void it('adds up open and closed streams in counters() and reports the load of the open ones', async () => {
    const { engine } = await loopbackMediaEngine({ workerCount: 2, loadIntervalMs: 50 });
    engines.push(engine);
    const a = await engine.openStream({ streamId: 'a', filePath: join(dir, 'a.pcap') });
    const b = await engine.openStream({ streamId: 'b', filePath: join(dir, 'b.pcap') });
    const phone = await sender();
    await sendBurst(phone, a.port, 30);
    await sendBurst(phone, b.port, 20);
    phone.send(new Uint8Array([1, 2, 3]), b.port, '127.0.0.1'); // Not RTP: dropped.
    const closedA = await engine.closeStream('a');
    assert.equal(closedA.packets, 30);
    await statsReach(engine, 'b', (s) => s.packets === 20 && s.dropped === 1);

    assert.deepEqual(engine.counters(), {
      packetsStored: 50,
      packetsLost: 0,
      kernelDropped: 0,
      unreadAtClose: 0,
      unstored: 0,
      dropped: 1,
      srtpAuthFailures: 0,
      packetsPaused: 0,
      streamsOpened: 2,
      streamsClosed: 1,
    });
    const load = engine.load();
    assert.equal(load.streams, 1);
    assert.ok(load.workerLagMs >= 0 && load.workerLagMs < 5000, `workerLagMs ${load.workerLagMs}`);
    assert.ok(load.kernelReceiveDrops >= 0);
    // Records wait in the writers for the 200 ms flush timer. The figure comes from the worker's
    // latest 'load' report (every 250 ms), which may predate stream a's close: at most the 50
    // records both streams stored.
    assert.ok(load.pendingWriteBytes >= 0 && load.pendingWriteBytes <= 50 * 216, `${load.pendingWriteBytes}`);
    await engine.closeStream('b');
    assert.equal(engine.counters().streamsClosed, 2);
    assert.equal(engine.load().streams, 0);
  });

  void it('counts the packets its write backlog refused, per track and per node, and says so in the log once', async () => {
    const logged: { msg: string; pendingWriteBytes?: number; limitBytes?: number; unstored?: number }[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done): void {
          logged.push(JSON.parse(chunk.toString()) as (typeof logged)[number]);
          done();
        },
      }),
    );
    // A cap below one batch (10 records of 216 bytes): records wait for the flush timer, and a
    // burst read meanwhile is refused past 4 records, as on a disk that fell behind.
    const { engine } = await loopbackMediaEngine({ writeBacklogBytes: 1000, logger });
    engines.push(engine);
    const filePath = join(dir, 'backlog.pcap');
    const { port } = await engine.openStream({ streamId: 'backlog', filePath });
    const phone = await sender();
    await sendBurst(phone, port, 200);
    await statsReach(engine, 'backlog', (s) => s.packets + s.unstored === 200);
    const stats = await engine.closeStream('backlog');

    assert.ok(stats.unstored > 0, `unstored ${stats.unstored}`);
    assert.equal(stats.packets + stats.unstored, 200);
    assert.equal(stats.lost, 0, 'a packet received and not stored is no sequence gap');
    assert.equal(stats.kernelDropped, 0);
    const stored = await storedSequenceNumbers(filePath);
    assert.equal(stored.length, stats.packets);
    assert.ok(
      stored.every((seq, index) => index === 0 || seq > stored[index - 1]!),
      'stored in order',
    );
    assert.equal(engine.counters().unstored, stats.unstored);
    assert.equal(engine.counters().packetsStored, stats.packets);

    const lines = await waitFor(
      () => {
        const backlogLines = logged.filter((line) => line.msg.startsWith('write backlog'));
        return backlogLines.length >= 2 ? backlogLines : undefined;
      },
      { what: 'the two backlog lines' },
    );
    assert.equal(lines.length, 2, 'one line when it went over, one when it was back under');
    assert.match(lines[0]!.msg, /over its cap/);
    assert.equal(lines[0]!.limitBytes, 1000);
    assert.match(lines[1]!.msg, /back under/);
    assert.ok(lines[1]!.unstored !== undefined && lines[1]!.unstored > 0);
  });

  void it('stores what was queued while the process was stopped when the close comes first', async () => {
    const { child, port, filePath } = await openChild();
    const phone = await sender();
    child.signal('SIGSTOP');
    await sendBurst(phone, port, 150);
    // The close reaches the engine together with the queued packets, when the process runs again.
    child.command('close');
    child.signal('SIGCONT');
    const { stats } = await child.reply<ChildClose>();

    assert.equal(stats.packets, 150);
    assert.equal(stats.kernelDropped, 0);
    assert.equal(stats.unreadAtClose, 0);
    assert.equal(stats.unstored, 0);
    assert.deepEqual(await storedSequenceNumbers(filePath), range(1, 150));
  });

  void it('counts the datagrams the kernel dropped while the process was stopped, per track and per node', async () => {
    const { child, port, filePath } = await openChild();
    const phone = await sender();
    child.signal('SIGSTOP');
    const stoppedAt = Date.now();
    // Far more than the receive buffer holds: the kernel keeps the first ones and drops the rest.
    await sendBurst(phone, port, 1000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 400 - (Date.now() - stoppedAt))));
    child.signal('SIGCONT');
    child.command('close');
    const { stats, load, counters } = await child.reply<ChildClose>();

    assert.ok(stats.kernelDropped > 0, `kernelDropped ${stats.kernelDropped}`);
    assert.equal(stats.packets + stats.kernelDropped + stats.unreadAtClose, 1000);
    // The tail was dropped, so the sequence numbers show no gap: only the kernel's count says it.
    assert.equal(stats.lost, 0);
    assert.deepEqual(await storedSequenceNumbers(filePath), range(1, stats.packets));

    assert.equal(counters.packetsStored, stats.packets);
    assert.equal(counters.kernelDropped, stats.kernelDropped);
    assert.equal(counters.unreadAtClose, 0);
    assert.equal(counters.unstored, 0);
    assert.equal(counters.streamsClosed, 1);
    // The host-wide overflow count includes ours (and maybe other processes').
    assert.ok(load.kernelReceiveDrops >= stats.kernelDropped, `host drops ${load.kernelReceiveDrops}`);
    // The worker could not run for 400 ms, and says so within the next statistics interval: its
    // lateness grew from 0 to 400 ms, 400²/2 of lateness × time, 80 ms over a second's window.
    assert.ok(load.workerLagMs >= 50, `workerLagMs ${load.workerLagMs}`);
    assert.equal(load.streams, 0);
  });
});
