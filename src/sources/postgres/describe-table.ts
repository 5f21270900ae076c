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

/** A target's unique indexes that cannot serve an upsert, and its partition key. */
export interface KeyNotes {
  /** DEFERRABLE ones (left out of uniqueKeys): ON CONFLICT refuses them, even beside a plain one on the same columns. */
  deferrable: { columns: string[]; constraint: string | null; primary: boolean }[];
  /** Partial, expression or invalid ones: they prove nothing about every row. */
  unusable: { columns: string[]; index: string; why: 'invalid' | 'partial' | 'expression' }[];
  /** A partitioned table's partition key columns: its unique indexes must include them. */
  partitionKey?: string[];
}

export interface TableInfo {
  columns: ColumnSpec[];
  /**
   * Key column sets of unique indexes (primary key included; INCLUDE columns are not keys), without partial,
   * expression or invalid ones (a failed CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid index behind: it proves
   * nothing), and for a sink without DEFERRABLE ones.
   */
  uniqueKeys: string[][];
  /** A target's: what its error names when no unique index serves `sink.key` (see keyIndexMissing). */
  keyNotes?: KeyNotes;
  /** The child tables of a table with INHERITS children (a partitioned table's partitions are not listed). */
  inheritedBy?: string;
  /**
   * Each column's name, type oid and collation oid (JSON): what decides how its values compare, so answers
   * derived from it alone can be kept per database (exact-equality.ts).
   */
  shape: string;
  /** A partitioned source's partition key columns (its unique indexes must include them). */
  partitionKey?: string[];
  /** Columns with a nondeterministic collation (values unequal in bytes compare equal). */
  nondeterministic?: string[];
  /** Domain columns' base types (format_type()), by column name. */
  baseTypes: Record<string, string>;
  /** A source's unique indexes left out of uniqueKeys: a key column's nondeterministic collation is not the index's. */
  looseKeys?: { columns: string[]; index: string; loose: string[] }[];
}

/**
 * Columns (name, SQL type, NOT NULL) and unique keys of a table, from the catalog, in one round trip (a sync pays it
 * per run). The table is looked up by name (to_regclass: the latest catalog commit) and then read from pg_class with
 * the statement's snapshot, as its columns are: a table committed in between (shards creating the target at once)
 * is absent, never a table without columns.
 */
export async function describeTable(client: pg.Client, table: QualifiedName, role: 'source' | 'sink'): Promise<TableInfo | undefined> {
  const r = await client.query<{ columns: string; keys: string; shape: string; children: string | null; partition_key: string | null; bases: string; loose: string | null }>(
    `SELECT (SELECT coalesce(json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod), 'notNull', a.attnotnull) ORDER BY a.attnum), '[]')
               FROM pg_attribute a
              WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)::text AS columns,
            -- A domain's base type, through domains over domains: a domain over timestamptz has its clock.
            (SELECT coalesce(json_object_agg(a.attname, (
                      WITH RECURSIVE d(typ, typmod, depth) AS (
                        SELECT y.typbasetype, y.typtypmod, 1 FROM pg_type y WHERE y.oid = a.atttypid
                        UNION ALL SELECT y.typbasetype, y.typtypmod, d.depth + 1 FROM d JOIN pg_type y ON y.oid = d.typ WHERE y.typtype = 'd')
                      SELECT format_type(d.typ, d.typmod) FROM d ORDER BY d.depth DESC LIMIT 1)), '{}')
               FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
              WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped AND ty.typtype = 'd')::text AS bases,
            (SELECT array_to_json(array_agg(a.attname::text ORDER BY a.attnum))::text FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation
              WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped AND NOT co.collisdeterministic) AS loose,
            (SELECT json_agg(json_build_array(a.attname, a.atttypid, a.attcollation) ORDER BY a.attnum)
               FROM pg_attribute a
              WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)::text AS shape,
            (SELECT coalesce(json_agg(k), '[]')
               FROM (SELECT i.indimmediate AS immediate, i.indexrelid::regclass::text AS index,
                            -- An expression position by its text (lower(email)): such a set never equals a key of plain columns.
                            (SELECT array_agg(coalesce(a.attname::text, pg_get_indexdef(i.indexrelid, k.ord::int, true)) ORDER BY k.ord)
                               FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                               LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                              WHERE k.ord <= i.indnkeyatts) AS cols,
                            CASE WHEN NOT i.indisvalid THEN 'invalid' WHEN i.indpred IS NOT NULL THEN 'partial' WHEN i.indexprs IS NOT NULL THEN 'expression' END AS why,
                            -- Key columns whose own collation is nondeterministic (values unequal in bytes compare
                            -- equal) but the index's is another: unique there, not in the column's comparison.
                            (SELECT array_agg(a.attname::text ORDER BY k.ord)
                               FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                               JOIN pg_collation co ON co.oid = a.attcollation
                              WHERE k.ord <= i.indnkeyatts AND NOT co.collisdeterministic AND i.indcollation[k.ord - 1] <> a.attcollation) AS loose,
                            (SELECT quote_ident(conname) FROM pg_constraint WHERE conindid = i.indexrelid AND conrelid = t.oid LIMIT 1) AS constraint,
                            EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid AND conrelid = t.oid AND contype = 'p') AS primary
                       FROM pg_index i
                      WHERE i.indrelid = t.oid AND i.indisunique) k)::text AS keys,
            (SELECT array_to_json(array_agg(a.attname ORDER BY k.ord))::text FROM pg_partitioned_table p
              CROSS JOIN LATERAL unnest(p.partattrs) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = k.attnum
              WHERE p.partrelid = t.oid) AS partition_key,
            (SELECT string_agg(c.oid::regclass::text, ', ' ORDER BY c.oid::regclass::text) FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
              WHERE h.inhparent = t.oid AND t.relkind = 'r') AS children
       FROM pg_class t
      WHERE t.oid = to_regclass($1::text)`,
    [quoteTable(table)],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  type Index = { cols: string[]; immediate: boolean; index: string; why: 'invalid' | 'partial' | 'expression' | null; constraint: string | null; primary: boolean; loose: string[] | null };
  const keys = JSON.parse(row.keys) as Index[];
  // A DEFERRABLE unique constraint keeps committed rows unique (a source's keyset may rest on it), but ON CONFLICT
  // cannot use it ("ON CONFLICT does not support deferrable unique constraints"): a target's key needs another.
  // A source's keyset compares by the columns' collations: an index unique under another proves nothing there
  // (an acceptance run: 8 of 32 rows read, 'ax' and 'AX' one value to the keyset, two to the index).
  const usable = keys.filter((k) => !k.why && (k.immediate || role === 'source') && !(role === 'source' && k.loose));
  const partitionKey = row.partition_key ? (JSON.parse(row.partition_key) as string[]) : undefined;
  const keyNotes: KeyNotes = {
    deferrable: keys.filter((k) => !k.why && !k.immediate).map((k) => ({ columns: k.cols, constraint: k.constraint, primary: k.primary })),
    unusable: keys.filter((k) => k.why).map((k) => ({ columns: k.cols, index: k.index, why: k.why as 'invalid' | 'partial' | 'expression' })),
    ...(partitionKey ? { partitionKey } : {}),
  };
  return {
    columns: JSON.parse(row.columns) as ColumnSpec[],
    uniqueKeys: usable.map((k) => k.cols),
    ...(role === 'sink' ? { keyNotes } : {}),
    ...(role === 'source' && partitionKey ? { partitionKey } : {}),
    shape: row.shape ?? '[]',
    baseTypes: JSON.parse(row.bases) as Record<string, string>,
    ...(row.loose ? { nondeterministic: JSON.parse(row.loose) as string[] } : {}),
    ...(role === 'source' && keys.some((k) => k.loose) ? { looseKeys: keys.filter((k) => !k.why && k.loose).map((k) => ({ columns: k.cols, index: k.index, loose: k.loose as string[] })) } : {}),
    ...(row.children ? { inheritedBy: row.children } : {}),
  };
}

export async function requireTable(client: pg.Client, table: QualifiedName, role: 'source' | 'sink'): Promise<TableInfo> {
  const info = await describeTable(client, table, role);
  if (!info) throw new TableNotFoundError(`${table.schema}.${table.name}`, role);
  return info;
}
