/**
 * Listening to a call in progress from Search and Play: the browser live stream of the playback
 * issue (docs/api.md "Live listening"), played in the page. It opens the WebSocket
 * `/listen/<sessionId>/ws` (with the media token of the session's listenUrl, or else the API
 * session's cookie), decodes the frames with the server's own decoder (playback/live-frame.ts),
 * and plays channel 0 left and channel 1 right with Web Audio behind the same small jitter buffer
 * as the `/listen/<id>` page (api/listen-page.ts), whose script cannot be imported: it is a page
 * without a build step by design.
 *
 * For the tests, `window.verbatimLive` holds the status of the player that is open (the same
 * shape as the listen page's `window.verbatimListen`).
 */
import { decodeLiveFrame } from '../../../server/src/playback/live-frame.ts';

export type LiveState = 'connecting' | 'live' | 'ended' | 'error';

export interface LiveStatus {
  readonly state: LiveState;
  readonly detail: string;
  /** The delay of the last frame played, from its arrival at the recorder to the speaker (ms). */
  readonly delayMs: number | undefined;
  /** Loudness of each channel's last frame, 0…1 (for the level meters). */
  readonly levels: readonly [number, number];
  /** The audio context is suspended: the browser wants one more click before it plays. */
  readonly needsGesture: boolean;
}

/** A frame plays TARGET_S after it arrives when the queue has run dry. */
const TARGET_S = 0.15;
const MIN_LEAD_S = 0.02;
/** A frame that would play later than this from now is dropped, so the delay stays small. */
const MAX_LEAD_S = 0.6;
/** Seconds of PCM kept per channel for the tests. */
const KEEP_S = 30;
/** How often the page is told (levels and delay change with every 20 ms frame). */
const NOTIFY_MS = 250;

interface TestStatus {
  state: LiveState;
  detail: string;
  frames: [number, number];
  delaysMs: number[];
  sampleRateHz: [number, number];
  audioState: string;
  samples(channel: number): number[];
}

declare global {
  interface Window {
    verbatimLive?: TestStatus;
  }
}

/** The WebSocket URL of a session's live stream, on this page's origin. */
export function liveSocketUrl(sessionId: string, listenUrl: string | undefined, location: Location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // The listenUrl names the node's advertised address; the page's own origin is the same node.
  const query = listenUrl === undefined ? '' : new URL(listenUrl, location.href).search;
  return `${scheme}//${location.host}/listen/${encodeURIComponent(sessionId)}/ws${query}`;
}

export class LivePlayer {
  readonly #audio: AudioContext;
  readonly #merger: ChannelMergerNode;
  readonly #socket: WebSocket;
  readonly #onChange: (status: LiveStatus) => void;
  readonly #nextStart: [number, number] = [0, 0];
  readonly #kept: [Int16Array[], Int16Array[]] = [[], []];
  readonly #keptSamples: [number, number] = [0, 0];
  readonly #test: TestStatus;
  #status: LiveStatus = {
    state: 'connecting',
    detail: '',
    delayMs: undefined,
    levels: [0, 0],
    needsGesture: false,
  };
  #timer: number | undefined;

  /** Must be called from the user's click: browsers let an audio context start only then. */
  constructor(socketUrl: string, onChange: (status: LiveStatus) => void) {
    this.#onChange = onChange;
    this.#audio = new AudioContext({ latencyHint: 'interactive' });
    this.#merger = this.#audio.createChannelMerger(2);
    this.#merger.connect(this.#audio.destination);
    const kept = this.#kept;
    this.#test = {
      state: 'connecting',
      detail: '',
      frames: [0, 0],
      delaysMs: [],
      sampleRateHz: [0, 0],
      audioState: this.#audio.state,
      samples: (channel) => (kept[channel] ?? []).flatMap((chunk) => Array.from(chunk)),
    };
    window.verbatimLive = this.#test;
    this.#audio.onstatechange = () => {
      this.#test.audioState = this.#audio.state;
      this.#update({ needsGesture: this.#audio.state === 'suspended' });
    };
    this.#socket = new WebSocket(socketUrl);
    this.#socket.binaryType = 'arraybuffer';
    this.#socket.onmessage = (event: MessageEvent<unknown>) => this.#message(event.data);
    this.#socket.onclose = (event) => {
      if (this.#status.state !== 'ended') {
        this.#show('error', event.reason || `the connection to the recorder was lost (${event.code})`);
      }
    };
    this.#socket.onerror = () =>
      this.#show('error', 'the recorder refused the connection or could not be reached');
    this.#timer = window.setInterval(() => this.#onChange(this.#status), NOTIFY_MS);
    this.#update({ needsGesture: this.#audio.state === 'suspended' });
  }

  /** Resumes an audio context the browser held back (from a click). */
  resume(): void {
    void this.#audio.resume();
  }

  /** Stops listening: closes the socket and the audio. */
  close(): void {
    window.clearInterval(this.#timer);
    this.#socket.onclose = null;
    this.#socket.onmessage = null;
    this.#socket.close();
    void this.#audio.close();
    if (window.verbatimLive === this.#test) {
      delete window.verbatimLive;
    }
  }

  #update(change: Partial<LiveStatus>): void {
    this.#status = { ...this.#status, ...change };
    this.#onChange(this.#status);
  }

  #show(state: LiveState, detail: string): void {
    if (this.#status.state === 'ended' || this.#status.state === 'error') {
      return;
    }
    this.#test.state = state;
    this.#test.detail = detail;
    this.#update({ state, detail });
  }

  #message(data: unknown): void {
    if (typeof data === 'string') {
      let message: { type?: string; reason?: string };
      try {
        message = JSON.parse(data) as { type?: string; reason?: string };
      } catch {
        return;
      }
      if (message.type === 'start') {
        this.#show('live', '');
      } else if (message.type === 'end') {
        this.#show('ended', message.reason ?? '');
      } else if (message.type === 'error') {
        this.#show('error', message.reason ?? '');
      }
      return;
    }
    if (!(data instanceof ArrayBuffer)) {
      return;
    }
    const frame = decodeLiveFrame(new Uint8Array(data));
    if (frame !== undefined && (frame.channel === 0 || frame.channel === 1)) {
      this.#play(frame.channel, frame.sampleRateHz, frame.arrivalMs, frame.pcm);
    }
  }

  #play(channel: 0 | 1, rate: number, arrivalMs: number, pcm: Int16Array): void {
    const audio = this.#audio;
    const samples = new Float32Array(pcm.length);
    let sum = 0;
    for (let i = 0; i < pcm.length; i++) {
      const v = (pcm[i] ?? 0) / 32768;
      samples[i] = v;
      sum += v * v;
    }
    const now = audio.currentTime;
    let at = this.#nextStart[channel];
    if (at < now + MIN_LEAD_S) {
      at = now + TARGET_S;
    }
    if (at > now + MAX_LEAD_S) {
      return;
    }
    const buffer = audio.createBuffer(1, samples.length, rate);
    buffer.copyToChannel(samples, 0);
    const source = audio.createBufferSource();
    source.buffer = buffer;
    source.connect(this.#merger, 0, channel);
    source.start(at);
    this.#nextStart[channel] = at + samples.length / rate;
    // When this frame reaches the speaker, on the wall clock, against when it reached the recorder
    // (the node and a browser on another machine may disagree on the time by a little).
    const latency = (audio.outputLatency || 0) + audio.baseLatency;
    const playoutMs = performance.timeOrigin + performance.now() + (at - now + latency) * 1000;
    const delayMs = playoutMs - arrivalMs;
    const levels: [number, number] = [...this.#status.levels];
    levels[channel] = Math.min(1, Math.sqrt(sum / Math.max(1, pcm.length)) * 4);
    // Not #update: the page hears of levels and delay on its timer, not 50 times a second.
    this.#status = { ...this.#status, delayMs, levels };
    const test = this.#test;
    test.delaysMs.push(delayMs);
    if (test.delaysMs.length > 2000) {
      test.delaysMs.shift();
    }
    test.frames[channel]++;
    test.sampleRateHz[channel] = rate;
    this.#kept[channel].push(pcm);
    this.#keptSamples[channel] += pcm.length;
    while (this.#keptSamples[channel] > KEEP_S * rate && this.#kept[channel].length > 1) {
      this.#keptSamples[channel] -= this.#kept[channel].shift()?.length ?? 0;
    }
  }
}
