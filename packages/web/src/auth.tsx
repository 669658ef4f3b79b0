import { createContext } from 'preact';
import { useCallback, useContext } from 'preact/hooks';

import type { CurrentUser } from './api/auth.ts';
import { ApiError, messageOf, RESPONSE_CODES } from './api/client.ts';

/** The signed-in user and the way out, for every page under the shell. */
export interface Auth {
  readonly user: CurrentUser;
  /** Back to the sign-in page with `notice` shown there. */
  readonly signedOut: (notice: string) => void;
}

export const AuthContext = createContext<Auth | undefined>(undefined);

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (auth === undefined) {
    throw new Error('useAuth outside the signed-in shell');
  }
  return auth;
}

export const EXPIRED_NOTICE = 'Your session has expired. Please sign in again.';

/**
 * How every page treats a failed API call: an expired session (4021) goes back to sign-in with a
 * notice and gives undefined; anything else gives the sentence to show.
 */
export function useFailureMessage(): (failure: unknown) => string | undefined {
  const { signedOut } = useAuth();
  return useCallback(
    (failure: unknown) => {
      if (failure instanceof ApiError && failure.code === RESPONSE_CODES.invalidSession) {
        signedOut(EXPIRED_NOTICE);
        return undefined;
      }
      return messageOf(failure);
    },
    [signedOut],
  );
}
