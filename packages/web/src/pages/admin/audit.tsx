import { useLocation } from 'preact-iso';
import { useEffect, useMemo, useState } from 'preact/hooks';

import { AUDIT_PAGE, getAuditRecords, type AuditRecord, type AuditSearch } from '../../api/admin-audit.ts';
import { useFailureMessage } from '../../auth.tsx';
import { Empty, ErrorMessage, Loading, useLoad } from '../../components/states.tsx';
import { formatTime, localInputToMs, ScrollTable } from './admin-actions.tsx';
import './admin-sections.css';

/** Actions offered as suggestions (any API name is accepted; docs/api.md "Audit trail"). */
const COMMON_ACTIONS = [
  'signIn',
  'getSessions',
  'addSessionTag',
  'deleteSessionTag',
  'deleteSessions',
  'download:wav',
  'download:mp4',
  'download:raw',
  'addUser',
  'updateUser',
  'deleteUser',
  'setStoragePolicy',
  'subscribeToEvents',
  'removeSubscription',
  'getAuditRecords',
];

/** The outcome code as a word beside the number. */
function outcomeText(code: number): string {
  if (code === 2000 || code === 2001 || code === 2005) {
    return `${String(code)} ok`;
  }
  if (code === 4020) {
    return '4020 bad credentials';
  }
  if (code === 4022) {
    return '4022 refused for the role';
  }
  return `${String(code)} failed`;
}

interface Form {
  from: string;
  to: string;
  username: string;
  action: string;
  target: string;
}

const QUICK_RANGES = [
  { label: 'Last hour', ms: 3_600_000 },
  { label: 'Last 24 hours', ms: 86_400_000 },
  { label: 'Last 7 days', ms: 7 * 86_400_000 },
  { label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const;

/** Epoch ms as a `datetime-local` value (local time, to the second). */
function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${String(d.getFullYear())}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const EMPTY_FORM: Form = { from: '', to: '', username: '', action: '', target: '' };

function searchOf(form: Form): AuditSearch {
  const minTime = localInputToMs(form.from);
  const maxTime = localInputToMs(form.to);
  return {
    ...(minTime === undefined ? {} : { minTime }),
    ...(maxTime === undefined ? {} : { maxTime }),
    ...(form.username.trim() === '' ? {} : { username: form.username.trim() }),
    ...(form.action.trim() === '' ? {} : { action: form.action.trim() }),
    ...(form.target.trim() === '' ? {} : { target: form.target.trim() }),
  };
}

function Records(props: { search: AuditSearch }) {
  const failureMessage = useFailureMessage();
  const { loaded, reload } = useLoad(
    (signal) => getAuditRecords(props.search, undefined, signal),
    [props.search],
  );
  const [older, setOlder] = useState<{ records: AuditRecord[]; end: boolean; error?: string }>({
    records: [],
    end: false,
  });
  const [loadingOlder, setLoadingOlder] = useState(false);
  const first = loaded.state === 'ok' ? loaded.data : [];
  const records = [...first, ...older.records];
  const end = older.end || (loaded.state === 'ok' && first.length < AUDIT_PAGE && older.records.length === 0);

  const loadOlder = async () => {
    const last = records[records.length - 1];
    if (last === undefined) {
      return;
    }
    setLoadingOlder(true);
    try {
      const page = await getAuditRecords(props.search, last.id);
      setOlder({ records: [...older.records, ...page], end: page.length < AUDIT_PAGE });
    } catch (error) {
      setOlder({ ...older, error: failureMessage(error) ?? '' });
    } finally {
      setLoadingOlder(false);
    }
  };

  if (loaded.state === 'loading') {
    return <Loading what="audit records" />;
  }
  if (loaded.state === 'error') {
    return <ErrorMessage message={loaded.message} onRetry={reload} />;
  }
  if (records.length === 0) {
    return <Empty id="no-audit-records">No audit record matches this search.</Empty>;
  }
  return (
    <>
      <p class="help" role="status" id="audit-count">
        {records.length} {records.length === 1 ? 'record' : 'records'}, newest first
        {end ? '' : '; more are older'}.
      </p>
      <ScrollTable label="Audit records (scrolls sideways)">
        <table class="compact audit-table" aria-label="Audit records">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">User</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">Source</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <tr key={r.id}>
                <td class="nowrap">{formatTime(r.at)}</td>
                <td class="nowrap">
                  {r.username}
                  {r.role === undefined ? null : <span class="muted"> ({r.role})</span>}
                </td>
                <td>{r.action}</td>
                <td class="target">{r.target ?? ''}</td>
                <td class={r.outcome >= 4000 ? 'error' : undefined}>{outcomeText(r.outcome)}</td>
                <td>{r.source}</td>
                <td class="breakable">
                  {r.detail === undefined
                    ? ''
                    : Object.entries(r.detail)
                        .map(([k, v]) => `${k}: ${v}`)
                        .join('; ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollTable>
      {older.error === undefined ? null : <ErrorMessage message={older.error} />}
      {end ? null : (
        <button type="button" disabled={loadingOlder} onClick={() => void loadOlder()}>
          {loadingOlder ? 'Loading…' : 'Older records'}
        </button>
      )}
    </>
  );
}

/**
 * The search as the page's query string (`?user=admin&action=addUser&from=<epoch ms>`), so a search
 * can be bookmarked, shared and gone back to.
 */
function searchFromQuery(query: Readonly<Record<string, string>>): AuditSearch {
  const time = (value: string | undefined): number | undefined => {
    const ms = value === undefined || value === '' ? NaN : Number(value);
    return Number.isSafeInteger(ms) && ms >= 0 ? ms : undefined;
  };
  const text = (value: string | undefined): string | undefined =>
    value === undefined || value.trim() === '' ? undefined : value.trim();
  const minTime = time(query.from);
  const maxTime = time(query.to);
  const username = text(query.user);
  const action = text(query.action);
  const target = text(query.target);
  return {
    ...(minTime === undefined ? {} : { minTime }),
    ...(maxTime === undefined ? {} : { maxTime }),
    ...(username === undefined ? {} : { username }),
    ...(action === undefined ? {} : { action }),
    ...(target === undefined ? {} : { target }),
  };
}

function queryOf(search: AuditSearch): string {
  const params = new URLSearchParams();
  const entries: [string, string | number | undefined][] = [
    ['user', search.username],
    ['action', search.action],
    ['target', search.target],
    ['from', search.minTime],
    ['to', search.maxTime],
  ];
  for (const [name, value] of entries) {
    if (value !== undefined) {
      params.set(name, String(value));
    }
  }
  return params.toString();
}

function formOf(search: AuditSearch): Form {
  return {
    from: search.minTime === undefined ? '' : toLocalInput(search.minTime),
    to: search.maxTime === undefined ? '' : toLocalInput(search.maxTime),
    username: search.username ?? '',
    action: search.action ?? '',
    target: search.target ?? '',
  };
}

/** Administration: the audit log, searchable (docs/api.md "Audit trail"; admin and auditor). */
export function AuditSection() {
  const { path, query, route } = useLocation();
  const queryText = queryOf(searchFromQuery(query));
  // One search object per query string: the records load again only when it changes.
  const search = useMemo(
    () => searchFromQuery(Object.fromEntries(new URLSearchParams(queryText))),
    [queryText],
  );
  const [form, setForm] = useState<Form>(() => formOf(search));
  const [generation, setGeneration] = useState(0);
  // Back and forward change the query string: the form shows the search they lead to.
  useEffect(() => setForm(formOf(search)), [search]);
  const set = (key: keyof Form) => (event: { currentTarget: HTMLInputElement }) =>
    setForm({ ...form, [key]: event.currentTarget.value });

  const go = (next: AuditSearch) => {
    const text = queryOf(next);
    route(text === '' ? path : `${path}?${text}`);
    // The same search again reads again (new records may have come).
    setGeneration((g) => g + 1);
  };

  const submit = (event: Event) => {
    event.preventDefault();
    go(searchOf(form));
  };

  return (
    <div class="admin-section">
      <p class="section-intro">
        Who did what and when: sign-ins, searches, playbacks and downloads, tags, deletions, user, storage and
        subscription changes, and the requests refused for a role.
      </p>
      <form class="audit-search" onSubmit={submit} aria-label="Search the audit log">
        <div class="field">
          <label for="audit-range">Quick range</label>
          <select
            id="audit-range"
            value=""
            onChange={(e) => {
              const ms = Number(e.currentTarget.value);
              if (ms > 0) {
                setForm({ ...form, from: toLocalInput(Date.now() - ms), to: '' });
              }
            }}
          >
            <option value="">Choose…</option>
            {QUICK_RANGES.map((r) => (
              <option key={r.ms} value={r.ms}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="audit-from">From</label>
          <input id="audit-from" type="datetime-local" step={1} value={form.from} onInput={set('from')} />
        </div>
        <div class="field">
          <label for="audit-to">To</label>
          <input id="audit-to" type="datetime-local" step={1} value={form.to} onInput={set('to')} />
        </div>
        <div class="field">
          <label for="audit-user">User</label>
          <input id="audit-user" autocomplete="off" value={form.username} onInput={set('username')} />
        </div>
        <div class="field">
          <label for="audit-action">Action</label>
          <input
            id="audit-action"
            list="audit-actions"
            autocomplete="off"
            value={form.action}
            onInput={set('action')}
          />
          <datalist id="audit-actions">
            {COMMON_ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="audit-target">Target</label>
          <input id="audit-target" autocomplete="off" value={form.target} onInput={set('target')} />
        </div>
        <div class="field buttons">
          <button type="submit" class="primary">
            Search
          </button>
          <button
            type="button"
            onClick={() => {
              setForm(EMPTY_FORM);
              go({});
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <p class="help">User, action and target match exactly; times are this browser's local time.</p>
      <Records key={`${String(generation)}?${queryText}`} search={search} />
    </div>
  );
}
