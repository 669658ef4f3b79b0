import { useMemo, useState } from 'preact/hooks';

import { useAuth } from '../../auth.tsx';
import {
  getStorageHistory,
  getStoragePolicy,
  getStorageStatus,
  MAX_MAX_AGE_DAYS,
  MIN_MAX_AGE_DAYS,
  setStoragePolicy,
  type StoragePolicy,
  type StoragePolicyChange,
  type StorageStatusJson,
} from '../../api/admin-storage.ts';
import { RESPONSE_CODES } from '../../api/client.ts';
import { Empty, ErrorMessage, Loading, useLoad } from '../../components/states.tsx';
import { TimeChart, type ChartSeries } from '../../components/time-chart.tsx';
import { formatBytes, formatTime, OutcomeLine, useAction } from './admin-actions.tsx';
import './admin-sections.css';

const LEVEL_TEXT: Readonly<Record<string, string>> = {
  NORMAL: 'Normal',
  LOW: 'Low on space (a warning)',
  CRITICAL: 'Critical',
  EMERGENCY: 'Emergency: nearly full',
};

const MODE_TEXT: Readonly<Record<StoragePolicy['mode'], string>> = {
  RECORDING_PRIORITY: 'Recording priority: never stop recording; prune the oldest sessions',
  RETENTION_PRIORITY: 'Retention priority: never prune; refuse new calls when storage is critical',
};

function percent(value: number | null): string {
  return value === null ? 'off' : `${String(value)} %`;
}

function StatusPanel(props: { status: StorageStatusJson }) {
  const s = props.status;
  const failures = s.writeFailures ?? [];
  return (
    <>
      <dl class="facts">
        <div>
          <dt>Level</dt>
          <dd>
            <span class={`level level-${s.level.toLowerCase()}`}>{LEVEL_TEXT[s.level] ?? s.level}</span> since{' '}
            {formatTime(s.levelSince)}
          </dd>
        </div>
        <div>
          <dt>Used</dt>
          <dd>
            {s.percentageUtilization === undefined
              ? 'not sampled yet'
              : `${s.percentageUtilization.toFixed(1)} % (${formatBytes(s.usedBytes ?? 0)} of ${formatBytes(s.totalBytes ?? 0)})`}
          </dd>
        </div>
        <div>
          <dt>Free</dt>
          <dd>{s.freeBytes === undefined ? '–' : formatBytes(s.freeBytes)}</dd>
        </div>
        <div>
          <dt>Writable</dt>
          <dd>{s.writable === false ? 'No: new calls are refused' : 'Yes'}</dd>
        </div>
        <div>
          <dt>New calls</dt>
          <dd>{s.refusingCalls === true ? 'Refused for storage (503)' : 'Accepted'}</dd>
        </div>
        <div>
          <dt>Since the node started</dt>
          <dd>
            {s.pruned ?? 0} sessions pruned, {s.recordingsEnded ?? 0} recordings ended for lack of space,{' '}
            {s.sampleFailures} failed samples
          </dd>
        </div>
        <div>
          <dt>Media partition</dt>
          <dd>
            <code>{s.partition}</code> on node {s.nodeId}
            {s.sampledAt === undefined ? null : <>, sampled {formatTime(s.sampledAt)}</>}
          </dd>
        </div>
      </dl>
      {failures.length > 0 ? (
        <div class="error" role="alert">
          <p>What cannot be written now:</p>
          <ul>
            {failures.map((f) => (
              <li key={f.target}>
                {f.target}: {f.reason}, since {formatTime(f.since)}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <table class="compact">
        <caption>Thresholds (percentage of the partition used)</caption>
        <thead>
          <tr>
            <th scope="col">Threshold</th>
            <th scope="col">Entered at</th>
            <th scope="col">Left below</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(s.thresholds).map(([name, t]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{percent(t.enter)}</td>
              <td>{percent(t.exit)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function PolicyView(props: { policy: StoragePolicy }) {
  const p = props.policy;
  return (
    <dl class="facts" aria-label="Retention policy">
      <div>
        <dt>Mode</dt>
        <dd>{MODE_TEXT[p.mode]}</dd>
      </div>
      <div>
        <dt>Maximum age</dt>
        <dd>{p.maxAgeDays} days (recording priority prunes older sessions)</dd>
      </div>
      <div>
        <dt>Pruning deletes metadata</dt>
        <dd>{p.deleteMetadata ? 'Yes (sessions become DELETED)' : 'No (metadata kept, media removed)'}</dd>
      </div>
      <div>
        <dt>Legal hold tag</dt>
        <dd>
          <code>{p.legalHoldTag}</code>
        </dd>
      </div>
      <div>
        <dt>Last changed</dt>
        <dd>
          {p.updatedAt === undefined
            ? 'never (the defaults)'
            : `${formatTime(p.updatedAt)} by ${p.updatedBy ?? '?'}`}
        </dd>
      </div>
    </dl>
  );
}

function PolicyForm(props: { policy: StoragePolicy; onSaved: () => void }) {
  const { policy } = props;
  const [mode, setMode] = useState(policy.mode);
  const [maxAgeDays, setMaxAgeDays] = useState(String(policy.maxAgeDays));
  const [deleteMetadata, setDeleteMetadata] = useState(policy.deleteMetadata);
  const [legalHoldTag, setLegalHoldTag] = useState(policy.legalHoldTag);
  const { busy, outcome, run } = useAction();
  const days = Number(maxAgeDays);
  const daysValid = Number.isInteger(days) && days >= MIN_MAX_AGE_DAYS && days <= MAX_MAX_AGE_DAYS;
  const tagValid = legalHoldTag.trim() === legalHoldTag && legalHoldTag !== '' && legalHoldTag.length <= 255;
  const change: StoragePolicyChange = {
    ...(mode === policy.mode ? {} : { mode }),
    ...(days === policy.maxAgeDays ? {} : { maxAgeDays: days }),
    ...(deleteMetadata === policy.deleteMetadata ? {} : { deleteMetadata }),
    ...(legalHoldTag === policy.legalHoldTag ? {} : { legalHoldTag }),
  };
  const changed = Object.keys(change).length > 0;

  const submit = async (event: Event) => {
    event.preventDefault();
    const saved = await run(
      async () => {
        await setStoragePolicy(change);
        return `Retention policy saved (${Object.keys(change).join(', ')} changed).`;
      },
      (error) =>
        error.code === RESPONSE_CODES.invalidParameter ? `Not accepted: ${error.message}.` : undefined,
    );
    if (saved) {
      props.onSaved();
    }
  };

  return (
    <form class="admin-form" onSubmit={(e) => void submit(e)} aria-labelledby="policy-form-heading">
      <h3 id="policy-form-heading">Change the policy</h3>
      <fieldset>
        <legend>Mode</legend>
        {(['RECORDING_PRIORITY', 'RETENTION_PRIORITY'] as const).map((m) => (
          <div key={m} class="choice">
            <input
              type="radio"
              id={`mode-${m}`}
              name="mode"
              value={m}
              checked={mode === m}
              onChange={() => setMode(m)}
            />
            <label for={`mode-${m}`}>{MODE_TEXT[m]}</label>
          </div>
        ))}
      </fieldset>
      <div class="field">
        <label for="policy-max-age">Maximum age (days)</label>
        <input
          id="policy-max-age"
          type="number"
          inputMode="numeric"
          min={MIN_MAX_AGE_DAYS}
          max={MAX_MAX_AGE_DAYS}
          step={1}
          required
          aria-describedby="policy-max-age-help"
          aria-invalid={!daysValid}
          value={maxAgeDays}
          onInput={(e) => setMaxAgeDays(e.currentTarget.value)}
        />
        <p class="help" id="policy-max-age-help">
          {MIN_MAX_AGE_DAYS} to {MAX_MAX_AGE_DAYS.toLocaleString('en')} days. In recording priority, sessions
          that started longer ago are pruned (their media removed).
        </p>
      </div>
      <div class="choice">
        <input
          type="checkbox"
          id="policy-delete-metadata"
          checked={deleteMetadata}
          aria-describedby="policy-delete-metadata-help"
          onChange={(e) => setDeleteMetadata(e.currentTarget.checked)}
        />
        <label for="policy-delete-metadata">Pruning also deletes the metadata</label>
        <p class="help" id="policy-delete-metadata-help">
          Off: a pruned session stays searchable without media. On: it becomes a DELETED tombstone.
        </p>
      </div>
      <div class="field">
        <label for="policy-legal-hold">Legal hold tag</label>
        <input
          id="policy-legal-hold"
          required
          maxLength={255}
          aria-describedby="policy-legal-hold-help"
          aria-invalid={!tagValid}
          value={legalHoldTag}
          onInput={(e) => setLegalHoldTag(e.currentTarget.value)}
        />
        <p class="help" id="policy-legal-hold-help">
          Sessions carrying a tag of this name (any case) are never pruned nor deleted.
        </p>
      </div>
      <button type="submit" class="primary" disabled={busy || !changed || !daysValid || !tagValid}>
        {busy ? 'Saving…' : 'Save policy'}
      </button>
      <OutcomeLine outcome={outcome} id="policy-outcome" />
    </form>
  );
}

/** The chart's window when the page opens. */
const DEFAULT_RANGE_MS = 7 * 86_400_000;

const RANGES = [
  { label: 'Last hour', ms: 3_600_000 },
  { label: 'Last 24 hours', ms: 86_400_000 },
  { label: 'Last 7 days', ms: 7 * 86_400_000 },
  { label: 'Last 30 days', ms: 30 * 86_400_000 },
  { label: 'Last 90 days', ms: 90 * 86_400_000 },
] as const;

function HistoryChart(props: { nodeId: string }) {
  const [rangeMs, setRangeMs] = useState<number>(DEFAULT_RANGE_MS);
  const { loaded, reload } = useLoad(
    (signal) => {
      const to = Date.now();
      return getStorageHistory({ from: to - rangeMs, to, nodeId: props.nodeId }, signal);
    },
    [rangeMs, props.nodeId],
  );
  const data = loaded.state === 'ok' ? loaded.data : undefined;
  // Memoized: the chart is drawn again only when the samples change.
  const chart = useMemo(() => {
    if (data === undefined) {
      return undefined;
    }
    const times = data.samples.map((s) => s.at);
    const bytes: ChartSeries[] = [
      { label: 'Used', values: data.samples.map((s) => s.usedBytes) },
      { label: 'Free', values: data.samples.map((s) => s.freeBytes), colour: '#1a7f37' },
    ];
    const sessions: ChartSeries[] = [
      { label: 'Sessions kept', values: data.samples.map((s) => s.sessions), colour: '#8250df' },
    ];
    return { times, bytes, sessions };
  }, [data]);

  return (
    <section aria-labelledby="history-heading">
      <h2 id="history-heading">Storage use over time</h2>
      <div class="inline-controls">
        <label for="history-range">Window</label>
        <select
          id="history-range"
          value={rangeMs}
          onChange={(e) => setRangeMs(Number(e.currentTarget.value))}
        >
          {RANGES.map((r) => (
            <option key={r.ms} value={r.ms}>
              {r.label}
            </option>
          ))}
        </select>
        <button type="button" onClick={reload}>
          Refresh<span class="visually-hidden"> the chart</span>
        </button>
      </div>
      {loaded.state === 'loading' ? <Loading what="storage history" /> : null}
      {loaded.state === 'error' ? <ErrorMessage message={loaded.message} onRetry={reload} /> : null}
      {chart !== undefined && chart.times.length === 0 ? (
        <Empty id="history-empty">
          No samples in this window yet: the node keeps one at start and then every few minutes.
        </Empty>
      ) : null}
      {chart !== undefined && chart.times.length > 0 ? (
        <>
          <p class="help" id="history-count">
            {chart.times.length} {chart.times.length === 1 ? 'point' : 'points'}
            {data?.intervalMs === undefined
              ? ''
              : `; a sample is kept every ${String(Math.round(data.intervalMs / 1000))} s`}
            .
          </p>
          <TimeChart
            title="Media partition: used and free"
            times={chart.times}
            series={chart.bytes}
            minTop={1}
            format={formatBytes}
          />
          <TimeChart
            title="Sessions whose media is kept"
            times={chart.times}
            series={chart.sessions}
            counts
            height={160}
          />
        </>
      ) : null}
    </section>
  );
}

/** Administration: storage state, retention policy and use over time (docs/api.md "Storage"). */
export function StorageSection() {
  const { user } = useAuth();
  const canChange = user.permissions.includes('manage-storage');
  const status = useLoad((signal) => getStorageStatus(signal), []);
  const policy = useLoad((signal) => getStoragePolicy(signal), []);
  return (
    <div class="admin-section">
      <p class="section-intro">
        The media partition of this node as its storage agent sees it, the retention policy every node
        applies, and how the use grew.
      </p>
      <section aria-labelledby="status-heading">
        <div class="section-head">
          <h2 id="status-heading">State</h2>
          <button type="button" class="small" onClick={status.reload}>
            Refresh<span class="visually-hidden"> the state</span>
          </button>
        </div>
        {status.loaded.state === 'loading' ? <Loading what="storage state" /> : null}
        {status.loaded.state === 'error' ? (
          <ErrorMessage message={status.loaded.message} onRetry={status.reload} />
        ) : null}
        {status.loaded.state === 'ok' ? <StatusPanel status={status.loaded.data} /> : null}
      </section>
      <section aria-labelledby="policy-heading">
        <h2 id="policy-heading">Retention policy</h2>
        {policy.loaded.state === 'loading' ? <Loading what="retention policy" /> : null}
        {policy.loaded.state === 'error' ? (
          <ErrorMessage message={policy.loaded.message} onRetry={policy.reload} />
        ) : null}
        {policy.loaded.state === 'ok' ? (
          <>
            <PolicyView policy={policy.loaded.data} />
            {canChange ? (
              <PolicyForm
                policy={policy.loaded.data}
                onSaved={() => {
                  policy.reload();
                  status.reload();
                }}
              />
            ) : (
              <p class="help">Your role ({user.role}) may read the policy but not change it.</p>
            )}
          </>
        ) : null}
      </section>
      {status.loaded.state === 'ok' ? <HistoryChart nodeId={status.loaded.data.nodeId} /> : null}
    </div>
  );
}
