/**
 * `send-rtp`: the same real-time pacing as a call, one stream per port, with no SIP. The runner
 * points it at a bare UDP receiver to measure what the machine does without a recorder.
 */
import type { GeneratorCommand, GeneratorReport } from '../protocol.js';
import { newSsrc, randomSequence, randomTimestamp } from './ids.js';
import type { RtpSender } from './rtp-sender.js';
import { PACKET_INTERVAL_MS, PAYLOAD_TYPE } from './tone.js';

export type SendRtpCommand = Extract<GeneratorCommand, { type: 'send-rtp' }>;
export type RtpDoneReport = Extract<GeneratorReport, { type: 'rtp-done' }>;

export function sendRtp(
  command: SendRtpCommand,
  localAddress: string,
  rtp: RtpSender,
  nextStreamId: () => number,
): Promise<RtpDoneReport> {
  if (!(command.durationMs >= 0)) {
    throw new Error(`send-rtp: durationMs must be non-negative, not ${command.durationMs}`);
  }
  const packets = Math.round(command.durationMs / PACKET_INTERVAL_MS);
  return new Promise<RtpDoneReport>((resolve) => {
    let pending = command.ports.length;
    let sentPackets = 0;
    let latePackets = 0;
    const errors: string[] = [];
    const done = (): void => {
      if (errors.length > 0) {
        console.error(JSON.stringify({ generator: 'send-rtp', tag: command.tag, streamErrors: errors }));
      }
      resolve({ type: 'rtp-done', tag: command.tag, sentPackets, latePackets });
    };
    if (pending === 0) {
      done();
      return;
    }
    for (const [index, port] of command.ports.entries()) {
      rtp.start(
        {
          id: nextStreamId(),
          localAddress,
          host: command.host,
          port,
          payloadType: PAYLOAD_TYPE.PCMU,
          ssrc: newSsrc(),
          firstSequence: randomSequence(),
          firstTimestamp: randomTimestamp(),
          packets,
          toneIndex: index,
        },
        (result) => {
          sentPackets += result.sentPackets;
          latePackets += result.latePackets;
          if (result.error !== undefined) {
            errors.push(result.error);
          }
          pending--;
          if (pending === 0) {
            done();
          }
        },
      );
    }
  });
}
