import { useState } from 'preact/hooks';

import {
  DEFAULT_SEARCH,
  HEALTH_CHOICES,
  QUICK_RANGES,
  RANGE_LABELS,
  SESSION_STATES,
  type QuickRange,
  type Search,
} from '../../api/search.ts';
import { HEALTH_LABELS, STATE_LABELS } from './format.ts';

type Draft = Omit<Search, 'sort' | 'order' | 'page' | 'size'>;
type TextKey = Exclude<keyof Draft, 'range'>;

function TextField(props: {
  id: TextKey;
  label: string;
  draft: Draft;
  set: (key: TextKey, value: string) => void;
  hint?: string;
  type?: 'text' | 'number' | 'datetime-local';
}) {
  const hintId = props.hint === undefined ? undefined : `${props.id}-hint`;
  const common = {
    id: `search-${props.id}`,
    name: props.id,
    value: props.draft[props.id],
    'aria-describedby': hintId,
    onInput: (e: { currentTarget: HTMLInputElement }) => props.set(props.id, e.currentTarget.value),
  };
  return (
    <div class="field">
      <label for={`search-${props.id}`}>{props.label}</label>
      {props.type === 'number' ? (
        <input type="number" min={0} step="any" inputMode="decimal" {...common} />
      ) : props.type === 'datetime-local' ? (
        <input type="datetime-local" {...common} />
      ) : (
        <input type="text" {...common} />
      )}
      {props.hint === undefined ? null : (
        <small id={hintId} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

function SelectField(props: {
  id: TextKey;
  label: string;
  draft: Draft;
  set: (key: TextKey, value: string) => void;
  options: readonly (readonly [string, string])[];
}) {
  return (
    <div class="field">
      <label for={`search-${props.id}`}>{props.label}</label>
      <select
        id={`search-${props.id}`}
        name={props.id}
        value={props.draft[props.id]}
        onChange={(e) => props.set(props.id, e.currentTarget.value)}
      >
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}

function draftOf(search: Search): Draft {
  const {
    range,
    from,
    to,
    device,
    xRefCi,
    ccid,
    tag,
    state,
    agent,
    minDuration,
    maxDuration,
    controller,
    health,
  } = search;
  return {
    range,
    from,
    to,
    device,
    xRefCi,
    ccid,
    tag,
    state,
    agent,
    minDuration,
    maxDuration,
    controller,
    health,
  };
}

/**
 * The search form. What is typed is a draft until submitted (Enter in any field, or the button);
 * the page then puts it in the URL, which is the search. The draft belongs to the search it was
 * started from (`searchKey`, the URL's query): when the URL changes (back, forward, a link,
 * Clear) the form shows the new search in the same render, with no effect that could undo typing
 * done in between.
 */
export function SearchForm(props: { search: Search; searchKey: string; onSearch: (draft: Draft) => void }) {
  const [edit, setEdit] = useState<{ readonly origin: string; readonly draft: Draft } | undefined>(undefined);
  const draft = edit !== undefined && edit.origin === props.searchKey ? edit.draft : draftOf(props.search);
  const setDraft = (change: (d: Draft) => Draft) =>
    setEdit({ origin: props.searchKey, draft: change(draft) });
  const set = (key: TextKey, value: string) => setDraft((d) => ({ ...d, [key]: value }));

  return (
    <form
      class="search-form"
      data-search={props.searchKey}
      role="search"
      aria-label="Sessions"
      onSubmit={(e) => {
        e.preventDefault();
        // Submitted: the URL holds it now, and a later visit to an earlier URL shows that one.
        setEdit(undefined);
        props.onSearch(draft);
      }}
    >
      <fieldset class="ranges">
        <legend>Time window</legend>
        {QUICK_RANGES.map((range: QuickRange) => (
          <label key={range} class="range">
            <input
              type="radio"
              name="range"
              value={range}
              checked={draft.range === range}
              onChange={() => setDraft((d) => ({ ...d, range }))}
            />
            {RANGE_LABELS[range]}
          </label>
        ))}
        {draft.range === 'custom' ? (
          <div class="custom-range">
            <TextField id="from" label="From" type="datetime-local" draft={draft} set={set} />
            <TextField id="to" label="To" type="datetime-local" draft={draft} set={set} hint="Empty: now" />
          </div>
        ) : null}
      </fieldset>
      <div class="fields">
        <TextField id="device" label="Number or device" draft={draft} set={set} hint="Any participant" />
        <TextField id="agent" label="Agent" draft={draft} set={set} hint="Login id or name" />
        <TextField id="xRefCi" label="xRefCi" draft={draft} set={set} />
        <TextField id="ccid" label="CCID" draft={draft} set={set} />
        <TextField id="tag" label="Tag" draft={draft} set={set} />
        <SelectField
          id="state"
          label="State"
          draft={draft}
          set={set}
          options={[['', 'Any state'], ...SESSION_STATES.map((s) => [s, STATE_LABELS[s] ?? s] as const)]}
        />
        <TextField id="minDuration" label="Duration from (s)" type="number" draft={draft} set={set} />
        <TextField id="maxDuration" label="Duration to (s)" type="number" draft={draft} set={set} />
        <SelectField
          id="controller"
          label="Call controller"
          draft={draft}
          set={set}
          options={[
            ['', 'Any controller'],
            ['Cisco-CUCM', 'Cisco CUCM'],
            ['Cisco-SIPGateway', 'Cisco SIP gateway (CUBE)'],
            ['SIPREC', 'SIPREC'],
            ['SIP', 'Generic SIP'],
          ]}
        />
        <SelectField
          id="health"
          label="Health"
          draft={draft}
          set={set}
          options={HEALTH_CHOICES.map((h) => [h, h === '' ? 'Any health' : (HEALTH_LABELS[h] ?? h)] as const)}
        />
      </div>
      <div class="actions">
        <button type="submit" class="primary">
          Search
        </button>
        <button
          type="button"
          onClick={() => {
            setEdit(undefined);
            props.onSearch(draftOf(DEFAULT_SEARCH));
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

export type { Draft };
