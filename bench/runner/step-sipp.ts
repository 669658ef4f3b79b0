import { join } from 'node:path';
import type { StreamReport } from '../protocol.js';
import type { GeneratorPool } from './generator-client.js';
import { placeMixedCalls } from './mixed-calls.js';
import { freeSippMediaPort, freeUdpTcpPort } from '../../packages/server/test/support/ports.js';
import { makeTempDir, removeTempDir, spawnChild } from './processes.js';
import { REPO_ROOT, type Recorder } from './recorder.js';
import { countStoredLoss, waitSessionsClosed, type LossCount } from './stored-packets.js';
import { writeSippCapture } from './sipp-capture.js';

/**
 * Step g: the cross-check. The same moderate CUCM load is offered twice, once by sipp (a call
 * controller nobody here wrote, two processes for the near and far legs, RTP replayed from pcap)
 * and once by the load generator; loss is counted the same way for both. Close figures show that
 * the generator loads the recorder the way a real controller does.
 */

export interface SippPlan {
  readonly calls: number;
  readonly callsPerSecond: number;
  readonly audioSeconds: number;
}

export interface SippResult {
  readonly calls: number;
  readonly audioSeconds: number;
  /** sipp's exit codes (0: every call of that leg completed) and the loss of its calls. */
  readonly sipp: {
    readonly exitCodes: readonly (number | string)[];
    readonly loss: LossCount;
    /** The end of sipp's output when a leg did not exit 0. */
    readonly outputTail?: string;
  };
  readonly generator: { readonly answered: number; readonly failed: number; readonly loss: LossCount };
}

const NEAR_SSRC = 0x51bb0001;
const FAR_SSRC = 0x51bb0002;

async function runSipp(
  recorder: Recorder,
  plan: SippPlan,
  work: string,
  refBase: string,
): Promise<SippResult['sipp']> {
  const packets = plan.audioSeconds * 50;
  await writeSippCapture(join(work, 'near.pcap'), { ssrc: NEAR_SSRC, packets, frequencyHz: 400 });
  await writeSippCapture(join(work, 'far.pcap'), { ssrc: FAR_SSRC, packets, frequencyHz: 1000 });
  // The leg hangs up half a second after its capture has been replayed.
  const holdMs = plan.audioSeconds * 1000 + 500;
  const timeoutSeconds = Math.ceil(plan.calls / plan.callsPerSecond + plan.audioSeconds + 60);
  const legs = await Promise.all(
    (['near', 'far'] as const).map(async (leg) => {
      const sipPort = await freeUdpTcpPort();
      const mediaPort = await freeSippMediaPort();
      return spawnChild(
        `sipp ${leg}`,
        'sipp',
        [
          '-sf',
          join(REPO_ROOT, `bench/sipp/cucm-${leg}.xml`),
          '-set',
          'refbase',
          refBase,
          '-m',
          String(plan.calls),
          '-l',
          String(plan.calls),
          '-r',
          String(plan.callsPerSecond),
          '-d',
          String(holdMs),
          '-i',
          '127.0.0.1',
          '-p',
          String(sipPort),
          '-mi',
          '127.0.0.1',
          '-mp',
          String(mediaPort),
          '-timeout',
          `${timeoutSeconds}s`,
          '-timeout_error',
          '-nostdin',
          `127.0.0.1:${recorder.sipPort}`,
        ],
        // play_pcap_audio names near.pcap / far.pcap relative to the working directory.
        { cwd: work },
      );
    }),
  );
  const exitCodes = await Promise.all(legs.map((l) => l.exited));
  const streams: StreamReport[] = [];
  for (let call = 1; call <= plan.calls; call++) {
    const callKey = `${refBase}${call}`;
    streams.push({ callKey, stream: 0, ssrc: NEAR_SSRC, sentPackets: packets });
    streams.push({ callKey, stream: 1, ssrc: FAR_SSRC, sentPackets: packets });
  }
  await waitSessionsClosed(recorder.dbPath, [...new Set(streams.map((s) => s.callKey))], 30_000);
  const loss = await countStoredLoss(recorder.dataDir, streams, { deleteMedia: true });
  if (exitCodes.some((c) => c !== 0 && c !== 1)) {
    // sipp exits 1 when some calls failed and 255/other codes when it could not run at all.
    throw new Error(
      `sipp failed (exit ${exitCodes.join(', ')}):\n${legs.map((l) => l.output().slice(-2000)).join('\n')}`,
    );
  }
  const outputTail = exitCodes.some((c) => c !== 0)
    ? legs.map((l) => `${l.name}: ${l.output().slice(-1500)}`).join('\n')
    : undefined;
  return { exitCodes, loss, ...(outputTail === undefined ? {} : { outputTail }) };
}

export async function runSippCrossCheck(
  recorder: Recorder,
  generators: GeneratorPool,
  plan: SippPlan,
): Promise<SippResult> {
  const work = await makeTempDir('verbatim-bench-sipp-');
  try {
    const refBase = String(7700 + Math.floor(Math.random() * 100));
    const sipp = await runSipp(recorder, plan, work, refBase);
    const report = await placeMixedCalls(
      generators,
      { host: '127.0.0.1', sipPort: recorder.sipPort },
      {
        calls: plan.calls,
        callsPerSecond: plan.callsPerSecond,
        holdMs: plan.audioSeconds * 1000,
        tag: 'sipp-compare',
        cucmOnly: true,
      },
    );
    await waitSessionsClosed(recorder.dbPath, [...new Set(report.streams.map((s) => s.callKey))], 30_000);
    const loss = await countStoredLoss(recorder.dataDir, report.streams, { deleteMedia: true });
    return {
      calls: plan.calls,
      audioSeconds: plan.audioSeconds,
      sipp,
      generator: { loss, answered: report.answered, failed: report.failed + report.rejected },
    };
  } finally {
    await removeTempDir(work);
  }
}
