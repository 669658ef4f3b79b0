import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';

import { canAdminister, signOut } from '../api/auth.ts';
import { ApiError, messageOf, RESPONSE_CODES } from '../api/client.ts';
import { useAuth } from '../auth.tsx';
import { idleSeconds, warningSeconds } from '../idle.ts';

/**
 * Idle sign-out: any key, click, pointer move or wheel restarts the clock; a warning shows a
 * minute before the end. The time is the app's (the API session has its own 30 minutes, sliding
 * with each request), so a page left open signs out even while it polls.
 */
function useIdleSignOut(): boolean {
  const { signedOut } = useAuth();
  const [warning, setWarning] = useState(false);
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
          signedOut('You were signed out after a period of inactivity.');
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
  }, [signedOut]);
  return warning;
}

function NavLink(props: { href: string; children: ComponentChildren; current: boolean }) {
  return (
    <a href={props.href} aria-current={props.current ? 'page' : undefined}>
      {props.children}
    </a>
  );
}

/** The frame of every signed-in page: the apps' navigation, the user, sign-out, the idle warning. */
export function Shell(props: { children: ComponentChildren }) {
  const { user, signedOut } = useAuth();
  const { path } = useLocation();
  const warning = useIdleSignOut();
  const inAdmin = path === '/admin' || path.startsWith('/admin/');

  const doSignOut = async () => {
    try {
      await signOut();
    } catch (failure) {
      // An expired session is signed out already; anything else is still shown on the sign-in page.
      if (!(failure instanceof ApiError && failure.code === RESPONSE_CODES.invalidSession)) {
        signedOut(`Signed out here, but the server said: ${messageOf(failure)}`);
        return;
      }
    }
    signedOut('You have signed out.');
  };

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top-bar">
        <span class="brand">Verbatim</span>
        <nav aria-label="Applications">
          <NavLink href="/" current={!inAdmin}>
            Search and Play
          </NavLink>
          {canAdminister(user) ? (
            <NavLink href="/admin" current={inAdmin}>
              Administration
            </NavLink>
          ) : null}
        </nav>
        <span class="who">
          Signed in as <strong id="signed-in-user">{user.username}</strong> ({user.role}){' '}
          <button type="button" onClick={() => void doSignOut()}>
            Sign out
          </button>
        </span>
      </header>
      {warning ? (
        <p role="alert" id="idle-warning" class="idle-warning">
          You will be signed out soon for inactivity. Press any key or move the pointer to stay signed in.
        </p>
      ) : null}
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </>
  );
}
