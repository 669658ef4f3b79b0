import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { useFailureMessage } from '../auth.tsx';

/** What a page shows while its data loads, when it failed, and when there is none. */
export function Loading(props: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      Loading {props.what}…
    </p>
  );
}

export function ErrorMessage(props: { message: string; onRetry?: () => void }) {
  return (
    <div class="error" role="alert">
      <p>{props.message}</p>
      {props.onRetry === undefined ? null : (
        <button type="button" onClick={props.onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty(props: { children: ComponentChildren; id?: string }) {
  return (
    <p class="empty" id={props.id}>
      {props.children}
    </p>
  );
}

export type Loaded<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'error'; readonly message: string }
  | { readonly state: 'ok'; readonly data: T };

/**
 * Loads `load()` when `deps` change, with the page's failure handling (an expired session goes
 * to sign-in). An answer to an earlier load that arrives after a later one started is dropped.
 * `reload` loads again (after a change the page made); it keeps the data shown meanwhile.
 */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
): { loaded: Loaded<T>; reload: () => void } {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  const failureMessage = useFailureMessage();
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    const controller = new AbortController();
    latest.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) {
          setLoaded({ state: 'ok', data });
        }
      },
      (failure: unknown) => {
        if (controller.signal.aborted) {
          return;
        }
        const message = failureMessage(failure);
        if (message !== undefined) {
          setLoaded({ state: 'error', message });
        }
      },
    );
    return () => controller.abort();
  }, [...deps, generation, failureMessage]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { loaded, reload };
}
