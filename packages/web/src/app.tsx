import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { LocationProvider, Route, Router } from 'preact-iso';

import { getCurrentUser, type CurrentUser } from './api/auth.ts';
import { ApiError, messageOf, RESPONSE_CODES } from './api/client.ts';
import { AuthContext, EXPIRED_NOTICE, type Auth } from './auth.tsx';
import { Shell } from './components/shell.tsx';
import { ErrorMessage, Loading } from './components/states.tsx';
import { AdminPage } from './pages/admin/admin.tsx';
import { NotFoundPage } from './pages/not-found.tsx';
import { SearchPage } from './pages/search.tsx';
import { SessionPage } from './pages/session.tsx';
import { SignInPage } from './pages/sign-in.tsx';

/**
 * Set while this tab is signed in: a reload that finds no API session then says the session
 * expired, rather than showing a bare sign-in form.
 */
const SIGNED_IN_KEY = 'verbatim.signedIn';

type Who =
  | { readonly state: 'checking' }
  | { readonly state: 'signed-out'; readonly notice: string }
  | { readonly state: 'unreachable'; readonly message: string }
  | { readonly state: 'signed-in'; readonly user: CurrentUser };

/**
 * The two apps in one: who is signed in is asked of the server (the cookie is HttpOnly), so a
 * reloaded or bookmarked page stays signed in while the API session lives. Pages route on the
 * path: `/` Search and Play, `/search/sessions/:id` one session, `/admin/…` Administration.
 */
export function App() {
  const [who, setWho] = useState<Who>({ state: 'checking' });

  const check = useCallback(() => {
    getCurrentUser().then(
      (user) => {
        window.sessionStorage.setItem(SIGNED_IN_KEY, '1');
        setWho({ state: 'signed-in', user });
      },
      (failure: unknown) => {
        if (failure instanceof ApiError && failure.code === RESPONSE_CODES.invalidSession) {
          const wasSignedIn = window.sessionStorage.getItem(SIGNED_IN_KEY) !== null;
          window.sessionStorage.removeItem(SIGNED_IN_KEY);
          setWho({ state: 'signed-out', notice: wasSignedIn ? EXPIRED_NOTICE : '' });
        } else {
          setWho({ state: 'unreachable', message: messageOf(failure) });
        }
      },
    );
  }, []);
  useEffect(check, [check]);

  const signedOut = useCallback((notice: string) => {
    window.sessionStorage.removeItem(SIGNED_IN_KEY);
    setWho({ state: 'signed-out', notice });
  }, []);
  const auth = useMemo<Auth | undefined>(
    () => (who.state === 'signed-in' ? { user: who.user, signedOut } : undefined),
    [who, signedOut],
  );

  switch (who.state) {
    case 'checking':
      return (
        <main id="main">
          <Loading what="Verbatim" />
        </main>
      );
    case 'unreachable':
      return (
        <main id="main">
          <h1>Verbatim</h1>
          <ErrorMessage message={who.message} onRetry={check} />
        </main>
      );
    case 'signed-out':
      return <SignInPage notice={who.notice} onSignedIn={check} />;
    case 'signed-in':
      return (
        <AuthContext.Provider value={auth}>
          <LocationProvider>
            <Shell>
              <Router>
                <Route path="/" component={SearchPage} />
                <Route path="/search/sessions/:id" component={SessionPage} />
                <Route path="/admin" component={AdminPage} />
                <Route path="/admin/:section" component={AdminPage} />
                <Route default component={NotFoundPage} />
              </Router>
            </Shell>
          </LocationProvider>
        </AuthContext.Provider>
      );
  }
}
