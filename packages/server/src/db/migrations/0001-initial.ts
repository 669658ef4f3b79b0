import type { Kysely } from 'kysely';

/**
 * The first schema: sessions with their tracks, participants and tags, and local users.
 *
 * Every statement goes through Kysely's schema builder with types both SQLite and PostgreSQL know
 * (`bigint` for epoch milliseconds, `double precision` for jitter), so the cluster work can run the
 * same migration on PostgreSQL. The indexes follow what getSessions filters and sorts on: the
 * mandatory sessionStartDate window and its sort (`start_ms, session_id`, which is also the keyset
 * for stable paging), state within a window, ccid, and the child-table fields reached through
 * EXISTS subqueries, each ending in session_id so the subquery is answered from the index alone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('session_id', 'text', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('start_ms', 'bigint', (c) => c.notNull())
    .addColumn('duration_ms', 'bigint')
    .addColumn('end_ms', 'bigint')
    .addColumn('controller_ip', 'text', (c) => c.notNull())
    .addColumn('controller_type', 'text', (c) => c.notNull())
    .addColumn('ccid', 'text', (c) => c.notNull())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('sessions_start_idx')
    .on('sessions')
    .columns(['start_ms', 'session_id'])
    .execute();
  await db.schema
    .createIndex('sessions_state_start_idx')
    .on('sessions')
    .columns(['state', 'start_ms'])
    .execute();
  await db.schema.createIndex('sessions_ccid_idx').on('sessions').column('ccid').execute();

  await db.schema
    .createTable('tracks')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.session_id').onDelete('cascade'))
    .addColumn('track_number', 'integer', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('codec', 'text', (c) => c.notNull())
    .addColumn('payload_type', 'integer', (c) => c.notNull())
    .addColumn('clock_rate_hz', 'integer', (c) => c.notNull())
    .addColumn('start_ms', 'bigint', (c) => c.notNull())
    .addColumn('duration_ms', 'bigint')
    .addColumn('media_path', 'text', (c) => c.notNull())
    .addColumn('stat_packets', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('stat_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('stat_lost', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('stat_duplicated', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('stat_reordered', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('stat_jitter_ms', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('stat_dropped', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('stat_first_packet_ms', 'bigint')
    .addColumn('stat_last_packet_ms', 'bigint')
    .addPrimaryKeyConstraint('tracks_pk', ['session_id', 'track_number'])
    .execute();

  await db.schema
    .createTable('participants')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('track_number', 'integer', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('device_ref', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text')
    .addColumn('xref_ci', 'text')
    .addColumn('is_conference', 'integer', (c) => c.notNull())
    .addColumn('start_ms', 'bigint', (c) => c.notNull())
    .addColumn('duration_ms', 'bigint')
    .addPrimaryKeyConstraint('participants_pk', ['session_id', 'track_number', 'position'])
    .addForeignKeyConstraint(
      'participants_track_fk',
      ['session_id', 'track_number'],
      'tracks',
      ['session_id', 'track_number'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('participants_device_ref_idx')
    .on('participants')
    .columns(['device_ref', 'session_id'])
    .execute();
  await db.schema
    .createIndex('participants_xref_ci_idx')
    .on('participants')
    .columns(['xref_ci', 'session_id'])
    .execute();

  await db.schema
    .createTable('tags')
    .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.session_id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('track_number', 'integer')
    .addColumn('tag_track_number', 'integer')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_lower', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('create_ms', 'bigint', (c) => c.notNull())
    .addColumn('offset_ms', 'bigint')
    .addPrimaryKeyConstraint('tags_pk', ['session_id', 'seq'])
    // A NULL track_number (a session tag) is not checked, as SQL's MATCH SIMPLE rule says.
    .addForeignKeyConstraint(
      'tags_track_fk',
      ['session_id', 'track_number'],
      'tracks',
      ['session_id', 'track_number'],
      (fk) => fk.onDelete('cascade'),
    )
    .execute();
  await db.schema
    .createIndex('tags_name_lower_idx')
    .on('tags')
    .columns(['name_lower', 'session_id'])
    .execute();

  await db.schema
    .createTable('users')
    .addColumn('username', 'text', (c) => c.primaryKey())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_ms', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['users', 'tags', 'participants', 'tracks', 'sessions']) {
    await db.schema.dropTable(table).execute();
  }
}
