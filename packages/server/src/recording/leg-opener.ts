import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { MediaEngine, SrtpParams } from '../media/media-engine.js';
import { EMPTY_TRACK_STATS, type Participant } from '../model/session.js';
import {
  buildRecorderAnswer,
  buildRecorderOffer,
  chooseAudioCodec,
  findTelephoneEvent,
  isHoldAddress,
  isSecureProfile,
  type MediaCodec,
  type SdpMedia,
  type SessionDescription,
} from '../protocol/sdp/sdp.js';
import {
  buildCryptoAttribute,
  chooseCrypto,
  SRTP_MASTER_KEY_BYTES,
  SRTP_MASTER_SALT_BYTES,
  type SdesCrypto,
} from '../protocol/sdp/sdes.js';
import { mediaPath, type Leg, type LegSrtp, type LiveSession } from './live-session.js';
import { codecKey } from './sdp-lines.js';

/**
 * The one way a leg is opened, for every flavour and for streams added or restarted mid-call: a
 * port and a track file from the media engine, SRTP keys, and Verbatim's SDP (always recvonly).
 * It also tells the media engine what each new offer or answer says about a stream.
 */

/** What a leg records. */
interface LegSpec {
  readonly trackNumber: number;
  /** The m= line answered (early offer), or 0 for our own offer. */
  readonly mediaIndex: number;
  /** The sender's line, when it offered one: its a=crypto keys an SRTP leg. */
  readonly media?: SdpMedia;
  readonly video: boolean;
  readonly label?: string;
  /** The line starts on hold (CUBE SIPREC sends a=inactive while the call is held). */
  readonly inactive: boolean;
  readonly participants: readonly Participant[];
  readonly startMs: number;
}

type OpenLegs =
  | { readonly ok: true; readonly legs: Leg[] }
  /** A port could not be had; `opened` are the legs opened before, for the caller to give back. */
  | { readonly ok: false; readonly error: unknown; readonly opened: Leg[] };

export class LegOpener {
  readonly #media: MediaEngine;
  readonly #mediaDir: string;
  readonly #advertise: string;
  #sdpVersion = 1;

  constructor(options: {
    readonly media: MediaEngine;
    readonly mediaDir: string;
    readonly advertise: string;
  }) {
    this.#media = options.media;
    this.#mediaDir = options.mediaDir;
    this.#advertise = options.advertise;
  }

  /** Opens the legs one after another (the media workers allocate ports in order). */
  async open(session: LiveSession, specs: readonly LegSpec[]): Promise<OpenLegs> {
    const opened: Leg[] = [];
    try {
      for (const spec of specs) {
        opened.push(await this.openLeg(session, spec));
      }
    } catch (error) {
      return { ok: false, error, opened };
    }
    return { ok: true, legs: opened };
  }

  /** Opens one leg; rejects when the media engine has no port left. */
  async openLeg(session: LiveSession, spec: LegSpec): Promise<Leg> {
    const streamId = `${session.sessionId}-${spec.trackNumber}`;
    const srtp = srtpOf(spec.media);
    // The RTP clock rate of the jitter statistic until the answer is known: the offered codec's,
    // for the first INVITE as for lines added or restarted mid-call (Opus and wideband codecs
    // do not tick at the 8 kHz default).
    const clockRateHz = spec.media === undefined ? undefined : chooseAudioCodec(spec.media)?.clockRateHz;
    // A stream of a paused recording opens paused (a SIPREC stream added, CUCM's second leg):
    // nothing it receives is stored. A pause or resume asked while it opened is applied after.
    const pausedAtOpen = session.pausedByApi;
    const { port } = await this.#media.openStream({
      streamId,
      filePath: join(this.#mediaDir, mediaPath(session, spec.trackNumber)),
      ...(srtp === undefined ? {} : { srtp: srtpParams(srtp.remote) }),
      ...(clockRateHz === undefined ? {} : { clockRateHz }),
      ...(pausedAtOpen ? { paused: true } : {}),
    });
    if (session.pausedByApi !== pausedAtOpen) {
      // Not awaited: the stream is not answered yet, so no media can reach it before this lands.
      void this.#media.setPaused(streamId, session.pausedByApi);
    }
    return {
      ...(srtp === undefined ? {} : { srtp }),
      ...(spec.video ? { video: true as const } : {}),
      ...(spec.label === undefined ? {} : { label: spec.label }),
      trackNumber: spec.trackNumber,
      streamId,
      startMs: spec.startMs,
      mediaIndex: spec.mediaIndex,
      port,
      localSdp: '',
      codecKnown: false,
      inactive: spec.inactive,
      ended: false,
      participants: spec.participants,
    };
  }

  /** Closes the streams of legs that will not be recorded after all; errors do not matter then. */
  async giveBack(legs: readonly Leg[]): Promise<void> {
    await Promise.all(
      legs.map((leg) => this.#media.closeStream(leg.streamId).catch(() => EMPTY_TRACK_STATS)),
    );
  }

  /** Our offer for a delayed-offer INVITE: one recvonly audio line on the leg's port. */
  offer(session: LiveSession, leg: Leg | undefined): string {
    return buildRecorderOffer(this.#origin(session), leg?.port ?? 0);
  }

  /** Our answer to an offer: each leg's line recvonly on its port, with our SRTP key where keyed. */
  answer(session: LiveSession, offer: SessionDescription, legs: readonly Leg[]): string {
    return buildRecorderAnswer(
      this.#origin(session),
      offer,
      new Map(legs.map((leg) => [leg.mediaIndex, leg.port])),
      answerCrypto(legs),
    );
  }

  #origin(session: LiveSession): { sessionId: string; sessionVersion: number; address: string } {
    return { sessionId: session.sessionId, sessionVersion: this.#sdpVersion++, address: this.#advertise };
  }

  /**
   * The codec an offer gives a leg: remembered (a codec change is recognised by it) and the media
   * engine told where the stream comes from. Undefined when the line names none.
   */
  takeOfferedCodec(leg: Leg, media: SdpMedia | undefined): MediaCodec | undefined {
    const codec = media === undefined ? undefined : chooseAudioCodec(media);
    if (media !== undefined && codec !== undefined) {
      leg.codecKnown = true;
      leg.codecKey = codecKey(codec);
      this.followMedia(leg, media);
    }
    return codec;
  }

  /**
   * Tells the media engine what the SDP says about a leg's stream: where it comes from, and which
   * payload type carries RFC 4733 telephone-events (each key press becomes a DTMF tag).
   */
  followMedia(leg: Leg, media: SdpMedia): void {
    // A new m= port in a re-offer means the sender's media moved (a transfer to another media
    // port of the SBC): the port learnt from the traffic is forgotten and learnt again.
    const moved = leg.offeredPort !== undefined && leg.offeredPort !== media.port;
    leg.offeredPort = media.port;
    const address = media.connectionAddress;
    if (address !== undefined && !isHoldAddress(address)) {
      // Port 0: the m= port is where the sender would *receive*; a sendonly fork often sends from
      // another port, so only the address is pinned and the port is latched from the traffic.
      this.#media.setExpectedSource(leg.streamId, {
        address,
        port: 0,
        ...(moved ? { relearn: true } : {}),
      });
    }
    const events = findTelephoneEvent(media);
    this.#media.setTelephoneEvent?.(leg.streamId, events?.payloadType, events?.clockRateHz);
  }
}

/** The SRTP keys of a line: the sender's from its a=crypto, and a fresh one of ours. */
function srtpOf(media: SdpMedia | undefined): LegSrtp | undefined {
  if (media === undefined || !isSecureProfile(media.protocol)) {
    return undefined;
  }
  const remote = chooseCrypto(media.crypto);
  return remote.ok
    ? { remote: remote.value, local: randomBytes(SRTP_MASTER_KEY_BYTES + SRTP_MASTER_SALT_BYTES) }
    : undefined;
}

export function srtpParams(crypto: SdesCrypto): SrtpParams {
  return {
    suite: crypto.suite,
    masterKey: crypto.masterKey,
    masterSalt: crypto.masterSalt,
    ...(crypto.mki === undefined ? {} : { mki: crypto.mki }),
  };
}

function answerCrypto(legs: readonly Leg[]): Map<number, string> {
  const crypto = new Map<number, string>();
  for (const leg of legs) {
    if (leg.srtp !== undefined) {
      crypto.set(
        leg.mediaIndex,
        buildCryptoAttribute(leg.srtp.remote.tag, leg.srtp.remote.suite, leg.srtp.local),
      );
    }
  }
  return crypto;
}
