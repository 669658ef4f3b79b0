import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Config } from '../config/config.js';
import type { Repository } from '../db/repository.js';
import { CommandFailure, messageOf } from './command-errors.js';

/** The database as the offline commands (`user …`, `migrate`) open it: migrated, then closed. */

export async function withRepository<T>(
  config: Config,
  use: (repository: Repository) => Promise<T>,
): Promise<T> {
  if (config.db.kind === 'sqlite' && config.db.path !== ':memory:') {
    await mkdir(dirname(config.db.path), { recursive: true });
  }
  // Imported here, so a broken native module does not break --help.
  const { openRepository } = await import('../db/index.js');
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

/**
 * The database as `verbatim export` reads it: read-only, never created or migrated, so it can
 * run beside a node recording into the same file (SQLite WAL: readers never block the writer).
 */
export async function withReadOnlyRepository<T>(
  config: Config,
  use: (repository: Repository) => Promise<T>,
): Promise<T> {
  if (config.db.kind === 'sqlite') {
    try {
      await access(config.db.path);
    } catch {
      throw new CommandFailure(`no database at ${config.db.path} (is --data-dir, or --db, the node's?)`);
    }
  }
  const { openRepositoryReadOnly } = await import('../db/index.js');
  let repository: Repository;
  try {
    repository = await openRepositoryReadOnly(config.db);
  } catch (error) {
    throw new CommandFailure(`cannot open the database (${describeDb(config)}): ${messageOf(error)}`, {
      cause: error,
    });
  }
  try {
    return await use(repository);
  } finally {
    await repository.close();
  }
}

export function describeDb(config: Config): string {
  return config.db.kind === 'sqlite' ? `sqlite:${config.db.path}` : 'postgres';
}
