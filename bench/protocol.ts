/**
 * Messages between the benchmark runner (bench/run.ts) and the load generator
 * (bench/load-generator.ts), which the runner forks as a separate process with an IPC channel
 * (`child_process.fork`), so that generating load never shares a process with measuring it.
 */

/** How a call reaches the recorder. */
export type CallStyle =
  /** CUCM built-in-bridge: two INVITEs (near end, far end), delayed offer, answer in the ACK. */
  | 'cucm'
  /** CUBE dial-peer forking: one INVITE, early offer with two m=audio lines. */
  | 'cube';

export interface RecorderTarget {
  readonly host: string;
  readonly sipPort: number;
}

export type GeneratorCommand =
  | {
      readonly type: 'place-calls';
      /** Echoed in the report. */
      readonly tag: string;
      readonly target: RecorderTarget;
      readonly style: CallStyle;
      readonly calls: number;
      /** New calls per second (INVITE pairs per second for CUCM). */
      readonly callsPerSecond: number;
      /** How long each call stays up after it is answered, sending RTP on every stream. */
      readonly holdMs: number;
      readonly codec: 'PCMU' | 'PCMA';
    }
  | {
      /** Plain RTP at the same pacing to fixed ports (the baseline receiver): no SIP. */
      readonly type: 'send-rtp';
      readonly tag: string;
      readonly host: string;
      readonly ports: readonly number[];
      readonly durationMs: number;
    }
  | { readonly type: 'exit' };

export interface StreamReport {
  /** ccid the recorder will store: x-refci for CUCM calls, the Cisco-Guid for CUBE calls. */
  readonly callKey: string;
  /** 0 and 1: near/far end (CUCM), m-line index (CUBE). */
  readonly stream: number;
  readonly ssrc: number;
  readonly sentPackets: number;
}

export interface CallsReport {
  readonly type: 'calls-done';
  readonly tag: string;
  readonly attempted: number;
  /** All of the call's INVITEs answered 200. */
  readonly answered: number;
  /** Refused with 503 (over capacity). */
  readonly rejected: number;
  /** Any other failure (timeout, 4xx/5xx/6xx other than 503, BYE not answered). */
  readonly failed: number;
  /** INVITE → 200 OK, milliseconds. */
  readonly setupMsP50: number;
  readonly setupMsP95: number;
  /** Wall time from the first INVITE to the last call answered. */
  readonly setupWindowMs: number;
  readonly streams: readonly StreamReport[];
  readonly sentPackets: number;
  /** Packets that left late by more than one packet interval (the generator could not keep up). */
  readonly latePackets: number;
}

export type GeneratorReport =
  | { readonly type: 'ready' }
  | CallsReport
  | {
      readonly type: 'rtp-done';
      readonly tag: string;
      readonly sentPackets: number;
      readonly latePackets: number;
    }
  | { readonly type: 'error'; readonly message: string };
