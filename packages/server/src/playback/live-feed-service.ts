import type { Logger } from 'pino';
import type { MediaEngine, TappedPacket } from '../media/media-engine.js';
import type { Leg } from '../recording/live-session.js';
import type { SessionObserver, SessionWatch } from '../recording/session-registry.js';
import type { LiveFeed, LiveFeedListener, LiveSubscription } from './live-feed.js';

/** Where the live feed learns of an ACTIVE session's legs (RecordingService.watchSession). */
export interface LiveSessions {
  watchSession(sessionId: string, observer: SessionObserver): SessionWatch | undefined;
}

export interface LiveFeedServiceOptions {
  readonly sessions: LiveSessions;
  /** The engine's tap; an engine without one yields subscriptions that only ever end. */
  readonly media: Pick<MediaEngine, 'tap'>;
  readonly log: Logger;
  /**
   * How long, once the session closed, the listener may wait for its streams' last packets before
   * `ended()` anyway (a stream drains for BYE_DRAIN_MS, then its file is synced). Default 3000.
   */
  readonly endWaitMs?: number;
}

const DEFAULT_END_WAIT_MS = 3000;

/**
 * The LiveFeed over the node's recording: a subscription watches the session's legs (those of
 * now and those a re-INVITE adds later) and taps each leg's media stream in the worker. When the
 * session closes (its last leg ended) its streams are still draining what the phones sent before
 * hanging up: the subscription delivers that too, and calls `ended()` once every tapped stream has
 * ended (or after `endWaitMs`), so a listener hears the call to its last packet. Every subscriber taps on its own (the engine counts its taps per
 * stream, and the worker copies a stream once however many listen).
 *
 * Nothing a listener does reaches the recording: its exceptions are caught and logged here (the
 * first one per subscription, then counted), and the recording's workers never wait for it.
 */
export class LiveFeedService implements LiveFeed {
  readonly #options: LiveFeedServiceOptions;

  constructor(options: LiveFeedServiceOptions) {
    this.#options = options;
  }

  subscribe(sessionId: string, listener: LiveFeedListener): LiveSubscription | undefined {
    const subscription = new Subscription(sessionId, listener, this.#options);
    const watch = this.#options.sessions.watchSession(sessionId, subscription);
    if (watch === undefined) {
      return undefined;
    }
    subscription.start(watch);
    return subscription;
  }
}

class Subscription implements SessionObserver, LiveSubscription {
  readonly #sessionId: string;
  readonly #listener: LiveFeedListener;
  readonly #options: LiveFeedServiceOptions;
  /** The stop function of each tapped stream that has not ended. */
  readonly #untaps = new Map<string, () => void>();
  #watch: SessionWatch | undefined;
  /** The session closed: `ended()` follows once the streams have. */
  #closing = false;
  #endTimer: NodeJS.Timeout | undefined;
  #done = false;
  #listenerErrors = 0;

  constructor(sessionId: string, listener: LiveFeedListener, options: LiveFeedServiceOptions) {
    this.#sessionId = sessionId;
    this.#listener = listener;
    this.#options = options;
  }

  start(watch: SessionWatch): void {
    this.#watch = watch;
    for (const leg of watch.legs) {
      this.legAttached(leg);
    }
  }

  legAttached(leg: Leg): void {
    const tap = this.#options.media.tap;
    if (this.#done || this.#closing || this.#untaps.has(leg.streamId) || tap === undefined) {
      return;
    }
    const streamId = leg.streamId;
    const trackNumber = leg.trackNumber;
    // Set before tapping: the engine tells the end of a stream that is not open in a microtask.
    this.#untaps.set(streamId, () => undefined);
    const untap = tap.call(
      this.#options.media,
      streamId,
      (packets: readonly TappedPacket[]) => {
        this.#deliver(trackNumber, packets);
      },
      () => {
        this.#streamEnded(streamId);
      },
    );
    if (this.#untaps.has(streamId)) {
      this.#untaps.set(streamId, untap);
    }
  }

  #streamEnded(streamId: string): void {
    this.#untaps.delete(streamId);
    if (this.#closing && this.#untaps.size === 0) {
      this.#finish();
    }
  }

  legDetached(leg: Leg): void {
    const untap = this.#untaps.get(leg.streamId);
    this.#untaps.delete(leg.streamId);
    untap?.();
  }

  closed(): void {
    if (this.#done || this.#closing) {
      return;
    }
    this.#closing = true;
    this.#watch?.unwatch();
    if (this.#untaps.size === 0) {
      this.#finish();
      return;
    }
    this.#endTimer = setTimeout(() => {
      this.#finish();
    }, this.#options.endWaitMs ?? DEFAULT_END_WAIT_MS);
    this.#endTimer.unref();
  }

  #finish(): void {
    if (this.#done) {
      return;
    }
    this.#stop();
    try {
      this.#listener.ended();
    } catch (error: unknown) {
      this.#listenerThrew(error);
    }
  }

  close(): void {
    if (!this.#done) {
      this.#stop();
    }
  }

  #stop(): void {
    this.#done = true;
    clearTimeout(this.#endTimer);
    this.#watch?.unwatch();
    for (const untap of this.#untaps.values()) {
      untap();
    }
    this.#untaps.clear();
    if (this.#listenerErrors > 1) {
      this.#options.log.warn(
        { sessionId: this.#sessionId, errors: this.#listenerErrors },
        'live feed listener threw repeatedly',
      );
    }
  }

  #deliver(trackNumber: number, packets: readonly TappedPacket[]): void {
    if (this.#done) {
      return;
    }
    try {
      this.#listener.packets(trackNumber, packets);
    } catch (error: unknown) {
      this.#listenerThrew(error);
    }
  }

  #listenerThrew(error: unknown): void {
    this.#listenerErrors++;
    if (this.#listenerErrors === 1) {
      this.#options.log.error({ err: error, sessionId: this.#sessionId }, 'live feed listener threw');
    }
  }
}
