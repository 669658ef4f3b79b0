import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventReceiver } from '../support/event-receiver.js';
import { stopAll } from '../support/processes.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';
import { startServer, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13 point 1: the storage agent on a real partition. An 8 MiB tmpfs made for the test is the
 * node's media directory; a file in it is grown and shrunk across every threshold, both ways, and
 * each crossing must reach a webhook receiver as MediaSense's STORAGE_THRESHOLD_EVENT, while
 * getStorageStatus and /metrics show the level. Between thresholds (the hysteresis bands) nothing
 * may be sent.
 */

const SIZE = 8 * 1024 * 1024;
const PAGE = 4096;
const PAGES = SIZE / PAGE;

interface Status {
  level: string;
  percentageUtilization?: number;
  sampledAt?: number;
  partition: string;
}

const mount = { tmpfs: undefined as Tmpfs | undefined, skip: '' };

describe('storage thresholds on a real partition', () => {
  let dataDir: string;
  let server: RunningServer | undefined;
  let receiver: EventReceiver | undefined;
  let fill: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'verbatim-storage-'));
    const mounted = await mountTmpfs(join(dataDir, 'media'), SIZE);
    if (typeof mounted === 'string') {
      mount.skip = mounted;
      return;
    }
    mount.tmpfs = mounted;
    fill = join(mounted.dir, 'filler.bin');
    server = await startServer({ dataDir, extraArgs: ['--storage-interval', '0.2'] });
    receiver = await EventReceiver.start();
    const subscribed = await node().api('/ora/eventService/event/subscribeToEvents', {
      requestParameters: {
        subscriptionUri: events().url('/storage'),
        subscriptionFilters: ['STORAGE_EVENTS'],
      },
    });
    assert.equal(subscribed.responseCode, 2000, JSON.stringify(subscribed));
  });

  after(async () => {
    await server?.stop({ keepData: true });
    await receiver?.stop();
    await stopAll();
    await mount.tmpfs?.unmount();
    await rm(dataDir, { recursive: true, force: true });
  });

  function node(): RunningServer {
    assert.ok(server !== undefined);
    return server;
  }

  function events(): EventReceiver {
    assert.ok(receiver !== undefined);
    return receiver;
  }

  async function status(): Promise<Status> {
    const answer = await node().api('/ora/storageService/storage/getStorageStatus');
    assert.equal(answer.responseCode, 2000, JSON.stringify(answer));
    return answer.responseBody as unknown as Status;
  }

  /** Grows or shrinks the filler to `percent` of the partition and waits for a sample taken after. */
  async function fillTo(percent: number): Promise<Status> {
    const target = Math.round((PAGES * percent) / 100) * PAGE;
    const size = await stat(fill).then(
      (s) => s.size,
      () => 0,
    );
    // Grown by appending and shrunk by truncating, so the usage never dips on the way.
    if (target > size) {
      await appendFile(fill, Buffer.alloc(target - size, 0x55));
    } else {
      await truncate(fill, target);
    }
    const writtenAt = Date.now();
    return waitFor(
      async () => {
        const now = await status();
        return (now.sampledAt ?? 0) > writtenAt + 5 ? now : undefined;
      },
      { what: `a sample after filling to ${percent} %`, timeoutMs: 10_000 },
    );
  }

  async function metrics(): Promise<string> {
    const response = await fetch(`${node().baseUrl}/metrics`, {
      headers: { cookie: `JSESSIONID=${node().jsessionId}` },
    });
    assert.equal(response.status, 200);
    return response.text();
  }

  it('sends each crossing both ways to the receiver and shows the level in the API and metrics', async (t) => {
    if (mount.tmpfs === undefined) {
      t.skip(mount.skip);
      return;
    }
    assert.equal((await status()).level, 'NORMAL');
    // Each step: the fill, the level it must give, the events it must send.
    const steps: [number, string, string[]][] = [
      [50, 'NORMAL', []],
      [80, 'LOW', ['ENTER_LOW_STORAGE_SPACE']],
      [93, 'CRITICAL', ['ENTER_CRITICAL_STORAGE_SPACE']],
      [99.6, 'EMERGENCY', ['ENTER_EMERGENCY_STORAGE_SPACE']],
      [98, 'EMERGENCY', []],
      [96, 'CRITICAL', ['EXIT_EMERGENCY_STORAGE_SPACE']],
      [87, 'CRITICAL', []],
      [83, 'LOW', ['EXIT_CRITICAL_STORAGE_SPACE']],
      [72, 'LOW', []],
      [60, 'NORMAL', ['EXIT_LOW_STORAGE_SPACE']],
    ];
    const expected: string[] = [];
    for (const [percent, level, actions] of steps) {
      const now = await fillTo(percent);
      assert.equal(now.level, level, `level at ${percent} %: ${JSON.stringify(now)}`);
      assert.ok(Math.abs((now.percentageUtilization ?? -1) - percent) < 1, JSON.stringify(now));
      if (level === 'EMERGENCY') {
        const text = await metrics();
        assert.match(text, /verbatim_storage_level\{level="EMERGENCY"\} 1/);
        assert.match(text, /verbatim_storage_level\{level="NORMAL"\} 0/);
      }
      expected.push(...actions);
      await events().waitForCount(expected.length);
      assert.deepEqual(
        events()
          .bodies()
          .map((body) => body.eventAction),
        expected,
        `events after filling to ${percent} %`,
      );
    }

    const bodies = events().bodies();
    for (const body of bodies) {
      assert.equal(body.eventType, 'STORAGE_THRESHOLD_EVENT');
      assert.equal(body.forwardedEvent, 'FALSE');
      assert.deepEqual(Object.keys(body.eventBody).sort(), [
        'nodeIPAddress',
        'nodeId',
        'partition',
        'percentageUtilization',
      ]);
      assert.equal(body.eventBody.partition, join(dataDir, 'media'));
      assert.equal(body.eventBody.nodeIPAddress, '127.0.0.1');
    }
    assert.equal(bodies[2]?.eventBody.percentageUtilization, 100);
    assert.equal(bodies[1]?.eventBody.percentageUtilization, 93);

    const text = await metrics();
    assert.match(text, /verbatim_storage_level\{level="NORMAL"\} 1/);
    assert.match(
      text,
      /verbatim_storage_threshold_crossings_total\{action="ENTER_CRITICAL_STORAGE_SPACE"\} 1/,
    );
    assert.match(text, /verbatim_storage_size_bytes 8388608/);
    // Each crossing is in the log too.
    assert.match(node().process.output(), /media partition in emergency/);
    assert.match(node().process.output(), /media partition no longer low on space/);
  });
});
