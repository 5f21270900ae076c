import { PermanentError } from '../../errors';
import type pg from 'pg';
import { quoteTable, type QualifiedName } from '../../config/identifiers';
import type { ColumnSpec } from '../source';

export class TableNotFoundError extends PermanentError {
  override readonly name = 'TableNotFoundError';
  constructor(
    readonly table: string,
    readonly role: 'source' | 'sink',
  ) {
    super(
      role === 'source'
        ? `source table ${table} does not exist (or is not visible to the connecting user): check source.table and source.url`
        : `sink table ${table} does not exist: create it, or set sink.create: true to create it from the source's columns`,
    );
  }
}

export interface TableInfo {
  columns: ColumnSpec[];
  /** Column sets of unique indexes (primary key included), without partial indexes. */
  uniqueKeys: string[][];
}

/** Columns (name, SQL type, NOT NULL) and unique keys of a table, from the catalog. */
export async function describeTable(client: pg.Client, table: QualifiedName, role: 'source' | 'sink'): Promise<TableInfo | undefined> {
  const rel = await client.query<{ oid: string | null }>('SELECT to_regclass($1::text)::oid::text AS oid', [quoteTable(table)]);
  const oid = rel.rows[0]?.oid;
  if (!oid) return undefined;
  void role;
  const cols = await client.query<{ name: string; type: string; not_null: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull::text AS not_null
       FROM pg_attribute a
      WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );
  const keys = await client.query<{ cols: string }>(
    `SELECT array_to_json(array_agg(a.attname ORDER BY k.ord))::text AS cols
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
      GROUP BY i.indexrelid`,
    [oid],
  );
  return {
    columns: cols.rows.map((c) => ({ name: c.name, type: c.type, notNull: c.not_null === 'true' })),
    uniqueKeys: keys.rows.map((k) => JSON.parse(k.cols) as string[]),
  };
}

export async function requireTable(client: pg.Client, table: QualifiedName, role: 'source' | 'sink'): Promise<TableInfo> {
  const info = await describeTable(client, table, role);
  if (!info) throw new TableNotFoundError(`${table.schema}.${table.name}`, role);
  return info;
}
