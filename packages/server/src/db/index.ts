import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { pino, type Logger } from 'pino';

import type { DatabaseConfig } from '../config/config.js';
import { DbError } from './errors.js';
import type { Repository } from './repository.js';
import { SqliteRepository } from './sqlite-repository.js';

export { DbError } from './errors.js';

/**
 * Opens the repository the configuration names. It does not migrate: `verbatim migrate` and
 * `serve` call `migrate()` on the result.
 */
export async function openRepository(
  db: DatabaseConfig,
  options: { readonly logger?: Logger } = {},
): Promise<Repository> {
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'db' });
  switch (db.kind) {
    case 'sqlite':
      if (db.path !== ':memory:') {
        await mkdir(dirname(resolve(db.path)), { recursive: true });
      }
      return SqliteRepository.open(db.path, logger);
    case 'postgres':
      // The URL is not repeated here: it may carry a password.
      throw new DbError(
        'VERBATIM_ERR_DB_UNSUPPORTED',
        'PostgreSQL support is not available yet: use a sqlite: database (--db sqlite:<file>) for now',
      );
  }
}

/**
 * Opens the configured database for reading only, without creating or migrating it (the offline
 * `verbatim export`, which may run beside a recording node). Fails with VERBATIM_ERR_DB_OUTDATED
 * when the database lacks migrations this build needs to read it.
 */
export async function openRepositoryReadOnly(
  db: DatabaseConfig,
  options: { readonly logger?: Logger } = {},
): Promise<Repository> {
  const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'db' });
  switch (db.kind) {
    case 'sqlite': {
      const repository = SqliteRepository.openReadOnly(db.path, logger);
      let pending: string[];
      try {
        pending = await repository.pendingMigrations();
      } catch (error) {
        await repository.close();
        throw error;
      }
      if (pending.length > 0) {
        await repository.close();
        throw new DbError(
          'VERBATIM_ERR_DB_OUTDATED',
          `the database lacks ${pending.length} migration(s) (${pending.join(', ')}): run verbatim migrate, or start verbatim serve once`,
        );
      }
      return repository;
    }
    case 'postgres':
      throw new DbError(
        'VERBATIM_ERR_DB_UNSUPPORTED',
        'PostgreSQL support is not available yet: use a sqlite: database (--db sqlite:<file>) for now',
      );
  }
}
