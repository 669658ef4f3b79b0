import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import WaveSurfer from 'wavesurfer.js';
import RegionsPlugin from 'wavesurfer.js/plugins/regions';

/** The regions plugin's instance type (the module exports its class as a value). */
type Regions = ReturnType<typeof RegionsPlugin.create>;

import {
  addTag,
  deleteTag,
  getWaveform,
  samePath,
  type SessionJson,
  type Waveform,
} from '../../api/player.ts';
import { useFailureMessage } from '../../auth.tsx';
import { ErrorMessage, Loading, useLoad } from '../../components/states.tsx';
import { clock, markersOf, partyOf, when, type Marker } from './format.ts';

/** The speeds offered, slowest first ([ and ] step through them). */
const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2] as const;
const SEEK_STEP_SECONDS = 5;
const CHANNEL_NAMES = ['left', 'right'] as const;
const WAVE_COLORS = ['#0a58ca', '#1a7f37'] as const;
const PROGRESS_COLORS = ['#052c65', '#0b3d1a'] as const;

/** `#t=95` (seconds, decimals allowed) in the page's address, or undefined. */
function deepLinkSeconds(hash: string): number | undefined {
  const match = /(?:^#|&)t=(\d+(?:\.\d+)?)/.exec(hash);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * The per-channel mixer: media element → splitter → one gain per channel → merger → volume →
 * speakers. Made on the first gesture that needs it (browsers start an AudioContext only after
 * one), and once only: an element can feed a single MediaElementAudioSourceNode in its life.
 */
interface Mixer {
  readonly context: AudioContext;
  readonly channels: readonly [GainNode, GainNode];
  readonly volume: GainNode;
}

function makeMixer(media: HTMLMediaElement): Mixer {
  const context = new AudioContext();
  const source = context.createMediaElementSource(media);
  const splitter = context.createChannelSplitter(2);
  const merger = context.createChannelMerger(2);
  const left = context.createGain();
  const right = context.createGain();
  const volume = context.createGain();
  source.connect(splitter);
  splitter.connect(left, 0);
  splitter.connect(right, 1);
  left.connect(merger, 0, 0);
  right.connect(merger, 0, 1);
  merger.connect(volume);
  volume.connect(context.destination);
  return { context, channels: [left, right], volume };
}

interface ChannelState {
  readonly muted: readonly [boolean, boolean];
  readonly solo: readonly [boolean, boolean];
}

/** The gain of each channel: a solo silences the channels not soloed, else mute silences. */
function channelGains(state: ChannelState): [number, number] {
  const anySolo = state.solo[0] || state.solo[1];
  const gain = (c: 0 | 1): number => (anySolo ? (state.solo[c] ? 1 : 0) : state.muted[c] ? 0 : 1);
  return [gain(0), gain(1)];
}

/** wavesurfer draws |peak| per pixel: each bucket's max then min keeps both in one series. */
function peaksOf(waveform: Waveform): Float32Array[] {
  return waveform.channels.map((channel) => {
    const out = new Float32Array(channel.max.length * 2);
    channel.max.forEach((max, i) => {
      out[2 * i] = max;
      out[2 * i + 1] = channel.min[i] ?? 0;
    });
    return out;
  });
}

/** Scaled to the louder channel's peak (quiet calls fill the view), the same for both channels. */
function scaleOf(waveform: Waveform): { normalize: true; maxPeak: number } | { normalize: false } {
  let peak = 0;
  for (const channel of waveform.channels) {
    for (const value of [...channel.max, ...channel.min]) {
      peak = Math.max(peak, Math.abs(value));
    }
  }
  return peak > 0 ? { normalize: true, maxPeak: peak } : { normalize: false };
}

/** Where the keyboard types: shortcuts stay out of its way. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) {
    return false;
  }
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** A marker's button inside wavesurfer's shadow DOM: styled inline, the page's CSS cannot reach it. */
function markerButton(marker: Marker): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = marker.tagName;
  button.setAttribute('aria-label', `Tag ${marker.tagName} at ${clock(marker.seconds ?? 0)}: play from here`);
  button.dataset.tag = marker.tagName;
  Object.assign(button.style, {
    font: '12px system-ui, sans-serif',
    padding: '0 4px',
    margin: '0',
    border: '1px solid #8a1c12',
    borderRadius: '3px',
    background: '#fff',
    color: '#8a1c12',
    cursor: 'pointer',
    whiteSpace: 'nowrap',
  });
  return button;
}

interface PlayerProps {
  readonly session: SessionJson;
  /** The user's role has the `tag` permission. */
  readonly canTag: boolean;
  /** A tag was added or removed: the page loads the session again. */
  readonly onTagsChanged: () => void;
}

/**
 * The in-browser player: the session's WAV (or its MP4 with video) in a media element that
 * wavesurfer.js drives, drawn from the peaks the server computed (so an hour shows at once, no
 * download or decoding first); tag markers that seek; speed, volume, per-channel solo and mute
 * through Web Audio; keyboard shortcuts; tags added and removed at the playhead; deep links.
 */
export function Player(props: PlayerProps) {
  const { session, canTag, onTagsChanged } = props;
  const sessionId = session.sessionId;
  const hasVideo =
    session.tracks.some((t) => t.trackMediaType === 'VIDEO') && session.sessionState !== 'ACTIVE';
  const mediaUrl = samePath(hasVideo ? session.urls.mp4Url : session.urls.wavUrl);
  const { loaded: waveform, reload: reloadWaveform } = useLoad(
    (signal) => getWaveform(sessionId, signal),
    [sessionId],
  );
  const failureMessage = useFailureMessage();

  const mediaRef = useRef<HTMLAudioElement & HTMLVideoElement>(null);
  const waveRef = useRef<HTMLDivElement>(null);
  const surfer = useRef<WaveSurfer | undefined>(undefined);
  // Set once the waveform knows its duration: a marker added before then is pinned to 0 s (the
  // regions plugin clamps a region's start to the duration it sees when the region is added).
  const [regions, setRegions] = useState<Regions | undefined>(undefined);
  const mixer = useRef<Mixer | undefined>(undefined);

  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState((session.sessionDuration ?? 0) / 1000);
  const [playing, setPlaying] = useState(false);
  const [rate, setRate] = useState(1);
  const [volume, setVolume] = useState(1);
  const [muted, setMuted] = useState(false);
  const [channels, setChannels] = useState<ChannelState>({ muted: [false, false], solo: [false, false] });
  const [mediaError, setMediaError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState('');
  const [tagError, setTagError] = useState<string | undefined>(undefined);
  const [copied, setCopied] = useState<string | undefined>(undefined);
  const [tagName, setTagName] = useState('');

  const markers = useMemo(() => markersOf(session), [session]);

  // The media element's own events are the truth the controls show.
  useEffect(() => {
    const media = mediaRef.current;
    if (media === null) {
      return;
    }
    const onTime = () => setTime(media.currentTime);
    const onDuration = () => {
      if (Number.isFinite(media.duration)) {
        setDuration(media.duration);
      }
    };
    const onPlay = () => setPlaying(true);
    const onPause = () => setPlaying(false);
    const onRate = () => setRate(media.playbackRate);
    const onError = () => {
      const code = media.error?.code;
      setMediaError(
        `The recording could not be played${code === undefined ? '' : ` (media error ${code})`}. Try downloading it instead.`,
      );
    };
    const toDeepLink = () => {
      const seconds = deepLinkSeconds(window.location.hash);
      if (seconds !== undefined && media.readyState >= HTMLMediaElement.HAVE_METADATA) {
        media.currentTime = Math.min(seconds, Number.isFinite(media.duration) ? media.duration : seconds);
        setTime(media.currentTime);
      }
    };
    const onMetadata = () => {
      onDuration();
      toDeepLink();
    };
    media.addEventListener('timeupdate', onTime);
    media.addEventListener('seeked', onTime);
    media.addEventListener('durationchange', onDuration);
    media.addEventListener('loadedmetadata', onMetadata);
    media.addEventListener('play', onPlay);
    media.addEventListener('pause', onPause);
    media.addEventListener('ratechange', onRate);
    media.addEventListener('error', onError);
    window.addEventListener('hashchange', toDeepLink);
    if (media.readyState >= HTMLMediaElement.HAVE_METADATA) {
      onMetadata();
    }
    return () => {
      media.removeEventListener('timeupdate', onTime);
      media.removeEventListener('seeked', onTime);
      media.removeEventListener('durationchange', onDuration);
      media.removeEventListener('loadedmetadata', onMetadata);
      media.removeEventListener('play', onPlay);
      media.removeEventListener('pause', onPause);
      media.removeEventListener('ratechange', onRate);
      media.removeEventListener('error', onError);
      window.removeEventListener('hashchange', toDeepLink);
    };
  }, [mediaUrl]);

  useEffect(
    () => () => {
      void mixer.current?.context.close();
      mixer.current = undefined;
    },
    [],
  );

  // Every control seeks the media element itself. wavesurfer's own seek is put off until the element
  // has data ahead (readyState 3), while the element can seek as soon as it knows its duration.
  const seekTo = useCallback((seconds: number) => {
    const media = mediaRef.current;
    if (media === null) {
      return;
    }
    const end = Number.isFinite(media.duration) ? media.duration : seconds;
    media.currentTime = Math.max(0, Math.min(seconds, end));
    setTime(media.currentTime);
  }, []);

  // The waveform, once the server's peaks are here: wavesurfer drives the media element.
  const peaks = waveform.state === 'ok' ? waveform.data : undefined;
  useEffect(() => {
    const media = mediaRef.current;
    const container = waveRef.current;
    if (peaks === undefined || media === null || container === null) {
      return;
    }
    const plugin = RegionsPlugin.create();
    const ws = WaveSurfer.create({
      container,
      media,
      peaks: peaksOf(peaks),
      duration: Math.max(peaks.durationMs / 1000, 0.001),
      height: 56,
      // One scale for both channels, so a faint party does not look as loud as the other.
      ...scaleOf(peaks),
      cursorColor: '#b42318',
      cursorWidth: 2,
      dragToSeek: true,
      splitChannels: [
        { waveColor: WAVE_COLORS[0], progressColor: PROGRESS_COLORS[0] },
        { waveColor: WAVE_COLORS[1], progressColor: PROGRESS_COLORS[1] },
      ],
      plugins: [plugin],
    });
    ws.on('error', (error) => setMediaError(`The player failed: ${error.message}`));
    plugin.on('region-clicked', (region, event) => {
      // The marker seeks to its tag, not to where on its label the pointer was.
      event.stopPropagation();
      seekTo(region.start);
    });
    // A click or a drag on the waveform: wavesurfer moved its cursor; make sure the media follows.
    ws.on('click', (relativeX) => seekTo(relativeX * ws.getDuration()));
    ws.on('dragend', (relativeX) => seekTo(relativeX * ws.getDuration()));
    ws.on('ready', () => setRegions(plugin));
    surfer.current = ws;
    container.dataset.peaks = String(peaks.buckets);
    return () => {
      surfer.current = undefined;
      setRegions(undefined);
      delete container.dataset.peaks;
      ws.destroy();
    };
  }, [peaks, seekTo]);

  // Tag markers follow the session's tags.
  useEffect(() => {
    if (regions === undefined) {
      return;
    }
    regions.clearRegions();
    for (const marker of markers) {
      if (marker.seconds !== undefined) {
        regions.addRegion({
          id: `tag-${marker.key}`,
          start: marker.seconds,
          content: markerButton(marker),
          color: '#b42318',
          drag: false,
          resize: false,
        });
      }
    }
  }, [markers, regions]);

  const mixerFor = useCallback((): Mixer | undefined => {
    const media = mediaRef.current;
    if (media === null) {
      return undefined;
    }
    if (mixer.current === undefined) {
      mixer.current = makeMixer(media);
    }
    if (mixer.current.context.state === 'suspended') {
      void mixer.current.context.resume();
    }
    return mixer.current;
  }, []);

  // The gains follow the controls; the test reads them back from the nodes through data-*.
  const gains = channelGains(channels);
  const outputVolume = muted ? 0 : volume;
  const applyGains = useCallback(() => {
    const current = mixer.current;
    const media = mediaRef.current;
    if (current === undefined || media === null) {
      return;
    }
    current.channels.forEach((node, c) => {
      node.gain.value = gains[c] ?? 1;
    });
    current.volume.gain.value = outputVolume;
    const root = media.closest('.player');
    if (root instanceof HTMLElement) {
      root.dataset.gainLeft = String(current.channels[0].gain.value);
      root.dataset.gainRight = String(current.channels[1].gain.value);
      root.dataset.volume = String(current.volume.gain.value);
    }
  }, [gains[0], gains[1], outputVolume]);
  useEffect(applyGains, [applyGains]);

  const togglePlay = useCallback(() => {
    const media = mediaRef.current;
    if (media === null) {
      return;
    }
    mixerFor();
    applyGains();
    if (media.paused) {
      media.play().catch((error: unknown) => {
        // A pause before playback started rejects the promise: not a failure.
        if (!(error instanceof DOMException && error.name === 'AbortError')) {
          setMediaError(`The recording could not be played: ${String(error)}`);
        }
      });
    } else {
      media.pause();
    }
  }, [mixerFor, applyGains]);

  const changeRate = useCallback((next: number) => {
    const media = mediaRef.current;
    if (media !== null) {
      media.playbackRate = next;
      // Keep the voice's pitch at any speed (the default, said out loud).
      media.preservesPitch = true;
    }
    setRate(next);
  }, []);

  const stepRate = useCallback(
    (direction: 1 | -1) => {
      // From the element's rate, not the state: two quick presses come before a re-render.
      const current = mediaRef.current?.playbackRate ?? 1;
      const at = SPEEDS.findIndex((s) => s >= current);
      const index = Math.max(0, Math.min(SPEEDS.length - 1, (at < 0 ? SPEEDS.length - 1 : at) + direction));
      changeRate(SPEEDS[index] ?? 1);
      setStatus(`Speed ${SPEEDS[index] ?? 1}×`);
    },
    [changeRate],
  );

  const toggleMute = useCallback(() => {
    mixerFor();
    setMuted((m) => !m);
  }, [mixerFor]);

  const toggleChannel = useCallback(
    (kind: 'muted' | 'solo', channel: 0 | 1) => {
      mixerFor();
      setChannels((state) => {
        const next: [boolean, boolean] = [state[kind][0], state[kind][1]];
        next[channel] = !next[channel];
        return { ...state, [kind]: next };
      });
    },
    [mixerFor],
  );

  // Keyboard shortcuts, page-wide, never while typing in a field.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (
        event.defaultPrevented ||
        event.ctrlKey ||
        event.metaKey ||
        event.altKey ||
        isTyping(event.target)
      ) {
        return;
      }
      const onControl =
        event.target instanceof HTMLElement && event.target.closest('button, a, summary') !== null;
      const media = mediaRef.current;
      switch (event.key) {
        case ' ':
          if (onControl) {
            return; // Space presses the focused button or link.
          }
          togglePlay();
          break;
        case 'ArrowLeft':
          seekTo((media?.currentTime ?? 0) - SEEK_STEP_SECONDS);
          break;
        case 'ArrowRight':
          seekTo((media?.currentTime ?? 0) + SEEK_STEP_SECONDS);
          break;
        case '[':
          stepRate(-1);
          break;
        case ']':
          stepRate(1);
          break;
        case 'm':
        case 'M':
          toggleMute();
          break;
        default:
          return;
      }
      event.preventDefault();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [togglePlay, seekTo, stepRate, toggleMute]);

  const copyLink = useCallback(() => {
    const seconds = Math.floor(mediaRef.current?.currentTime ?? 0);
    const link = `${window.location.origin}${window.location.pathname}#t=${seconds}`;
    setCopied(link);
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (clipboard === undefined) {
      setStatus('Copy the link below.');
      return;
    }
    clipboard.writeText(link).then(
      () => setStatus(`Link at ${clock(seconds)} copied.`),
      () => setStatus('The browser did not allow copying: copy the link below.'),
    );
  }, []);

  const submitTag = async (event: Event) => {
    event.preventDefault();
    const name = tagName.trim();
    if (name === '') {
      setTagError('Give the tag a name.');
      return;
    }
    const at = mediaRef.current?.currentTime ?? 0;
    setTagError(undefined);
    try {
      await addTag(sessionId, name, at * 1000);
      setTagName('');
      setStatus(`Tag ${name} added at ${clock(at)}.`);
      onTagsChanged();
    } catch (failure) {
      const message = failureMessage(failure);
      if (message !== undefined) {
        setTagError(`The tag was not added: ${message}`);
      }
    }
  };

  const removeTag = async (marker: Marker) => {
    setTagError(undefined);
    try {
      await deleteTag(sessionId, marker.tagName, marker.tagOffset);
      setStatus(`Tag ${marker.tagName} removed.`);
      onTagsChanged();
    } catch (failure) {
      const message = failureMessage(failure);
      if (message !== undefined) {
        setTagError(`The tag was not removed: ${message}`);
      }
    }
  };

  const mediaProps = {
    ref: mediaRef,
    src: mediaUrl,
    preload: 'metadata',
    class: 'player-media',
  } as const;

  return (
    <section class="player" aria-labelledby="player-heading" data-playing={playing ? 'true' : 'false'}>
      <h2 id="player-heading">Play</h2>
      {session.sessionState === 'ACTIVE' ? (
        <p class="notice">
          This call is still being recorded: the player plays what was recorded when the page opened.
        </p>
      ) : null}
      {hasVideo ? (
        <video {...mediaProps} playsInline aria-label="Video of the session" />
      ) : (
        <audio {...mediaProps} aria-label="Audio of the session" />
      )}
      {mediaError === undefined ? null : <ErrorMessage message={mediaError} />}

      <div class="waveform-area">
        <div class="channel-labels" aria-hidden="true">
          <span>L · {partyOf(session, 0)}</span>
          <span>R · {partyOf(session, 1)}</span>
        </div>
        <div
          class="waveform"
          ref={waveRef}
          role="group"
          aria-label={`Waveform of both channels: left ${partyOf(session, 0)}, right ${partyOf(session, 1)}; click to seek; the tag markers are buttons`}
        />
        {waveform.state === 'loading' ? <Loading what="the waveform" /> : null}
        {waveform.state === 'error' ? (
          <ErrorMessage
            message={`The waveform could not be loaded: ${waveform.message}`}
            onRetry={reloadWaveform}
          />
        ) : null}
      </div>

      <div class="transport" role="group" aria-label="Playback">
        <button type="button" class="primary play" onClick={togglePlay} aria-keyshortcuts="Space">
          {playing ? 'Pause' : 'Play'}
        </button>
        <button type="button" onClick={() => seekTo(time - SEEK_STEP_SECONDS)} aria-keyshortcuts="ArrowLeft">
          Back {SEEK_STEP_SECONDS} s
        </button>
        <button type="button" onClick={() => seekTo(time + SEEK_STEP_SECONDS)} aria-keyshortcuts="ArrowRight">
          Forward {SEEK_STEP_SECONDS} s
        </button>
        <span class="clock" aria-live="off">
          <time>{clock(time)}</time> / <time>{clock(duration)}</time>
        </span>
        <label for="player-position" class="visually-hidden">
          Position (seconds)
        </label>
        <input
          id="player-position"
          class="position"
          type="range"
          min={0}
          max={Math.max(duration, 0.001)}
          step="any"
          value={time}
          aria-valuetext={`${clock(time)} of ${clock(duration)}`}
          onInput={(event) => seekTo(Number(event.currentTarget.value))}
        />
      </div>

      <div class="mixing" role="group" aria-label="Speed, volume and channels">
        <label for="player-speed">Speed</label>
        <select
          id="player-speed"
          value={String(rate)}
          onChange={(event) => changeRate(Number(event.currentTarget.value))}
          aria-keyshortcuts="[ ]"
        >
          {SPEEDS.map((s) => (
            <option key={s} value={String(s)}>
              {s}×
            </option>
          ))}
        </select>
        <label for="player-volume">Volume</label>
        <input
          id="player-volume"
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={volume}
          aria-valuetext={`${Math.round(volume * 100)} %`}
          onInput={(event) => {
            mixerFor();
            setVolume(Number(event.currentTarget.value));
          }}
        />
        <button type="button" aria-pressed={muted} onClick={toggleMute} aria-keyshortcuts="M">
          {muted ? 'Unmute' : 'Mute'}
        </button>
        {([0, 1] as const).map((c) => (
          <span class="channel" key={c}>
            <span class="channel-name">
              {CHANNEL_NAMES[c]} ({partyOf(session, c)})
            </span>
            <button
              type="button"
              aria-pressed={channels.solo[c]}
              aria-label={`Solo the ${CHANNEL_NAMES[c]} channel (${partyOf(session, c)})`}
              onClick={() => toggleChannel('solo', c)}
            >
              Solo
            </button>
            <button
              type="button"
              aria-pressed={channels.muted[c]}
              aria-label={`Mute the ${CHANNEL_NAMES[c]} channel (${partyOf(session, c)})`}
              onClick={() => toggleChannel('muted', c)}
            >
              Mute
            </button>
          </span>
        ))}
      </div>

      <div class="links">
        <a href={samePath(session.urls.wavUrl)} download>
          Download WAV
        </a>
        {session.sessionState === 'ACTIVE' ? null : (
          <a href={samePath(session.urls.mp4Url)} download>
            Download MP4
          </a>
        )}
        <button type="button" onClick={copyLink}>
          Copy link at this time
        </button>
        {copied === undefined ? null : (
          <>
            <label for="player-link" class="visually-hidden">
              Link to this session at this time
            </label>
            <input id="player-link" class="link-out" readOnly value={copied} />
          </>
        )}
      </div>
      <p class="status" role="status" aria-live="polite">
        {status}
      </p>

      <section class="tags" aria-labelledby="tags-heading">
        <h2 id="tags-heading">Tags</h2>
        {canTag ? (
          <form class="add-tag" onSubmit={(event) => void submitTag(event)}>
            <label for="tag-name">Tag name</label>
            <input
              id="tag-name"
              value={tagName}
              maxLength={255}
              onInput={(event) => setTagName(event.currentTarget.value)}
            />
            <button type="submit">Add tag at {clock(time)}</button>
          </form>
        ) : null}
        {tagError === undefined ? null : <ErrorMessage message={tagError} />}
        {markers.length === 0 ? (
          <p class="empty">No tags.</p>
        ) : (
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Tag</th>
                  <th scope="col">At</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Added</th>
                  {canTag ? <th scope="col">Remove</th> : null}
                </tr>
              </thead>
              <tbody>
                {markers.map((marker) => (
                  <tr key={marker.key}>
                    <td>{marker.tagName}</td>
                    <td>
                      {marker.seconds === undefined ? (
                        'whole session'
                      ) : (
                        <button
                          type="button"
                          class="link-button"
                          aria-label={`Play from ${clock(marker.seconds)} (${marker.tagName})`}
                          onClick={() => seekTo(marker.seconds ?? 0)}
                        >
                          {clock(marker.seconds)}
                        </button>
                      )}
                    </td>
                    <td>
                      {marker.tagType === 'USER_DEFINED' ? 'user' : 'system'}
                      {marker.trackNumber === undefined ? '' : `, track ${marker.trackNumber}`}
                    </td>
                    <td>{when(marker.tagCreateDate)}</td>
                    {canTag ? (
                      <td>
                        {marker.removable ? (
                          <button
                            type="button"
                            aria-label={`Remove tag ${marker.tagName}${marker.seconds === undefined ? '' : ` at ${clock(marker.seconds)}`}`}
                            onClick={() => void removeTag(marker)}
                          >
                            Remove
                          </button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <details class="shortcuts" open>
        <summary>Keyboard shortcuts</summary>
        <dl>
          <div>
            <dt>
              <kbd>Space</kbd>
            </dt>
            <dd>play or pause</dd>
          </div>
          <div>
            <dt>
              <kbd>←</kbd> <kbd>→</kbd>
            </dt>
            <dd>back or forward {SEEK_STEP_SECONDS} seconds</dd>
          </div>
          <div>
            <dt>
              <kbd>[</kbd> <kbd>]</kbd>
            </dt>
            <dd>slower or faster (0.5× to 2×)</dd>
          </div>
          <div>
            <dt>
              <kbd>m</kbd>
            </dt>
            <dd>mute or unmute</dd>
          </div>
        </dl>
        <p>They do nothing while you type in a field.</p>
      </details>
    </section>
  );
}
