import { VerbatimError } from '../model/errors.js';

/** Error codes of the database layer (listed in docs/errors.md). */
export type DbErrorCode =
  /** The session, track or user named by a write does not exist. */
  | 'VERBATIM_ERR_DB_NOT_FOUND'
  /** A session id, track number or user name that already exists. */
  | 'VERBATIM_ERR_DB_CONFLICT'
  /** A query condition whose operator or values do not fit its field. */
  | 'VERBATIM_ERR_DB_QUERY_INVALID'
  /** A migration failed; the database is left at the last migration that succeeded. */
  | 'VERBATIM_ERR_DB_MIGRATION'
  /** A database opened read-only lacks migrations this build needs (run `verbatim migrate`). */
  | 'VERBATIM_ERR_DB_OUTDATED'
  /** The configured database kind (PostgreSQL) is not supported by this version. */
  | 'VERBATIM_ERR_DB_UNSUPPORTED'
  /** The repository was used after close(). */
  | 'VERBATIM_ERR_DB_CLOSED';

/** A failure of the repository that callers can act on by its code. */
export class DbError extends VerbatimError<DbErrorCode> {}
