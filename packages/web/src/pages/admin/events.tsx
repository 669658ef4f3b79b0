import { useState } from 'preact/hooks';

import {
  CATEGORY_TYPES,
  DELIVERY_PAGE,
  EVENT_CATEGORIES,
  getDeliveryLog,
  getSubscriptions,
  removeSubscription,
  subscribeToEvents,
  type DeliveryAttemptJson,
  type SubscriptionJson,
} from '../../api/admin-events.ts';
import { ApiError, RESPONSE_CODES } from '../../api/client.ts';
import { useFailureMessage } from '../../auth.tsx';
import { Empty, ErrorMessage, Loading, useLoad } from '../../components/states.tsx';
import { ConfirmDialog, formatTime, OutcomeLine, useAction, ScrollTable } from './admin-actions.tsx';
import './admin-sections.css';

const CATEGORY_TEXT: Readonly<Record<(typeof EVENT_CATEGORIES)[number], string>> = {
  RECORDING_EVENTS: 'Recording: sessions started, updated, ended',
  CLEANUP_EVENTS: 'Clean-up: sessions deleted or pruned',
  TAG_EVENTS: 'Tags: added, updated, deleted',
  STORAGE_EVENTS: 'Storage: threshold crossings',
};

/** `SESSION_STARTED_EVENT` → `session started`. */
function typeText(type: string): string {
  return type
    .replace(/_EVENT$/, '')
    .replaceAll('_', ' ')
    .toLowerCase();
}

function explainSubscribeRefusal(error: ApiError): string | undefined {
  return error.code === RESPONSE_CODES.invalidParameter || error.code === RESPONSE_CODES.missingParameter
    ? `Not accepted: ${error.message}.`
    : undefined;
}

function AddSubscriptionForm(props: { onAdded: () => void }) {
  const [uri, setUri] = useState('');
  const [types, setTypes] = useState<ReadonlySet<string>>(new Set());
  const [regex, setRegex] = useState('');
  const [secret, setSecret] = useState('');
  const { busy, outcome, run } = useAction();
  const uriValid = /^https?:\/\/[^\s/]+/i.test(uri);
  const secretValid = secret === '' || (secret.length >= 16 && secret.length <= 256);

  const toggle = (type: string, on: boolean) => {
    const next = new Set(types);
    if (on) {
      next.add(type);
    } else {
      next.delete(type);
    }
    setTypes(next);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const added = await run(async () => {
      try {
        const id = await subscribeToEvents({
          subscriptionUri: uri,
          // None checked: the filters are left out, which means every type (an empty list is refused).
          ...(types.size === 0 ? {} : { subscriptionFilters: [...types] }),
          ...(regex === '' ? {} : { tagNameRegEx: regex }),
          ...(secret === '' ? {} : { secret }),
        });
        return `Subscribed ${uri} (subscription ${id}).`;
      } catch (error) {
        // 2005: the same URL with the same types is already subscribed; nothing changed.
        if (error instanceof ApiError && error.code === RESPONSE_CODES.subscriptionExists) {
          return `${uri} is already subscribed to these events: nothing changed.`;
        }
        throw error;
      }
    }, explainSubscribeRefusal);
    if (added) {
      setUri('');
      setSecret('');
      props.onAdded();
    }
  };

  return (
    <form class="admin-form" onSubmit={(e) => void submit(e)} aria-labelledby="add-subscription-heading">
      <h2 id="add-subscription-heading">Add a subscription</h2>
      <div class="field">
        <label for="subscription-uri">Receiver URL</label>
        <input
          id="subscription-uri"
          type="url"
          required
          maxLength={2048}
          placeholder="https://receiver.example.com/events"
          aria-describedby="subscription-uri-help"
          value={uri}
          onInput={(e) => setUri(e.currentTarget.value)}
        />
        <p class="help" id="subscription-uri-help">
          An http:// or https:// URL without a user name or password. Events are POSTed to it as JSON; one
          subscription per URL (subscribing it again replaces its types).
        </p>
      </div>
      <fieldset aria-describedby="subscription-types-help">
        <legend>Event types</legend>
        <p class="help" id="subscription-types-help">
          None checked: every type.
        </p>
        <div class="type-groups">
          {EVENT_CATEGORIES.map((category) => (
            <div key={category} class="type-group">
              <p class="type-group-title">{CATEGORY_TEXT[category]}</p>
              {CATEGORY_TYPES[category].map((type) => (
                <div key={type} class="choice">
                  <input
                    type="checkbox"
                    id={`type-${type}`}
                    checked={types.has(type)}
                    onChange={(e) => toggle(type, e.currentTarget.checked)}
                  />
                  <label for={`type-${type}`}>{typeText(type)}</label>
                </div>
              ))}
            </div>
          ))}
        </div>
      </fieldset>
      <div class="field">
        <label for="subscription-regex">Tag name pattern (optional)</label>
        <input
          id="subscription-regex"
          maxLength={256}
          aria-describedby="subscription-regex-help"
          value={regex}
          onInput={(e) => setRegex(e.currentTarget.value)}
        />
        <p class="help" id="subscription-regex-help">
          Tag events only for tag names this regular expression matches whole; <code>(?i)</code> at the start
          ignores case.
        </p>
      </div>
      <div class="field">
        <label for="subscription-secret">Signing secret (optional)</label>
        <input
          id="subscription-secret"
          type="password"
          autocomplete="off"
          maxLength={256}
          aria-describedby="subscription-secret-help"
          aria-invalid={!secretValid}
          value={secret}
          onInput={(e) => setSecret(e.currentTarget.value)}
        />
        <p class="help" id="subscription-secret-help">
          16 to 256 characters shared with the receiver: each delivery then carries an HMAC-SHA256 signature.
          It is never shown again.
        </p>
      </div>
      <button type="submit" class="primary" disabled={busy || !uriValid || !secretValid}>
        {busy ? 'Subscribing…' : 'Subscribe'}
      </button>
      <OutcomeLine outcome={outcome} id="add-subscription-outcome" />
    </form>
  );
}

/** One subscription's delivery attempts, newest first, a page at a time. */
function DeliveryLog(props: { subscription: SubscriptionJson }) {
  const id = props.subscription.subscriptionId;
  const failureMessage = useFailureMessage();
  const { loaded, reload } = useLoad((signal) => getDeliveryLog(id, undefined, signal), [id]);
  const [older, setOlder] = useState<{ attempts: DeliveryAttemptJson[]; end: boolean; error?: string }>({
    attempts: [],
    end: false,
  });
  const [loadingOlder, setLoadingOlder] = useState(false);
  const first = loaded.state === 'ok' ? loaded.data : [];
  const attempts = [...first, ...older.attempts];
  const end =
    older.end || (loaded.state === 'ok' && first.length < DELIVERY_PAGE && older.attempts.length === 0);

  const refresh = () => {
    setOlder({ attempts: [], end: false });
    reload();
  };

  const loadOlder = async () => {
    const last = attempts[attempts.length - 1];
    if (last === undefined) {
      return;
    }
    setLoadingOlder(true);
    try {
      const page = await getDeliveryLog(id, last.id);
      setOlder({ attempts: [...older.attempts, ...page], end: page.length < DELIVERY_PAGE });
    } catch (error) {
      setOlder({ ...older, error: failureMessage(error) ?? '' });
    } finally {
      setLoadingOlder(false);
    }
  };

  const headingId = `log-heading-${id}`;
  return (
    <section class="delivery-log" aria-labelledby={headingId}>
      <div class="section-head">
        <h3 id={headingId}>Delivery log of {props.subscription.subscriptionUri}</h3>
        <button type="button" class="small" onClick={refresh}>
          Refresh<span class="visually-hidden"> the delivery log</span>
        </button>
      </div>
      {loaded.state === 'loading' ? <Loading what="delivery log" /> : null}
      {loaded.state === 'error' ? <ErrorMessage message={loaded.message} onRetry={reload} /> : null}
      {loaded.state === 'ok' && attempts.length === 0 ? (
        <Empty>No delivery attempt yet: events are sent as they happen.</Empty>
      ) : null}
      {attempts.length > 0 ? (
        <ScrollTable label={`Delivery attempts of ${props.subscription.subscriptionUri}`}>
          <table class="compact delivery-table" aria-labelledby={headingId}>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Event id</th>
                <th scope="col">Outcome</th>
                <th scope="col">Latency</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((a) => (
                <tr key={a.id}>
                  <td>{formatTime(a.at)}</td>
                  <td>{a.event}</td>
                  <td>{a.eventId}</td>
                  <td class={a.error === undefined ? 'ok' : 'error'}>
                    {a.error === undefined
                      ? `Delivered (HTTP ${String(a.httpStatus ?? '')})`
                      : `Failed: ${a.error}${a.httpStatus === undefined ? '' : ` (HTTP ${String(a.httpStatus)})`}`}
                  </td>
                  <td>{a.latencyMs} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      ) : null}
      {older.error === undefined ? null : <ErrorMessage message={older.error} />}
      {attempts.length > 0 && !end ? (
        <button type="button" disabled={loadingOlder} onClick={() => void loadOlder()}>
          {loadingOlder ? 'Loading…' : 'Older attempts'}
        </button>
      ) : null}
      {attempts.length > 0 && end ? (
        <p class="help">That is every attempt kept (the newest 1,000 of the last 7 days).</p>
      ) : null}
    </section>
  );
}

/** Administration: webhook subscriptions and their delivery log (docs/api.md "Event service"). */
export function EventsSection() {
  const { loaded, reload } = useLoad((signal) => getSubscriptions(signal), []);
  const { busy, outcome, run } = useAction();
  const [shown, setShown] = useState<string | undefined>(undefined);
  const [removing, setRemoving] = useState<SubscriptionJson | undefined>(undefined);
  const subscriptions = loaded.state === 'ok' ? loaded.data : [];
  const shownSubscription = subscriptions.find((s) => s.subscriptionId === shown);

  const confirmRemove = async () => {
    const target = removing;
    setRemoving(undefined);
    if (target === undefined) {
      return;
    }
    const removed = await run(async () => {
      await removeSubscription(target.subscriptionId);
      return `Subscription of ${target.subscriptionUri} removed, with its undelivered events.`;
    });
    if (removed) {
      if (shown === target.subscriptionId) {
        setShown(undefined);
      }
      reload();
    }
  };

  return (
    <div class="admin-section">
      <p class="section-intro">
        Receivers the node POSTs its events to (quality management, analytics, archivers), from a durable
        outbox: a receiver that is down loses nothing.
      </p>
      <div class="section-head">
        <h2 id="subscriptions-heading">Subscriptions</h2>
        <button type="button" class="small" onClick={reload}>
          Refresh<span class="visually-hidden"> the subscriptions</span>
        </button>
      </div>
      <OutcomeLine outcome={outcome} id="subscriptions-outcome" />
      {loaded.state === 'loading' ? <Loading what="subscriptions" /> : null}
      {loaded.state === 'error' ? <ErrorMessage message={loaded.message} onRetry={reload} /> : null}
      {loaded.state === 'ok' && subscriptions.length === 0 ? (
        <Empty id="no-subscriptions">No subscriptions: add one below.</Empty>
      ) : null}
      {subscriptions.length > 0 ? (
        <ScrollTable label="Subscriptions (scrolls sideways)">
          <table aria-labelledby="subscriptions-heading" class="subscriptions-table">
            <thead>
              <tr>
                <th scope="col">Receiver</th>
                <th scope="col">Event types</th>
                <th scope="col">State</th>
                <th scope="col">Waiting</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {subscriptions.map((s) => (
                <tr key={s.subscriptionId}>
                  <th scope="row" class="uri">
                    {s.subscriptionUri}
                    <span class="muted small-text">
                      {' '}
                      ({s.subscriptionId}
                      {s.signed ? ', signed' : ''}
                      {s.tagNameRegEx === undefined ? '' : `, tags matching ${s.tagNameRegEx}`})
                    </span>
                  </th>
                  <td>{s.subscriptionFilters.map(typeText).join(', ')}</td>
                  <td class={s.subscriptionStatus === 'FAILING' ? 'error' : 'ok'}>
                    {s.subscriptionStatus === 'FAILING'
                      ? `Failing since ${s.failingSince === undefined ? '?' : formatTime(s.failingSince)}`
                      : 'Active'}
                  </td>
                  <td>
                    {s.backlog} {s.backlog === 1 ? 'event' : 'events'}
                  </td>
                  <td>
                    {formatTime(s.createdAt)} by {s.createdBy}
                  </td>
                  <td>
                    <div class="inline-controls">
                      <button
                        type="button"
                        aria-expanded={shown === s.subscriptionId}
                        aria-controls={shown === s.subscriptionId ? `log-${s.subscriptionId}` : undefined}
                        onClick={() => setShown(shown === s.subscriptionId ? undefined : s.subscriptionId)}
                      >
                        Delivery log<span class="visually-hidden"> of {s.subscriptionUri}</span>
                      </button>
                      <button type="button" class="danger" disabled={busy} onClick={() => setRemoving(s)}>
                        Remove<span class="visually-hidden"> {s.subscriptionUri}</span>
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      ) : null}
      {shownSubscription === undefined ? null : (
        <div id={`log-${shownSubscription.subscriptionId}`}>
          <DeliveryLog key={shownSubscription.subscriptionId} subscription={shownSubscription} />
        </div>
      )}
      <ConfirmDialog
        open={removing !== undefined}
        id="remove-subscription"
        title="Remove this subscription?"
        confirmLabel="Remove subscription"
        onConfirm={() => void confirmRemove()}
        onCancel={() => setRemoving(undefined)}
      >
        <p>
          {removing?.subscriptionUri} will receive no more events, and the {removing?.backlog ?? 0} events
          waiting for it are dropped.
        </p>
      </ConfirmDialog>
      <AddSubscriptionForm onAdded={reload} />
    </div>
  );
}
