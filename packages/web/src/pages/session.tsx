import { useRoute } from 'preact-iso';

import { getSession } from '../api/player.ts';
import { useAuth } from '../auth.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { Empty, ErrorMessage, Loading, useLoad } from '../components/states.tsx';
import { SessionDetails, SessionSummary } from './session/details.tsx';
import { partyOf } from './session/format.ts';
import { Player } from './session/player.tsx';
import './session/session.css';

/**
 * One session (`/search/sessions/:id`, `#t=95` to open at a time): what was recorded, the player,
 * and the facts a supervisor checks (participants, tracks, tags, health, correlation ids).
 */
export function SessionPage() {
  const { params } = useRoute();
  const id = params.id ?? '';
  const { user } = useAuth();
  usePageTitle(`Session ${id}`);
  const { loaded, reload } = useLoad((signal) => getSession(id, signal), [id]);
  const canPlay = user.permissions.includes('play');
  const canTag = user.permissions.includes('tag');

  let body;
  if (loaded.state === 'loading') {
    body = <Loading what="the session" />;
  } else if (loaded.state === 'error') {
    body = <ErrorMessage message={loaded.message} onRetry={reload} />;
  } else if (loaded.data === undefined) {
    body = <Empty id="no-session">There is no session {id} on this node.</Empty>;
  } else {
    const session = loaded.data;
    const deleted = session.sessionState === 'DELETED';
    body = (
      <>
        <p class="session-parties">
          {partyOf(session, 0)} <span aria-hidden="true">↔</span>
          <span class="visually-hidden"> and </span> {partyOf(session, 1)}
        </p>
        <SessionSummary session={session} />
        {deleted ? (
          <p class="notice" id="session-deleted">
            This session was deleted: its media is gone, only its record remains.
          </p>
        ) : session.pruned === true ? (
          <p class="notice" id="session-pruned">
            The media of this session was removed by the retention policy: only its record remains.
          </p>
        ) : !canPlay ? (
          <p class="notice">Your role may not play recordings.</p>
        ) : (
          <Player key={session.sessionId} session={session} canTag={canTag} onTagsChanged={reload} />
        )}
        <SessionDetails session={session} />
      </>
    );
  }
  return (
    <>
      <p class="breadcrumb">
        <a href="/">Search and Play</a> <span aria-hidden="true">›</span> Session
      </p>
      <h1>Session {id}</h1>
      {body}
    </>
  );
}
