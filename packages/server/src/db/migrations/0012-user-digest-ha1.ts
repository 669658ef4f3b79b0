import type { Kysely } from 'kysely';

/**
 * Issue 12: RTSP Digest authentication (RFC 2617/7616 with MD5, which MediaSense 9.1+ clients,
 * ffmpeg and GStreamer use) needs a secret the server can check a Digest response against, and an
 * scrypt hash is not one. The column holds HA1 = MD5(username:realm:password) for the RTSP realm,
 * written whenever a password is set or proved (sign-in, HTTP Basic, RTSP Basic). A user whose
 * password was set before has none until then: Digest fails for them, Basic and tokens work.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('digest_ha1', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('digest_ha1').execute();
}
