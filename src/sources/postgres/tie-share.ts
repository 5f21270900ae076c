import type pg from 'pg';
import { quoteIdent, quoteTable, type QualifiedName } from '../../config/identifiers';
import type { KeysetColumn } from '../../cursor/keyset-sql';

/** A tie group larger than this is not counted (the estimate stays the planner's): bounds the cost of one estimate. */
export const TIE_COUNT_CAP = 1_000_000;

/**
 * Rows whose first cursor column equals the bound's and whose other columns come after it (`after`) or not:
 *
 *   SELECT count(*) FROM (SELECT 1 FROM t WHERE c1 = $1::t1 AND (c2, …) > ($2::t2, …) LIMIT cap + 1) s
 *
 * The planner estimates a row comparison `(c1, c2) <= (x, y)` by its first column alone (`c1 <= x`: the whole group
 * tied at x), so a range ending inside a group of equal timestamps is counted with all of it, and the range after
 * it without any: a sharded backfill's total was 937,801 for 600,010 rows (an acceptance run). This is the share of
 * that group to move. Counted through the keyset index; undefined when the group holds more than TIE_COUNT_CAP rows.
 */
export async function tieShare(
  client: pg.Client,
  table: QualifiedName,
  keyset: readonly KeysetColumn[],
  bound: readonly string[],
  after: boolean,
  /** The run's high-water mark on the first column (exclusive), as in the estimate's range: a group at or past it is in neither. */
  upper: string | null,
): Promise<number | undefined> {
  const [first, ...rest] = keyset;
  if (!first || !rest.length) return 0;
  const values = [...bound, ...(upper !== null ? [upper] : [])];
  const cast = (i: number, c: KeysetColumn) => `$${i + 1}::${c.type}`;
  const others = `(${rest.map((c) => quoteIdent(c.name)).join(', ')}) ${after ? '>' : '<='} (${rest.map((c, i) => cast(i + 1, c)).join(', ')})`;
  const below = upper !== null ? ` AND ${quoteIdent(first.name)} < ${cast(bound.length, first)}` : '';
  const r = await client.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM (SELECT 1 FROM ${quoteTable(table)} WHERE ${quoteIdent(first.name)} = ${cast(0, first)} AND ${others}${below} LIMIT ${TIE_COUNT_CAP + 1}) s`,
    values,
  );
  const n = Number(r.rows[0]?.n ?? 0);
  return n > TIE_COUNT_CAP ? undefined : n;
}
