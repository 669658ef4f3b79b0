import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { OutboundConfig } from '../config/config.js';
import type { Participant, Track } from '../model/session.js';
import { chooseAudioCodec, parseSdp } from '../protocol/sdp/sdp.js';
import { decodeUtf8 } from '../protocol/text.js';
import type { OutboundCall, OutboundCaller, OutboundFailureReason } from '../sip/outbound-types.js';
import type { DialogDelegate } from '../sip/types.js';
import type { DialogHandler } from './in-dialog.js';
import { SDP_BODY } from './in-dialog.js';
import type { LegOpener } from './leg-opener.js';
import { trackOf, type DialogBinding, type Leg, type LiveSession } from './live-session.js';
import { BYE_DRAIN_MS, type SessionLifecycle } from './session-lifecycle.js';
import type { SessionRegistry } from './session-registry.js';
import type { SessionWriter } from './session-writer.js';

/**
 * Direct outbound recording (MediaSense startRecording / stopRecording): Verbatim calls a device
 * through the configured call controller, offers to receive its audio (recvonly, the codecs of
 * the delayed-offer 200 OK), and records what the answering device sends as a one-track session.
 * It ends on stopRecording, on the device's BYE, or as every session ends (media timeout,
 * shutdown).
 */

/** Why startRecording or stopRecording did not do what was asked; the API maps each to a code. */
export type OutboundRecordingFailure =
  | { readonly kind: 'not-configured'; readonly detail: string }
  | { readonly kind: 'invalid-device'; readonly detail: string }
  | { readonly kind: 'already-recording'; readonly detail: string; readonly sessionId?: string }
  | { readonly kind: 'unavailable'; readonly detail: string }
  | { readonly kind: 'not-found'; readonly detail: string }
  | {
      readonly kind: OutboundFailureReason | 'bad-answer';
      readonly detail: string;
      readonly sipStatus?: number;
      readonly callId: string;
    };

export type OutboundStartResult =
  | {
      readonly ok: true;
      readonly sessionId: string;
      readonly deviceRef: string;
      readonly callId: string;
    }
  | { readonly ok: false; readonly failure: OutboundRecordingFailure };

export type OutboundStopResult =
  | {
      readonly ok: true;
      readonly deviceRef: string;
      /** Absent when the device had not answered yet (the call was cancelled). */
      readonly sessionId?: string;
    }
  | { readonly ok: false; readonly failure: OutboundRecordingFailure };

/**
 * A device reference as it goes into the Request-URI's user part: digits, letters and the
 * unreserved marks a dial plan uses (`+`, `*`, `.`, `_`, `-`), up to 64 characters. Anything else
 * would need escaping and is refused rather than guessed.
 */
const DEVICE_REF = /^[A-Za-z0-9+*._-]{1,64}$/;

interface OutboundEntry {
  readonly deviceRef: string;
  readonly session: LiveSession;
  readonly binding: DialogBinding;
  call?: OutboundCall;
  answered: boolean;
}

export interface OutboundRecorderDeps {
  readonly caller: OutboundCaller;
  readonly config: OutboundConfig | undefined;
  readonly registry: SessionRegistry;
  readonly writer: SessionWriter;
  readonly opener: LegOpener;
  readonly lifecycle: SessionLifecycle;
  readonly dialogs: DialogHandler;
  readonly log: Logger;
  readonly now: () => number;
  readonly advertise: string;
  /** Why the node takes no new recording now (shutdown, --max-sessions, storage), or undefined. */
  readonly refusal: () => string | undefined;
}

export class OutboundRecorder {
  readonly #deps: OutboundRecorderDeps;
  readonly #byDevice = new Map<string, OutboundEntry>();

  constructor(deps: OutboundRecorderDeps) {
    this.#deps = deps;
  }

  /** Calls the device and resolves once it answered (recording) or the call failed. Never rejects. */
  async start(deviceRef: string): Promise<OutboundStartResult> {
    const config = this.#deps.config;
    if (config === undefined) {
      return refused(
        'not-configured',
        'direct outbound recording needs --outbound-proxy (the call controller)',
      );
    }
    if (!DEVICE_REF.test(deviceRef)) {
      return refused(
        'invalid-device',
        'deviceRef must be 1-64 letters, digits or + * . _ - (it becomes the user part of the Request-URI)',
      );
    }
    const existing = this.#live(deviceRef);
    if (existing !== undefined) {
      return {
        ok: false,
        failure: {
          kind: 'already-recording',
          detail: `device ${deviceRef} is already being ${existing.answered ? 'recorded' : 'called'}`,
          ...(existing.answered ? { sessionId: existing.session.sessionId } : {}),
        },
      };
    }
    const refusal = this.#deps.refusal();
    if (refusal !== undefined) {
      return refused('unavailable', `the node takes no new recording now: ${refusal}`);
    }
    const { registry, opener, log } = this.#deps;
    const callId = `${randomBytes(12).toString('hex')}@${this.#deps.advertise}`;
    const session = registry.create({
      controllerType: OUTBOUND_CONTROLLER_TYPE,
      controllerIp: config.proxy.host,
      ccid: callId,
      expectedLegs: 1,
      startMs: this.#deps.now(),
    });
    session.reservedTracks.add(0);
    const binding: DialogBinding = { session, legs: [] };
    const entry: OutboundEntry = { deviceRef, session, binding, answered: false };
    this.#byDevice.set(deviceRef, entry);
    let leg: Leg;
    try {
      leg = await opener.openLeg(session, {
        trackNumber: 0,
        mediaIndex: 0,
        video: false,
        inactive: false,
        participants: [],
        startMs: session.startMs,
      });
    } catch (error) {
      this.#forget(entry);
      await this.#deps.lifecycle.abandon(session, [], [0]);
      return refused(
        'unavailable',
        `no media port: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const offer = opener.offer(session, leg);
    const callLog = log.child({ callId, deviceRef, sessionId: session.sessionId });
    const call = this.#deps.caller.call({
      proxy: config.proxy,
      requestUri: `sip:${deviceRef}@${hostPart(config.proxy.host)}${config.proxy.port === defaultPortOf(config.proxy.protocol) ? '' : `:${config.proxy.port}`}`,
      callId,
      offer: SDP_BODY(offer),
      ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
      answerTimeoutMs: config.answerTimeoutMs,
      delegate: this.#dialogDelegate(entry, callLog),
    });
    entry.call = call;
    callLog.info({ proxy: config.proxy.uri }, 'outbound recording: calling the device');
    const outcome = await call.outcome;
    if (outcome.kind === 'failed') {
      this.#forget(entry);
      await this.#deps.lifecycle.abandon(session, [leg], [0]);
      return this.#failed(deviceRef, callId, outcome.reason, outcome.detail, outcome.sipStatus, callLog);
    }
    const answerText = decodeUtf8(outcome.response.body);
    const answer = answerText === '' ? undefined : parseSdp(answerText);
    const media = answer?.ok === true ? answer.value.media.find((m) => m.type === 'audio') : undefined;
    const codec = media === undefined ? undefined : chooseAudioCodec(media);
    if (media === undefined || codec === undefined || media.port === 0) {
      outcome.dialog.bye();
      this.#forget(entry);
      await this.#deps.lifecycle.abandon(session, [leg], [0]);
      const why =
        answer === undefined
          ? 'no SDP'
          : answer.ok
            ? 'no audio line with a codec we offered'
            : answer.error.message;
      return this.#failed(
        deviceRef,
        callId,
        'bad-answer',
        `the device answered without usable audio: ${why}`,
        undefined,
        callLog,
      );
    }

    // Recording starts at the answer: ringing is not part of the session (no leading silence).
    const answeredAt = this.#deps.now();
    if (sameDay(session.startMs, answeredAt)) {
      // The track file's folder is named by the start day; it must not move after it was opened.
      session.startMs = answeredAt;
    }
    const participant: Participant = {
      deviceRef,
      isConference: false,
      participantStartDate: session.startMs,
    };
    const answered: Leg = {
      ...leg,
      startMs: session.startMs,
      participants: [participant],
      localSdp: offer,
      dialog: outcome.dialog,
    };
    binding.legs = [answered];
    entry.answered = true;
    registry.attach(session, answered);
    const tracks: Track[] = [trackOf(session, answered, opener.takeOfferedCodec(answered, media))];
    this.#deps.writer.create(session, tracks, []);
    await this.#deps.writer.settled([session]);
    callLog.info(
      { port: answered.port, codec: `${codec.encodingName}/${codec.clockRateHz}` },
      'outbound recording: answered, recording',
    );
    return { ok: true, sessionId: session.sessionId, deviceRef, callId };
  }

  /**
   * Ends the outbound recording of a device (or of a session id): BYE, the track drains and
   * closes, the session is stored CLOSED_NORMAL. A call still ringing is cancelled.
   */
  async stop(by: { readonly deviceRef?: string; readonly sessionId?: string }): Promise<OutboundStopResult> {
    const entry =
      by.deviceRef !== undefined
        ? this.#live(by.deviceRef)
        : [...this.#byDevice.values()].find(
            (e) => e.session.sessionId === by.sessionId && !e.session.closing,
          );
    const named = by.deviceRef !== undefined ? `device ${by.deviceRef}` : `session ${by.sessionId ?? ''}`;
    if (entry === undefined || (by.sessionId !== undefined && !entry.answered)) {
      return {
        ok: false,
        failure: { kind: 'not-found', detail: `no outbound recording of ${named} is in progress` },
      };
    }
    if (!entry.answered) {
      entry.call?.cancel();
      return { ok: true, deviceRef: entry.deviceRef };
    }
    const { session, binding } = entry;
    this.#forget(entry);
    for (const leg of binding.legs) {
      if (leg.dialog !== undefined && !leg.dialog.terminated) {
        leg.dialog.bye();
      }
    }
    this.#deps.log.info(
      { sessionId: session.sessionId, deviceRef: entry.deviceRef },
      'outbound recording: stopped',
    );
    this.#deps.lifecycle.endLegs(session, binding.legs, undefined, BYE_DRAIN_MS);
    await this.#deps.writer.settled([session]);
    return { ok: true, deviceRef: entry.deviceRef, sessionId: session.sessionId };
  }

  /** Shutdown: calls still ringing are cancelled (answered ones end with every other session). */
  close(): void {
    for (const entry of this.#byDevice.values()) {
      if (!entry.answered) {
        entry.call?.cancel();
      }
    }
  }

  /** The device's entry while its call rings or its session records; a closed session frees it. */
  #live(deviceRef: string): OutboundEntry | undefined {
    const entry = this.#byDevice.get(deviceRef);
    if (entry !== undefined && entry.session.closing) {
      this.#forget(entry);
      return undefined;
    }
    return entry;
  }

  #forget(entry: OutboundEntry): void {
    if (this.#byDevice.get(entry.deviceRef) === entry) {
      this.#byDevice.delete(entry.deviceRef);
    }
  }

  /** The recording dialog's delegate; the device's BYE also frees its deviceRef. */
  #dialogDelegate(entry: OutboundEntry, log: Logger): DialogDelegate {
    const inner = this.#deps.dialogs.delegate(entry.binding, log);
    return {
      ...inner,
      onBye: (bye) => {
        log.info('outbound recording: the device hung up');
        this.#forget(entry);
        if (entry.answered) {
          inner.onBye?.(bye);
        }
      },
    };
  }

  #failed(
    deviceRef: string,
    callId: string,
    reason: OutboundFailureReason | 'bad-answer',
    detail: string,
    sipStatus: number | undefined,
    log: Logger,
  ): OutboundStartResult {
    log.info({ reason, sipStatus, detail }, 'outbound recording: the call did not start');
    this.#deps.writer.publish({
      eventType: 'RECORDING_EVENT',
      eventAction: 'OUTBOUND_FAILED',
      deviceRef,
      callId,
      reason: reason === 'bad-answer' ? 'rejected' : reason,
      ...(sipStatus === undefined ? {} : { sipStatus }),
      detail,
      at: this.#deps.now(),
    });
    return {
      ok: false,
      failure: { kind: reason, detail, callId, ...(sipStatus === undefined ? {} : { sipStatus }) },
    };
  }
}

/**
 * MediaSense offered direct outbound recording for CUCM phones only, so the session says
 * `Cisco-CUCM` (clients filter on it); the controller behind --outbound-proxy is not asked.
 */
const OUTBOUND_CONTROLLER_TYPE = 'Cisco-CUCM';

function refused(
  kind: 'not-configured' | 'invalid-device' | 'unavailable',
  detail: string,
): OutboundStartResult {
  return { ok: false, failure: { kind, detail } };
}

function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function defaultPortOf(protocol: 'udp' | 'tcp' | 'tls'): number {
  return protocol === 'tls' ? 5061 : 5060;
}

function sameDay(a: number, b: number): boolean {
  return new Date(a).toISOString().slice(0, 10) === new Date(b).toISOString().slice(0, 10);
}
