import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';

import {
  queryOfSearch,
  searchFromQuery,
  searchSessions,
  type ResultPage,
  type Search,
  type SessionJson,
} from '../api/search.ts';
import { useFailureMessage } from '../auth.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { Empty, ErrorMessage, Loading } from '../components/states.tsx';
import { LiveCallsList, LivePlayerPanel, useLiveCalls } from './search/live.tsx';
import { Pager, ResultsTable } from './search/results.tsx';
import { SearchForm, type Draft } from './search/search-form.tsx';
import './search/search.css';

type Results =
  | { readonly state: 'loading' }
  | { readonly state: 'error'; readonly message: string }
  | { readonly state: 'ok'; readonly page: ResultPage };

/**
 * Runs the search whenever it (the URL) changes or `refresh` ticks. The rows shown stay while a
 * new page loads (marked busy), so a refresh does not blink; an answer to an older search that
 * arrives late is dropped.
 */
function useResults(
  search: Search,
  key: string,
  refresh: number,
): { results: Results; busy: boolean; retry: () => void } {
  const [results, setResults] = useState<Results>({ state: 'loading' });
  const [busy, setBusy] = useState(true);
  const [attempt, setAttempt] = useState(0);
  const failureMessage = useFailureMessage();
  const latest = useRef(search);
  latest.current = search;
  useEffect(() => {
    const controller = new AbortController();
    setBusy(true);
    searchSessions(latest.current, Date.now(), controller.signal).then(
      (page) => {
        if (!controller.signal.aborted) {
          setResults({ state: 'ok', page });
          setBusy(false);
        }
      },
      (failure: unknown) => {
        if (controller.signal.aborted) {
          return;
        }
        const message = failureMessage(failure);
        if (message !== undefined) {
          setResults({ state: 'error', message });
        }
        setBusy(false);
      },
    );
    return () => controller.abort();
  }, [key, refresh, attempt, failureMessage]);
  const retry = useCallback(() => setAttempt((a) => a + 1), []);
  return { results, busy, retry };
}

/**
 * Search and Play (`/`): the search form, its results (the search, page and sort are the URL's
 * query, so reload, bookmarks, shared links and back/forward give the same), the calls in
 * progress (polled), and the in-page live player.
 */
export function SearchPage() {
  usePageTitle('Search and Play');
  const location = useLocation();
  const search = useMemo(() => searchFromQuery(location.query), [location.url]);
  const key = queryOfSearch(search);
  const href = useCallback(
    (change: Partial<Search>) => {
      const query = queryOfSearch({ ...search, ...change });
      return query === '' ? '/' : `/?${query}`;
    },
    [search],
  );

  const live = useLiveCalls();
  // The results are searched again when a call starts or ends, so ACTIVE rows appear and turn
  // closed without a reload (the search may well cover calls in progress: the default is the
  // last 7 days up to now).
  const activeIds = live.state === 'ok' ? live.sessions.map((s) => s.sessionId).join(' ') : '';
  const [refresh, setRefresh] = useState(0);
  const seenActive = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (live.state !== 'ok') {
      return;
    }
    if (seenActive.current !== undefined && seenActive.current !== activeIds) {
      setRefresh((r) => r + 1);
    }
    seenActive.current = activeIds;
  }, [activeIds, live.state]);
  const { results, busy, retry } = useResults(search, key, refresh);

  const [listening, setListening] = useState<SessionJson | undefined>(undefined);
  const now = Date.now();

  const onSearch = (draft: Draft) => {
    location.route(href({ ...draft, page: 1 }));
  };

  return (
    <div class="search-page">
      <h1>Search and Play</h1>
      <div class="search-layout">
        <div class="search-main">
          <SearchForm search={search} searchKey={key} onSearch={onSearch} />
          <section class="search-results" aria-labelledby="results-title">
            <h2 id="results-title">Results</h2>
            {results.state === 'loading' ? <Loading what="sessions" /> : null}
            {results.state === 'error' ? <ErrorMessage message={results.message} onRetry={retry} /> : null}
            {results.state === 'ok' && busy ? (
              <p class="loading" role="status">
                Searching…
              </p>
            ) : null}
            {results.state === 'ok' ? (
              <>
                {results.page.sessions.length === 0 ? (
                  <Empty id="no-sessions">
                    {search.page > 1
                      ? 'No sessions on this page.'
                      : 'No session matches this search. Widen the time window or remove a criterion.'}
                  </Empty>
                ) : (
                  <ResultsTable
                    search={search}
                    sessions={results.page.sessions}
                    busy={busy}
                    href={href}
                    listeningTo={listening?.sessionId}
                    onListen={setListening}
                  />
                )}
                <Pager
                  search={search}
                  shown={results.page.sessions.length}
                  hasNext={results.page.hasNext}
                  href={href}
                  onSize={(size) => location.route(href({ size, page: 1 }))}
                />
              </>
            ) : null}
          </section>
        </div>
        <aside class="search-side" aria-label="Live">
          {listening === undefined ? null : (
            <LivePlayerPanel
              key={listening.sessionId}
              session={listening}
              onClose={() => {
                setListening(undefined);
                // The player's buttons go away with it: keep the keyboard user nearby.
                document.getElementById('live-calls-title')?.focus();
              }}
            />
          )}
          <LiveCallsList calls={live} now={now} listeningTo={listening?.sessionId} onListen={setListening} />
        </aside>
      </div>
    </div>
  );
}
