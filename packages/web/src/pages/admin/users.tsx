import { useEffect, useState } from 'preact/hooks';

import { useAuth } from '../../auth.tsx';
import {
  addUser,
  deleteUser,
  listUsers,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  ROLE_SUMMARIES,
  ROLES,
  updateUser,
  USERNAME_PATTERN,
  type Role,
  type UserEntry,
} from '../../api/admin-users.ts';
import { RESPONSE_CODES, type ApiError } from '../../api/client.ts';
import { Empty, ErrorMessage, Loading, useLoad } from '../../components/states.tsx';
import { ConfirmDialog, formatTime, OutcomeLine, useAction, ScrollTable } from './admin-actions.tsx';
import './admin-sections.css';

const NAME_RULE = "1 to 64 letters, digits, '.', '_', '@' or '-'.";
const PASSWORD_RULE = `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH.toLocaleString('en')} characters.`;

/** The server's refusals of a user change, in words (docs/api.md "Users"). */
function explainUserRefusal(username: string): (error: ApiError) => string | undefined {
  return (error) => {
    switch (error.code) {
      case RESPONSE_CODES.alreadyExists:
        return `The name ${username} is taken: choose another name.`;
      case RESPONSE_CODES.invalidState:
        return 'You cannot take the admin role from yourself, nor delete yourself: another administrator must do it.';
      case RESPONSE_CODES.notFound:
        return `There is no user ${username} any more (someone removed it meanwhile).`;
      case RESPONSE_CODES.invalidParameter:
        return `Not accepted: ${error.message}.`;
      default:
        return undefined;
    }
  };
}

function RoleOptions() {
  return (
    <>
      {ROLES.map((role) => (
        <option key={role} value={role}>
          {role}
        </option>
      ))}
    </>
  );
}

function AddUserForm(props: { onAdded: () => void }) {
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('supervisor');
  const [password, setPassword] = useState('');
  const { busy, outcome, run } = useAction();
  const nameValid = USERNAME_PATTERN.test(username);
  const passwordValid = password.length >= MIN_PASSWORD_LENGTH && password.length <= MAX_PASSWORD_LENGTH;

  const submit = async (event: Event) => {
    event.preventDefault();
    const added = await run(async () => {
      await addUser(username, role, password);
      return `User ${username} added with the role ${role}.`;
    }, explainUserRefusal(username));
    if (added) {
      setUsername('');
      setPassword('');
      props.onAdded();
    }
  };

  return (
    <form class="admin-form" onSubmit={(e) => void submit(e)} aria-labelledby="add-user-heading">
      <h2 id="add-user-heading">Add a user</h2>
      <div class="field">
        <label for="new-user-name">Name</label>
        <input
          id="new-user-name"
          name="username"
          autocomplete="off"
          required
          maxLength={64}
          aria-describedby="new-user-name-help"
          aria-invalid={username !== '' && !nameValid}
          value={username}
          onInput={(e) => setUsername(e.currentTarget.value)}
        />
        <p class="help" id="new-user-name-help">
          {username !== '' && !nameValid ? 'Not a valid name: ' : ''}
          {NAME_RULE}
        </p>
      </div>
      <div class="field">
        <label for="new-user-role">Role</label>
        <select
          id="new-user-role"
          name="role"
          aria-describedby="new-user-role-help"
          value={role}
          onChange={(e) => setRole(e.currentTarget.value as Role)}
        >
          <RoleOptions />
        </select>
        <p class="help" id="new-user-role-help">
          {role}: {ROLE_SUMMARIES[role]}.
        </p>
      </div>
      <div class="field">
        <label for="new-user-password">Password</label>
        <input
          id="new-user-password"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          minLength={MIN_PASSWORD_LENGTH}
          maxLength={MAX_PASSWORD_LENGTH}
          aria-describedby="new-user-password-help"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <p class="help" id="new-user-password-help">
          {PASSWORD_RULE} Stored as a hash; nobody can read it back.
        </p>
      </div>
      <button type="submit" class="primary" disabled={busy || !nameValid || !passwordValid}>
        {busy ? 'Adding…' : 'Add user'}
      </button>
      <OutcomeLine outcome={outcome} id="add-user-outcome" />
    </form>
  );
}

/** One user's row: change the role, set a password, delete (after a confirmation). */
function UserRow(props: {
  user: UserEntry;
  isSelf: boolean;
  onChanged: () => void;
  onDelete: (user: UserEntry) => void;
  run: ReturnType<typeof useAction>['run'];
  busy: boolean;
}) {
  const { user, run, busy } = props;
  const [role, setRole] = useState<Role>(user.role);
  const [settingPassword, setSettingPassword] = useState(false);
  const [password, setPassword] = useState('');
  useEffect(() => setRole(user.role), [user.role]);
  const id = `user-${user.username.replace(/[^A-Za-z0-9_-]/g, '_')}`;

  const changeRole = async () => {
    const changed = await run(async () => {
      await updateUser(user.username, { role });
      return `${user.username} now has the role ${role}.`;
    }, explainUserRefusal(user.username));
    if (changed) {
      props.onChanged();
    } else {
      setRole(user.role);
    }
  };

  const changePassword = async (event: Event) => {
    event.preventDefault();
    const changed = await run(async () => {
      await updateUser(user.username, { password });
      return `The password of ${user.username} was changed.`;
    }, explainUserRefusal(user.username));
    if (changed) {
      setPassword('');
      setSettingPassword(false);
    }
  };

  return (
    <tr>
      <th scope="row">
        {user.username}
        {props.isSelf ? <span class="muted"> (you)</span> : null}
      </th>
      <td>
        <div class="inline-controls">
          <label class="visually-hidden" for={`${id}-role`}>
            Role of {user.username}
          </label>
          <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            <RoleOptions />
          </select>
          <button type="button" disabled={busy || role === user.role} onClick={() => void changeRole()}>
            Change role<span class="visually-hidden"> of {user.username}</span>
          </button>
        </div>
      </td>
      <td>{formatTime(user.createdAt)}</td>
      <td>
        {settingPassword ? (
          <form class="inline-controls" onSubmit={(e) => void changePassword(e)}>
            <label for={`${id}-password`}>New password for {user.username}</label>
            <input
              id={`${id}-password`}
              type="password"
              autocomplete="new-password"
              required
              minLength={MIN_PASSWORD_LENGTH}
              maxLength={MAX_PASSWORD_LENGTH}
              title={PASSWORD_RULE}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <button type="submit" disabled={busy || password.length < MIN_PASSWORD_LENGTH}>
              Save password
            </button>
            <button type="button" onClick={() => setSettingPassword(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <div class="inline-controls">
            <button type="button" onClick={() => setSettingPassword(true)}>
              Set password<span class="visually-hidden"> of {user.username}</span>
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => props.onDelete(user)}>
              Delete<span class="visually-hidden"> {user.username}</span>
            </button>
          </div>
        )}
      </td>
    </tr>
  );
}

/** Administration: users and roles (docs/api.md "Users"; the manage-users permission). */
export function UsersSection() {
  const { user: me } = useAuth();
  const { loaded, reload } = useLoad((signal) => listUsers(signal), []);
  const { busy, outcome, run } = useAction();
  const [deleting, setDeleting] = useState<UserEntry | undefined>(undefined);

  const confirmDelete = async () => {
    const target = deleting;
    setDeleting(undefined);
    if (target === undefined) {
      return;
    }
    const deleted = await run(async () => {
      await deleteUser(target.username);
      return `User ${target.username} deleted.`;
    }, explainUserRefusal(target.username));
    if (deleted) {
      reload();
    }
  };

  return (
    <div class="admin-section">
      <p class="section-intro">
        Local users of this node: who may sign in to the apps and the API, and with which role. Each change is
        written to the audit log.
      </p>
      <h2 id="users-heading">Users</h2>
      <OutcomeLine outcome={outcome} id="users-outcome" />
      {loaded.state === 'loading' ? <Loading what="users" /> : null}
      {loaded.state === 'error' ? <ErrorMessage message={loaded.message} onRetry={reload} /> : null}
      {loaded.state === 'ok' && loaded.data.length === 0 ? <Empty>There are no users.</Empty> : null}
      {loaded.state === 'ok' && loaded.data.length > 0 ? (
        <ScrollTable label="Users (scrolls sideways)">
          <table aria-labelledby="users-heading" class="users-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Password and removal</th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.map((user) => (
                <UserRow
                  key={user.username}
                  user={user}
                  isSelf={user.username === me.username}
                  onChanged={reload}
                  onDelete={setDeleting}
                  run={run}
                  busy={busy}
                />
              ))}
            </tbody>
          </table>
        </ScrollTable>
      ) : null}
      <ConfirmDialog
        open={deleting !== undefined}
        id="delete-user"
        title={`Delete ${deleting?.username ?? ''}?`}
        confirmLabel={`Delete ${deleting?.username ?? ''}`}
        onConfirm={() => void confirmDelete()}
        onCancel={() => setDeleting(undefined)}
      >
        <p>
          The user can no longer sign in, and their open sessions end at once. The audit log keeps what they
          did.
        </p>
      </ConfirmDialog>
      <AddUserForm onAdded={reload} />
    </div>
  );
}
