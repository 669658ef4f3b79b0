/**
 * The benchmark's load generator: a separate process that behaves like a call controller (SIP
 * over UDP, real-time RTP) so that generating load never shares a process with the recorder or
 * with the runner that measures it. The runner starts it with
 *
 *   child_process.fork('bench/load-generator.ts', { execArgv: ['--import', 'tsx'] })
 *
 * and talks to it over the IPC channel with the messages of bench/protocol.ts: the generator
 * says `ready`, runs each command as it arrives (several may run at once) and answers it with its
 * report, tagged as the command was; `exit` closes every socket and exits 0; an uncaught error is
 * reported as `error` and exits 1.
 *
 * BENCH_RTP_WORKERS sets how many worker threads send RTP (default 1; 0 sends from the main
 * thread, next to SIP).
 */
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { CallRunner } from './generator/call-runner.js';
import { createRtpSender, rtpWorkersFromEnv, type RtpSender } from './generator/rtp-sender.js';
import { sendRtp } from './generator/send-rtp.js';
import { SipEndpoint } from './generator/sip-endpoint.js';
import type { GeneratorCommand, GeneratorReport, RecorderTarget } from './protocol.js';

const endpoints = new Map<string, Promise<SipEndpoint>>();
const runners = new Set<CallRunner>();
let rtp: RtpSender | undefined;
let streamIdCounter = 0;
let shuttingDown = false;

const nextStreamId = (): number => ++streamIdCounter;

function report(message: GeneratorReport): Promise<void> {
  return new Promise<void>((resolve) => {
    if (process.send === undefined || !process.connected) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => {
      resolve();
    });
  });
}

function rtpSender(): RtpSender {
  rtp ??= createRtpSender(rtpWorkersFromEnv(process.env.BENCH_RTP_WORKERS), (error) => {
    void fatal(error);
  });
  return rtp;
}

async function resolveIpv4(host: string): Promise<string> {
  const { address } = await lookup(host, { family: 4 });
  return address;
}

/** The local address the kernel uses to reach `ip` (a connected UDP socket sends nothing). */
async function localAddressFor(ip: string): Promise<string> {
  const probe = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.connect(9, ip, () => {
        resolve();
      });
    });
    return probe.address().address;
  } finally {
    probe.close();
  }
}

function endpointFor(target: RecorderTarget): Promise<SipEndpoint> {
  const key = `${target.host}:${target.sipPort}`;
  let endpoint = endpoints.get(key);
  if (endpoint === undefined) {
    endpoint = (async () => {
      const ip = await resolveIpv4(target.host);
      return SipEndpoint.open(await localAddressFor(ip), ip, target.sipPort);
    })();
    endpoints.set(key, endpoint);
  }
  return endpoint;
}

async function run(command: Exclude<GeneratorCommand, { type: 'exit' }>): Promise<void> {
  switch (command.type) {
    case 'place-calls': {
      const endpoint = await endpointFor(command.target);
      const before = { ...endpoint.counters };
      const runner = new CallRunner(command, { endpoint, rtp: rtpSender(), nextStreamId });
      runners.add(runner);
      const result = await runner.run();
      runners.delete(runner);
      // What this command dropped or failed on goes to stderr; the report only has the counts.
      // (The SIP counters are the endpoint's during this command, so they include any command
      // that ran at the same time.)
      const sip = Object.fromEntries(
        Object.entries(endpoint.counters).map(([name, value]) => [
          name,
          value - before[name as keyof typeof before],
        ]),
      );
      if (runner.failureReasons.size > 0 || Object.values(sip).some((value) => value > 0)) {
        console.error(
          JSON.stringify({
            generator: 'place-calls',
            tag: command.tag,
            failureReasons: Object.fromEntries(runner.failureReasons),
            sip,
            ...(endpoint.lastSocketError === undefined ? {} : { lastSocketError: endpoint.lastSocketError }),
          }),
        );
      }
      await report(result);
      return;
    }
    case 'send-rtp': {
      const ip = await resolveIpv4(command.host);
      const result = await sendRtp(
        { ...command, host: ip },
        await localAddressFor(ip),
        rtpSender(),
        nextStreamId,
      );
      await report(result);
      return;
    }
  }
}

async function closeAll(): Promise<void> {
  for (const runner of runners) {
    runner.cancel();
  }
  const opened = await Promise.allSettled(endpoints.values());
  for (const endpoint of opened) {
    if (endpoint.status === 'fulfilled') {
      endpoint.value.close();
    }
  }
  await rtp?.close();
}

async function shutdown(code: number): Promise<void> {
  if (shuttingDown) {
    return;
  }
  shuttingDown = true;
  await closeAll();
  process.exit(code);
}

async function fatal(error: unknown): Promise<void> {
  if (shuttingDown) {
    return;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  await report({ type: 'error', message });
  // Exit even if closing hangs: the runner is waiting for this process to end.
  setTimeout(() => process.exit(1), 2000).unref();
  await shutdown(1);
}

function isCommand(message: unknown): message is GeneratorCommand {
  return (
    typeof message === 'object' &&
    message !== null &&
    'type' in message &&
    (message.type === 'place-calls' || message.type === 'send-rtp' || message.type === 'exit')
  );
}

process.on('uncaughtException', (error) => {
  void fatal(error);
});
process.on('unhandledRejection', (reason) => {
  void fatal(reason);
});
// The runner went away: nobody will read a report, so stop generating load.
process.on('disconnect', () => {
  void shutdown(0);
});

process.on('message', (message: unknown) => {
  if (!isCommand(message)) {
    void fatal(new Error(`unknown command ${JSON.stringify(message)}`));
    return;
  }
  if (message.type === 'exit') {
    void shutdown(0);
    return;
  }
  // Commands run concurrently (CUCM and CUBE calls together, extra calls while others are held);
  // each report carries its command's tag.
  run(message).catch((error: unknown) => fatal(error));
});

if (process.send === undefined) {
  console.error(
    'bench/load-generator.ts is started by bench/run.ts with child_process.fork (it needs an IPC channel)',
  );
  process.exit(1);
}
// The RTP threads start before `ready`, so that loading them is not part of any measured step.
rtpSender()
  .ready.then(() => report({ type: 'ready' }))
  .catch((error: unknown) => fatal(error));
