import type { TrackStats } from '../model/session.js';

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
  setExpectedSource(
    streamId: string,
    source: { readonly address: string; readonly port: number } | undefined,
  ): void;
  /** Flushes, closes the file and the sockets, and returns the final statistics. Idempotent. */
  closeStream(streamId: string): Promise<TrackStats>;
  /**
   * The RTP clock rate of the stream's codec, once known (delayed offer: from the answer in the
   * ACK), for the jitter statistic. Until then the rate of `StreamSpec.clockRateHz` or 8000 applies.
   */
  setClockRate?(streamId: string, clockRateHz: number): void;
  /** The latest statistics snapshot (at most a second old), or undefined for an unknown stream. */
  getStats(streamId: string): TrackStats | undefined;
  /** Pushes every buffered packet of every stream to disk (used before exporting an ACTIVE session). */
  flush(): Promise<void>;
  onEvent(listener: (event: MediaEvent) => void): void;
  /** Closes every stream (flushing files) and stops the workers. */
  close(): Promise<void>;
}

export interface StreamSpec {
  /** Unique id chosen by the caller, e.g. `<sessionId>-<trackNumber>`. */
  readonly streamId: string;
  /** Absolute path of the pcap file to create. */
  readonly filePath: string;
  /** RTP clock rate of the codec when already known (early offer); 8000 when absent. */
  readonly clockRateHz?: number;
}

export type MediaEvent =
  /** The first RTP packet of the stream was stored. */
  | { readonly type: 'first-packet'; readonly streamId: string; readonly at: number }
  /** No RTP for longer than the media timeout (since the last packet, or since open if none came). */
  | { readonly type: 'media-timeout'; readonly streamId: string; readonly lastPacketAt?: number }
  /** Writing the track failed (disk full, I/O error): the stream is closed. */
  | { readonly type: 'stream-error'; readonly streamId: string; readonly message: string };
