import { findSessionBy, type SessionJson } from './session-api.js';
import { unlessSippExits, waitForLogged, type SippRun } from './sipp-process.js';
import { CUBE_AUDIO_LINES, cubeForkScenario } from './sipp-scenarios.js';
import type { RunningServer } from './verbatim-server.js';

/**
 * Playing a Cisco CUBE that forks a call to Verbatim with a dial-peer (network-based recording,
 * intake-samples §2.1): one INVITE offering two sendonly `m=audio` lines, one per party, with a
 * Cisco-Guid and one X-Cisco-Recording-Participant header per line.
 */

export interface CubeForkingScenario {
  /** The Cisco-Guid header, which Verbatim keeps as the session's ccid. */
  readonly ciscoGuid: string;
  /** The participant (URI user part) sent on m= line 0 and on m= line 1. */
  readonly participants: readonly [string, string];
  /** Absolute path of the capture SIPp replays to the first m= line of the answer. */
  readonly pcapPath: string;
  /** How long SIPp stays up after the ACK before it sends BYE. */
  readonly holdMs: number;
}

/**
 * The audio fork; the answer's second m=audio port is written to the SIPp log
 * (LOG_SECOND_AUDIO_PORT), so a second sender can stream the other party to it while SIPp replays
 * the first.
 */
export function cubeForkingScenario(s: CubeForkingScenario): string {
  return cubeForkScenario({
    ...s,
    title: 'CUBE dial-peer media forking',
    mediaIndexes: ['0', '1'],
    tag: 'CubeTag',
    media: CUBE_AUDIO_LINES,
    answerLog: 'second-audio',
  });
}

/** A Cisco-Guid in CUBE's format (four groups of ten digits), random so that each run is unique. */
export function randomCiscoGuid(): string {
  const group = (): string => String(Math.floor(Math.random() * 4_294_967_296)).padStart(10, '0');
  return [group(), '0000065536', group(), group()].join('-');
}

/** Finds a session by its ccid (the Cisco-Guid of a CUBE call) once `predicate` holds. */
export function findSessionByCcid(
  server: RunningServer,
  ccid: string,
  predicate: (s: SessionJson) => boolean,
): Promise<SessionJson> {
  return findSessionBy(server, 'ccid', ccid, predicate);
}

/**
 * The two audio ports of an answer as the scenario logged them with `prefix` (LOG_AUDIO_PORTS,
 * LOG_CHANGED_AUDIO_PORTS), unless SIPp exits before it gets there.
 */
export async function waitForAudioPorts(run: SippRun, prefix: string): Promise<[number, number]> {
  const [first, second] = (await unlessSippExits(run, waitForLogged(run, prefix))).split(',').map(Number);
  if (first === undefined || second === undefined) {
    throw new Error(`two ports expected after ${prefix} in ${run.logFile}`);
  }
  return [first, second];
}
