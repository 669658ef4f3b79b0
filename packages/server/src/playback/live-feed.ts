/**
 * The live feed: a copy of an ACTIVE session's RTP packets as the media workers receive them, for
 * live monitoring (RTSP `/live/<sessionId>`, live listening in the browser). It is a copy taken in
 * the worker, not a read of the track file (MediaSense's "the media does not come from the disk"),
 * and it only costs anything while somebody listens: a stream without listeners sends nothing to
 * the main thread (DESIGN.md §2 "Hot path").
 *
 * A listener describes the tracks from the session's own metadata (codec, payload type, clock rate
 * of each track in the repository) and receives packets per track number.
 */

/** One RTP packet of an ACTIVE session as the recorder received it (SRTP already decrypted). */
export interface LivePacket {
  /** Arrival time at the recorder, epoch milliseconds (the media worker's arrival clock). */
  readonly arrivalMs: number;
  /** The whole RTP packet, header and payload, as it is written to the track file. */
  readonly rtp: Uint8Array;
}

export interface LiveFeedListener {
  /**
   * A batch of one track's packets in arrival order. Called on the main thread; it must return
   * quickly (queue or drop, never block): a slow listener must not delay the recording.
   */
  packets(trackNumber: number, packets: readonly LivePacket[]): void;
  /** The session ended (closed on this node): no packet follows. Called once, then never again. */
  ended(): void;
}

export interface LiveSubscription {
  /** Stops the copy for this listener (the worker stops copying when nobody listens). Idempotent. */
  close(): void;
}

export interface LiveFeed {
  /**
   * Receives an ACTIVE session's packets from now on, every track (also tracks added later), until
   * the session ends or `close()`. Undefined when the session is not ACTIVE on this node.
   */
  subscribe(sessionId: string, listener: LiveFeedListener): LiveSubscription | undefined;
}
