import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { Command, CommanderError, Option } from 'commander';
import { pino, type Logger } from 'pino';
import type { Config } from './config/config.js';
import { loadConfig } from './config/load.js';
import { CONFIG_OPTIONS, camelNameOf, envNameOf, type ConfigOptionName } from './config/options.js';
import type { Repository } from './db/repository.js';
import { ROLES, type Role } from './model/user.js';

/**
 * The `verbatim` command line (DESIGN.md §1.1). Exit codes: 0 done, 1 failed while running
 * (port in use, database unreachable), 2 bad usage or configuration, printed one problem a line
 * and never as a stack trace. The server, the database and password hashing are imported only by
 * the commands that need them, so `--help` and validation errors stay fast and work even when a
 * native module is broken.
 */

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
/** How long `app.close()` may take after SIGTERM before the process exits anyway. */
const CLOSE_GUARD_MS = 10_000;
const MIN_PASSWORD_LENGTH = 8;
/** Bounds the work of hashing a pasted-in novel. */
const MAX_PASSWORD_LENGTH = 1024;
/** No colon (HTTP Basic splits on it), no spaces or control characters. */
const USERNAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

/** A problem with what the user asked for: printed, then exit 2. */
class UsageError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'UsageError';
  }
}

/** A failure while doing what was asked: printed as one line, then exit 1. */
class CommandFailure extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'CommandFailure';
  }
}

type Flags = Partial<Record<ConfigOptionName, string | boolean>>;

function readVersion(): string {
  // src/main.ts and dist/main.js both sit one level below the package's package.json.
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0.0.0';
}

function configOption(name: ConfigOptionName): Option {
  const spec = CONFIG_OPTIONS.find((o) => o.name === name);
  if (spec === undefined || !spec.isFlag) {
    throw new Error(`no flag for config option ${name}`);
  }
  const defaultText = spec.defaultText === undefined ? '' : ` (default: ${spec.defaultText})`;
  return new Option(spec.flag, `${spec.description}${defaultText} [${envNameOf(name)}]`);
}

/** The configuration options the user typed on this command's line, as loadConfig wants them. */
function flagsOf(command: Command): Flags {
  const flags: Flags = {};
  for (const spec of CONFIG_OPTIONS) {
    // Commander stores `--no-tls` as `tls: false`.
    const attribute = spec.name === 'no-tls' ? 'tls' : camelNameOf(spec.name);
    if (spec.isFlag && command.getOptionValueSource(attribute) === 'cli') {
      const value: unknown = command.getOptionValue(attribute);
      if (spec.name === 'no-tls') {
        flags['no-tls'] = true;
      } else if (typeof value === 'string') {
        flags[spec.name] = value;
      }
    }
  }
  return flags;
}

function loadOrThrow(command: Command): Config {
  const loaded = loadConfig({ flags: flagsOf(command), env: process.env, cwd: process.cwd() });
  if (!loaded.ok) {
    throw new UsageError(loaded.error.map((p) => p.message));
  }
  return loaded.value;
}

// ---------------------------------------------------------------------------------------------
// serve

async function serve(command: Command): Promise<number> {
  const config = loadOrThrow(command);
  const logger = pino({
    level: config.logLevel,
    base: { node: config.nodeId },
    redact: ['password', '*.password', 'adminPassword', '*.adminPassword', 'passwordHash', '*.passwordHash'],
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(EXIT_FAILURE);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(EXIT_FAILURE);
  });

  let app: { start(): Promise<unknown>; close(): Promise<void> } | undefined;
  try {
    const { buildApp } = await import('./app.js');
    app = await buildApp(config, { logger });
    await app.start();
  } catch (error) {
    logger.debug({ err: error }, 'start failed');
    if (app !== undefined) {
      await closeWithGuard(app, logger);
    }
    throw new CommandFailure(describeStartError(error, config), { cause: error });
  }

  const started = app;
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      stopping = true;
      logger.info({ signal }, 'signal received: shutting down');
      void closeWithGuard(started, logger).then(resolveExit);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Resolves 0 after a clean close, 1 when close fails or outlasts the guard. */
async function closeWithGuard(app: { close(): Promise<void> }, logger: Logger): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<number>((resolveGuard) => {
    timer = setTimeout(() => {
      logger.error({ guardMs: CLOSE_GUARD_MS }, 'shutdown took too long: exiting anyway');
      resolveGuard(EXIT_FAILURE);
    }, CLOSE_GUARD_MS);
  });
  const closing = app.close().then(
    () => EXIT_OK,
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      return EXIT_FAILURE;
    },
  );
  try {
    return await Promise.race([closing, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** One line an operator can act on, for the usual ways a start fails. */
function describeStartError(error: unknown, config: Config): string {
  if (!(error instanceof Error)) {
    return `start failed: ${String(error)}`;
  }
  const errno = error as NodeJS.ErrnoException & { port?: unknown; address?: unknown };
  const port = typeof errno.port === 'number' ? errno.port : undefined;
  const services: readonly [number, string][] = [
    [config.sipPort, 'SIP'],
    [config.sipTlsPort, 'SIP TLS'],
    [config.httpPort, 'HTTP'],
    [config.rtspPort, 'RTSP'],
  ];
  const service = services.find(([p]) => p === port)?.[1];
  const what =
    port === undefined ? 'a port' : service === undefined ? `port ${port}` : `${service} port ${port}`;
  if (errno.code === 'EADDRINUSE') {
    return `${what} is in use (on ${config.bind}); stop the other program or choose another port`;
  }
  if (errno.code === 'EACCES' && port !== undefined) {
    return `no permission to listen on ${what}: ports below 1024 need root or CAP_NET_BIND_SERVICE`;
  }
  if (errno.code === 'EADDRNOTAVAIL') {
    const address = typeof errno.address === 'string' ? errno.address : config.bind;
    return `${address} is not an address of this machine (--bind)`;
  }
  return `start failed: ${(error.message.split('\n')[0] ?? error.message).trim()}`;
}

// ---------------------------------------------------------------------------------------------
// user and migrate

async function withRepository<T>(config: Config, use: (repository: Repository) => Promise<T>): Promise<T> {
  if (config.db.kind === 'sqlite' && config.db.path !== ':memory:') {
    await mkdir(dirname(config.db.path), { recursive: true });
  }
  const { openRepository } = await import('./db/index.js');
  let repository: Repository;
  try {
    repository = await openRepository(config.db);
  } catch (error) {
    throw new CommandFailure(`cannot open the database (${describeDb(config)}): ${messageOf(error)}`, {
      cause: error,
    });
  }
  try {
    // A user command may be the first thing run on a fresh data directory.
    await repository.migrate();
    return await use(repository);
  } finally {
    await repository.close();
  }
}

function describeDb(config: Config): string {
  return config.db.kind === 'sqlite' ? `sqlite:${config.db.path}` : 'postgres';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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

/**
 * The password from --password, else typed twice on a terminal (not echoed), else the first line
 * of stdin, so scripts can pipe it in without it showing in `ps`.
 */
async function obtainPassword(given: string | undefined): Promise<string> {
  if (given !== undefined) {
    return given;
  }
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password: ');
    const problems = checkPassword(first);
    if (problems.length > 0) {
      throw new UsageError(problems);
    }
    const second = await promptHidden('Repeat password: ');
    if (first !== second) {
      throw new UsageError(['the two passwords differ']);
    }
    return first;
  }
  const line = await readFirstLine();
  if (line === undefined) {
    throw new UsageError(['no password: give --password, or one line on stdin']);
  }
  return line;
}

async function readFirstLine(): Promise<string | undefined> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of lines) {
      return line;
    }
    return undefined;
  } finally {
    lines.close();
    process.stdin.destroy();
  }
}

/**
 * Terminal input that arrived after the end of the previous line: text typed ahead (or sent by
 * `expect`) before the prompt was shown comes in one chunk holding both answers.
 */
let typedAhead = '';

/** Reads one line from the terminal in raw mode, echoing nothing. */
function promptHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(prompt);
  input.setRawMode(true);
  input.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    /** Returns true once the line is complete (or cancelled). */
    const consume = (chunk: string): boolean => {
      const chars = Array.from(chunk);
      for (let i = 0; i < chars.length; i++) {
        const char = chars[i] ?? '';
        if (char === '\r' || char === '\n') {
          // A CR LF pair ends one line, not two.
          const next = char === '\r' && chars[i + 1] === '\n' ? i + 2 : i + 1;
          typedAhead = chars.slice(next).join('');
          finish();
          resolve(value);
          return true;
        }
        if (char === '\u0003' || (char === '\u0004' && value === '')) {
          finish();
          reject(new UsageError(['password entry cancelled']));
          return true;
        }
        if (char === '\u007f' || char === '\b') {
          value = Array.from(value).slice(0, -1).join('');
        } else if (char >= ' ') {
          value += char;
        }
      }
      return false;
    };
    const onData = (chunk: string): void => {
      consume(chunk);
    };
    const pending = typedAhead;
    typedAhead = '';
    if (!consume(pending)) {
      input.on('data', onData);
      input.resume();
    }
  });
}

async function newPasswordHash(given: string | undefined): Promise<string> {
  const password = await obtainPassword(given);
  const problems = checkPassword(password);
  if (problems.length > 0) {
    throw new UsageError(problems);
  }
  const { hashPassword } = await import('./api/passwords.js');
  return hashPassword(password);
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
    const passwordHash = await newPasswordHash(options.password);
    await repository.createUser({
      username: name,
      role: role satisfies Role,
      passwordHash,
      createdAt: Date.now(),
    });
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
    const passwordHash = await newPasswordHash(options.password);
    if (!(await repository.updateUser(name, { passwordHash }))) {
      throw new CommandFailure(`no user '${name}' (see: verbatim user list)`);
    }
  });
  process.stdout.write(`changed the password of ${name}\n`);
  return EXIT_OK;
}

async function migrate(command: Command): Promise<number> {
  const config = loadOrThrow(command);
  await withRepository(config, () => Promise.resolve());
  process.stdout.write(`database is up to date (${describeDb(config)})\n`);
  return EXIT_OK;
}

function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  '),
    )
    .map((line) => `${line}\n`)
    .join('');
}

// ---------------------------------------------------------------------------------------------
// Command tree

function buildProgram(run: (action: () => Promise<number>) => Promise<void>): Command {
  const program = new Command('verbatim')
    .description('Verbatim: call recording server compatible with the Cisco MediaSense API')
    .version(readVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');

  const serveCommand = program
    .command('serve')
    .description(
      'run a node: SIP call control, media, storage, API, web UI, RTSP. ' +
        'Each option can also be set as the VERBATIM_* variable shown, or in the --config file; ' +
        'flags win over the environment, the environment over the file.',
    );
  for (const spec of CONFIG_OPTIONS) {
    if (spec.isFlag) {
      serveCommand.addOption(configOption(spec.name));
    }
  }
  serveCommand.addHelpText(
    'after',
    '\nOnly in the environment or the --config file (admin-password):\n' +
      '  VERBATIM_ADMIN_PASSWORD  password of user "admin", created on the first start with an empty\n' +
      '                           user table; without it a password is generated and printed once\n' +
      'Booleans in the environment: VERBATIM_NO_TLS=1 (or true/yes/on).\n' +
      'Exit codes: 0 stopped cleanly, 1 failed while running, 2 bad usage or configuration.',
  );
  serveCommand.action(() => run(() => serve(serveCommand)));

  const sharedOptions = (command: Command): Command =>
    command
      .addOption(configOption('config'))
      .addOption(configOption('data-dir'))
      .addOption(configOption('db'));

  const user = program.command('user').description('manage local users of the API and web UI');
  const add = sharedOptions(
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
  const list = sharedOptions(user.command('list').description('list users: name, role, created'));
  list.action(() => run(() => userList(list)));
  const passwd = sharedOptions(
    user
      .command('passwd')
      .description("change a user's password; without --password, asks twice or reads stdin")
      .argument('<name>', 'user name')
      .option('--password <P>', `at least ${MIN_PASSWORD_LENGTH} characters`),
  );
  passwd.action((name: string, options: { password?: string }) =>
    run(() => userPasswd(name, options, passwd)),
  );

  const migrateCommand = sharedOptions(
    program.command('migrate').description('apply database migrations (serve does it too)'),
  );
  migrateCommand.action(() => run(() => migrate(migrateCommand)));
  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const run = async (action: () => Promise<number>): Promise<void> => {
    try {
      exitCode = await action();
    } catch (error) {
      if (error instanceof UsageError) {
        for (const problem of error.problems) {
          process.stderr.write(`error: ${problem}\n`);
        }
        exitCode = EXIT_USAGE;
      } else if (error instanceof CommandFailure) {
        process.stderr.write(`error: ${error.message}\n`);
        exitCode = EXIT_FAILURE;
      } else {
        // Unexpected, yet still one line: a stack trace is no help to an operator.
        process.stderr.write(`error: ${messageOf(error).split('\n')[0] ?? ''}\n`);
        exitCode = EXIT_FAILURE;
      }
    }
  };
  try {
    await buildProgram(run).parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed the message (or the help, or the version).
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw error;
  }
  return exitCode;
}

const exitCode = await main(process.argv.slice(2));
// Explicit: a server's worker threads or a half-closed socket must not keep a finished command alive.
process.exit(exitCode);
