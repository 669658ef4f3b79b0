import type { Logger } from 'pino';

import type { Repository } from '../db/repository.js';
import type { NewAuditRecord } from '../model/audit.js';

/** An audit record as the API hands it over: the trail stamps the time. */
export type AuditEntry = Omit<NewAuditRecord, 'at' | 'role' | 'target' | 'detail'> & {
  readonly role?: string | undefined;
  readonly target?: string | undefined;
  readonly detail?: Readonly<Record<string, string>> | undefined;
};

/**
 * Writes the audit trail (model/audit.ts) through the repository. A record is written before the
 * answer leaves, so what a client was told happened is on record. A failed write is logged as an
 * error and counted, but does not fail the request: the action itself has happened by then.
 */
export class AuditTrail {
  readonly #repository: Repository;
  readonly #log: Logger;
  readonly #now: () => number;
  #failures = 0;

  constructor(repository: Repository, logger: Logger, now: () => number) {
    this.#repository = repository;
    this.#log = logger.child({ component: 'audit' });
    this.#now = now;
  }

  async record(entry: AuditEntry): Promise<void> {
    const record: NewAuditRecord = {
      at: this.#now(),
      username: entry.username,
      action: entry.action,
      outcome: entry.outcome,
      source: entry.source,
      ...(entry.role === undefined ? {} : { role: entry.role }),
      ...(entry.target === undefined ? {} : { target: entry.target }),
      ...(entry.detail === undefined || Object.keys(entry.detail).length === 0
        ? {}
        : { detail: entry.detail }),
    };
    try {
      await this.#repository.appendAudit(record);
    } catch (error) {
      this.#failures += 1;
      this.#log.error(
        { err: error, action: record.action, username: record.username },
        'audit record not written',
      );
    }
  }

  /** Records that could not be written since start (shown in /metrics). */
  get failures(): number {
    return this.#failures;
  }
}
