import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

import type { TrackStats } from '../model/session.js';
import { PCAP_MAX_PAYLOAD_BYTES } from '../protocol/container/pcap.js';
import { isLikelyRtcp, parseRtpHeader, type RtpHeader } from '../protocol/rtp/rtp-packet.js';
import { parseTelephoneEvent } from '../protocol/rtp/telephone-event.js';
import type { ArrivalClock } from './arrival-clock.js';
import { DtmfDetector, type DtmfDetection } from './dtmf-detector.js';
import { estimateQueuedDatagrams, type UdpSocketState } from './kernel-udp.js';
import type { ExpectedSource } from './media-engine.js';
import type { TapBatch } from './worker-messages.js';
import { SourcePolicy } from './source-policy.js';
import { SRTP_DROP_AUTH, SrtpReceiveContext, type SrtpParams } from './srtp.js';
import { announcesSilence, type AudioContentCheck } from './audio-content.js';
import { StreamStatistics } from './stream-stats.js';
import { TapBuffer } from './tap-buffer.js';
import { TrackWriter, type TrackWriterOptions } from './track-writer.js';

export interface RtpStreamSpec {
  readonly streamId: string;
  readonly filePath: string;
  /** Even RTP port; RTCP is received on port + 1 (RFC 3550 §11). */
  readonly port: number;
  readonly bindAddress: string;
  /** Our address, written as the destination of every pcap record. */
  readonly localAddress: string;
  readonly clockRateHz: number;
  readonly mediaTimeoutMs: number;
  readonly writer: TrackWriterOptions;
  /** SRTP keys, or 'pending' (SRTP, key not known yet); absent for plain RTP. */
  readonly srtp?: SrtpParams | 'pending';
  /** Start paused (see RtpStream.setPaused). */
  readonly paused?: boolean;
}

export interface RtpStreamHost {
  readonly clock: ArrivalClock;
  /** The first RTP packet was stored, at `atMs` (epoch ms). */
  onFirstPacket(stream: RtpStream, atMs: number): void;
  /**
   * A socket or the file failed: the stream has closed itself. `fileErrorCode` is the errno code
   * (ENOSPC, EIO, EROFS, …) when writing the track file failed, absent for a socket error.
   */
  onFailure(stream: RtpStream, error: Error, fileErrorCode?: string): void;
  /** One RFC 4733 DTMF key press is over. */
  onDtmf(stream: RtpStream, detection: DtmfDetection): void;
  /**
   * The kernel's view of the worker's sockets, read after this call (see UdpSocketTable), or
   * undefined where the host does not say.
   */
  readSocketTable(): Promise<ReadonlyMap<number, UdpSocketState> | undefined>;
}

/** How long a closing stream goes on reading what is queued on its socket. */
const CLOSE_DRAIN_LIMIT_MS = 500;

/**
 * One received RTP stream inside a media worker: the RTP and RTCP sockets, the source filter,
 * the statistics and the track file. The datagram handler is the hot path of the whole server:
 * it compares the source, parses the header and copies the datagram into the batch buffer, and
 * neither logs nor posts messages.
 */
export class RtpStream {
  readonly streamId: string;
  readonly port: number;
  readonly #host: RtpStreamHost;
  readonly #rtp: Socket;
  readonly #rtcp: Socket;
  readonly #writer: TrackWriter;
  readonly #stats: StreamStatistics;
  /** The statistics' silence check, read once per stored packet until it has heard audio. */
  readonly #audio: AudioContentCheck;
  readonly #policy: SourcePolicy;
  readonly #mediaTimeoutMs: number;
  /** Dual-stack sockets report IPv4 senders as ::ffff:a.b.c.d; pcap records need a.b.c.d. */
  readonly #ipv6: boolean;
  /** Since when silence counts before any packet: the opening, or the last re-arm. */
  #silenceSinceMs: number;
  #rtcpPackets = 0;
  /**
   * Undefined for plain RTP, the hot path's only extra cost being this one test; 'pending' while
   * an SRTP stream waits for its key (its packets are dropped, they cannot be decrypted).
   */
  #srtp: SrtpReceiveContext | 'pending' | undefined;
  /** Payload type of telephone-events, or -1: one integer compare per packet when unused. */
  #eventPayloadType = -1;
  #dtmf: DtmfDetector | undefined;
  /** Telephone-event packets whose payload was too short to read (they are still stored). */
  #malformedEvents = 0;
  #timeoutReported = false;
  #closed = false;
  /**
   * The recording is paused (pauseRecording, PCI): packets are still read, authenticated and
   * counted, but neither stored nor looked at for DTMF.
   */
  #paused: boolean;
  /**
   * The copies for live listeners (MediaEngine.tap), or undefined: an untapped stream pays one
   * test per stored packet and nothing else.
   */
  #tap: TapBuffer | undefined;

  private constructor(
    spec: RtpStreamSpec,
    host: RtpStreamHost,
    sockets: { readonly rtp: Socket; readonly rtcp: Socket },
    writer: TrackWriter,
  ) {
    this.streamId = spec.streamId;
    this.port = spec.port;
    this.#host = host;
    this.#rtp = sockets.rtp;
    this.#rtcp = sockets.rtcp;
    this.#writer = writer;
    this.#ipv6 = isIPv6(spec.bindAddress);
    this.#stats = new StreamStatistics(spec.clockRateHz);
    this.#audio = this.#stats.audio;
    this.#policy = new SourcePolicy(this.#ipv6);
    this.#mediaTimeoutMs = spec.mediaTimeoutMs;
    this.#silenceSinceMs = Date.now();
    this.#srtp = createSrtp(spec.srtp);
    this.#paused = spec.paused === true;
    if (this.#paused) {
      this.#stats.setGapsPaused(true, host.clock.nowUs());
    }
    this.#rtp.on('message', this.#onRtp);
    this.#rtcp.on('message', this.#onRtcp);
    this.#rtp.on('error', this.#onSocketError);
    this.#rtcp.on('error', this.#onSocketError);
  }

  /**
   * Binds RTP on `spec.port` and RTCP on the next port, then creates the track file. Rejects
   * with the bind error (its `code` is EADDRINUSE when another process holds either port) or
   * the file error, having closed whatever it opened.
   */
  static async open(spec: RtpStreamSpec, host: RtpStreamHost): Promise<RtpStream> {
    const type = isIPv6(spec.bindAddress) ? 'udp6' : 'udp4';
    const rtp = await bindSocket(type, spec.bindAddress, spec.port);
    let rtcp: Socket;
    try {
      rtcp = await bindSocket(type, spec.bindAddress, spec.port + 1);
    } catch (error: unknown) {
      await closeSocket(rtp);
      throw error;
    }
    // The stream is built before the file exists so that write errors reach it; the writer is
    // created first because the constructor needs it.
    let stream: RtpStream | undefined;
    const destination = { address: spec.localAddress, port: spec.port };
    try {
      const writer = await TrackWriter.create(spec.filePath, destination, spec.writer, (error) => {
        if (stream !== undefined) {
          stream.#fail(error, errnoCode(error) ?? 'EIO');
        }
      });
      stream = new RtpStream(spec, host, { rtp, rtcp }, writer);
      return stream;
    } catch (error: unknown) {
      await Promise.all([closeSocket(rtp), closeSocket(rtcp)]);
      throw error;
    }
  }

  get fd(): number {
    return this.#writer.fd;
  }

  get rtcpPackets(): number {
    return this.#rtcpPackets;
  }

  snapshot(): TrackStats {
    this.#stats.setUnstored(this.#writer.unstored, this.#writer.unstoredPayloadBytes);
    return this.#stats.snapshot();
  }

  setExpectedSource(source: ExpectedSource | undefined): void {
    this.#policy.expect(source);
  }

  setClockRate(clockRateHz: number): void {
    this.#stats.setClockRate(clockRateHz);
  }

  /** See MediaEngine.setSrtp: keys, 'pending', or undefined for plain RTP. */
  setSrtp(srtp: SrtpParams | 'pending' | undefined): void {
    if (srtp !== undefined && srtp !== 'pending' && this.#srtp instanceof SrtpReceiveContext) {
      this.#srtp.rekey(srtp);
      return;
    }
    this.#srtp = createSrtp(srtp);
  }

  /**
   * Pauses or resumes storing (see MediaEngine.setPaused). Takes effect for the next datagram read:
   * the control message is handled between two socket reads of the worker.
   */
  setPaused(paused: boolean): void {
    this.#paused = paused;
    this.#stats.setGapsPaused(paused, this.#host.clock.nowUs());
  }

  /**
   * The line went on hold (a re-offer without media) or resumed (see MediaEngine.setHeld): the
   * silence of a hold is no gap in the media (docs/media.md "Gaps and silence").
   */
  setHeld(held: boolean): void {
    this.#stats.setGapsHeld(held, this.#host.clock.nowUs());
  }

  /** Starts or stops copying the stored packets for the main thread (see MediaEngine.tap). */
  setTapped(on: boolean): void {
    if (!on) {
      this.#tap = undefined;
    } else {
      this.#tap ??= new TapBuffer();
    }
  }

  get tapped(): boolean {
    return this.#tap !== undefined;
  }

  /** The packets copied since the last call, for the worker's tap tick. */
  takeTapped(): TapBatch | undefined {
    return this.#tap?.take(this.streamId);
  }

  /** See MediaEngine.setTelephoneEvent. */
  setTelephoneEvent(payloadType: number | undefined, clockRateHz: number): void {
    if (payloadType === undefined) {
      this.#dtmf?.finish();
      this.#eventPayloadType = -1;
      this.#dtmf = undefined;
      return;
    }
    this.#eventPayloadType = payloadType;
    if (this.#dtmf === undefined) {
      this.#dtmf = new DtmfDetector(clockRateHz, (detection) => this.#host.onDtmf(this, detection));
    } else {
      this.#dtmf.setClockRate(clockRateHz);
    }
  }

  get malformedEvents(): number {
    return this.#malformedEvents;
  }

  /** Reports a DTMF event whose packets stopped without an end (the worker's timeout timer). */
  checkDtmfIdle(nowMs: number): void {
    this.#dtmf?.checkIdle(nowMs);
  }

  /** Hands buffered records to the file (the worker's ~200 ms timer). */
  flush(): void {
    this.#writer.flush();
  }

  /** Flushes and resolves once every stored record is written to the file descriptor. */
  flushAndWait(): Promise<void> {
    this.#writer.flush();
    return this.#writer.whenWritten();
  }

  /**
   * True once when no RTP arrived for the media timeout, counted from the last stored packet
   * or, before any, from the opening. A new packet re-arms it, so a stream that stops again
   * reports again.
   */
  checkTimeout(nowMs: number): boolean {
    if (this.#closed || this.#timeoutReported) {
      return false;
    }
    // A sender whose packets are dropped because the recording is paused is still sending.
    const lastUs = this.#stats.lastHeardUs;
    const sinceMs = Math.max(lastUs < 0 ? 0 : lastUs / 1000, this.#silenceSinceMs);
    if (nowMs - sinceMs < this.#mediaTimeoutMs) {
      return false;
    }
    this.#timeoutReported = true;
    return true;
  }

  /**
   * Counts the media timeout again from now: a line resumed after a hold must start sending
   * again, and one that does not is reported like any silent stream.
   */
  rearmTimeout(nowMs: number): void {
    this.#silenceSinceMs = nowMs;
    this.#timeoutReported = false;
  }

  /** The last stored packet (epoch ms), if any. */
  get lastPacketAt(): number | undefined {
    const lastUs = this.#stats.lastArrivalUs;
    return lastUs < 0 ? undefined : Math.floor(lastUs / 1000);
  }

  /** The kernel's count of datagrams dropped on the RTP socket (from the worker's socket table). */
  setKernelDropped(drops: number): void {
    this.#stats.setKernelDropped(drops);
  }

  /**
   * Reads and stores what is still queued on the RTP socket (see #drain), then closes both
   * sockets, writes what is buffered, fdatasyncs and closes the file. Resolves with the final
   * statistics and, when the tail could not be made durable, the error.
   */
  async close(): Promise<{ readonly stats: TrackStats; readonly error?: Error }> {
    if (!this.#closed) {
      // The call ended now: silence from the last packet up to here is a gap like any other;
      // what the drain reads next arrived before this and ends no gap.
      const endUs = this.#host.clock.nowUs();
      await this.#drain();
      this.#stats.endGaps(endUs);
    }
    this.#closed = true;
    // An event still sounding is reported before the stream's final statistics.
    this.#dtmf?.finish();
    await Promise.all([closeSocket(this.#rtp), closeSocket(this.#rtcp)]);
    try {
      await this.#writer.close(true);
      return { stats: this.snapshot() };
    } catch (error: unknown) {
      return {
        stats: this.snapshot(),
        error: error instanceof Error ? error : new Error(String(error)),
      };
    }
  }

  /**
   * Packets the sender sent before its BYE may still wait in the socket's receive queue, all the
   * more when the worker runs late. They are read and stored like any other: the event loop turns
   * (each turn reads up to 32 datagrams per readable socket) until a turn reads nothing and the
   * kernel shows the socket's queue empty, for at most CLOSE_DRAIN_LIMIT_MS. What is still queued
   * then (a sender that goes on after the BYE) is counted in `unreadAtClose`. The socket table
   * read here also gives the final `kernelDropped`.
   */
  async #drain(): Promise<void> {
    const deadline = Date.now() + CLOSE_DRAIN_LIMIT_MS;
    let state: UdpSocketState | undefined;
    for (;;) {
      let seen: number;
      do {
        seen = this.#stats.datagrams;
        await nextTurn();
      } while (this.#stats.datagrams !== seen && !this.#isClosed() && Date.now() < deadline);
      if (this.#isClosed()) {
        return; // Failed meanwhile: #fail closed everything.
      }
      const table = await this.#host.readSocketTable();
      state = table?.get(this.port);
      if (state === undefined || state.rxQueueBytes === 0 || Date.now() >= deadline || this.#isClosed()) {
        break;
      }
    }
    if (state !== undefined) {
      this.#stats.setKernelDropped(state.drops);
      const snapshot = this.snapshot();
      const meanBytes = snapshot.packets > 0 ? snapshot.bytes / snapshot.packets + RTP_HEADER_BYTES : 0;
      this.#stats.setUnreadAtClose(estimateQueuedDatagrams(state.rxQueueBytes, meanBytes));
    }
  }

  /** Read through a method: TypeScript would keep the narrowing from before an await. */
  #isClosed(): boolean {
    return this.#closed;
  }

  readonly #onRtp = (packet: Buffer, remote: RemoteInfo): void => {
    if (this.#closed) {
      return;
    }
    try {
      this.#receive(packet, remote);
    } catch (error: unknown) {
      // A bug reached by some datagram must cost this stream, not every stream of the worker.
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    }
  };

  #receive(packet: Buffer, remote: RemoteInfo): void {
    const arrivalUs = this.#host.clock.nowUs();
    const address = remote.address;
    const port = remote.port;
    // RTCP multiplexed onto the RTP port (RFC 5761) is not media: it is dropped like garbage.
    // A datagram too big for an IPv4 pcap record can only come over IPv6 and is no voice packet.
    if (
      !this.#policy.allows(address, port) ||
      isLikelyRtcp(packet) ||
      packet.length > PCAP_MAX_PAYLOAD_BYTES
    ) {
      this.#stats.onDropped();
      return;
    }
    let rtp = packet;
    if (this.#srtp !== undefined) {
      const plain = this.#unprotect(this.#srtp, packet);
      if (plain === undefined) {
        return;
      }
      rtp = plain;
    }
    const parsed = parseRtpHeader(rtp);
    if (!parsed.ok) {
      this.#stats.onDropped();
      return;
    }
    // Only a packet that is valid (and, for SRTP, authentic) may latch the source.
    this.#policy.accept(address, port);
    const header = parsed.value;
    if (this.#paused) {
      // PCI: nothing received while paused reaches the disk, and its key presses are not read.
      // It is decrypted all the same (an SRTP stream keeps its rollover counter and replay
      // window through a pause) and counted, and it keeps the media timeout from firing.
      this.#stats.onPaused(header.ssrc, header.sequenceNumber, header.timestamp, arrivalUs);
      this.#timeoutReported = false;
      return;
    }
    const first = this.#stats.packets === 0;
    this.#stats.onPacket(
      header.ssrc,
      header.sequenceNumber,
      header.timestamp,
      header.payloadLength,
      arrivalUs,
    );
    // Refused when the worker's write backlog is full or the file failed: counted as unstored.
    this.#writer.append(
      arrivalUs,
      this.#ipv6 ? unmapIpv4(address) : address,
      port,
      rtp,
      header.payloadLength,
    );
    if (announcesSilence(header.payloadType, header.payloadLength)) {
      this.#stats.onSilenceAnnounced();
    }
    if (!this.#audio.heardAudio) {
      // Until a loud G.711 frame is heard; one branch per packet after that.
      this.#audio.onPayload(header.payloadType, rtp, header.payloadOffset, header.payloadLength);
    }
    if (this.#tap !== undefined) {
      // The packet as stored (after the pause test, decrypted), copied into the tap's batch.
      this.#tap.push(arrivalUs / 1000, rtp);
    }
    this.#timeoutReported = false;
    if (first) {
      this.#host.onFirstPacket(this, Math.floor(arrivalUs / 1000));
    }
    if (header.payloadType === this.#eventPayloadType) {
      this.#onTelephoneEvent(rtp, header, arrivalUs);
    }
  }

  /**
   * Authenticates and decrypts an SRTP datagram in place (the Buffer is ours: dgram hands each
   * datagram in its own). Returns the plain RTP packet, or undefined when it was dropped and
   * counted: an authentication failure in `srtpAuthFailures`, anything else in `dropped`.
   */
  #unprotect(srtp: SrtpReceiveContext | 'pending', packet: Buffer): Buffer | undefined {
    if (srtp === 'pending') {
      this.#stats.onDropped();
      return undefined;
    }
    const length = srtp.unprotect(packet);
    if (length < 0) {
      if (length === SRTP_DROP_AUTH) {
        this.#stats.onSrtpAuthFailure();
      } else {
        this.#stats.onDropped();
      }
      return undefined;
    }
    return packet.subarray(0, length);
  }

  #onTelephoneEvent(rtp: Buffer, header: RtpHeader, arrivalUs: number): void {
    const event = parseTelephoneEvent(
      rtp.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength),
    );
    if (!event.ok) {
      this.#malformedEvents++;
      return;
    }
    this.#dtmf?.onPacket(header.timestamp, event.value, Math.floor(arrivalUs / 1000));
  }

  readonly #onRtcp = (): void => {
    // RTCP on port + 1 is counted only; the recorder keeps no RTCP state yet. For SRTP streams
    // this holds too: SRTCP is neither authenticated nor decrypted, since nothing reads it.
    this.#rtcpPackets++;
  };

  readonly #onSocketError = (error: Error): void => {
    this.#fail(error);
  };

  #fail(error: Error, fileErrorCode?: string): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    const done = Promise.all([closeSocket(this.#rtp), closeSocket(this.#rtcp), this.#writer.close(false)]);
    done.then(
      () => this.#host.onFailure(this, error, fileErrorCode),
      (closeError: unknown) => {
        const message = closeError instanceof Error ? closeError.message : String(closeError);
        this.#host.onFailure(
          this,
          new Error(`${error.message}; closing the track also failed: ${message}`),
          fileErrorCode,
        );
      },
    );
  }
}

/** The errno code of a failed file operation (ENOSPC, EIO, EROFS, …), if it has one. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

/** What a stored packet's `bytes` (its payload) leaves out of the datagram: the RTP header. */
const RTP_HEADER_BYTES = 12;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function createSrtp(srtp: SrtpParams | 'pending' | undefined): SrtpReceiveContext | 'pending' | undefined {
  return srtp === undefined || srtp === 'pending' ? srtp : new SrtpReceiveContext(srtp);
}

function bindSocket(type: 'udp4' | 'udp6', address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type, reuseAddr: false });
    const onError = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', onError);
    // Exclusive: a port of ours must never be shared with another process or worker.
    socket.bind({ port, address, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch (error: unknown) {
      // ERR_SOCKET_DGRAM_NOT_RUNNING: already closed, which is the state we want.
      if (isNotRunning(error)) {
        resolve();
      } else {
        throw error;
      }
    }
  });
}

function isNotRunning(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    error.code === 'ERR_SOCKET_DGRAM_NOT_RUNNING'
  );
}

function unmapIpv4(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
