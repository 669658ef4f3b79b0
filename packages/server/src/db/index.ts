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
