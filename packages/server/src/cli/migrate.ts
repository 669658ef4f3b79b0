import type { Command } from 'commander';
import { EXIT_OK, type RunAction } from './command-errors.js';
import { addDatabaseOptions, loadOrThrow } from './config-options.js';
import { describeDb, withRepository } from './database.js';

/** `verbatim migrate`: applies the database migrations (serve does it too). */

export function registerMigrate(program: Command, run: RunAction): void {
  const migrateCommand = addDatabaseOptions(
    program.command('migrate').description('apply database migrations (serve does it too)'),
  );
  migrateCommand.action(() => run(() => migrate(migrateCommand)));
}

async function migrate(command: Command): Promise<number> {
  const config = loadOrThrow(command);
  await withRepository(config, () => Promise.resolve());
  process.stdout.write(`database is up to date (${describeDb(config)})\n`);
  return EXIT_OK;
}
