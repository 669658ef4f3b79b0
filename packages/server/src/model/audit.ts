/**
 * One entry of the audit trail (DESIGN.md §1.3, docs/api.md "Audit trail"): who did what, when,
 * from where, and how it ended. Written for every sign-in (also a refused one), search, playback,
 * download, tag change, deletion, recording control, subscription and user change, also when the
 * caller's role was refused. Read through the API by admin and auditor users only.
 */
export interface AuditRecord {
  /** Assigned by the store, increasing; the paging key of getAuditRecords. */
  readonly id: number;
  /** Epoch milliseconds. */
  readonly at: number;
  /** The user who acted; for a refused sign-in, the name that was tried. */
  readonly username: string;
  /** The user's role at the time; absent when the user is unknown (a refused sign-in). */
  readonly role?: string;
  /** The API or action: a MediaSense API name (`addSessionTag`), `download:wav`, `user:add`, … */
  readonly action: string;
  /** What was acted on: a session id, a job id, a user name; absent when nothing in particular. */
  readonly target?: string;
  /** The response code the caller got (2000, 2001, 4022, …). */
  readonly outcome: number;
  /** The client address (IP) as the HTTP server saw it, or `cli` for the command line. */
  readonly source: string;
  /** Further facts as flat text values (a query summary, a tag name, a role change). */
  readonly detail?: Readonly<Record<string, string>>;
}

/** An audit record as written: the store assigns its id. */
export type NewAuditRecord = Omit<AuditRecord, 'id'>;

/** A filter over the audit trail; every field optional, newest first. */
export interface AuditQuery {
  readonly minTime?: number;
  readonly maxTime?: number;
  readonly username?: string;
  readonly action?: string;
  readonly target?: string;
  /** Only records with an id below this one: the next page after the last id seen. */
  readonly beforeId?: number;
  readonly limit: number;
}
