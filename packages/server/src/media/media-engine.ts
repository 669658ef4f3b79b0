import type { TrackStats } from '../model/session.js';
import type { DtmfDigit } from '../protocol/rtp/telephone-event.js';
import type { SrtpParams } from './srtp.js';

export type { SrtpParams } from './srtp.js';

/**
 * The media engine receives RTP on sockets owned by worker threads and writes each stream to its
 * own pcap file in batches (DESIGN.md §2 "Hot path"). The main thread only opens and closes
 * streams and receives per-stream events and once-a-second statistics.
 */
export interface MediaEngine {
  /**
   * Binds an even RTP port (and RTCP on port+1) from the configured range in a worker and starts
   * writing what arrives to `filePath`. Rejects when the range is exhausted.
   */
  openStream(spec: StreamSpec): Promise<{ readonly port: number }>;
  /**
   * Where this stream's media must come from (the SDP c= address and m= port). Until it is set
   * the stream latches onto the first source it hears; datagrams from any other source are
   * dropped and counted.
   */
  setExpectedSource(streamId: string, source: ExpectedSource | undefined): void;
  /** Flushes, closes the file and the sockets, and returns the final statistics. Idempotent. */
  closeStream(streamId: string): Promise<TrackStats>;
  /**
   * The RTP clock rate of the stream's codec, once known (delayed offer: from the answer in the
   * ACK), for the jitter statistic. Until then the rate of `StreamSpec.clockRateHz` or 8000 applies.
   */
  setClockRate?(streamId: string, clockRateHz: number): void;
  /**
   * Decrypt the stream as SRTP with these SDES keys (RFC 4568, RFC 3711), or `'pending'`: SRTP
   * whose key is not known yet (delayed offer: it arrives in the ACK), so packets are dropped and
   * counted in `stats.dropped` until it is; or `undefined`: plain RTP. Callable right after
   * `openStream` or at any later time; the same key again changes nothing, a new key keeps the
   * rollover counter and the replay window. Packets that fail authentication are never written
   * and count in `stats.srtpAuthFailures`. The track file holds the decrypted RTP. Throws a
   * MediaError (VERBATIM_ERR_MEDIA_SRTP_PARAMS) on a key of the wrong size or an unknown suite.
   */
  setSrtp?(streamId: string, srtp: SrtpParams | 'pending' | undefined): void;
  /**
   * The RTP payload type of RFC 4733 telephone-events on this stream (from the SDP rtpmap), or
   * `undefined` for none. Event packets are still stored; each DTMF key press yields one 'dtmf'
   * event. `clockRateHz` is the telephone-event rate (default 8000) for the duration.
   */
  setTelephoneEvent?(streamId: string, payloadType: number | undefined, clockRateHz?: number): void;
  /**
   * Pauses (true) or resumes (false) storing the stream: while paused, every packet the stream
   * receives is read, authenticated (SRTP) and counted in `stats.paused`, never written to the
   * track file nor read for DTMF, and it keeps the media timeout from firing (pauseRecording, PCI).
   * Resolves with the time (epoch ms, the worker's arrival clock) from which the change holds for
   * every packet read, or undefined when the stream is not open (closed, failed, unknown): then
   * nothing of it is stored anyway. A stream still opening gets it once open; pass
   * `StreamSpec.paused` to open one paused.
   */
  setPaused(streamId: string, paused: boolean): Promise<number | undefined>;
  /**
   * Counts the media timeout again from now, even though it was already reported: a line resumed
   * after a hold (when its silence was expected) must send again within the timeout.
   */
  rearmTimeout?(streamId: string): void;
  /**
   * The line went on hold (true: a re-offer without media, or the call's BYE, after which the
   * stream only drains) or resumed (false). The stream goes on as before; only its gap count
   * stops while held, a silence up to now still counting (docs/media.md "Gaps and silence").
   */
  setHeld?(streamId: string, held: boolean): void;
  /**
   * Copies the stream's packets to `onPackets` from now on, as they are stored (never those
   * received while paused; SRTP decrypted), in batches of one tap tick (tens of milliseconds), on
   * the main thread. Returns the function that stops it (idempotent); the stream stops being
   * copied when its last tap stops, or when it ends. A stream nobody taps costs nothing more.
   * `onEnd` runs once when the stream has ended (closed, after its last packets were handed over;
   * failed; lost with its worker), unless the tap was stopped first; for a stream that is not open
   * it runs at once (in a microtask) and the returned function does nothing.
   * Optional: an engine without workers has nothing to copy.
   */
  tap?(
    streamId: string,
    onPackets: (packets: readonly TappedPacket[]) => void,
    onEnd?: () => void,
  ): () => void;
  /** The latest statistics snapshot (at most a second old), or undefined for an unknown stream. */
  getStats(streamId: string): TrackStats | undefined;
  /** Pushes every buffered packet of every stream to disk (used before exporting an ACTIVE session). */
  flush(): Promise<void>;
  onEvent(listener: (event: MediaEvent) => void): void;
  /**
   * How far behind the media path is, from the latest statistics (at most a second old), for the
   * node's admission control (recording/admission). Optional: an engine without workers has none.
   */
  load?(): MediaLoad;
  /**
   * The node's packet counters since the engine started, over every stream (open and closed),
   * for the operator (metrics, final counters). Optional, like `load`.
   */
  counters?(): MediaCounters;
  /** Closes every stream (flushing files) and stops the workers. */
  close(): Promise<void>;
}

/** A copy of one stored RTP packet (see MediaEngine.tap). */
export interface TappedPacket {
  /** Arrival at the recorder, epoch ms (the worker's arrival clock, as in the track file). */
  readonly arrivalMs: number;
  /** The whole RTP packet, header and payload, decrypted. */
  readonly rtp: Uint8Array;
}

/** The media path's headroom signals (see MediaEngine.load). */
export interface MediaLoad {
  /**
   * How late packets are read: the mean wait, over the last statistics interval, between when
   * a worker should have run (a timer or a readable socket) and when it did, for the worker
   * furthest behind (see media/lag-probe.ts: a lone short stall weighs little, a worker always
   * behind shows its delay).
   */
  readonly workerLagMs: number;
  /**
   * The longest any datagram waited to be read over the last statistics interval, for the worker
   * furthest behind (within the lag probe's 20 ms period): what a burst of signalling or a stall
   * cost the packets of the calls in progress. For the operator; admission judges the mean.
   */
  readonly workerMaxWaitMs: number;
  /**
   * Datagrams the kernel dropped because a UDP receive buffer was full, on this host since the
   * engine started (/proc/net/snmp `Udp: RcvbufErrors`; 0 where the host does not say).
   */
  readonly kernelReceiveDrops: number;
  /** Bytes of stored packets waiting in memory to be written, over all streams. */
  readonly pendingWriteBytes: number;
  /** Streams open now. */
  readonly streams: number;
}

/**
 * Where every packet sent to a track went (see MediaEngine.counters): each one sent and not
 * stored is counted in one of the loss fields.
 */
export interface MediaCounters {
  /** RTP packets stored in track files. */
  readonly packetsStored: number;
  /** Gaps in the streams' sequence numbers (TrackStats.lost). */
  readonly packetsLost: number;
  /** Datagrams the kernel dropped on the streams' sockets because the receive buffer was full. */
  readonly kernelDropped: number;
  /** Datagrams still queued on a stream's socket when it closed, never read. */
  readonly unreadAtClose: number;
  /**
   * Packets accepted for a track but not written to its file: the worker's write backlog was
   * over its cap, or the track file failed (TrackStats.unstored).
   */
  readonly unstored: number;
  /** Datagrams refused by the source filter, SRTP or the parser (TrackStats.dropped). */
  readonly dropped: number;
  readonly srtpAuthFailures: number;
  /** Packets received while the recording was paused, never stored (TrackStats.paused). */
  readonly packetsPaused: number;
  readonly streamsOpened: number;
  readonly streamsClosed: number;
}

/** The sender the SDP names for a stream (see MediaEngine.setExpectedSource). */
export interface ExpectedSource {
  readonly address: string;
  /** The m= port, or 0: take the first port of `address` that sends. */
  readonly port: number;
  /**
   * Forget a port learnt from the traffic and learn it again: the sender's SDP changed (a new
   * media port after a transfer), so its RTP may now come from another port of the same address.
   */
  readonly relearn?: boolean;
}

export interface StreamSpec {
  /** Unique id chosen by the caller, e.g. `<sessionId>-<trackNumber>`. */
  readonly streamId: string;
  /** Absolute path of the pcap file to create. */
  readonly filePath: string;
  /**
   * SRTP from the first packet: the keys (early offer with `a=crypto`), or `'pending'` when the
   * key comes later (see `MediaEngine.setSrtp`). Absent: plain RTP.
   */
  readonly srtp?: SrtpParams | 'pending';
  /** RTP clock rate of the codec when already known (early offer); 8000 when absent. */
  readonly clockRateHz?: number;
  /** Open the stream paused: nothing it receives is stored until `setPaused(streamId, false)`. */
  readonly paused?: boolean;
}

export type MediaEvent =
  /** The first RTP packet of the stream was stored. */
  | { readonly type: 'first-packet'; readonly streamId: string; readonly at: number }
  /** No RTP for longer than the media timeout (since the last packet, or since open if none came). */
  | { readonly type: 'media-timeout'; readonly streamId: string; readonly lastPacketAt?: number }
  /**
   * One RFC 4733 DTMF key press, reported once when it is over (end packet, next event, one
   * second without its packets, or the stream closing). `at` is the arrival of its first packet.
   */
  | {
      readonly type: 'dtmf';
      readonly streamId: string;
      readonly digit: DtmfDigit;
      readonly at: number;
      readonly durationMs: number;
    }
  /**
   * The stream failed and is closed: writing the track failed (disk full, I/O error), a socket
   * failed, or its worker died. `code` is the errno code (ENOSPC, EIO, EROFS, …) when the track
   * file could not be written, absent otherwise.
   */
  | {
      readonly type: 'stream-error';
      readonly streamId: string;
      readonly message: string;
      readonly code?: string;
    };
