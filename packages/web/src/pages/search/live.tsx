import { useEffect, useRef, useState } from 'preact/hooks';

import { LivePlayer, liveSocketUrl, type LiveStatus } from '../../api/live.ts';
import { activeSessions, type SessionJson } from '../../api/search.ts';
import { useFailureMessage } from '../../auth.tsx';
import { dateTimeText, durationText, partiesText } from './format.ts';

/** How often the ACTIVE sessions are asked for while the page is visible (docs/architecture.md). */
export const LIVE_POLL_MS = 2000;

export type LiveCalls =
  | { readonly state: 'loading' }
  | { readonly state: 'error'; readonly message: string }
  | { readonly state: 'ok'; readonly sessions: readonly SessionJson[] };

/**
 * The ACTIVE sessions, asked for every LIVE_POLL_MS while the page is visible and at once when
 * it becomes visible again; nothing while it is hidden (a tab left open costs the node nothing).
 */
export function useLiveCalls(): LiveCalls {
  const [calls, setCalls] = useState<LiveCalls>({ state: 'loading' });
  const failureMessage = useFailureMessage();
  useEffect(() => {
    let timer: number | undefined;
    let controller: AbortController | undefined;
    let stopped = false;
    const poll = () => {
      window.clearTimeout(timer);
      controller?.abort();
      if (stopped || document.visibilityState !== 'visible') {
        return;
      }
      const current = new AbortController();
      controller = current;
      activeSessions(current.signal)
        .then(
          (sessions) => {
            if (!current.signal.aborted) {
              setCalls({ state: 'ok', sessions });
            }
          },
          (failure: unknown) => {
            if (!current.signal.aborted) {
              const message = failureMessage(failure);
              if (message !== undefined) {
                setCalls({ state: 'error', message });
              }
            }
          },
        )
        .finally(() => {
          if (!current.signal.aborted && !stopped) {
            timer = window.setTimeout(poll, LIVE_POLL_MS);
          }
        });
    };
    document.addEventListener('visibilitychange', poll);
    poll();
    return () => {
      stopped = true;
      document.removeEventListener('visibilitychange', poll);
      window.clearTimeout(timer);
      controller?.abort();
    };
  }, [failureMessage]);
  return calls;
}

/** Listens live to an ACTIVE session; shown as "Listening" (and disabled) while it is the one heard. */
export function ListenButton(props: {
  session: SessionJson;
  listeningTo: string | undefined;
  onListen: (session: SessionJson) => void;
}) {
  const listening = props.listeningTo === props.session.sessionId;
  const label = listening ? 'Listening' : 'Listen';
  return (
    <button
      type="button"
      class="listen"
      disabled={listening}
      aria-label={`${label} live to ${partiesText(props.session)}`}
      onClick={() => props.onListen(props.session)}
    >
      {label}
    </button>
  );
}

/** The calls in progress, each with a button to listen to it. */
export function LiveCallsList(props: {
  calls: LiveCalls;
  now: number;
  listeningTo: string | undefined;
  onListen: (session: SessionJson) => void;
}) {
  const { calls } = props;
  const count = calls.state === 'ok' ? calls.sessions.length : undefined;
  return (
    <section class="live-calls" aria-labelledby="live-calls-title">
      <h2 id="live-calls-title" tabIndex={-1}>
        Calls in progress
      </h2>
      {/* Announced when the count changes, not on every poll. */}
      <p class="live-count" role="status">
        {count === undefined
          ? ''
          : count === 0
            ? 'No call in progress.'
            : `${count} call${count === 1 ? '' : 's'} in progress.`}
      </p>
      {calls.state === 'error' ? (
        <p class="error">The calls in progress could not be read: {calls.message}</p>
      ) : null}
      {calls.state === 'ok' && calls.sessions.length > 0 ? (
        <ul class="live-list">
          {calls.sessions.map((s) => (
            <li key={s.sessionId} data-session-id={s.sessionId}>
              <span class="live-parties">{partiesText(s)}</span>
              <span class="live-since">
                since {dateTimeText(s.sessionStartDate)} (
                {durationText(Math.max(0, props.now - s.sessionStartDate))})
              </span>
              <ListenButton session={s} listeningTo={props.listeningTo} onListen={props.onListen} />
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

const STATE_TEXT: Readonly<Record<LiveStatus['state'], string>> = {
  connecting: 'Connecting',
  live: 'Live',
  ended: 'Ended',
  error: 'Error',
};

/**
 * The in-page live player: opened by one click on Listen (the click also lets the browser start
 * the audio), it plays the call until it ends or Stop is pressed, with its state and delay.
 */
export function LivePlayerPanel(props: { session: SessionJson; onClose: () => void }) {
  const [status, setStatus] = useState<LiveStatus | undefined>(undefined);
  const player = useRef<LivePlayer | undefined>(undefined);
  const closeButton = useRef<HTMLButtonElement>(null);
  const { session } = props;
  useEffect(() => {
    const opened = new LivePlayer(
      liveSocketUrl(session.sessionId, session.urls.listenUrl, window.location),
      setStatus,
    );
    player.current = opened;
    // Focus moves to the player, so a keyboard user is where the new controls are.
    closeButton.current?.focus();
    return () => opened.close();
  }, [session.sessionId]);

  const state = status?.state ?? 'connecting';
  return (
    <section class="live-player" aria-labelledby="live-player-title" data-state={state}>
      <h2 id="live-player-title">Listening live: {partiesText(session)}</h2>
      <p>
        <span class="label">State: </span>
        <span id="live-state" class={`live-state live-state-${state}`} role="status">
          {STATE_TEXT[state]}
        </span>
        {status?.detail ? <span class="live-detail"> ({status.detail})</span> : null}
      </p>
      <p>
        <span class="label">Delay: </span>
        <span id="live-delay">
          {status?.delayMs === undefined ? '—' : `${Math.round(status.delayMs)} ms`}
        </span>
        <small class="hint"> from the recorder to your speakers</small>
      </p>
      <div class="levels">
        <label for="live-level-0">Left: track 0</label>
        <meter id="live-level-0" min={0} max={1} value={status?.levels[0] ?? 0} />
        <label for="live-level-1">Right: track 1</label>
        <meter id="live-level-1" min={0} max={1} value={status?.levels[1] ?? 0} />
      </div>
      {status?.needsGesture === true ? (
        <button type="button" class="primary" onClick={() => player.current?.resume()}>
          Start audio
        </button>
      ) : null}
      <p class="player-actions">
        <button type="button" ref={closeButton} onClick={props.onClose}>
          {state === 'ended' || state === 'error' ? 'Close player' : 'Stop listening'}
        </button>{' '}
        <a href={`/search/sessions/${encodeURIComponent(session.sessionId)}`}>Open the session</a>
      </p>
    </section>
  );
}
