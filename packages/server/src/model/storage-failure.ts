/**
 * Telling the disk's failures apart (issue 13, full disks and I/O errors): a write that failed
 * because the disk is full or failing is worth retrying once it recovers; any other is not.
 * Shared by the recording domain's session writer and the event outbox, which both retry such
 * writes rather than lose them.
 */

/** The `code` of an error (errno or SQLite's), if it has one. */
export function errorCodeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/**
 * Whether a database error is the disk's (space or I/O), so that the write is worth retrying once
 * the disk recovers: SQLite's SQLITE_FULL, SQLITE_IOERR (and its extended codes), SQLITE_READONLY
 * (a remount read-only) and SQLITE_CANTOPEN (its journal cannot be created), or an errno of the
 * same kind. Constraint violations and other logic errors are not: retrying cannot help them.
 */
export function isStorageFailure(error: unknown): boolean {
  const code = errorCodeOf(error);
  if (code === undefined) {
    return false;
  }
  return (
    code === 'SQLITE_FULL' ||
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    ['ENOSPC', 'EDQUOT', 'EIO', 'EROFS'].includes(code)
  );
}
