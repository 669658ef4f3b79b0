import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { envNameOf, CONFIG_OPTION_NAMES, optionSpec } from '../config/options.js';
import { callsAllowedBy, FDS_PER_AUDIO_CALL, parseOpenFilesLimit } from '../media/fd-budget.js';
import { CommandFailure, EXIT_FAILURE, EXIT_OK, type RunAction } from './command-errors.js';
import { configOption, loadOrThrow } from './config-options.js';
import { createLogger } from './logger.js';

/**
 * `verbatim serve`: builds the app from the configuration, starts it, and closes it on SIGTERM or
 * SIGINT. The server is imported only here, so `--help` and validation errors stay fast and work
 * even when a native module is broken.
 */

/** How long `app.close()` may take after SIGTERM before the process exits anyway. */
const CLOSE_GUARD_MS = 10_000;

export function registerServe(program: Command, run: RunAction): void {
  const serveCommand = program
    .command('serve')
    .description(
      'run a node: SIP call control, media, storage, API, web UI, RTSP. ' +
        'Each option can also be set as the VERBATIM_* variable shown, or in the --config file; ' +
        'flags win over the environment, the environment over the file.',
    );
  const withoutFlag: string[] = [];
  for (const name of CONFIG_OPTION_NAMES) {
    if (optionSpec(name).isFlag) {
      serveCommand.addOption(configOption(name));
    } else {
      withoutFlag.push(`  ${envNameOf(name)}  ${optionSpec(name).description.replaceAll('`', '')}`);
    }
  }
  serveCommand.addHelpText(
    'after',
    '\nOnly in the environment or the --config file (a secret on a command line shows in `ps`):\n' +
      withoutFlag.join('\n') +
      '\nBooleans in the environment: VERBATIM_NO_TLS=1 (or true/yes/on).\n' +
      'Exit codes: 0 stopped cleanly, 1 failed while running, 2 bad usage or configuration.',
  );
  serveCommand.action(() => run(() => serve(serveCommand)));
}

async function serve(command: Command): Promise<number> {
  const config = loadOrThrow(command);
  const logger = await createLogger(config);
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(EXIT_FAILURE);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled promise rejection');
    process.exit(EXIT_FAILURE);
  });

  let app: { start(): Promise<unknown>; close(): Promise<void> } | undefined;
  const ready = (async (): Promise<void> => {
    const { buildApp } = await import('../app.js');
    app = await buildApp(config, { logger });
    await app.start();
  })();
  // The handlers are in place before the start is done (nothing above waited): the API may answer,
  // and a supervisor send SIGTERM, before start() returns; the signal then closes cleanly once the
  // start is done. A start that fails is reported below, which closes what was started.
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    logger.info({ signal }, 'signal received: shutting down');
    void ready.then(
      async () => {
        if (app !== undefined) {
          resolveExit(await closeWithGuard(app, logger));
        }
      },
      () => undefined,
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await ready;
    await logOpenFilesLimit(config, logger);
  } catch (error) {
    logger.debug({ err: error }, 'start failed');
    if (app !== undefined) {
      await closeWithGuard(app, logger);
    }
    throw new CommandFailure(describeStartError(error, config), { cause: error });
  }
  return exited;
}

/**
 * Says at start how many calls the open-file limit allows (issue 13 point 3). Node itself raises
 * its soft RLIMIT_NOFILE to the hard limit when it starts (PlatformInit in node.cc; Node has no
 * setrlimit to do more), so the limit read here is already the highest this process may have: only
 * the hard limit (LimitNOFILE=, ulimit -Hn) can give more.
 */
async function logOpenFilesLimit(config: Config, logger: Logger): Promise<void> {
  let text: string;
  try {
    text = await readFile('/proc/self/limits', 'utf8');
  } catch {
    logger.debug('no /proc/self/limits: the open-file limit is not known');
    return;
  }
  const limit = parseOpenFilesLimit(text);
  if (limit === undefined) {
    return;
  }
  const callsAllowed = callsAllowedBy(limit.soft);
  const fields = {
    openFilesSoft: Number.isFinite(limit.soft) ? limit.soft : 'unlimited',
    openFilesHard: Number.isFinite(limit.hard) ? limit.hard : 'unlimited',
    fdsPerCall: FDS_PER_AUDIO_CALL,
    callsAllowed: Number.isFinite(callsAllowed) ? callsAllowed : 'unlimited',
    maxSessions: config.maxSessions,
  };
  if (callsAllowed < config.maxSessions) {
    logger.warn(
      fields,
      `the open-file limit allows ${callsAllowed} concurrent calls, fewer than --max-sessions: raise LimitNOFILE= (verbatim doctor)`,
    );
  } else {
    logger.info(fields, `the open-file limit allows ${String(fields.callsAllowed)} concurrent calls`);
  }
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
