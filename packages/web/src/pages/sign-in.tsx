import { useState } from 'preact/hooks';

import { signIn } from '../api/auth.ts';
import { messageOf } from '../api/client.ts';
import { usePageTitle } from '../components/page-title.ts';

/** Sign-in with API credentials; `notice` says why the user is here (signed out, expired, idle). */
export function SignInPage(props: { notice: string; onSignedIn: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  usePageTitle('Sign in');
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      await signIn(username, password);
      props.onSignedIn();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Verbatim: sign in</h1>
      {props.notice === '' ? null : (
        <p role="status" class="notice">
          {props.notice}
        </p>
      )}
      <form onSubmit={(event) => void submit(event)} aria-label="Sign in">
        <p>
          <label for="username">User name</label>
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
          <label for="password">Password</label>
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
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
