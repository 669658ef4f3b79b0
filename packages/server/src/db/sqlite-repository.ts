import BetterSqlite3 from 'better-sqlite3';
import {
  Kysely,
  SqliteDialect,
  SqliteDriver,
  sql,
  type DatabaseConnection,
  type Driver,
  type SqlBool,
  type SqliteDialectConfig,
} from 'kysely';
import type { Logger } from 'pino';

import { KyselyRepository, type ConstraintViolation } from './kysely-repository.js';
import type { Database } from './schema.js';
import type { TextMatchDialect } from './session-query.js';

/** How long a statement waits for another process's write lock before it fails with SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * SQLite's case-sensitive text matches. LIKE ignores ASCII case in SQLite (and its
 * case_sensitive_like pragma is deprecated), so contains uses instr() and startsWith uses GLOB,
 * which is case-sensitive and still lets the planner use an index for a literal prefix.
 */
export const SQLITE_TEXT_MATCH: TextMatchDialect = {
  contains: (column, needle) => sql<SqlBool>`instr(${column}, ${needle}) > 0`,
  startsWith: (column, prefix) => sql<SqlBool>`${column} glob ${`${globLiteral(prefix)}*`}`,
};

/** Escapes a literal for a GLOB pattern: each wildcard character becomes a one-character set. */
export function globLiteral(text: string): string {
  return text.replace(/[*?[]/g, (ch) => `[${ch}]`);
}

/** The repository of a single node: one SQLite file in WAL mode, reached through better-sqlite3. */
export class SqliteRepository extends KyselyRepository {
  readonly #sqlite: BetterSqlite3.Database;

  constructor(sqlite: BetterSqlite3.Database, logger: Logger) {
    super(
      new Kysely<Database>({
        dialect: new FailureSafeSqliteDialect({ database: withStatementCache(sqlite) }, sqlite, logger),
      }),
      SQLITE_TEXT_MATCH,
      logger,
    );
    this.#sqlite = sqlite;
  }

  /** Opens (or creates) the file at `path` with the pragmas every connection needs. */
  static open(path: string, logger: Logger): SqliteRepository {
    const sqlite = new BetterSqlite3(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    try {
      // WAL lets the API read while the recorder writes. With WAL, synchronous=NORMAL loses no
      // committed transaction when the process is killed, only (at most) the last ones on power loss,
      // and saves an fsync per commit at call-setup rates (https://sqlite.org/wal.html#performance).
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      sqlite.pragma('foreign_keys = ON');
      // Keep the planner's statistics current without a full ANALYZE of a large database at start
      // (https://sqlite.org/lang_analyze.html#autoanalyze).
      sqlite.pragma('analysis_limit = 1000');
      sqlite.pragma('optimize = 0x10002');
    } catch (error: unknown) {
      sqlite.close();
      throw error;
    }
    logger.debug({ path }, 'sqlite database opened');
    return new SqliteRepository(sqlite, logger);
  }

  /**
   * Opens an existing file for reading only (the offline `verbatim export`), so a node recording
   * into it meanwhile is never disturbed: no pragma that writes (journal mode, optimize), no
   * migration, and SQLite refuses any write on this connection. WAL readers never block the
   * writer (https://sqlite.org/wal.html#concurrency).
   */
  static openReadOnly(path: string, logger: Logger): SqliteRepository {
    const sqlite = new BetterSqlite3(path, {
      readonly: true,
      fileMustExist: true,
      timeout: SQLITE_BUSY_TIMEOUT_MS,
    });
    logger.debug({ path }, 'sqlite database opened read-only');
    return new SqliteRepository(sqlite, logger);
  }

  protected override constraintViolation(error: unknown): ConstraintViolation | undefined {
    if (!(error instanceof BetterSqlite3.SqliteError)) {
      return undefined;
    }
    switch (error.code) {
      case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      case 'SQLITE_CONSTRAINT_UNIQUE':
        return 'unique';
      case 'SQLITE_CONSTRAINT_FOREIGNKEY':
        return 'foreign-key';
      default:
        return undefined;
    }
  }

  protected override beforeClose(): Promise<void> {
    // Records statistics the planner learned from this connection's queries (a write: not on a
    // read-only connection).
    if (!this.#sqlite.readonly) {
      try {
        this.#sqlite.pragma('optimize');
      } catch (error: unknown) {
        // Statistics only: a full or failing disk must not make the shutdown fail.
        this.logger.warn({ err: error }, 'could not record the query planner statistics at close');
      }
    }
    return Promise.resolve();
  }
}

/**
 * SQLite's dialect with transactions that survive a failing disk. When a statement fails with
 * SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM or SQLITE_BUSY, SQLite may already have rolled the whole
 * transaction back by itself (https://sqlite.org/lang_transaction.html, "Response To Errors Within
 * A Transaction"). Kysely then sends its own ROLLBACK, which fails with "cannot rollback - no
 * transaction is active", and throws that error instead of the cause: the caller saw SQLITE_ERROR
 * where it needed SQLITE_FULL to know that the write is worth retrying once space returns (issue
 * 13, reproduced on a full tmpfs). Here ROLLBACK is sent only while a transaction is open, a
 * ROLLBACK that fails is logged rather than thrown (the cause is what the caller must see), and a
 * transaction left open by such a failure is rolled back before the next one begins, so that the
 * connection, the node's only one, never stays unusable.
 */
class FailureSafeSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #sqlite: BetterSqlite3.Database;
  readonly #logger: Logger;

  constructor(config: SqliteDialectConfig, sqlite: BetterSqlite3.Database, logger: Logger) {
    super(config);
    this.#config = config;
    this.#sqlite = sqlite;
    this.#logger = logger;
  }

  override createDriver(): Driver {
    return new FailureSafeSqliteDriver(this.#config, this.#sqlite, this.#logger);
  }
}

class FailureSafeSqliteDriver extends SqliteDriver {
  readonly #sqlite: BetterSqlite3.Database;
  readonly #logger: Logger;

  constructor(config: SqliteDialectConfig, sqlite: BetterSqlite3.Database, logger: Logger) {
    super(config);
    this.#sqlite = sqlite;
    this.#logger = logger;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#sqlite.inTransaction) {
      // A transaction whose ROLLBACK failed earlier (its caller was told it failed): end it now.
      this.#logger.warn('rolling back a transaction a failed write left open');
      await super.rollbackTransaction(connection);
    }
    await super.beginTransaction(connection);
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (!this.#sqlite.inTransaction) {
      return; // SQLite already rolled it back after the error.
    }
    try {
      await super.rollbackTransaction(connection);
    } catch (error: unknown) {
      this.#logger.error(
        { err: error },
        'rollback after a failed write failed; retried before the next write',
      );
    }
  }
}

/** Prepared statements kept per connection; the recorder issues a few dozen distinct statements. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * Kysely's SQLite driver prepares every statement anew, and preparing costs as much as running a
 * small write (a call-setup profile showed 0.6 s of prepare per 1 s of execution). This wrapper
 * keeps prepared statements by SQL text, least recently used out first. better-sqlite3 is
 * synchronous and the repository never iterates a statement lazily, so a cached statement is
 * never busy when it is reused.
 */
function withStatementCache(sqlite: BetterSqlite3.Database): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (source: string): BetterSqlite3.Statement => {
    const cached = cache.get(source);
    if (cached !== undefined) {
      // Map keeps insertion order: re-inserting marks the statement most recently used.
      cache.delete(source);
      cache.set(source, cached);
      return cached;
    }
    const statement = sqlite.prepare(source);
    cache.set(source, statement);
    if (cache.size > STATEMENT_CACHE_SIZE) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) {
        cache.delete(oldest);
      }
    }
    return statement;
  };
  return new Proxy(sqlite, {
    get(target, property) {
      if (property === 'prepare') {
        return prepare;
      }
      // Native getters (open, inTransaction) need the real database as `this`.
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
