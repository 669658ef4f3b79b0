import type { Logger } from 'pino';
import { parseRtpHeader } from '../../protocol/rtp/rtp-packet.js';
import type { NptRange } from '../../protocol/rtsp/headers.js';
import type { LiveTrackCodec } from '../live-audio.js';
import type { LiveFeed, LivePacket, LiveSubscription } from '../live-feed.js';
import { LiveMixSource } from './live-mix-source.js';
import { MixPacketQueue, PcapPacketQueue, type PacketQueue } from './packet-queues.js';
import type { Presentation } from './presentation.js';
import type { RtspUser } from './rtsp-access.js';
import type { OutputStream } from './stream-output.js';

/**
 * One RTSP session (RFC 2326 §A.1 server state machine: Init → Ready → Playing ⇄ Ready): the
 * streams a client set up, and what feeds them. An archive is replayed with its original timing,
 * paced by a timer against the wall clock (a packet leaves when the time since PLAY reaches its
 * arrival time since the session start, never all at once); a live session forwards the live
 * feed's packets as they come, or mixes them into one PCMU stream (`?mix=1`, live-mix-source.ts).
 * Either way each stream's packets keep continuous sequence numbers, and RTCP sender reports go
 * out at PLAY and every few seconds.
 */

/** RFC 3550 §6.2 suggests 5 s as the minimum report interval; one report per stream each time. */
const REPORT_INTERVAL_MS = 5000;
/** The pacer never sleeps longer than this (a timer that wakes 5 times a second costs nothing). */
const MAX_SLEEP_MS = 200;
/** How long a live session stays after the call ended (BYE sent) for the client's TEARDOWN. */
const ENDED_LINGER_MS = 5000;

export type PlayOutcome =
  | {
      readonly ok: true;
      readonly startS: number;
      /** Where the play stops, when before the end of the recording (a Range with an end). */
      readonly endS?: number;
      readonly rtpInfo: readonly {
        readonly streamId: number;
        readonly seq: number;
        readonly rtptime: number;
      }[];
    }
  | { readonly ok: false; readonly status: 404 | 455 | 457; readonly reason: string };

export interface PlaySessionOptions {
  readonly id: string;
  readonly presentation: Presentation;
  readonly user: RtspUser;
  readonly liveFeed: LiveFeed | undefined;
  /** The codec of a track of the live session (the live mix decodes them). */
  readonly liveCodecs?: (trackNumber: number) => Promise<LiveTrackCodec | undefined>;
  readonly logger: Logger;
  readonly now: () => number;
  readonly timeoutMs: number;
  /** The session timed out, or a live call ended and the client did not tear down: remove it. */
  readonly onExpired: (session: RtspPlaySession) => void;
}

export class RtspPlaySession {
  readonly id: string;
  readonly presentation: Presentation;
  readonly user: RtspUser;
  readonly streams = new Map<number, OutputStream>();
  /** The connection that made it (TCP-interleaved streams die with it). */
  owner: object | undefined;
  readonly #liveFeed: LiveFeed | undefined;
  readonly #liveCodecs: ((trackNumber: number) => Promise<LiveTrackCodec | undefined>) | undefined;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #onExpired: (session: RtspPlaySession) => void;
  #state: 'ready' | 'playing' | 'closed' = 'ready';
  #positionS = 0;
  #endS = 0;
  #queues = new Map<number, PacketQueue>();
  #playWallMs = 0;
  #playStartS = 0;
  #lastReportMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #subscription: LiveSubscription | undefined;
  #liveEnded = false;
  #liveMix: LiveMixSource | undefined;

  constructor(options: PlaySessionOptions) {
    this.id = options.id;
    this.presentation = options.presentation;
    this.user = options.user;
    this.#liveFeed = options.liveFeed;
    this.#liveCodecs = options.liveCodecs;
    this.#log = options.logger;
    this.#now = options.now;
    this.#timeoutMs = options.timeoutMs;
    this.#onExpired = options.onExpired;
    this.touch();
  }

  get state(): 'ready' | 'playing' | 'closed' {
    return this.#state;
  }

  get live(): boolean {
    return this.presentation.target.kind === 'live';
  }

  /** Any request or RTCP from the client keeps the session (RFC 2326 §12.37 timeout). */
  touch(): void {
    if (this.#state === 'closed') {
      return;
    }
    clearTimeout(this.#expiry);
    this.#expiry = setTimeout(() => {
      this.#log.info({ rtspSession: this.id }, 'RTSP session timed out');
      this.#onExpired(this);
    }, this.#timeoutMs);
    this.#expiry.unref();
  }

  play(range: NptRange | undefined): PlayOutcome {
    if (this.#state === 'closed') {
      return { ok: false, status: 455, reason: 'Method Not Valid in This State' };
    }
    return this.live ? this.#playLive() : this.#playArchive(range);
  }

  #playArchive(range: NptRange | undefined): PlayOutcome {
    const duration = this.presentation.durationS ?? 0;
    const seek = range?.startS;
    if (range?.now === true) {
      return { ok: false, status: 457, reason: 'Invalid Range (an archive has no "now")' };
    }
    if (seek !== undefined && seek > duration) {
      return {
        ok: false,
        status: 457,
        reason: `Invalid Range (the recording lasts ${duration.toFixed(3)} s)`,
      };
    }
    this.#stopPacing();
    const resume = range === undefined && this.#queues.size > 0 && this.#positionS < this.#endS;
    const startS = seek ?? (resume ? this.#positionS : range === undefined ? this.#positionS : 0);
    const endS = Math.min(range?.endS ?? duration, duration);
    if (!resume) {
      this.#closeQueues();
      this.#openQueues(startS, endS);
      for (const stream of this.streams.values()) {
        stream.restartRun();
      }
    }
    this.#endS = endS;
    this.#positionS = startS;
    this.#playStartS = startS;
    this.#playWallMs = this.#now();
    this.#state = 'playing';
    const rtpInfo = [...this.streams.values()].map((s) => ({
      streamId: s.streamId,
      seq: s.nextSeq,
      rtptime: s.rtpTimeAt(startS),
    }));
    // The first tick sends the first reports, after the PLAY answer has been written.
    this.#lastReportMs = -Infinity;
    for (const queue of this.#queues.values()) {
      queue.refill();
    }
    this.#schedule(0);
    // The answer's Range names an end only when the client asked to stop early. An end that is
    // the recording's own makes GStreamer's jitter buffer arm an end-of-stream timer that races
    // the EOS our RTCP BYE brings, and now and then rtspsrc never finishes (GStreamer 1.22);
    // the length is in the SDP's a=range for players that show it.
    return { ok: true, startS, ...(endS < duration ? { endS } : {}), rtpInfo };
  }

  #openQueues(startS: number, endS: number): void {
    const { presentation } = this;
    const sessionStartMs = presentation.session.sessionStartDate;
    const onData = (): void => {
      if (this.#state === 'playing') {
        this.#schedule(0);
      }
    };
    if (presentation.mixSources !== undefined) {
      this.#queues.set(
        0,
        new MixPacketQueue({
          sources: presentation.mixSources.map(({ track, filePath }) => ({
            filePath,
            codec: track.codec.toUpperCase(),
            payloadType: track.payloadType,
            clockRateHz: track.clockRateHz,
          })),
          sessionStartMs,
          startS,
          endS,
          logger: this.#log,
          onData,
        }),
      );
      return;
    }
    for (const stream of presentation.streams) {
      if (stream.filePath === undefined || !this.streams.has(stream.streamId)) {
        continue;
      }
      this.#queues.set(
        stream.streamId,
        new PcapPacketQueue({
          filePath: stream.filePath,
          sessionStartMs,
          payloadType: stream.payloadType,
          startS,
          endS,
          logger: this.#log,
          onData,
        }),
      );
    }
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#tick();
    }, delayMs);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#state !== 'playing') {
      return;
    }
    const nowMs = this.#now();
    const npt = this.#playStartS + (nowMs - this.#playWallMs) / 1000;
    if (nowMs - this.#lastReportMs >= REPORT_INTERVAL_MS) {
      this.#report(false);
    }
    let nextDueS = Infinity;
    let waiting = false;
    let done = true;
    for (const [streamId, queue] of this.#queues) {
      const stream = this.streams.get(streamId);
      for (let packet = queue.peek(); packet !== undefined && packet.offsetS <= npt; packet = queue.peek()) {
        queue.shift();
        stream?.send(packet);
      }
      queue.refill();
      const next = queue.peek();
      if (next !== undefined) {
        nextDueS = Math.min(nextDueS, next.offsetS);
      } else if (!queue.exhausted) {
        waiting = true;
      }
      done &&= queue.exhausted;
    }
    this.#positionS = Math.min(npt, this.#endS);
    if (done) {
      // The end of the range: BYE on every stream, which ends ffmpeg's and GStreamer's playback.
      this.#positionS = this.#endS;
      this.#state = 'ready';
      this.#report(true);
      this.#closeQueues();
      return;
    }
    // A queue still reading wakes the pacer itself (onData); the sleep bounds that wait too.
    const sleepMs = waiting ? 20 : (nextDueS - npt) * 1000;
    this.#schedule(Math.max(1, Math.min(MAX_SLEEP_MS, sleepMs)));
  }

  /** Sender reports for the current instant on every stream. */
  #report(bye: boolean): void {
    const nowMs = this.#now();
    this.#lastReportMs = nowMs;
    const npt = this.live
      ? (nowMs - this.presentation.session.sessionStartDate) / 1000
      : this.#state === 'playing'
        ? this.#playStartS + (nowMs - this.#playWallMs) / 1000
        : this.#positionS;
    for (const stream of this.streams.values()) {
      stream.report(nowMs, npt, bye);
    }
  }

  #playLive(): PlayOutcome {
    if (this.#liveEnded) {
      return { ok: false, status: 455, reason: 'Method Not Valid in This State (the call has ended)' };
    }
    const nowMs = this.#now();
    const sessionStartMs = this.presentation.session.sessionStartDate;
    const nowS = (nowMs - sessionStartMs) / 1000;
    if (this.#subscription === undefined) {
      const mix = this.presentation.target.mix ? this.#startLiveMix(nowMs) : undefined;
      const subscription = this.#liveFeed?.subscribe(this.presentation.session.sessionId, {
        packets: (trackNumber, packets) => {
          if (mix === undefined) {
            this.#forward(trackNumber, packets);
          } else {
            mix.packets(trackNumber, packets);
          }
        },
        ended: () => {
          if (mix === undefined) {
            this.#liveCallEnded();
          } else {
            // The mix ends once its last audio, `delay` behind, has been sent.
            mix.end();
          }
        },
      });
      if (subscription === undefined) {
        this.#stopLiveMix();
        // Ended since SETUP, or recorded by another node: there is nothing to forward here.
        this.#liveCallEnded();
        return {
          ok: false,
          status: 404,
          reason: 'Not Found (the session is not being recorded on this node)',
        };
      }
      this.#subscription = subscription;
      this.#liveMix?.start();
    }
    this.#state = 'playing';
    for (const stream of this.streams.values()) {
      stream.restartRun();
    }
    const rtpInfo = [...this.streams.values()].map((s) => ({
      streamId: s.streamId,
      seq: s.nextSeq,
      rtptime: s.rtpTimeAt(nowS),
    }));
    this.#scheduleLiveReports(0);
    return { ok: true, startS: nowS, rtpInfo };
  }

  /** The live mix of this PLAY: its packet k carries the audio captured 20k ms after `originMs`. */
  #startLiveMix(originMs: number): LiveMixSource {
    const stream = this.streams.get(0);
    const mix = new LiveMixSource({
      codecOf: this.#liveCodecs ?? (() => Promise.resolve(undefined)),
      sessionStartMs: this.presentation.session.sessionStartDate,
      originMs,
      now: this.#now,
      logger: this.#log,
      send: (packet) => {
        if (this.#state === 'playing') {
          stream?.send(packet);
        }
      },
      onEnd: () => {
        this.#liveCallEnded();
      },
    });
    this.#liveMix = mix;
    return mix;
  }

  #stopLiveMix(): void {
    const mix = this.#liveMix;
    if (mix !== undefined) {
      this.#liveMix = undefined;
      mix.close();
      this.#log.debug({ rtspSession: this.id, ...mix.counters }, 'RTSP live mix stopped');
    }
  }

  /** Live: a report now (after the PLAY answer) and then every REPORT_INTERVAL_MS. */
  #scheduleLiveReports(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#state === 'playing') {
        this.#report(false);
        this.#scheduleLiveReports(REPORT_INTERVAL_MS);
      }
    }, delayMs);
  }

  #forward(trackNumber: number, packets: readonly LivePacket[]): void {
    const stream = this.streams.get(trackNumber);
    if (this.#state !== 'playing' || stream === undefined) {
      return;
    }
    const sessionStartMs = this.presentation.session.sessionStartDate;
    for (const packet of packets) {
      const header = parseRtpHeader(packet.rtp);
      if (!header.ok || header.value.payloadType !== stream.payloadType) {
        continue;
      }
      const { payloadOffset, payloadLength, marker, timestamp } = header.value;
      stream.send({
        offsetS: (packet.arrivalMs - sessionStartMs) / 1000,
        payload: packet.rtp.subarray(payloadOffset, payloadOffset + payloadLength),
        marker,
        recordedTimestamp: timestamp,
      });
    }
  }

  #liveCallEnded(): void {
    if (this.#liveEnded) {
      return;
    }
    this.#liveEnded = true;
    this.#subscription = undefined;
    this.#stopLiveMix();
    if (this.#state === 'closed') {
      return;
    }
    this.#report(true);
    this.#state = 'ready';
    clearTimeout(this.#timer);
    // The client tears down on BYE; one that does not is removed shortly after.
    clearTimeout(this.#expiry);
    this.#expiry = setTimeout(() => {
      this.#onExpired(this);
    }, ENDED_LINGER_MS);
    this.#expiry.unref();
  }

  pause(): PlayOutcome | undefined {
    if (this.#state === 'closed') {
      return { ok: false, status: 455, reason: 'Method Not Valid in This State' };
    }
    if (this.#state === 'playing') {
      if (this.live) {
        this.#subscription?.close();
        this.#subscription = undefined;
        this.#stopLiveMix();
        clearTimeout(this.#timer);
      } else {
        const npt = this.#playStartS + (this.#now() - this.#playWallMs) / 1000;
        this.#positionS = Math.min(npt, this.#endS);
        this.#stopPacing();
      }
      this.#state = 'ready';
    }
    return undefined;
  }

  /** Where playback stands (npt seconds), for the PAUSE answer's Range. */
  get positionS(): number {
    return this.#positionS;
  }

  /** Stops everything and releases sockets and files. Idempotent. */
  close(): void {
    if (this.#state === 'closed') {
      return;
    }
    this.#state = 'closed';
    this.#stopPacing();
    this.#closeQueues();
    clearTimeout(this.#expiry);
    this.#subscription?.close();
    this.#subscription = undefined;
    this.#stopLiveMix();
    for (const stream of this.streams.values()) {
      stream.sink.close();
    }
  }

  #stopPacing(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #closeQueues(): void {
    for (const queue of this.#queues.values()) {
      queue.close();
    }
    this.#queues.clear();
  }
}
