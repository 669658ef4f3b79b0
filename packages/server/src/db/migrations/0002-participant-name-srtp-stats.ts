import type { Kysely } from 'kysely';

/**
 * Issue 4: a participant's display name (SIPREC `<name>`, a Verbatim extension of the MediaSense
 * participant) and a track's count of SRTP packets that failed authentication (dropped, never
 * written as audio). Both are additive, so existing rows stay valid.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('participants').addColumn('name', 'text').execute();
  await db.schema
    .alterTable('tracks')
    .addColumn('stat_srtp_auth_failures', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tracks').dropColumn('stat_srtp_auth_failures').execute();
  await db.schema.alterTable('participants').dropColumn('name').execute();
}
