import { userInfo } from 'node:os';
import type { NewAuditRecord } from '../model/audit.js';

/** What the offline commands (`user …`, `subscriptions …`) share: audit records and tables. */

/**
 * The audit record of a change made on the node's command line: the same action names as the
 * API's, the operating-system account as who, `cli` as where.
 */
export function cliAuditRecord(
  action: string,
  target: string,
  detail: Record<string, string>,
): NewAuditRecord {
  return { at: Date.now(), username: osUserName(), action, target, outcome: 2000, source: 'cli', detail };
}

function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for the uid (some containers).
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** Columns padded to their widest cell, the last one unpadded; one line a row. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  '),
    )
    .map((line) => `${line}\n`)
    .join('');
}
