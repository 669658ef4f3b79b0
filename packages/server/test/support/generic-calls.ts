import assert from 'node:assert/strict';
import { waitExit, failWithOutputs, type Spawned } from './processes.js';
import { startSipp, waitForLoggedPort, type SippRun } from './sipp-process.js';
import {
  audioLine,
  genericCallScenario,
  LOG_AUDIO_PORT,
  LOG_SECOND_AUDIO_PORT,
  type AnswerLog,
} from './sipp-scenarios.js';
import type { RunningServer } from './verbatim-server.js';

/**
 * Playing a plain SIP endpoint (no CUCM From parameters, no CUBE headers, no SIPREC body) that
 * sends Verbatim an INVITE with an early SDP offer, as a softphone or a PBX trunk would: the
 * "generic SIP" intake flavour of DESIGN.md §1.2 (one session, one track per audio m= line).
 */

export interface GenericSipScenario {
  /** URI user of From and of To (the participants Verbatim records). */
  readonly fromUser: string;
  readonly toUser: string;
  /** How many m=audio lines the offer has; SIPp replays its capture to the first one. */
  readonly audioLines: 1 | 2;
  /** Absolute path of the capture SIPp replays (see sipp-pcap.ts). */
  readonly pcapPath: string;
  /** How long SIPp stays up after the ACK before it sends BYE. */
  readonly holdMs: number;
}

/** A softphone offering G.711 (both laws) and telephone-event on each line, sendrecv. */
const SOFTPHONE_OFFER = {
  payloadTypes: [0, 8, 101],
  attributes: [
    'rtpmap:0 PCMU/8000',
    'rtpmap:8 PCMA/8000',
    'rtpmap:101 telephone-event/8000',
    'fmtp:101 0-16',
    'ptime:20',
  ],
};

/**
 * The softphone's call; for two audio lines the port of the answer's second line is written to
 * the log (LOG_SECOND_AUDIO_PORT), so that another sender can stream to it.
 */
export function genericSipScenario(s: GenericSipScenario): string {
  return genericCallScenario({
    title: 'generic SIP call with an early offer',
    peer: {
      displayName: 'Caller',
      user: s.fromUser,
      tag: 'GenTag',
      userAgent: 'SIPp generic endpoint',
      allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS',
      origin: '1 1',
    },
    toUser: s.toUser,
    media: [
      audioLine('[media_port]', SOFTPHONE_OFFER, 'sendrecv'),
      ...(s.audioLines === 2 ? [audioLine('[media_port+2]', SOFTPHONE_OFFER, 'sendrecv')] : []),
    ],
    answerLog: s.audioLines === 2 ? 'second-audio' : 'none',
    pcapPath: s.pcapPath,
    holdMs: s.holdMs,
  });
}

let callCounter = 0;

/**
 * Runs one generic call to its end and gives the Call-ID (Verbatim's ccid for a generic call).
 * The Call-ID is chosen with `-cid_str`, unique to this run and naming the case so that a failing
 * session is easy to find in logs. With `answerLog`, `whileUp` gets the port the scenario logged
 * once the answer is in (it resolves when its sender is done, giving the sender's process if it is
 * one); a failure shows every process's output.
 */
export async function runGenericCall(
  server: RunningServer,
  work: string,
  options: {
    readonly name: string;
    readonly scenario: string;
    readonly holdMs: number;
    readonly answerLog?: Extract<AnswerLog, 'first-audio' | 'second-audio'>;
    readonly whileUp?: (port: number, run: SippRun) => Promise<Spawned | undefined>;
  },
): Promise<{ callId: string; answeredPort?: number }> {
  callCounter++;
  const random = Math.floor(Math.random() * 0xffffffff).toString(16);
  const callIdPrefix = `${options.name.replace(/[^A-Za-z0-9]/g, '')}-${callCounter}-${random}`;
  const prefix = options.answerLog === 'first-audio' ? LOG_AUDIO_PORT : LOG_SECOND_AUDIO_PORT;
  const { run, first: port } = await startSipp(
    `sipp ${options.name}`,
    server,
    options.scenario,
    {
      work,
      callIdFormat: `${callIdPrefix}-%u@%s`,
      timeoutSeconds: Math.max(40, Math.ceil(options.holdMs / 1000) + 30),
    },
    async (r) => (options.answerLog === undefined ? undefined : waitForLoggedPort(r, prefix)),
  );
  let sender: Spawned | undefined;
  await failWithOutputs(
    () => [run.sipp, sender],
    async () => {
      if (port !== undefined) {
        sender = await options.whileUp?.(port, run);
      }
      assert.equal(await waitExit(run.sipp, options.holdMs + 30_000), 0, 'sipp exits 0');
    },
  );
  // One call (-m 1) is call number 1, and %s is the local address given with -i.
  return { callId: `${callIdPrefix}-1@127.0.0.1`, ...(port === undefined ? {} : { answeredPort: port }) };
}
