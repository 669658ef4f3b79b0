import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freeSippMediaPort } from './ports.js';
import { spawnTracked } from './processes.js';
import type { SippRun } from './sipp-process.js';
import { fillSippTemplate } from './sipp-template.js';

/**
 * SIPp as the call controller and the device of direct outbound recording: a UAS listening on the
 * port the node's `--outbound-proxy` names, playing one of the outbound-*.xml scenarios.
 */

export const OUTBOUND_REALM = 'verbatim-test';
export const OUTBOUND_USERNAME = 'recorder';
export const OUTBOUND_PASSWORD = 'Secr3t-digest';

export const OUTBOUND_NONCE = 'dcd98b7102dd2f0e8b11d0f600bfb0c093';
export const OUTBOUND_OPAQUE = '5ccc069c403ebaf9f0171e9517f40e41';

export interface OutboundDeviceScenario {
  readonly device: string;
  /** The capture the device replays to Verbatim once it answered. */
  readonly pcapPath: string;
  /** How long after starting the replay the scenario logs MEDIA-SENT (the capture's length + margin). */
  readonly playMs: number;
  /**
   * A challenge first: 407 (Proxy-Authenticate; the test checks the logged credentials) or 401
   * (WWW-Authenticate; SIPp verifies the digest itself and answers 403 to a wrong one).
   */
  readonly challenge?: 401 | 407;
  /** Waits for Verbatim's BYE (stopRecording), or hangs up itself after the replay. */
  readonly ending: 'await-bye' | 'hang-up';
}

function challengePart(status: 401 | 407 | undefined): string {
  if (status === undefined) {
    return '';
  }
  const www = status === 401;
  return fillSippTemplate('parts/outbound-challenge.xml', {
    status,
    reason: www ? 'Unauthorized' : 'Proxy Authentication Required',
    challenge_header: www ? 'WWW-Authenticate' : 'Proxy-Authenticate',
    credentials_header: www ? 'Authorization' : 'Proxy-Authorization',
    realm: OUTBOUND_REALM,
    nonce: OUTBOUND_NONCE,
    opaque: OUTBOUND_OPAQUE,
    verify_action: www
      ? `<verifyauth assign_to="authvalid" username="${OUTBOUND_USERNAME}" password="${OUTBOUND_PASSWORD}"/>`
      : '',
    verify_branch: www
      ? fillSippTemplate('parts/outbound-verifyauth.xml', {})
      : '<nop hide="true" next="answer"/>',
  });
}

export function outboundDeviceScenario(s: OutboundDeviceScenario): string {
  const ending =
    s.ending === 'await-bye'
      ? fillSippTemplate('parts/await-bye.xml', { timeout_ms: 30_000 })
      : fillSippTemplate('parts/outbound-hang-up.xml', { device: s.device });
  return fillSippTemplate('outbound-device.xml', {
    scenario_name: `outbound device ${s.device}`,
    challenge: challengePart(s.challenge),
    device: s.device,
    pcap: s.pcapPath,
    play_ms: s.playMs,
    ending,
  });
}

export function outboundRefusalScenario(status: number, reason: string): string {
  return fillSippTemplate('outbound-busy.xml', { scenario_name: `outbound ${status}`, status, reason });
}

/** A device that rings until Verbatim's CANCEL (its answer timeout). */
export function outboundNoAnswerScenario(): string {
  return fillSippTemplate('outbound-no-answer.xml', {
    scenario_name: 'outbound no answer',
    timeout_ms: 30_000,
  });
}

let runCounter = 0;

/** Starts SIPp as a UAS on 127.0.0.1:`port` (the node's outbound proxy) for one call. */
export async function spawnSippUas(
  name: string,
  work: string,
  port: number,
  scenario: string,
  transport: 'u1' | 't1' = 'u1',
): Promise<SippRun> {
  runCounter++;
  const base = join(work, `${name.replace(/[^A-Za-z0-9]+/g, '-')}-${runCounter}`);
  const scenarioFile = `${base}.xml`;
  const logFile = `${base}.log`;
  await writeFile(scenarioFile, scenario);
  const mediaPort = await freeSippMediaPort();
  const sipp = spawnTracked(name, 'sipp', [
    '-sf',
    scenarioFile,
    '-m',
    '1',
    '-t',
    transport,
    '-i',
    '127.0.0.1',
    '-p',
    String(port),
    '-mi',
    '127.0.0.1',
    '-mp',
    String(mediaPort),
    '-trace_logs',
    '-log_file',
    logFile,
    '-timeout',
    '40s',
    '-timeout_error',
    '-nostdin',
  ]);
  return { sipp, logFile, mediaPort };
}
