import type pg from 'pg';
import { PermanentError } from '../errors';
import { MIGRATIONS } from './migrations';

// A fixed advisory-lock key: every tidemark process migrating the same database queues on it,
// so concurrent workers starting at once apply each migration exactly once.
const MIGRATION_LOCK_KEY = '7461646d61726b01';

/**
 * Brings schema `tidemark` up to date; safe to call concurrently and repeatedly. Runs at the start of
 * every run (one small query when nothing is pending), so no process caches stale state.
 */
export async function migrate(client: pg.Client): Promise<number> {
  if (await upToDate(client)) return 0;
  await requireUtf8(client);
  let count = 0;
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(('x' || $1::text)::bit(64)::bigint)`, [MIGRATION_LOCK_KEY]);
    // Only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema is there (acceptance
    // L: a role a DBA gave its own pre-made schema `tidemark` could never migrate).
    await client.query("DO $$BEGIN IF to_regnamespace('tidemark') IS NULL THEN CREATE SCHEMA IF NOT EXISTS tidemark; END IF; END$$");
    await client.query(
      'CREATE TABLE IF NOT EXISTS tidemark.migrations (id int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = await client.query<{ id: string | number }>('SELECT id FROM tidemark.migrations');
    const have = new Set(done.rows.map((r) => Number(r.id)));
    for (const m of MIGRATIONS) {
      if (have.has(m.id)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO tidemark.migrations (id, name) VALUES ($1::int, $2::text)', [m.id, m.name]);
      count++;
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if ((err as { code?: unknown }).code === '42501') throw StatePrivilegeError.of(client, err as Error);
    throw err;
  }
  return count;
}

/**
 * The state database's role may not create schema `tidemark` or its tables: the message names the role, the
 * database and the two ways to fix it (PostgreSQL's own said only "permission denied for database sink").
 */
export class StatePrivilegeError extends PermanentError {
  override readonly name = 'StatePrivilegeError';
  static of(client: pg.Client, cause: Error): StatePrivilegeError {
    const [user, db] = [client.user ?? '<role>', client.database ?? '<database>'];
    const state = `tidemark keeps its state in schema tidemark of the state database (${db}), and its role ${user}`;
    // A migration altering a table another role made (an administrator migrated first), or a schema the role may not use.
    const fix = /must be owner/i.test(cause.message)
      ? `may not alter tidemark's tables (${cause.message}): run tidemark once as the role that owns them to migrate, or make ${user} their owner (ALTER TABLE tidemark.<table> OWNER TO ${user}, or ALTER SCHEMA tidemark OWNER TO ${user} for a new schema)`
      : /for schema/i.test(cause.message)
        ? `may not use or create in schema tidemark (${cause.message}): GRANT USAGE, CREATE ON SCHEMA tidemark TO ${user}`
        : `may not create it or its tables (${cause.message}): GRANT CREATE ON DATABASE ${db} TO ${user} (tidemark then makes and owns the schema), or have an administrator make it for the role: CREATE SCHEMA tidemark AUTHORIZATION ${user}`;
    return new StatePrivilegeError(`${state} ${fix}`, { cause });
  }
}

/**
 * Every migration applied, seen without the lock in one round trip (a sync pays this per run; the locked
 * path costs six). Migrations only ever add rows, so a complete list cannot become incomplete.
 */
async function upToDate(client: pg.Client): Promise<boolean> {
  try {
    // As text: tidemark's sessions take every value as text (src/pg/connect.ts).
    const r = await client.query<{ ok: string | null }>('SELECT (array_agg(id) @> $1::int[])::text AS ok FROM tidemark.migrations', [MIGRATIONS.map((m) => m.id)]);
    return r.rows[0]?.ok === 'true';
  } catch (err) {
    // No schema or table yet (a new database): the locked path creates them.
    if (['3F000', '42P01'].includes(String((err as { code?: unknown }).code))) return false;
    throw err;
  }
}

/** The state database is not UTF8: its runs, warnings and dead letters (records as the source sent them) hold any text. */
export class StateEncodingError extends PermanentError {
  override readonly name = 'StateEncodingError';
  constructor(
    readonly database: string,
    readonly encoding: string,
  ) {
    super(`tidemark keeps its state (schema tidemark: runs, checkpoints, warnings, dead letters with the source's records) in the sink's database, which must use the UTF8 encoding: database "${database}" uses ${encoding}. Point the sink (or DATABASE_URL) at a UTF8 database; a source in any encoding is fine`);
  }
}

/** Before the first migration: a database in another encoding would fail later, on the first message it cannot hold. */
async function requireUtf8(client: pg.Client): Promise<void> {
  const r = await client.query<{ db: string; enc: string }>('SELECT current_database() AS db, pg_encoding_to_char(encoding) AS enc FROM pg_database WHERE datname = current_database()');
  const row = r.rows[0];
  // SQL_ASCII stores bytes as they come: UTF-8 text survives it.
  if (row && row.enc !== 'UTF8' && row.enc !== 'SQL_ASCII') throw new StateEncodingError(row.db, row.enc);
}
