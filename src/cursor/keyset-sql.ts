import { quoteIdent, quoteTable, type QualifiedName } from '../config/identifiers';

/**
 * Keyset pagination SQL. For cursor [updated_at, id] on public.orders it generates:
 *
 *   SELECT "id", "updated_at", ... FROM "public"."orders"
 *   WHERE ("updated_at", "id") > ($1::timestamp with time zone, $2::bigint)   -- after the cursor (open)
 *     AND "updated_at" < $3::timestamp with time zone                         -- before the high-water mark (open)
 *   ORDER BY "updated_at", "id"
 *   LIMIT $4
 *
 * A shard of a sharded backfill also has an inclusive upper end (its neighbour starts strictly after it):
 *
 *   AND ("updated_at", "id") <= ($5::timestamp with time zone, $6::bigint)   -- the shard's last key (closed)
 *
 * A row comparison, not `a > $1 OR (a = $1 AND b > $2)`, so a btree index on (updated_at, id) serves
 * it directly. Rows with equal updated_at are ordered by id, which is unique: none missed, none repeated.
 * The first page omits the cursor predicate; the upper bound is present only when the run has one (the
 * high-water mark, "now - lag" on the first column's own clock: sources/postgres/naive-time.ts).
 * keysetRange() is the WHERE condition alone, for counting or estimating the same range.
 */
export interface KeysetColumn {
  name: string;
  /** SQL type as printed by format_type(), used for explicit parameter casts. */
  type: string;
  /** A domain's base type (format_type()): what decides whether the column has a clock (a high-water mark). */
  baseType?: string;
}

export interface KeysetQueryInput {
  table: QualifiedName;
  select: readonly string[];
  cursor: readonly KeysetColumn[];
  after: readonly string[] | null;
  /** Exclusive upper bound on the first cursor column (text), or null for none. */
  upper: string | null;
  /** Inclusive upper bound on the whole cursor (a shard's last key), or null/undefined for none. */
  until?: readonly string[] | null;
  /** Read a TABLESAMPLE SYSTEM of this percentage of the table's pages (shard planning). */
  sample?: number;
  /** Of the sampled pages' rows, keep each with this probability (more pages, as many keys: see split-range.ts). */
  keep?: number;
  limit: number;
  /**
   * Inline values as typed literals instead of $n parameters: COPY (SELECT …) TO STDOUT takes no
   * parameters. Literals are '…' with quotes doubled (the session sets standard_conforming_strings).
   */
  inline?: boolean;
}

export interface SqlQuery {
  text: string;
  values: (string | number)[];
}

export function keysetPageQuery(q: KeysetQueryInput): SqlQuery {
  const range = keysetRange(q);
  const values = [...range.values];
  const limit = q.inline ? String(Math.trunc(q.limit)) : `$${values.push(q.limit)}`;
  const text =
    `SELECT ${q.select.map(quoteIdent).join(', ')} FROM ${quoteTable(q.table)}` +
    (q.sample !== undefined ? ` TABLESAMPLE SYSTEM (${Number(q.sample).toFixed(6)})` : '') +
    where([range.text, ...(q.keep !== undefined && q.keep < 1 ? [`random() < ${Number(q.keep).toFixed(6)}`] : [])]) +
    ` ORDER BY ${q.cursor.map((c) => quoteIdent(c.name)).join(', ')} LIMIT ${limit}`;
  return { text, values };
}

const where = (conds: string[]) => {
  const real = conds.filter((c) => c !== 'true');
  return real.length > 1 ? ` WHERE ${real.map((c) => `(${c})`).join(' AND ')}` : real.length ? ` WHERE ${real[0]}` : '';
};

/**
 * The WHERE condition of a keyset read alone (cursor, high-water mark, shard end; `true` when none),
 * with its parameters: for counting or estimating the rows of the same range.
 */
export function keysetRange(q: Omit<KeysetQueryInput, 'select' | 'limit' | 'sample' | 'keep'>): SqlQuery {
  if (q.cursor.length === 0) throw new Error('keyset pagination needs at least one cursor column');
  const values: string[] = [];
  const param = (v: string, type: string) => {
    if (q.inline) return `${quoteLiteral(v)}::${type}`;
    values.push(v);
    return `$${values.length}::${type}`;
  };
  const cols = q.cursor.map((c) => quoteIdent(c.name));
  const where: string[] = [];
  if (q.after) {
    if (q.after.length !== q.cursor.length) throw new Error(`cursor has ${q.after.length} values for ${q.cursor.length} columns`);
    const params = q.cursor.map((c, i) => param(q.after![i] as string, c.type));
    where.push(q.cursor.length === 1 ? `${cols[0]} > ${params[0]}` : `(${cols.join(', ')}) > (${params.join(', ')})`);
  }
  const first = q.cursor[0] as KeysetColumn;
  // The mark in the base type: a domain's CHECK would refuse a mark outside it (a weekday domain on a Saturday: review).
  if (q.upper !== null) where.push(`${quoteIdent(first.name)} < ${param(q.upper, first.baseType ?? first.type)}`);
  if (q.until) {
    if (q.until.length !== q.cursor.length) throw new Error(`upper cursor has ${q.until.length} values for ${q.cursor.length} columns`);
    const params = q.cursor.map((c, i) => param(q.until![i] as string, c.type));
    where.push(q.cursor.length === 1 ? `${cols[0]} <= ${params[0]}` : `(${cols.join(', ')}) <= (${params.join(', ')})`);
  }
  return { text: where.length ? where.join(' AND ') : 'true', values };
}

/** `first >= lo AND first < upper AND first <= hi` (each when given): a composite keyset range's rows, roughly, for an estimate (ties at lo counted in). */
export function firstColumnRange(col: KeysetColumn, lo: string | undefined, upper: string | null, hi: string | undefined): SqlQuery {
  const values: string[] = [];
  const where: string[] = [];
  const add = (op: string, v: string, type = col.type) => where.push(`${quoteIdent(col.name)} ${op} $${values.push(v)}::${type}`);
  if (lo !== undefined) add('>=', lo);
  if (upper !== null) add('<', upper, col.baseType ?? col.type);
  if (hi !== undefined) add('<=', hi);
  return { text: where.length ? where.join(' AND ') : 'true', values };
}

export function quoteLiteral(v: string): string {
  if (v.includes('\0')) throw new Error('a cursor value cannot contain a NUL character');
  return `'${v.replace(/'/g, "''")}'`;
}

/** SQL comparing two cursors in the source's own types and collation: true when a > b. */
export function cursorGreaterQuery(cursor: readonly KeysetColumn[], a: readonly string[], b: readonly string[]): SqlQuery {
  const values: string[] = [...a, ...b];
  const row = (offset: number) => `ROW(${cursor.map((c, i) => `$${offset + i + 1}::${c.type}`).join(', ')})`;
  return { text: `SELECT (${row(0)} > ${row(cursor.length)})::text AS greater`, values };
}
