import assert from 'node:assert/strict';
import { pino, type Logger } from 'pino';
import type {
  ExpectedSource,
  MediaEngine,
  MediaEvent,
  MediaLoad,
  SrtpParams,
  StreamSpec,
} from '../../src/media/media-engine.js';
import type { VerbatimEvent } from '../../src/model/events.js';
import { EMPTY_TRACK_STATS, type TrackStats } from '../../src/model/session.js';
import { parseSdp } from '../../src/protocol/sdp/sdp.js';
import type { SipHeader, SipRequest } from '../../src/protocol/sip/message.js';
import { encodeUtf8 } from '../../src/protocol/text.js';
import type { AdmissionOptions } from '../../src/recording/admission-controller.js';
import type { HostProbe } from '../../src/recording/admission-sampler.js';
import { RecordingService } from '../../src/recording/recording-service.js';
import type { WriteHealth } from '../../src/recording/write-health.js';
import type { DialogDelegate, IncomingInvite, ServerDialog, SipBody } from '../../src/sip/types.js';
import { FakeRepository } from './fake-repository.js';
import { waitFor } from './wait.js';

/**
 * Fakes around the recording domain for its unit tests: the SIP layer and the media engine are
 * replaced by recording fakes, the repository by the in-memory one, so each intake decision can be
 * checked exactly.
 */

export class FakeMedia implements MediaEngine {
  readonly open = new Map<string, StreamSpec>();
  readonly expected = new Map<string, ExpectedSource>();
  readonly closed: string[] = [];
  /** Every stream ever opened, with its spec (`open` forgets closed ones). */
  readonly specs = new Map<string, StreamSpec>();
  readonly srtp = new Map<string, SrtpParams | 'pending' | undefined>();
  readonly telephoneEvents = new Map<string, number | undefined>();
  readonly rearmed: string[] = [];
  /** Every hold (true) and resume (false) told, in order, by stream (recording health's gaps). */
  readonly holds: (readonly [string, boolean])[] = [];
  /** Every pause (true) and resume (false) asked, in order, by stream. */
  readonly pauses: (readonly [string, boolean])[] = [];
  /** The time setPaused reports its change took effect at; default: the moment it was asked. */
  pausedAt: (() => number) | undefined;
  #nextPort = 40000;
  #listener: ((event: MediaEvent) => void) | undefined;
  packets = 100;
  /** Packets a stream reports when closed, where it differs from `packets`. */
  readonly packetsByStream = new Map<string, number>();
  /** The media path's headroom signals, when a test gives some (admission control reads them). */
  load?: () => MediaLoad;

  openStream(spec: StreamSpec): Promise<{ port: number }> {
    this.open.set(spec.streamId, spec);
    this.specs.set(spec.streamId, spec);
    this.#nextPort += 2;
    return Promise.resolve({ port: this.#nextPort });
  }
  setExpectedSource(streamId: string, source: ExpectedSource | undefined): void {
    if (source !== undefined) {
      this.expected.set(streamId, source);
    }
  }
  setSrtp(streamId: string, srtp: SrtpParams | 'pending' | undefined): void {
    this.srtp.set(streamId, srtp);
  }
  rearmTimeout(streamId: string): void {
    this.rearmed.push(streamId);
  }
  setHeld(streamId: string, held: boolean): void {
    this.holds.push([streamId, held]);
  }
  setPaused(streamId: string, paused: boolean): Promise<number | undefined> {
    if (!this.open.has(streamId)) {
      return Promise.resolve(undefined);
    }
    this.pauses.push([streamId, paused]);
    return Promise.resolve(this.pausedAt?.() ?? Date.now());
  }
  /** Whether a stream is paused now: its spec said so at open, or its last setPaused. */
  isPaused(streamId: string): boolean {
    const last = this.pauses.filter(([id]) => id === streamId).at(-1);
    return last === undefined ? this.specs.get(streamId)?.paused === true : last[1];
  }
  setTelephoneEvent(streamId: string, payloadType: number | undefined): void {
    this.telephoneEvents.set(streamId, payloadType);
  }
  closeStream(streamId: string): Promise<TrackStats> {
    this.closed.push(streamId);
    this.open.delete(streamId);
    return Promise.resolve({
      ...EMPTY_TRACK_STATS,
      packets: this.packetsByStream.get(streamId) ?? this.packets,
    });
  }
  getStats(): TrackStats | undefined {
    return undefined;
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  onEvent(listener: (event: MediaEvent) => void): void {
    this.#listener = listener;
  }
  emit(event: MediaEvent): void {
    this.#listener?.(event);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The host's headroom signals, set by the test (admission control). */
export class FakeHostProbe implements HostProbe {
  eventLoopDelay = 0;
  rss = 100 * 2 ** 20;
  readonly memoryLimitBytes = 4 * 2 ** 30;
  closed = false;
  eventLoopDelayMs(): number {
    return this.eventLoopDelay;
  }
  rssBytes(): number {
    return this.rss;
  }
  close(): void {
    this.closed = true;
  }
}

export class FakeInvite implements IncomingInvite {
  readonly source = { protocol: 'udp' as const, address: '10.48.38.5', port: 5060 };
  readonly callId: string;
  cancelled = false;
  answer?: SipBody;
  rejection?: { status: number; reason: string; headers: readonly SipHeader[] };
  delegate?: DialogDelegate;
  byes = 0;

  constructor(readonly request: SipRequest) {
    this.callId = request.headers.find((h) => h.name === 'Call-ID')?.value ?? '';
  }
  accept(body: SipBody, delegate: DialogDelegate): ServerDialog {
    this.answer = body;
    this.delegate = delegate;
    return {
      callId: this.callId,
      localTag: 'l',
      remoteTag: 'r',
      terminated: false,
      bye: () => {
        this.byes++;
      },
    };
  }
  reject(status: number, reason: string, extraHeaders: readonly SipHeader[] = []): void {
    this.rejection = { status, reason, headers: extraHeaders };
  }
}

export function invite(
  from: string,
  body?: { type: string; content: string },
  callId = `c${Math.random()}`,
): FakeInvite {
  const headers: SipHeader[] = [
    { name: 'Via', value: 'SIP/2.0/UDP 10.48.38.5:5060;branch=z9hG4bK1' },
    { name: 'From', value: from },
    { name: 'To', value: '<sip:7878@10.48.38.30>' },
    { name: 'Call-ID', value: callId },
    { name: 'CSeq', value: '101 INVITE' },
  ];
  if (body !== undefined) {
    headers.push({ name: 'Content-Type', value: body.type });
  }
  return new FakeInvite({
    type: 'request',
    method: 'INVITE',
    requestUri: 'sip:7878@10.48.38.30',
    headers,
    body: encodeUtf8(body?.content ?? ''),
  });
}

export function ack(sdp: string): SipRequest {
  return { type: 'request', method: 'ACK', requestUri: 'sip:x', headers: [], body: encodeUtf8(sdp) };
}

export function cucmFrom(stream: 'x-nearend' | 'x-farend', refCi = '19301625'): string {
  return `"SJ User 2" <sip:1001@10.48.38.5;${stream};x-refci=${refCi};x-nearenddevice=SEP6C416A369525;x-nearendaddr=1001;x-farendrefci=19301624;x-farenddevice=SEP38ED18552A12;x-farendaddr=1000>;tag=${stream}`;
}

/**
 * Both legs of one CUCM call (the default x-refci pair) offered to the service in `order`, once
 * both are answered.
 */
export async function offerCucmCall(
  service: RecordingService,
  order: readonly ('x-nearend' | 'x-farend')[] = ['x-nearend', 'x-farend'],
): Promise<{ near: FakeInvite; far: FakeInvite }> {
  const near = invite(cucmFrom('x-nearend'));
  const far = invite(cucmFrom('x-farend'));
  for (const stream of order) {
    service.onInvite(stream === 'x-nearend' ? near : far);
  }
  await Promise.all([answered(near), answered(far)]);
  return { near, far };
}

export const ACK_SDP =
  'v=0\r\no=CiscoSystemsCCM-SIP 1 1 IN IP4 10.48.38.5\r\ns=SIP Call\r\nc=IN IP4 10.48.38.107\r\nt=0 0\r\nm=audio 17904 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=sendonly\r\na=rtpmap:101 telephone-event/8000\r\n';

export interface RecordingSetUp {
  service: RecordingService;
  media: FakeMedia;
  repository: FakeRepository;
  /** The service's clock, when the test set one (`startMs`); otherwise the service reads Date.now. */
  clock: { nowMs: number };
  /** Every event the service published. */
  events: VerbatimEvent[];
}

export interface SetUpOptions {
  readonly maxSessions?: number;
  /** The address written into Verbatim's SDP. */
  readonly advertise?: string;
  /** Gives the service a clock of the test's own, starting here, moved by `clock.nowMs`. */
  readonly startMs?: number;
  /** Session ids are this prefix and a count from 1: session1, session2… unless given. */
  readonly sessionIdPrefix?: string;
  readonly storageCritical?: () => boolean;
  /** Admission control by headroom (off unless given). */
  readonly admission?: AdmissionOptions;
  /** Silent unless given. */
  readonly logger?: Logger;
  /** Whether the node can write (the service makes its own, probing /data/media, unless given). */
  readonly writeHealth?: WriteHealth;
}

/** A recording service over the fakes, as each unit test of the recording domain starts one. */
export function setUp(options: SetUpOptions = {}): RecordingSetUp {
  const media = new FakeMedia();
  const repository = new FakeRepository();
  const clock = { nowMs: options.startMs ?? Date.now() };
  const events: VerbatimEvent[] = [];
  const prefix = options.sessionIdPrefix ?? 'session';
  let id = 0;
  const service = new RecordingService({
    repository,
    media,
    mediaDir: '/data/media',
    advertise: options.advertise ?? '192.0.2.10',
    nodeId: 'node-a',
    logger: options.logger ?? pino({ level: 'silent' }),
    newSessionId: () => `${prefix}${++id}`,
    events: { publish: (event) => events.push(event) },
    ...(options.startMs === undefined ? {} : { now: () => clock.nowMs }),
    ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
    ...(options.storageCritical === undefined ? {} : { storageCritical: options.storageCritical }),
    ...(options.admission === undefined ? {} : { admission: options.admission }),
    ...(options.writeHealth === undefined ? {} : { writeHealth: options.writeHealth }),
  });
  return { service, media, repository, clock, events };
}

export async function answered(i: FakeInvite): Promise<void> {
  await waitFor(() => i.answer !== undefined || i.rejection !== undefined, { timeoutMs: 2000 });
}

/** Sends an in-dialog request (re-INVITE, UPDATE) on an answered call and gives Verbatim's response. */
export function sendInDialog(
  call: FakeInvite,
  request: SipRequest,
): Promise<{ status: number; body?: SipBody }> {
  return new Promise((resolve) => {
    call.delegate!.onRequest!(request, (status, _reason, body) => {
      resolve(body === undefined ? { status } : { status, body });
    });
  });
}

/** The ports of the m= lines of an SDP answer. */
export function answerPorts(body: SipBody | undefined): number[] {
  const parsed = parseSdp(body?.content ?? '');
  assert.ok(parsed.ok);
  return parsed.value.media.map((m) => m.port);
}
