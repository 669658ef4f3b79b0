import { createSocket, type Socket } from 'node:dgram';
import type { BaselineCommand, BaselineReport } from './runner/baseline-messages.js';

/**
 * The baseline: the least a Node process can do with the benchmark's packet load. One UDP socket
 * per stream, as the recorder opens, and a counter; no parsing, no file, no timer. The recorder's
 * CPU per call is read against this process's, measured with the same load in the same run, so the
 * comparison holds on whatever machine the benchmark runs.
 *
 * Forked by bench/run.ts with an IPC channel (see runner/baseline-messages.ts); exits when the
 * channel closes, so it never outlives the runner.
 */

const sockets: Socket[] = [];
let packets = 0;
let bytes = 0;

function report(message: BaselineReport): void {
  process.send?.(message);
}

function bind(socket: Socket, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve(socket.address().port);
    });
  });
}

async function open(host: string, count: number): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const socket = createSocket('udp4');
    socket.on('message', (message) => {
      packets++;
      bytes += message.length;
    });
    socket.on('error', (error) => report({ type: 'error', message: `socket: ${error.message}` }));
    sockets.push(socket);
    ports.push(await bind(socket, host));
  }
  report({ type: 'opened', ports });
}

function exit(): void {
  for (const socket of sockets) {
    socket.close();
  }
  process.exit(0);
}

process.on('message', (command: BaselineCommand) => {
  switch (command.type) {
    case 'open':
      open(command.host, command.sockets).catch((error: unknown) =>
        report({ type: 'error', message: `open: ${error instanceof Error ? error.message : String(error)}` }),
      );
      return;
    case 'count':
      report({ type: 'counted', packets, bytes });
      return;
    case 'exit':
      exit();
      return;
  }
});
process.on('disconnect', exit);
report({ type: 'ready' });
