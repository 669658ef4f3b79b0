import type { Command } from 'commander';
import type { Config } from '../config/config.js';
import {
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  ROLES,
  USERNAME_PATTERN,
  type Role,
} from '../model/user.js';
import { CommandFailure, EXIT_OK, UsageError, type RunAction } from './command-errors.js';
import { addDatabaseOptions, loadOrThrow } from './config-options.js';
import { cliAuditRecord, formatTable } from './cli-output.js';
import { withRepository } from './database.js';
import { obtainPassword } from './password-prompt.js';

/** `verbatim user add | list | passwd`: the local users of the API and web UI. */

export function registerUser(program: Command, run: RunAction): void {
  const user = program.command('user').description('manage local users of the API and web UI');
  const add = addDatabaseOptions(
    user
      .command('add')
      .description('add a user; without --password, asks twice on a terminal or reads one line from stdin')
      .argument('<name>', 'user name')
      .requiredOption('--role <ROLE>', `one of ${ROLES.join(', ')}`)
      .option('--password <P>', `at least ${MIN_PASSWORD_LENGTH} characters`),
  );
  add.action((name: string, options: { role: string; password?: string }) =>
    run(() => userAdd(name, options, add)),
  );
  const list = addDatabaseOptions(user.command('list').description('list users: name, role, created'));
  list.action(() => run(() => userList(list)));
  const passwd = addDatabaseOptions(
    user
      .command('passwd')
      .description("change a user's password; without --password, asks twice or reads stdin")
      .argument('<name>', 'user name')
      .option('--password <P>', `at least ${MIN_PASSWORD_LENGTH} characters`),
  );
  passwd.action((name: string, options: { password?: string }) =>
    run(() => userPasswd(name, options, passwd)),
  );
}

function checkUsername(name: string): string[] {
  return USERNAME_PATTERN.test(name)
    ? []
    : [`user name '${name}' is not valid (1-64 letters, digits, '.', '_', '@' or '-')`];
}

function checkPassword(password: string): string[] {
  if (password.length < MIN_PASSWORD_LENGTH) {
    return [`password is shorter than ${MIN_PASSWORD_LENGTH} characters`];
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return [`password is longer than ${MAX_PASSWORD_LENGTH} characters`];
  }
  return [];
}

/** The scrypt hash and the RTSP Digest HA1 (api/digest-ha1.ts) of a new password for `username`. */
async function newPasswordHash(
  username: string,
  given: string | undefined,
): Promise<{ passwordHash: string; digestHa1: string }> {
  const password = await obtainPassword(given, checkPassword);
  const problems = checkPassword(password);
  if (problems.length > 0) {
    throw new UsageError(problems);
  }
  const { hashPassword } = await import('../api/passwords.js');
  const { digestHa1 } = await import('../api/digest-ha1.js');
  return { passwordHash: await hashPassword(password), digestHa1: digestHa1(username, password) };
}

async function userAdd(
  name: string,
  options: { role: string; password?: string },
  command: Command,
): Promise<number> {
  const problems: string[] = [];
  let config: Config | undefined;
  try {
    config = loadOrThrow(command);
  } catch (error) {
    if (!(error instanceof UsageError)) {
      throw error;
    }
    problems.push(...error.problems);
  }
  problems.push(...checkUsername(name));
  const role = ROLES.find((r) => r === options.role);
  if (role === undefined) {
    problems.push(`role '${options.role}' is not one of ${ROLES.join(', ')}`);
  }
  if (options.password !== undefined) {
    problems.push(...checkPassword(options.password));
  }
  if (problems.length > 0 || config === undefined || role === undefined) {
    throw new UsageError(problems);
  }
  await withRepository(config, async (repository) => {
    // Checked before asking for a password, so nobody types one twice for nothing.
    if ((await repository.getUser(name)) !== undefined) {
      throw new CommandFailure(
        `user '${name}' already exists; change its password with: verbatim user passwd ${name}`,
      );
    }
    const secrets = await newPasswordHash(name, options.password);
    await repository.createUser({
      username: name,
      role: role satisfies Role,
      ...secrets,
      createdAt: Date.now(),
    });
    await repository.appendAudit(cliAuditRecord('addUser', name, { role }));
  });
  process.stdout.write(`added user ${name} (role ${role})\n`);
  return EXIT_OK;
}

async function userList(command: Command): Promise<number> {
  const config = loadOrThrow(command);
  const users = await withRepository(config, (repository) => repository.listUsers());
  const rows = [...users]
    .sort((a, b) => a.username.localeCompare(b.username))
    .map((u) => [u.username, u.role, new Date(u.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z')]);
  process.stdout.write(formatTable(['NAME', 'ROLE', 'CREATED'], rows));
  return EXIT_OK;
}

async function userPasswd(name: string, options: { password?: string }, command: Command): Promise<number> {
  const config = loadOrThrow(command);
  if (options.password !== undefined) {
    const problems = checkPassword(options.password);
    if (problems.length > 0) {
      throw new UsageError(problems);
    }
  }
  await withRepository(config, async (repository) => {
    // Checked before asking for a password, so nobody types one twice for nothing.
    if ((await repository.getUser(name)) === undefined) {
      throw new CommandFailure(`no user '${name}' (see: verbatim user list)`);
    }
    const secrets = await newPasswordHash(name, options.password);
    if (!(await repository.updateUser(name, secrets))) {
      throw new CommandFailure(`no user '${name}' (see: verbatim user list)`);
    }
    await repository.appendAudit(cliAuditRecord('updateUser', name, { password: 'changed' }));
  });
  process.stdout.write(`changed the password of ${name}\n`);
  return EXIT_OK;
}
