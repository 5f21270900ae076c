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
  /**
   * Key column sets of unique indexes (primary key included; INCLUDE columns are not keys), without partial,
   * expression or invalid ones (a failed CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid index behind: it proves
   * nothing), and for a sink without DEFERRABLE ones.
   */
  uniqueKeys: string[][];
  /** A target's DEFERRABLE unique indexes (left out of uniqueKeys: ON CONFLICT refuses them), to name in its error. */
  deferrableKeys?: { columns: string[]; name: string | null }[];
  /** The child tables of a table with INHERITS children (a partitioned table's partitions are not listed). */
  inheritedBy?: string;
  /**
   * Each column's name, type oid and collation oid (JSON): what decides how its values compare, so answers
   * derived from it alone can be kept per database (exact-equality.ts).
   */
  shape: string;
}

/**
 * Columns (name, SQL type, NOT NULL) and unique keys of a table, from the catalog, in one round trip (a sync pays it
 * per run). The table is looked up by name (to_regclass: the latest catalog commit) and then read from pg_class with
 * the statement's snapshot, as its columns are: a table committed in between (shards creating the target at once)
 * is absent, never a table without columns.
 */
export async function describeTable(client: pg.Client, table: QualifiedName, role: 'source' | 'sink'): Promise<TableInfo | undefined> {
  const r = await client.query<{ columns: string; keys: string; shape: string; children: string | null }>(
    `SELECT (SELECT coalesce(json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull) ORDER BY a.attnum), '[]')
               FROM pg_attribute a
              WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)::text AS columns,
            (SELECT json_agg(json_build_array(a.attname, a.atttypid, a.attcollation) ORDER BY a.attnum)
               FROM pg_attribute a
              WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)::text AS shape,
            (SELECT coalesce(json_agg(json_build_array(k.cols, k.immediate, k.name)), '[]')
               FROM (SELECT array_agg(a.attname ORDER BY k.ord) AS cols, i.indimmediate AS immediate, (SELECT quote_ident(conname) FROM pg_constraint WHERE conindid = i.indexrelid AND conrelid = t.oid LIMIT 1) AS name
                       FROM pg_index i
                      CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                      WHERE i.indrelid = t.oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
                        AND k.ord <= i.indnkeyatts
                      GROUP BY i.indexrelid, i.indimmediate) k)::text AS keys,
            (SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.oid::regclass::text) FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
              WHERE h.inhparent = t.oid AND t.relkind = 'r') AS children
       FROM pg_class t
      WHERE t.oid = to_regclass($1::text)`,
    [quoteTable(table)],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const keys = JSON.parse(row.keys) as [string[], boolean, string | null][];
  // A DEFERRABLE unique constraint keeps committed rows unique (a source's keyset may rest on it), but ON CONFLICT
  // cannot use it ("ON CONFLICT does not support deferrable unique constraints"): a target's key needs another.
  const deferrable = keys.filter(([, immediate]) => !immediate).map(([cols, , name]) => ({ columns: cols, name }));
  return {
    columns: JSON.parse(row.columns) as ColumnSpec[],
    uniqueKeys: keys.filter(([, immediate]) => immediate || role === 'source').map(([cols]) => cols),
    ...(role === 'sink' && deferrable.length ? { deferrableKeys: deferrable } : {}),
    shape: row.shape ?? '[]',
    ...(row.children ? { inheritedBy: row.children } : {}),
  };
}

export async function requireTable(client: pg.Client, table: QualifiedName, role: 'source' | 'sink'): Promise<TableInfo> {
  const info = await describeTable(client, table, role);
  if (!info) throw new TableNotFoundError(`${table.schema}.${table.name}`, role);
  return info;
}
