/**
 * An RTP worker thread: one RtpScheduler driven by messages from the main thread, so that the
 * packets of many streams can be spread over several cores while SIP stays on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { RtpScheduler, type RtpStreamResult } from './rtp-scheduler.js';
import type { RtpWorkerCommand, RtpWorkerEvent } from './rtp-worker-messages.js';

const port = parentPort;
if (port === null) {
  throw new Error('rtp-worker.ts must run as a worker thread');
}
const scheduler = new RtpScheduler();
const post = (event: RtpWorkerEvent): void => {
  port.postMessage(event);
};

// Results are posted once per turn: when many streams end in the same 20 ms (all of a send-rtp
// run end together), one message per stream would hold up the packets of the streams still
// running.
let finished: RtpStreamResult[] = [];
const flush = (): void => {
  if (finished.length > 0) {
    post({ type: 'done', results: finished });
    finished = [];
  }
};
const onDone = (result: RtpStreamResult): void => {
  if (finished.length === 0) {
    setImmediate(flush);
  }
  finished.push(result);
};

port.on('message', (command: RtpWorkerCommand) => {
  switch (command.type) {
    case 'start':
      for (const spec of command.specs) {
        scheduler.start(spec, onDone);
      }
      break;
    case 'stop':
      scheduler.stop(command.id);
      break;
    case 'close':
      scheduler.close();
      flush();
      post({ type: 'closed' });
      port.close();
      break;
  }
});

post({ type: 'ready' });
