import type { Kysely } from 'kysely';

/**
 * Issue 4: the identifiers a call controller gives for a call (RFC 7989 Session-ID, the SIPREC
 * recording session and group ids, vendor ids such as an Avaya UCID), kept with the session as a
 * JSON object of strings so that a recording can be matched with the controller's own records.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('correlation', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('correlation').execute();
}
