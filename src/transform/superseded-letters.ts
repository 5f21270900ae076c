import type pg from 'pg';
import { isHttpSink, isPostgresSink, type SinkConfig } from '../config/sink-schema';
import { quoteIdent, quoteTable, splitTableName } from '../config/identifiers';
import { RecordDecoder } from '../sinks/http/record-values';
import { recordKeyOf } from '../sinks/http/delivery-keys';
import type { ColumnSpec } from '../sources/source';

/** Rows a retry would write, with the letters they come from (several rows may share one letter). */
export interface LetterRows {
  columns: ColumnSpec[];
  ids: string[];
  rows: (string | null)[][];
}

/**
 * Which rows of `b` a later write of the same key made stale: the key's row in the target table (postgres sink)
 * or in the delivery ledger (http sink) was written by a transaction after the one that made the letter
 * (`created_txid`, migration 014). Applying them would put an older version over a newer one (found by an
 * acceptance run: a letter retried after a sync had written the record's next version). Compared by age, as
 * PostgreSQL compares transaction ids: exact for the last two billion transactions. Letters made before the
 * migration, keys not among the rows' columns, and custom sinks (no ledger) give none.
 */
export async function supersededRows(
  db: pg.Client,
  integration: string,
  sink: SinkConfig,
  b: LetterRows,
  /** The source's cursor columns (a PostgreSQL table's), to order a letter and a row a table rewrite left without history. */
  cursor?: readonly string[],
): Promise<Set<number>> {
  if (!b.rows.length) return new Set();
  const lettersAndIndexes = [b.ids, b.rows.map((_, i) => i)];
  // Guards: a row so old its xid age wrapped (negative), or a letter whose txid this cluster has not reached (a
  // restored dump), never supersedes; the letter is then applied, as before migration 014.
  const newer = (t: string) =>
    `d.created_txid IS NOT NULL AND d.created_txid < txid_snapshot_xmax(txid_current_snapshot())
     AND age(${t}.xmin) >= 0 AND age(${t}.xmin) < age((d.created_txid % 4294967296)::text::xid)`;
  if (isPostgresSink(sink)) {
    const at = keyPositions(sink.key, b.columns);
    if (!at) return new Set();
    const table = quoteTable(splitTableName(sink.table));
    const types = await keyTypes(db, table, sink.key);
    if (!types) return new Set();
    const keyArrays = at.map((i) => b.rows.map((r) => r[i] ?? null));
    const cols = sink.key.map((_, j) => `k${j}`);
    // A row whose xmin is a transaction that changed the table's definition was rewritten by it (ALTER TABLE … TYPE
    // gives every row that xmin), maybe after a sync wrote it, maybe not: its xmin says nothing of the letter's age (an
    // acceptance run widened a column for a refused value, and --retry called its letter superseded). Such a row is
    // newer only when its cursor columns, where the letter's record has them too, are past the record's (the review:
    // a sync between the letter and the rewrite wrote the key's next version); without them, the letter is applied.
    const cursorAt = cursor ? keyPositions(cursor, b.columns) : undefined;
    const cursorTypes = cursor && cursorAt ? await keyTypes(db, table, cursor) : undefined;
    const byCursor = cursor && cursorAt && cursorTypes ? { names: cursor, at: cursorAt, types: cursorTypes } : undefined;
    // Parameters: letters, indexes, the key's columns, the cursor's (when known), then the table.
    const lcols = [...cols, ...(byCursor?.types.map((_, j) => `c${j}`) ?? [])];
    const arrays = [...keyArrays, ...(byCursor?.at.map((i) => b.rows.map((row) => row[i] ?? null)) ?? [])];
    const tableParam = `$${arrays.length + 3}::text`;
    const rewritten = `t.xmin::text = ANY(ARRAY(SELECT xmin::text FROM pg_class WHERE oid = to_regclass(${tableParam})
                                   UNION ALL SELECT xmin::text FROM pg_attribute WHERE attrelid = to_regclass(${tableParam})))`;
    const later = byCursor ? `ROW(${byCursor.names.map((c) => `t.${quoteIdent(c)}`).join(', ')}) > ROW(${byCursor.types.map((ty, j) => `l.c${j}::${ty}`).join(', ')})` : 'false';
    const r = await db.query<{ i: string }>(
      `SELECT l.i::text FROM unnest($1::bigint[], $2::int[], ${lcols.map((_, j) => `$${j + 3}::text[]`).join(', ')}) AS l(letter, i, ${lcols.join(', ')})
         JOIN tidemark.dead_letters d ON d.id = l.letter
         JOIN ${table} t ON ${sink.key.map((k, j) => `t.${quoteIdent(k)} = l.k${j}::${types[j]}`).join(' AND ')}
        WHERE ${newer('t')} AND (NOT ${rewritten} OR ${later})`,
      [...lettersAndIndexes, ...arrays, table],
    );
    return new Set(r.rows.map((x) => Number(x.i)));
  }
  if (!isHttpSink(sink)) return new Set();
  const keys = rowKeys(sink, b) as string[];
  const r = await db.query<{ i: string }>(
    `SELECT l.i::text FROM unnest($2::bigint[], $3::int[], $4::text[]) AS l(letter, i, record_key)
       JOIN tidemark.dead_letters d ON d.id = l.letter
       JOIN tidemark.deliveries v ON v.integration = $1::text AND v.record_key = l.record_key
      WHERE ${newer('v')}`,
    [integration, ...lettersAndIndexes, keys],
  );
  return new Set(r.rows.map((x) => Number(x.i)));
}

/** The key columns' types as SQL (format_type), in key order; undefined when the table or a column is gone. */
async function keyTypes(db: pg.Client, table: string, key: readonly string[]): Promise<string[] | undefined> {
  const r = await db.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a WHERE a.attrelid = to_regclass($1::text) AND a.attname = ANY($2::text[]) AND NOT a.attisdropped`,
    [table, key],
  );
  const byName = new Map(r.rows.map((x) => [x.name, x.type]));
  const types = key.map((k) => byName.get(k));
  return types.every((t) => t !== undefined) ? (types as string[]) : undefined;
}

/**
 * Each row's key as text (a postgres sink's key columns, an http sink's record key), to tell rows of one key
 * apart; undefined where it cannot be known (a key column missing, a custom sink).
 */
export function rowKeys(sink: SinkConfig, b: LetterRows): (string | undefined)[] {
  if (isPostgresSink(sink)) {
    const at = keyPositions(sink.key, b.columns);
    return b.rows.map((r) => (at ? JSON.stringify(at.map((i) => r[i] ?? null)) : undefined));
  }
  if (!isHttpSink(sink)) return b.rows.map(() => undefined);
  const decoder = new RecordDecoder(b.columns);
  return b.rows.map((row) => recordKeyOf(decoder.decode(row), sink.key));
}

/** Where each key column is among the rows' columns; undefined when one is not there. */
function keyPositions(key: readonly string[], columns: readonly ColumnSpec[]): number[] | undefined {
  const at = key.map((k) => columns.findIndex((c) => c.name === k));
  return at.some((i) => i < 0) ? undefined : at;
}
