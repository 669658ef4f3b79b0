import { useRef, useState } from 'preact/hooks';

import {
  addTrustedPeer,
  callControllerSettings,
  removeTrustedPeer,
  trustedPeers,
  type CallControllerSettingsJson,
  type TrustedPeersJson,
} from '../../api/admin-peers.ts';
import { useAuth, useFailureMessage } from '../../auth.tsx';
import { Empty, ErrorMessage, Loading, useLoad } from '../../components/states.tsx';
import './peers.css';

/** The outcome of the last change, said once in a status line (or an alert for a failure). */
type Outcome = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly text: string };

function PeersTable(props: {
  peers: TrustedPeersJson;
  canManage: boolean;
  busy: boolean;
  onRemove: (cidr: string) => void;
}) {
  const { configured, stored } = props.peers;
  if (configured.length === 0 && stored.length === 0) {
    return <Empty>No address is trusted: every INVITE is refused with 403 Forbidden.</Empty>;
  }
  return (
    <div class="table-scroll">
      <table class="peers-table">
        <caption>Trusted peers ({configured.length + stored.length})</caption>
        <thead>
          <tr>
            <th scope="col">Block</th>
            <th scope="col">Note</th>
            <th scope="col">Source</th>
            {props.canManage ? <th scope="col">Action</th> : null}
          </tr>
        </thead>
        <tbody>
          {configured.map((cidr) => (
            <tr key={`configured ${cidr}`}>
              <td>
                <code>{cidr}</code>
              </td>
              <td />
              <td>--trusted-peers (changed by a restart)</td>
              {props.canManage ? <td /> : null}
            </tr>
          ))}
          {stored.map((peer) => (
            <tr key={peer.cidr}>
              <td>
                <code>{peer.cidr}</code>
              </td>
              <td>{peer.note}</td>
              <td>
                Added by {peer.addedBy}, {new Date(peer.addedAt).toLocaleString()}
              </td>
              {props.canManage ? (
                <td>
                  <button
                    type="button"
                    disabled={props.busy}
                    aria-label={`Remove ${peer.cidr}`}
                    onClick={() => props.onRemove(peer.cidr)}
                  >
                    Remove
                  </button>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AddPeerForm(props: {
  busy: boolean;
  error: string | undefined;
  /** True when the block was added: the fields are then emptied (the focus stays where it was). */
  onAdd: (cidr: string, note: string) => Promise<boolean>;
}) {
  const [cidr, setCidr] = useState('');
  const [note, setNote] = useState('');
  return (
    <form
      class="add-peer"
      aria-labelledby="add-peer-heading"
      onSubmit={(event) => {
        event.preventDefault();
        void props.onAdd(cidr, note).then((added) => {
          if (added) {
            setCidr('');
            setNote('');
          }
        });
      }}
    >
      <h3 id="add-peer-heading">Trust another block</h3>
      <div class="add-peer-fields">
        <div>
          <label for="peer-cidr">CIDR block</label>
          <input
            id="peer-cidr"
            name="cidr"
            required
            maxLength={64}
            autoComplete="off"
            spellcheck={false}
            placeholder="10.20.0.0/16"
            value={cidr}
            aria-invalid={props.error === undefined ? undefined : true}
            aria-describedby={props.error === undefined ? 'peer-cidr-help' : 'peer-cidr-help peer-error'}
            onInput={(event) => setCidr(event.currentTarget.value)}
          />
        </div>
        <div>
          <label for="peer-note">Note (optional)</label>
          <input
            id="peer-note"
            name="note"
            maxLength={200}
            placeholder="CUCM cluster, London"
            value={note}
            onInput={(event) => setNote(event.currentTarget.value)}
          />
        </div>
        <button type="submit" class="primary" disabled={props.busy}>
          Add
        </button>
      </div>
      <p id="peer-cidr-help" class="peers-help">
        An IPv4 or IPv6 block such as 10.20.0.0/16 or 2001:db8::/32, or one address. The next INVITE from it
        is taken; no restart.
      </p>
      {props.error === undefined ? null : (
        <p id="peer-error" class="error" role="alert">
          {props.error}
        </p>
      )}
    </form>
  );
}

function SettingsList(props: { settings: CallControllerSettingsJson }) {
  const s = props.settings;
  const rows: [string, string][] = [
    [
      'SIP ports',
      `${String(s.sipUdpPort)} UDP, ${String(s.sipTcpPort)} TCP` +
        (s.sipTlsPort === undefined ? '; TLS off' : `, ${String(s.sipTlsPort)} TLS`),
    ],
    ['Address in SDP and Contact', s.advertise],
    ['Listening on', s.bind],
    [
      'New calls per source',
      s.sipInviteRate === 0
        ? 'no limit'
        : `${String(s.sipInviteRate)} INVITEs a second (bursts of twice that)`,
    ],
    ['Concurrent recordings', `at most ${String(s.maxSessions)}`],
    ['Admission control', s.admission ? 'on: new calls get 503 before the node runs out of headroom' : 'off'],
    ['Media timeout', `${String(s.mediaTimeoutSeconds)} s without RTP ends a recording`],
    ['RTP ports', `${String(s.rtpPortMin)}–${String(s.rtpPortMax)} UDP`],
    [
      'Outbound proxy',
      s.outbound === undefined
        ? 'none (direct outbound recording off)'
        : `${s.outbound.proxy} over ${s.outbound.transport.toUpperCase()}` +
          (s.outbound.username === undefined ? '' : `, as ${s.outbound.username}`) +
          `, ${String(s.outbound.answerTimeoutSeconds)} s to answer`,
    ],
    ['Codecs offered to CUCM', s.codecs.offered.join(', ')],
    ['Codecs decoded', s.codecs.decoded.join(', ')],
    ['Stored, not decoded', s.codecs.storedOnly.join(', ')],
  ];
  return (
    <dl class="settings-list">
      {rows.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Administration: trusted peers (changed here, at once) and the call-controller settings. */
export function PeersSection() {
  const { user } = useAuth();
  const canManage = user.permissions.includes('manage-peers');
  const failureMessage = useFailureMessage();
  const peers = useLoad((signal) => trustedPeers(signal), []);
  const settings = useLoad((signal) => callControllerSettings(signal), []);
  // The lists as the last change answered them; undefined until a change was made here.
  const [changed, setChanged] = useState<TrustedPeersJson>();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const [formError, setFormError] = useState<string>();
  // A removed block's button goes with its row: the focus moves to the section's heading.
  const heading = useRef<HTMLHeadingElement>(null);

  /** Makes a change and says how it went; true when it was made. */
  const change = async (
    action: () => Promise<TrustedPeersJson>,
    done: string,
    forForm: boolean,
  ): Promise<boolean> => {
    setBusy(true);
    setOutcome(undefined);
    setFormError(undefined);
    try {
      setChanged(await action());
      setOutcome({ ok: true, text: done });
      if (!forForm) {
        heading.current?.focus();
      }
      return true;
    } catch (failure) {
      const message = failureMessage(failure);
      if (message !== undefined) {
        if (forForm) {
          setFormError(message);
        } else {
          setOutcome({ ok: false, text: message });
        }
      }
      return false;
    } finally {
      setBusy(false);
    }
  };

  const shown = changed ?? (peers.loaded.state === 'ok' ? peers.loaded.data : undefined);
  return (
    <div class="peers">
      <section aria-labelledby="trusted-peers-heading">
        <h2 id="trusted-peers-heading" ref={heading} tabIndex={-1}>
          Trusted peers
        </h2>
        <p class="peers-help">
          An INVITE from an address in any of these blocks is recorded; any other gets 403 Forbidden. The
          blocks of <code>--trusted-peers</code> change with a restart; those added here apply to the next
          INVITE and are kept in the database.
        </p>
        {peers.loaded.state === 'loading' && shown === undefined ? <Loading what="trusted peers" /> : null}
        {peers.loaded.state === 'error' && shown === undefined ? (
          <ErrorMessage message={peers.loaded.message} onRetry={peers.reload} />
        ) : null}
        {shown === undefined ? null : (
          <PeersTable
            peers={shown}
            canManage={canManage}
            busy={busy}
            onRemove={(cidr) =>
              void change(() => removeTrustedPeer(cidr), `${cidr} is no longer trusted.`, false)
            }
          />
        )}
        <div role="status" class="peers-outcome">
          {outcome?.ok === true ? outcome.text : null}
        </div>
        {outcome?.ok === false ? (
          <p class="error" role="alert">
            {outcome.text}
          </p>
        ) : null}
        {canManage ? (
          <AddPeerForm
            busy={busy}
            error={formError}
            onAdd={(cidr, note) =>
              change(() => addTrustedPeer(cidr, note), `${cidr.trim()} is trusted now.`, true)
            }
          />
        ) : (
          <p class="peers-help">Your role may read these blocks; an admin changes them.</p>
        )}
      </section>
      <section aria-labelledby="controller-settings-heading">
        <h2 id="controller-settings-heading">Call-controller settings</h2>
        <p class="peers-help">
          Options of <code>verbatim serve</code>, shown read-only: they are bound when the node starts and
          change with a restart.
        </p>
        {settings.loaded.state === 'loading' ? <Loading what="settings" /> : null}
        {settings.loaded.state === 'error' ? (
          <ErrorMessage message={settings.loaded.message} onRetry={settings.reload} />
        ) : null}
        {settings.loaded.state === 'ok' ? <SettingsList settings={settings.loaded.data} /> : null}
      </section>
    </div>
  );
}
