import { recentSessions, type SessionJson } from '../api/sessions.ts';
import { usePageTitle } from '../components/page-title.ts';
import { Empty, ErrorMessage, Loading, useLoad } from '../components/states.tsx';

function SessionsTable(props: { sessions: readonly SessionJson[] }) {
  if (props.sessions.length === 0) {
    return <Empty id="no-sessions">No sessions in the last 7 days.</Empty>;
  }
  return (
    <table>
      <caption>Recent sessions (last 7 days)</caption>
      <thead>
        <tr>
          <th scope="col">Session</th>
          <th scope="col">State</th>
          <th scope="col">Started</th>
          <th scope="col">Duration (s)</th>
        </tr>
      </thead>
      <tbody>
        {props.sessions.map((s) => (
          <tr key={s.sessionId}>
            <td>
              <a href={`/search/sessions/${encodeURIComponent(s.sessionId)}`}>{s.sessionId}</a>
            </td>
            <td>{s.sessionState}</td>
            <td>{new Date(s.sessionStartDate).toISOString()}</td>
            <td>{s.sessionDuration === undefined ? '' : Math.round(s.sessionDuration / 1000)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Search and Play (`/`). Placeholder: the recent sessions; the search form comes next. */
export function SearchPage() {
  usePageTitle('Search and Play');
  const { loaded, reload } = useLoad(() => recentSessions(7), []);
  return (
    <>
      <h1>Search and Play</h1>
      {loaded.state === 'loading' ? <Loading what="sessions" /> : null}
      {loaded.state === 'error' ? <ErrorMessage message={loaded.message} onRetry={reload} /> : null}
      {loaded.state === 'ok' ? <SessionsTable sessions={loaded.data} /> : null}
    </>
  );
}
