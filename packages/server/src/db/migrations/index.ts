import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Logger } from 'pino';

import { DbError } from '../errors.js';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-participant-name-srtp-stats.js';
import * as m0003 from './0003-session-correlation.js';
import * as m0004 from './0004-track-kernel-drops.js';
import * as m0005 from './0005-track-unstored.js';
import * as m0006 from './0006-jobs.js';
import * as m0007 from './0007-session-pruned.js';
import * as m0008 from './0008-audit-log.js';
import * as m0009 from './0009-track-paused.js';
import * as m0010 from './0010-event-subscriptions.js';
import * as m0011 from './0011-agent-intervals.js';
import * as m0012 from './0012-user-digest-ha1.js';
import * as m0013 from './0013-storage-policy.js';
import * as m0015 from './0015-track-digest.js';
import * as m0016 from './0016-recording-health.js';
import * as m0017 from './0017-session-close-reason.js';
import * as m0018 from './0018-storage-samples.js';
import * as m0019 from './0019-trusted-peers-node-activity.js';
import * as m0020 from './0020-session-duration-index.js';
import * as m0021 from './0021-shared-secrets.js';

/**
 * Every migration, by name. Names sort in application order. They are imported modules rather
 * than files found by a glob at run time, so the same list works from src/ under tsx and from
 * dist/ after the build.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001-initial': m0001,
  '0002-participant-name-srtp-stats': m0002,
  '0003-session-correlation': m0003,
  '0004-track-kernel-drops': m0004,
  '0005-track-unstored': m0005,
  '0006-jobs': m0006,
  '0007-session-pruned': m0007,
  '0008-audit-log': m0008,
  '0009-track-paused': m0009,
  '0010-event-subscriptions': m0010,
  '0011-agent-intervals': m0011,
  '0012-user-digest-ha1': m0012,
  '0013-storage-policy': m0013,
  '0015-track-digest': m0015,
  '0016-recording-health': m0016,
  '0017-session-close-reason': m0017,
  '0018-storage-samples': m0018,
  '0019-trusted-peers-node-activity': m0019,
  '0020-session-duration-index': m0020,
  '0021-shared-secrets': m0021,
};

class InCodeMigrationProvider implements MigrationProvider {
  getMigrations(): Promise<Record<string, Migration>> {
    return Promise.resolve({ ...MIGRATIONS });
  }
}

/**
 * The names of the migrations this build knows that the database has not applied. Reads only
 * (Kysely's getMigrations creates no table), so it suits a read-only connection.
 */
export async function pendingMigrations(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new InCodeMigrationProvider() });
  const all = await migrator.getMigrations();
  return all.filter((migration) => migration.executedAt === undefined).map((m) => m.name);
}

/** Applies every pending migration; a second call finds none and changes nothing. */
export async function migrateToLatest(db: Kysely<unknown>, logger: Logger): Promise<void> {
  // Migrations are numbered when a change is begun, and parallel changes may land in another
  // order than their numbers: a database that has 0008 must still take a later-landed 0007.
  const migrator = new Migrator({
    db,
    provider: new InCodeMigrationProvider(),
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  for (const result of results ?? []) {
    if (result.status === 'Success') {
      logger.info({ migration: result.migrationName }, 'database migration applied');
    } else if (result.status === 'Error') {
      logger.error({ migration: result.migrationName }, 'database migration failed');
    }
  }
  if (error !== undefined) {
    throw new DbError('VERBATIM_ERR_DB_MIGRATION', 'database migration failed', { cause: error });
  }
}
