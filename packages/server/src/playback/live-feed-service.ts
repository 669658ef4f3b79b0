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
}

/**
 * The LiveFeed over the node's recording: a subscription watches the session's legs (those of
 * now and those a re-INVITE adds later) and taps each leg's media stream in the worker; the
 * session closing ends it. Every subscriber taps on its own (the engine counts its taps per
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
  /** The stop function of each tapped stream. */
  readonly #untaps = new Map<string, () => void>();
  #watch: SessionWatch | undefined;
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
    if (this.#done || this.#untaps.has(leg.streamId) || this.#options.media.tap === undefined) {
      return;
    }
    const trackNumber = leg.trackNumber;
    const untap = this.#options.media.tap(leg.streamId, (packets: readonly TappedPacket[]) => {
      this.#deliver(trackNumber, packets);
    });
    this.#untaps.set(leg.streamId, untap);
  }

  legDetached(leg: Leg): void {
    const untap = this.#untaps.get(leg.streamId);
    this.#untaps.delete(leg.streamId);
    untap?.();
  }

  closed(): void {
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
