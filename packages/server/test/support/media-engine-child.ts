import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';

import { loopbackMediaEngine } from './loopback-media.js';

/**
 * A media engine in a child process (run with `node --import tsx` and an IPC channel), so that a
 * test can stop the whole process with SIGSTOP, as a host that takes the CPU away would, while
 * it sends RTP to the stream: the datagrams pile up in the socket's receive queue and, past the
 * receive buffer, the kernel drops them. Commands: 'open' → { port, filePath }; 'close' →
 * { stats, load, counters } of the stream after closeStream; 'exit'.
 */

type Command = { readonly cmd: 'open' } | { readonly cmd: 'close' } | { readonly cmd: 'exit' };

const send = (message: unknown): void => {
  process.send?.(message);
};

const dir = await mkdtemp(join(tmpdir(), 'verbatim-media-child-'));
const { engine } = await loopbackMediaEngine({ statsIntervalMs: 1000 });
const filePath = join(dir, 'track.pcap');

process.on('message', (command: Command) => {
  void (async () => {
    switch (command.cmd) {
      case 'open': {
        const { port } = await engine.openStream({ streamId: 'child', filePath });
        send({ port, filePath });
        return;
      }
      case 'close': {
        const stats = await engine.closeStream('child');
        send({ stats, load: engine.load(), counters: engine.counters() });
        return;
      }
      case 'exit':
        await engine.close();
        await rm(dir, { recursive: true, force: true });
        process.exit(0);
    }
  })();
});
send({ ready: true });
