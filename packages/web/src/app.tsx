import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { ApiError, RESPONSE_CODES, recentSessions, signIn, signOut, type SessionJson } from './api.ts';
import { idleSeconds, warningSeconds } from './idle.ts';

/** The user name is not in signIn's answer: the app keeps the one typed, for this tab only. */
const USER_KEY = 'verbatim.user';

function messageOf(error: unknown): string {
  if (error instanceof ApiError && error.code === RESPONSE_CODES.authenticationFailed) {
    return 'Wrong user name or password.';
  }
  return error instanceof Error ? error.message : String(error);
}

function SignInForm(props: { notice: string; onSignedIn: (user: string) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      await signIn(username, password);
      props.onSignedIn(username);
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main>
      <h1>Verbatim: sign in</h1>
      {props.notice === '' ? null : (
        <p role="status" class="notice">
          {props.notice}
        </p>
      )}
      <form onSubmit={(event) => void submit(event)} aria-label="Sign in">
        <p>
          <label for="username">User name</label>{' '}
          <input
            id="username"
            name="username"
            autoComplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </p>
        <p>
          <label for="password">Password</label>{' '}
          <input
            id="password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </p>
        {error === '' ? null : (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function SessionsTable(props: { sessions: readonly SessionJson[] }) {
  if (props.sessions.length === 0) {
    return <p id="no-sessions">No sessions in the last 7 days.</p>;
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
            <td>{s.sessionId}</td>
            <td>{s.sessionState}</td>
            <td>{new Date(s.sessionStartDate).toISOString()}</td>
            <td>{s.sessionDuration === undefined ? '' : Math.round(s.sessionDuration / 1000)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Search and Play, first increment: who is signed in and the recent sessions. */
function SearchPage(props: { user: string; onSignOut: (notice: string) => void; admin: boolean }) {
  const [sessions, setSessions] = useState<SessionJson[] | undefined>(undefined);
  const [error, setError] = useState('');
  const [warning, setWarning] = useState(false);
  const { onSignOut } = props;

  const expired = useCallback(
    (failure: unknown) => {
      if (failure instanceof ApiError && failure.code === RESPONSE_CODES.invalidSession) {
        onSignOut('Your session has expired. Please sign in again.');
        return true;
      }
      return false;
    },
    [onSignOut],
  );

  useEffect(() => {
    recentSessions(7).then(setSessions, (failure: unknown) => {
      if (!expired(failure)) {
        setError(messageOf(failure));
      }
    });
  }, [expired]);

  // Idle sign-out: any key, click or pointer move restarts the clock.
  const timers = useRef<number[]>([]);
  useEffect(() => {
    const idle = idleSeconds(window.location, window.localStorage);
    const restart = () => {
      timers.current.forEach((t) => window.clearTimeout(t));
      setWarning(false);
      timers.current = [
        window.setTimeout(() => setWarning(true), (idle - warningSeconds(idle)) * 1000),
        window.setTimeout(() => {
          void signOut().catch(() => undefined);
          onSignOut('You were signed out after a period of inactivity.');
        }, idle * 1000),
      ];
    };
    const events = ['keydown', 'pointerdown', 'pointermove', 'wheel'] as const;
    events.forEach((name) => window.addEventListener(name, restart));
    restart();
    return () => {
      events.forEach((name) => window.removeEventListener(name, restart));
      timers.current.forEach((t) => window.clearTimeout(t));
    };
  }, [onSignOut]);

  const doSignOut = async () => {
    try {
      await signOut();
    } catch (failure) {
      // An expired session is signed out already; anything else is still shown on the sign-in page.
      if (!(failure instanceof ApiError && failure.code === RESPONSE_CODES.invalidSession)) {
        onSignOut(`Signed out here, but the server said: ${messageOf(failure)}`);
        return;
      }
    }
    onSignOut('You have signed out.');
  };

  return (
    <>
      <header>
        <p>
          Signed in as <strong id="signed-in-user">{props.user}</strong>{' '}
          <button type="button" onClick={() => void doSignOut()}>
            Sign out
          </button>
        </p>
        {warning ? (
          <p role="alert" id="idle-warning">
            You will be signed out soon for inactivity. Press any key or move the pointer to stay signed in.
          </p>
        ) : null}
      </header>
      <main>
        <h1>{props.admin ? 'Administration' : 'Search and Play'}</h1>
        {props.admin ? <p>Administration is not built yet.</p> : null}
        {error === '' ? null : <p role="alert">{error}</p>}
        {sessions === undefined ? <p>Loading sessions…</p> : <SessionsTable sessions={sessions} />}
      </main>
    </>
  );
}

export function App() {
  const [user, setUser] = useState<string | null>(() => window.sessionStorage.getItem(USER_KEY));
  const [notice, setNotice] = useState('');
  const admin = window.location.pathname === '/admin' || window.location.pathname.startsWith('/admin/');
  const onSignedIn = (name: string) => {
    window.sessionStorage.setItem(USER_KEY, name);
    setNotice('');
    setUser(name);
  };
  const onSignOut = useCallback((message: string) => {
    window.sessionStorage.removeItem(USER_KEY);
    setNotice(message);
    setUser(null);
  }, []);
  return user === null ? (
    <SignInForm notice={notice} onSignedIn={onSignedIn} />
  ) : (
    <SearchPage user={user} onSignOut={onSignOut} admin={admin} />
  );
}
