import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE, exitCodeOf } from './cli/command-errors.js';
import { registerDoctor } from './cli/doctor.js';
import { registerExport } from './cli/export.js';
import { registerMigrate } from './cli/migrate.js';
import { registerServe } from './cli/serve.js';
import { registerStorage } from './cli/storage.js';
import { registerSubscriptions } from './cli/subscriptions.js';
import { registerUser } from './cli/user.js';
import { registerVerify } from './cli/verify.js';
import { productVersion } from './version.js';

/**
 * The `verbatim` command line (DESIGN.md §1.1): commander wiring only. Each command lives in
 * cli/ (serve, user, migrate, subscriptions, export, doctor, verify, storage), exit codes and usage errors in cli/command-errors.ts. bin/verbatim.js
 * imports the compiled dist/main.js.
 */

async function main(argv: readonly string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const run = async (action: () => Promise<number>): Promise<void> => {
    exitCode = await exitCodeOf(action);
  };
  const program = new Command('verbatim')
    .description('Verbatim: call recording server compatible with the Cisco MediaSense API')
    .version(productVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  registerServe(program, run);
  registerUser(program, run);
  registerMigrate(program, run);
  registerSubscriptions(program, run);
  registerExport(program, run);
  registerDoctor(program, run);
  registerVerify(program, run);
  registerStorage(program, run);
  try {
    await program.parseAsync(argv, { from: 'user' });
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
