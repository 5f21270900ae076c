import type pg from 'pg';
import type { ColumnSpec } from '../sources/source';
import { SinkSetupError } from './sink-errors';

/**
 * Checks that every column's type exists in the sink database before tidemark creates or alters the
 * target with it. Built-in types always do; an enum, domain or composite type of a source in another
 * database has to be created in the sink database first, and the error says so.
 */
export async function requireTypesInTarget(client: pg.Client, columns: readonly ColumnSpec[], field: string): Promise<void> {
  if (!columns.length) return;
  let rows: Array<{ name: string; type: string }>;
  try {
    const r = await client.query<{ name: string; type: string }>(
      'SELECT x.name, x.type FROM unnest($1::text[], $2::text[]) AS x(name, type) WHERE to_regtype(x.type) IS NULL',
      [columns.map((c) => c.name), columns.map((c) => c.type)],
    );
    rows = r.rows;
  } catch {
    return; // a type name to_regtype cannot parse: CREATE/ALTER TABLE reports it itself
  }
  if (!rows.length) return;
  const list = rows.map((r) => `"${r.name}" (${r.type})`).join(', ');
  throw new SinkSetupError(
    field,
    `the sink database has no type for column(s) ${list}: a type named in source.columns (an API's or a file's) may be misspelt; ` +
      `a type of a PostgreSQL source must be created there with the same definition as in the source ` +
      `(CREATE TYPE … AS ENUM (…) for an enum, CREATE DOMAIN … for a domain, CREATE TYPE … AS (…) for a composite; ` +
      `pg_dump --schema-only on the source database prints them), then run again`,
  );
}
