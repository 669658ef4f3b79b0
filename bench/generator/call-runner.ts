/**
 * `place-calls`: the generator as a call controller. Calls start evenly spaced at the requested
 * rate; each is answered, carries real-time RTP on both of its streams for holdMs, and is hung
 * up with BYE. Two shapes, as the recorder meets them in the field:
 *
 * - CUCM built-in-bridge (intake-samples §1.1–1.2): two dialogs per call (near end, far end),
 *   INVITE without SDP, the recorder's offer in the 200 OK, CUCM's answer in the ACK, all the
 *   call metadata as From URI parameters. callKey = x-refci.
 * - CUBE dial-peer forking (intake-samples §2.1): one INVITE whose offer has two sendonly
 *   m=audio lines, a Cisco-Guid and X-Cisco-Recording-Participant headers. callKey = Cisco-Guid.
 */
import { performance } from 'node:perf_hooks';
import type { CallsReport, CallStyle, GeneratorCommand, StreamReport } from '../protocol.js';
import { parseNameAddr } from '../../packages/server/src/protocol/sip/headers.js';
import {
  getHeader,
  getHeaders,
  type SipRequest,
  type SipResponse,
} from '../../packages/server/src/protocol/sip/message.js';
import {
  buildRequest,
  buildResponse,
  serializeSipMessage,
  type BuildRequestOptions,
} from '../../packages/server/src/protocol/sip/serialize.js';
import { serializeSipUri } from '../../packages/server/src/protocol/sip/uri.js';
import {
  newBranch,
  newCallId,
  newCiscoGuid,
  newRefCiPair,
  newSsrc,
  newTag,
  randomSequence,
  randomTimestamp,
} from './ids.js';
import { percentile } from './percentile.js';
import type { RtpStreamResult } from './rtp-scheduler.js';
import type { RtpSender } from './rtp-sender.js';
import {
  cubeOffer,
  cucmAckAnswer,
  nominalMediaPort,
  readMediaDestinations,
  type MediaDestination,
} from './sdp-bodies.js';
import type { SipEndpoint } from './sip-endpoint.js';
import { PACKET_INTERVAL_MS, PAYLOAD_TYPE, type G711Codec } from './tone.js';

export type PlaceCallsCommand = Extract<GeneratorCommand, { type: 'place-calls' }>;

export interface CallRunnerDeps {
  readonly endpoint: SipEndpoint;
  readonly rtp: RtpSender;
  /** Ids for RTP streams, unique across commands (the sender may still hold old ones). */
  readonly nextStreamId: () => number;
}

/** Why calls failed, for the generator's stderr summary (the report only counts them). */
export type FailureReasons = Map<string, number>;

/** How long a terminated dialog still answers a retransmitted BYE from the recorder (64*T1). */
const DIALOG_LINGER_MS = 32_000;
const RECORDER_USER = { cucm: '7878', cube: '595959' } as const;

interface StreamState {
  readonly number: number;
  readonly id: number;
  readonly ssrc: number;
  started: boolean;
  done: boolean;
  sentPackets: number;
  latePackets: number;
}

type LegOutcome = 'pending' | 'answered' | 'rejected' | 'failed';
type DialogState = 'none' | 'confirmed' | 'terminating' | 'terminated';

interface LegState {
  readonly callId: string;
  readonly invite: SipRequest;
  /** Streams this dialog carries: one per CUCM leg, both for the CUBE dialog. */
  readonly streams: StreamState[];
  inviteSentAtMs: number;
  answeredAtMs: number;
  outcome: LegOutcome;
  dialog: DialogState;
  ackBytes: Uint8Array | undefined;
  /** Remote target, To with tag and route set, learnt from the 2xx (RFC 3261 §12.1.2). */
  remoteTarget: string;
  to: string;
  routes: string[];
}

class Call {
  readonly key: string;
  readonly legs: LegState[];
  readonly streams: StreamState[];
  setupDone = false;
  answered = false;
  rejected = false;
  failed = false;
  ended = false;
  destinations = new Map<number, MediaDestination>();

  constructor(key: string, legs: LegState[], streams: StreamState[]) {
    this.key = key;
    this.legs = legs;
    this.streams = streams;
  }
}

export class CallRunner {
  readonly #command: PlaceCallsCommand;
  readonly #deps: CallRunnerDeps;
  readonly #style: CallStyle;
  readonly #codec: G711Codec;
  readonly #packetsPerStream: number;
  readonly #calls: Call[] = [];
  readonly #setupMs: number[] = [];
  readonly failureReasons: FailureReasons = new Map();
  #firstInviteAtMs: number | undefined;
  #lastAnsweredAtMs: number | undefined;
  #endedCalls = 0;
  #startTimer: NodeJS.Timeout | undefined;
  #resolve: ((report: CallsReport) => void) | undefined;

  constructor(command: PlaceCallsCommand, deps: CallRunnerDeps) {
    if (!Number.isInteger(command.calls) || command.calls < 0) {
      throw new Error(`place-calls: calls must be a non-negative integer, not ${command.calls}`);
    }
    if (!(command.callsPerSecond > 0)) {
      throw new Error(`place-calls: callsPerSecond must be positive, not ${command.callsPerSecond}`);
    }
    this.#command = command;
    this.#deps = deps;
    this.#style = command.style;
    this.#codec = command.codec;
    this.#packetsPerStream = Math.max(0, Math.round(command.holdMs / PACKET_INTERVAL_MS));
  }

  run(): Promise<CallsReport> {
    return new Promise<CallsReport>((resolve) => {
      this.#resolve = resolve;
      if (this.#command.calls === 0) {
        this.#finish();
        return;
      }
      const startedAtMs = performance.now();
      const intervalMs = 1000 / this.#command.callsPerSecond;
      let started = 0;
      // Evenly spaced starts; after a stall every call that is due starts at once.
      const startDue = (): void => {
        this.#startTimer = undefined;
        const now = performance.now();
        while (started < this.#command.calls && startedAtMs + started * intervalMs <= now) {
          started++;
          this.#startCall();
        }
        if (started < this.#command.calls) {
          this.#startTimer = setTimeout(startDue, startedAtMs + started * intervalMs - now);
        }
      };
      startDue();
    });
  }

  /** Stops starting calls (the process is exiting). */
  cancel(): void {
    clearTimeout(this.#startTimer);
  }

  #startCall(): void {
    const call = this.#style === 'cucm' ? this.#cucmCall() : this.#cubeCall();
    this.#calls.push(call);
    for (const leg of call.legs) {
      this.#deps.endpoint.addDialog(leg.callId, (request, respond) => {
        this.#onRecorderRequest(call, leg, request, respond);
      });
      leg.inviteSentAtMs = performance.now();
      this.#firstInviteAtMs ??= leg.inviteSentAtMs;
      this.#deps.endpoint.sendInvite(leg.invite, {
        onFinal: (response, retransmission) => {
          this.#onFinal(call, leg, response, retransmission);
        },
        onTimeout: () => {
          this.#fail(call, 'INVITE timed out (Timer B)');
          leg.outcome = 'failed';
          this.#afterSetupStep(call);
        },
      });
    }
  }

  #newStream(number: number): StreamState {
    return {
      number,
      id: this.#deps.nextStreamId(),
      ssrc: newSsrc(),
      started: false,
      done: false,
      sentPackets: 0,
      latePackets: 0,
    };
  }

  #newLeg(invite: SipRequest, callId: string, streams: StreamState[]): LegState {
    return {
      callId,
      invite,
      streams,
      inviteSentAtMs: 0,
      answeredAtMs: 0,
      outcome: 'pending',
      dialog: 'none',
      ackBytes: undefined,
      remoteTarget: invite.requestUri,
      to: '',
      routes: [],
    };
  }

  #cucmCall(): Call {
    const { nearRefCi, farRefCi } = newRefCiPair();
    const endpoint = this.#deps.endpoint;
    const local = endpoint.localAddress;
    const target = this.#command.target;
    const n = Number(nearRefCi);
    const nearAddr = String(100000 + (n % 900000));
    const farAddr = String(200000 + (n % 800000));
    const device = (base: number): string => `SEP${(base + n).toString(16).toUpperCase().padStart(12, '0')}`;
    const params =
      `x-refci=${nearRefCi};x-nearendclusterid=BenchCluster;x-nearenddevice=${device(0xb00000000000)};` +
      `x-nearendaddr=${nearAddr};x-farendrefci=${farRefCi};x-farendclusterid=BenchCluster;` +
      `x-farenddevice=${device(0xc00000000000)};x-farendaddr=${farAddr}`;
    const streams = [this.#newStream(0), this.#newStream(1)];
    const legs = (['x-nearend', 'x-farend'] as const).map((flag, i) => {
      const callId = newCallId(local);
      const invite = buildRequest({
        method: 'INVITE',
        requestUri: `sip:${RECORDER_USER.cucm}@${target.host}:${target.sipPort}`,
        via: endpoint.via(newBranch()),
        from: `"Agent ${nearAddr}" <sip:${nearAddr}@${local};${flag};${params}>;tag=${newTag()}`,
        to: `<sip:${RECORDER_USER.cucm}@${target.host}>`,
        callId,
        cseq: 101,
        contact: `<sip:${nearAddr}@${local}:${endpoint.localPort};transport=udp>;isFocus`,
        headers: [
          { name: 'Supported', value: 'replaces' },
          { name: 'User-Agent', value: 'Cisco-CUCM11.5' },
          {
            name: 'Allow',
            value: 'INVITE, OPTIONS, INFO, BYE, CANCEL, ACK, PRACK, UPDATE, REFER, SUBSCRIBE, NOTIFY',
          },
          { name: 'Expires', value: '180' },
          { name: 'Cisco-Guid', value: newCiscoGuid() },
        ],
      });
      const stream = streams[i];
      return this.#newLeg(invite, callId, stream === undefined ? [] : [stream]);
    });
    return new Call(nearRefCi, legs, streams);
  }

  #cubeCall(): Call {
    const endpoint = this.#deps.endpoint;
    const local = endpoint.localAddress;
    const target = this.#command.target;
    const guid = newCiscoGuid();
    const streams = [this.#newStream(0), this.#newStream(1)];
    const callId = newCallId(local);
    const sessionId = streams[0]?.id ?? 0;
    const invite = buildRequest({
      method: 'INVITE',
      requestUri: `sip:${RECORDER_USER.cube}@${target.host}:${target.sipPort}`,
      via: endpoint.via(newBranch()),
      from: `<sip:${local}>;tag=${newTag()}`,
      to: `<sip:${RECORDER_USER.cube}@${target.host}>`,
      callId,
      cseq: 101,
      contact: `<sip:${local}:${endpoint.localPort};transport=udp>`,
      headers: [
        {
          name: 'X-Cisco-Recording-Participant',
          value: `sip:${4000 + (sessionId % 5000)}@${local};media-index="0"`,
        },
        {
          name: 'X-Cisco-Recording-Participant',
          value: `sip:${9000 + (sessionId % 900)}@${local};media-index="1"`,
        },
        { name: 'Cisco-Guid', value: guid },
        { name: 'User-Agent', value: 'Cisco-SIPGateway/IOS-17.6' },
        {
          name: 'Allow',
          value: 'INVITE, OPTIONS, BYE, CANCEL, ACK, PRACK, UPDATE, REFER, SUBSCRIBE, NOTIFY, INFO',
        },
        { name: 'Supported', value: 'timer,resource-priority,replaces' },
        { name: 'Expires', value: '180' },
      ],
      body: {
        contentType: 'application/sdp',
        content: cubeOffer(
          local,
          sessionId,
          this.#codec,
          streams.map((s) => nominalMediaPort(s.id)),
        ),
      },
    });
    return new Call(guid, [this.#newLeg(invite, callId, streams)], streams);
  }

  #onFinal(call: Call, leg: LegState, response: SipResponse, retransmission: boolean): void {
    if (response.status >= 300) {
      if (response.status === 503) {
        leg.outcome = 'rejected';
        call.rejected = true;
      } else {
        leg.outcome = 'failed';
        this.#fail(call, `INVITE answered ${response.status}`);
      }
      this.#afterSetupStep(call);
      return;
    }
    if (retransmission) {
      // RFC 3261 §13.2.2.4: every retransmitted 2xx gets the same ACK again.
      if (leg.ackBytes !== undefined) {
        this.#deps.endpoint.send(leg.ackBytes);
      }
      return;
    }
    if (leg.dialog !== 'none') {
      return;
    }
    leg.answeredAtMs = performance.now();
    leg.dialog = 'confirmed';
    leg.to = getHeader(response, 'To') ?? '';
    const contact = getHeader(response, 'Contact');
    const contactAddr = contact === undefined ? undefined : parseNameAddr(contact);
    if (contactAddr?.ok === true) {
      leg.remoteTarget = serializeSipUri(contactAddr.value.uri);
    }
    // §12.1.2: the UAC's route set is the Record-Route list in reverse order.
    leg.routes = getHeaders(response, 'Record-Route').reverse();

    const body = this.#readAnswer(call, leg, response);
    const ack = this.#inDialogRequest(leg, 'ACK', 101, {
      ...(body === undefined ? {} : { body: { contentType: 'application/sdp', content: body } }),
    });
    leg.ackBytes = serializeSipMessage(ack);
    this.#deps.endpoint.send(leg.ackBytes);
    if (leg.outcome === 'failed') {
      // Answered after the generator gave up (or with an unusable SDP): end the dialog at once.
      this.#hangUp(call, leg);
      return;
    }
    leg.outcome = 'answered';
    this.#afterSetupStep(call);
  }

  /**
   * Reads the media destinations from the 2xx and returns the ACK body (CUCM's answer), or marks
   * the leg failed when the recorder's SDP is unusable.
   */
  #readAnswer(call: Call, leg: LegState, response: SipResponse): string | undefined {
    const host = this.#command.target.host;
    const destinations = readMediaDestinations(
      response.body,
      host,
      this.#style === 'cucm' ? this.#codec : undefined,
    );
    const wanted = leg.streams.length;
    if (!destinations.ok || destinations.value.length < wanted) {
      leg.outcome = 'failed';
      this.#fail(
        call,
        destinations.ok
          ? `recorder SDP has ${destinations.value.length} audio lines, ${wanted} needed`
          : destinations.error.code,
      );
    } else {
      for (const [i, stream] of leg.streams.entries()) {
        const destination = destinations.value[i];
        if (destination !== undefined) {
          call.destinations.set(stream.number, destination);
        }
      }
    }
    if (this.#style !== 'cucm') {
      return undefined;
    }
    const stream = leg.streams[0];
    return cucmAckAnswer(
      this.#deps.endpoint.localAddress,
      stream?.id ?? 0,
      this.#codec,
      nominalMediaPort(stream?.id ?? 0),
    );
  }

  /** Once every INVITE of the call has its outcome: start the media, or hang up what was answered. */
  #afterSetupStep(call: Call): void {
    if (call.setupDone || call.legs.some((leg) => leg.outcome === 'pending')) {
      this.#maybeEnd(call);
      return;
    }
    call.setupDone = true;
    if (!call.failed && call.legs.every((leg) => leg.outcome === 'answered')) {
      call.answered = true;
      const setupMs = Math.max(...call.legs.map((leg) => leg.answeredAtMs - leg.inviteSentAtMs));
      this.#setupMs.push(setupMs);
      this.#lastAnsweredAtMs = performance.now();
      for (const leg of call.legs) {
        for (const stream of leg.streams) {
          this.#startStream(call, leg, stream);
        }
      }
    } else {
      for (const leg of call.legs) {
        this.#hangUp(call, leg);
      }
    }
    this.#maybeEnd(call);
  }

  #startStream(call: Call, leg: LegState, stream: StreamState): void {
    const destination = call.destinations.get(stream.number);
    if (destination === undefined) {
      stream.done = true;
      return;
    }
    stream.started = true;
    this.#deps.rtp.start(
      {
        id: stream.id,
        localAddress: this.#deps.endpoint.localAddress,
        host: destination.host,
        port: destination.port,
        payloadType: PAYLOAD_TYPE[this.#codec],
        ssrc: stream.ssrc,
        firstSequence: randomSequence(),
        firstTimestamp: randomTimestamp(),
        packets: this.#packetsPerStream,
        toneIndex: stream.number,
      },
      (result: RtpStreamResult) => {
        stream.done = true;
        stream.sentPackets = result.sentPackets;
        stream.latePackets = result.latePackets;
        if (result.error !== undefined) {
          this.#fail(call, `RTP socket: ${result.error}`);
        }
        // The hold ends when the leg's media has been sent: then CUCM or CUBE hangs up.
        if (leg.streams.every((s) => s.done)) {
          this.#hangUp(call, leg);
        }
        this.#maybeEnd(call);
      },
    );
  }

  /** A request inside the leg's dialog (§12.2.1.1): its remote target, route set, tags and Call-ID. */
  #inDialogRequest(
    leg: LegState,
    method: 'ACK' | 'BYE',
    cseq: number,
    extra: Pick<BuildRequestOptions, 'body' | 'headers'>,
  ): SipRequest {
    return buildRequest({
      method,
      requestUri: leg.remoteTarget,
      via: this.#deps.endpoint.via(newBranch()),
      from: getHeader(leg.invite, 'From') ?? '',
      to: leg.to,
      callId: leg.callId,
      cseq,
      routes: leg.routes,
      ...extra,
    });
  }

  #hangUp(call: Call, leg: LegState): void {
    if (leg.dialog !== 'confirmed') {
      return;
    }
    leg.dialog = 'terminating';
    const bye = this.#inDialogRequest(leg, 'BYE', 102, {
      headers: [{ name: 'Reason', value: 'Q.850;cause=16' }],
    });
    this.#deps.endpoint.sendNonInvite(bye, (response) => {
      if (leg.dialog !== 'terminating') {
        return;
      }
      if (response === undefined) {
        this.#fail(call, 'BYE not answered (Timer F)');
      } else if (response.status >= 300 && response.status !== 481) {
        this.#fail(call, `BYE answered ${response.status}`);
      }
      this.#terminate(call, leg);
    });
  }

  #onRecorderRequest(
    call: Call,
    leg: LegState,
    request: SipRequest,
    respond: (response: SipResponse) => void,
  ): void {
    if (request.method !== 'BYE') {
      respond(buildResponse(request, 501, 'Not Implemented'));
      return;
    }
    if (leg.dialog === 'none') {
      respond(buildResponse(request, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    respond(buildResponse(request, 200, 'OK'));
    if (leg.dialog === 'terminated') {
      return;
    }
    if (leg.dialog === 'confirmed') {
      // The recorder hung up by itself (media timeout, shutdown): the call did not complete.
      this.#fail(call, 'recorder sent BYE');
    }
    this.#terminate(call, leg);
    for (const stream of call.streams) {
      if (stream.started && !stream.done) {
        this.#deps.rtp.stop(stream.id);
      }
    }
    for (const other of call.legs) {
      this.#hangUp(call, other);
    }
  }

  #terminate(call: Call, leg: LegState): void {
    leg.dialog = 'terminated';
    // Keep answering a retransmitted BYE for a while, then forget the dialog.
    setTimeout(() => {
      this.#deps.endpoint.removeDialog(leg.callId);
    }, DIALOG_LINGER_MS).unref();
    this.#maybeEnd(call);
  }

  #fail(call: Call, reason: string): void {
    call.failed = true;
    this.failureReasons.set(reason, (this.failureReasons.get(reason) ?? 0) + 1);
  }

  #maybeEnd(call: Call): void {
    if (call.ended || !call.setupDone) {
      return;
    }
    const legsDone = call.legs.every((leg) => leg.dialog === 'none' || leg.dialog === 'terminated');
    const streamsDone = call.streams.every((stream) => !stream.started || stream.done);
    if (!legsDone || !streamsDone) {
      return;
    }
    call.ended = true;
    for (const leg of call.legs) {
      if (leg.dialog === 'none') {
        this.#deps.endpoint.removeDialog(leg.callId);
      }
    }
    this.#endedCalls++;
    if (this.#endedCalls === this.#command.calls) {
      this.#finish();
    }
  }

  #finish(): void {
    const streams: StreamReport[] = [];
    let sentPackets = 0;
    let latePackets = 0;
    let answered = 0;
    let rejected = 0;
    let failed = 0;
    for (const call of this.#calls) {
      answered += call.answered ? 1 : 0;
      // A call both rejected (one leg 503) and failed (the other leg) counts as failed.
      failed += call.failed ? 1 : 0;
      rejected += call.rejected && !call.failed ? 1 : 0;
      for (const stream of call.streams) {
        if (!stream.started) {
          continue;
        }
        streams.push({
          callKey: call.key,
          stream: stream.number,
          ssrc: stream.ssrc,
          sentPackets: stream.sentPackets,
        });
        sentPackets += stream.sentPackets;
        latePackets += stream.latePackets;
      }
    }
    const sorted = [...this.#setupMs].sort((a, b) => a - b);
    const window =
      this.#firstInviteAtMs === undefined || this.#lastAnsweredAtMs === undefined
        ? 0
        : this.#lastAnsweredAtMs - this.#firstInviteAtMs;
    this.#resolve?.({
      type: 'calls-done',
      tag: this.#command.tag,
      attempted: this.#calls.length,
      answered,
      rejected,
      failed,
      setupMsP50: round2(percentile(sorted, 50)),
      setupMsP95: round2(percentile(sorted, 95)),
      setupWindowMs: round2(window),
      streams,
      sentPackets,
      latePackets,
    });
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
