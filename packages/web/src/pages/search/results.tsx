import { PAGE_SIZES, type Search, type SessionJson, type SortField } from '../../api/search.ts';
import {
  dateTimeText,
  durationText,
  HEALTH_LABELS,
  partiesOf,
  partiesText,
  problemKinds,
  STATE_LABELS,
  tagNames,
} from './format.ts';
import { ListenButton } from './live.tsx';

/** The order a column sorts in when first chosen: newest and longest first, names A to Z. */
const FIRST_ORDER: Readonly<Record<SortField, 'asc' | 'desc'>> = {
  sessionStartDate: 'desc',
  sessionDuration: 'desc',
  ccid: 'asc',
  sessionState: 'asc',
};

function SortableHeader(props: {
  field: SortField;
  search: Search;
  href: (change: Partial<Search>) => string;
  label: string;
}) {
  const sorted = props.search.sort === props.field;
  const next = sorted ? (props.search.order === 'asc' ? 'desc' : 'asc') : FIRST_ORDER[props.field];
  return (
    <th scope="col" aria-sort={sorted ? (props.search.order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      {/* A link, not a button: the sort is in the URL, so it can be opened in a new tab too. */}
      <a
        class="sort"
        href={props.href({ sort: props.field, order: next, page: 1 })}
        aria-label={`${props.label}, sort ${next === 'asc' ? 'ascending' : 'descending'}`}
      >
        {props.label}
        <span aria-hidden="true" class="sort-mark">
          {sorted ? (props.search.order === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </a>
    </th>
  );
}

function Health(props: { session: SessionJson }) {
  const kinds = problemKinds(props.session);
  if (kinds.length === 0) {
    return (
      <span class="health ok">
        <span aria-hidden="true">✓ </span>
        {props.session.sessionState === 'ACTIVE' ? 'OK so far' : 'OK'}
      </span>
    );
  }
  return (
    <span class="health problem">
      <span aria-hidden="true">⚠ </span>
      Problems: {kinds.map((k) => HEALTH_LABELS[k] ?? k).join(', ')}
    </span>
  );
}

function Participants(props: { session: SessionJson }) {
  const parties = partiesOf(props.session);
  return (
    <ul class="parties" aria-label={`Participants: ${partiesText(props.session)}`}>
      {parties.map((p) => (
        <li key={p.deviceRef}>
          {p.deviceRef}
          {p.agent === undefined ? null : <span class="agent"> {p.agent}</span>}
        </li>
      ))}
    </ul>
  );
}

/**
 * One page of results: sortable headers (links that change the URL), a row per session linking
 * to its page, and for an ACTIVE one a button to listen to it here.
 */
export function ResultsTable(props: {
  search: Search;
  sessions: readonly SessionJson[];
  busy: boolean;
  href: (change: Partial<Search>) => string;
  onListen: (session: SessionJson) => void;
  listeningTo: string | undefined;
}) {
  const { search } = props;
  const first = (search.page - 1) * search.size + 1;
  return (
    <div class="table-scroll">
      <table class="results" aria-busy={props.busy} aria-describedby="results-range">
        <caption>Sessions</caption>
        <thead>
          <tr>
            <th scope="col">Session</th>
            <th scope="col">Participants</th>
            <SortableHeader field="sessionStartDate" search={search} href={props.href} label="Started" />
            <SortableHeader field="sessionDuration" search={search} href={props.href} label="Duration" />
            <SortableHeader field="sessionState" search={search} href={props.href} label="State" />
            <SortableHeader field="ccid" search={search} href={props.href} label="CCID" />
            <th scope="col">Tags</th>
            <th scope="col">Health</th>
          </tr>
        </thead>
        <tbody>
          {props.sessions.map((s, index) => (
            <tr key={s.sessionId} data-session-id={s.sessionId}>
              <td>
                <a
                  href={`/search/sessions/${encodeURIComponent(s.sessionId)}`}
                  class="session-link"
                  aria-label={`Session ${first + index}: ${s.sessionId}`}
                >
                  {s.sessionId}
                </a>
              </td>
              <td>
                <Participants session={s} />
              </td>
              <td>{dateTimeText(s.sessionStartDate)}</td>
              <td class="duration">
                {s.sessionDuration === undefined ? '—' : durationText(s.sessionDuration)}
              </td>
              <td>
                <span class={`state state-${s.sessionState.toLowerCase()}`}>
                  {STATE_LABELS[s.sessionState] ?? s.sessionState}
                </span>
                {s.sessionState === 'ACTIVE' ? (
                  <>
                    {' '}
                    <ListenButton session={s} listeningTo={props.listeningTo} onListen={props.onListen} />
                  </>
                ) : null}
              </td>
              <td>{s.ccid}</td>
              <td>{tagNames(s).join(', ')}</td>
              <td>
                <Health session={s} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Previous and next page (links, so a page is in the URL) and the page size. */
export function Pager(props: {
  search: Search;
  shown: number;
  hasNext: boolean;
  href: (change: Partial<Search>) => string;
  onSize: (size: number) => void;
}) {
  const { search } = props;
  const first = (search.page - 1) * search.size + 1;
  return (
    <nav class="pager" aria-label="Result pages">
      <p id="results-range" class="range-text">
        {props.shown === 0 ? `Page ${search.page}` : `Sessions ${first}–${first + props.shown - 1}`}
        {props.hasNext ? ', more on the next page' : ''}
      </p>
      {search.page > 1 ? (
        <a href={props.href({ page: search.page - 1 })} rel="prev">
          Previous page
        </a>
      ) : (
        <span class="disabled" aria-hidden="true">
          Previous page
        </span>
      )}
      {props.hasNext ? (
        <a href={props.href({ page: search.page + 1 })} rel="next">
          Next page
        </a>
      ) : (
        <span class="disabled" aria-hidden="true">
          Next page
        </span>
      )}
      <label for="page-size">Rows per page</label>
      <select
        id="page-size"
        value={String(search.size)}
        onChange={(e) => props.onSize(Number(e.currentTarget.value))}
      >
        {[...new Set([...PAGE_SIZES, search.size])]
          .sort((a, b) => a - b)
          .map((size) => (
            <option key={size} value={String(size)}>
              {size}
            </option>
          ))}
      </select>
    </nav>
  );
}
