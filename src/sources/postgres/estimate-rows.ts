import type pg from 'pg';
import { quoteTable, type QualifiedName } from '../../config/identifiers';
import type { SqlQuery } from '../../cursor/keyset-sql';
import { planRows } from './explain';

/** Pages read by the block sample that sizes a never-analyzed table (about 0.8 MB). */
const SAMPLE_PAGES = 100;

export interface RowEstimate {
  /** rows in the whole table */
  table: number;
  /** rows matching `range` */
  range: number;
  /** the table's size now, in pages (summed over its partitions) */
  pages: number;
  /** `range` counted on a block sample (the range's own condition on real rows), not from the planner's statistics */
  sampled?: boolean;
}

/**
 * Rows in the table now, and in a range of it, without counting them.
 * - With statistics: their rows per page times the table's current size in pages (like the planner,
 *   so growth since the last ANALYZE counts); the range by the planner's selectivity.
 * - Without (`reltuples = -1`: never analyzed; or analyzed while empty, now not): a TABLESAMPLE SYSTEM
 *   block sample of about SAMPLE_PAGES pages, counting its rows and those in the range, scaled up
 *   (the planner's selectivities are blind guesses without statistics). Unknown never means "empty".
 */
export async function estimateRows(client: pg.Client, table: QualifiedName, range: SqlQuery = { text: 'true', values: [] }, opts: { sample?: boolean } = {}): Promise<RowEstimate> {
  const name = quoteTable(table);
  // Summed over the leaf partitions (a plain table is its own only leaf): a partitioned parent has no pages of its own.
  // The relations are listed first and sized after the join (OFFSET 0 keeps the size out of pg_class's scan):
  // a filter on pg_class with an OR over a subquery sized every relation of the database (38 ms on a bare one).
  const stats = await client.query<{ tuples: string; pages: string; now_pages: string; unknown: string }>(
    `WITH rel AS (SELECT to_regclass($1::text) AS oid UNION SELECT relid FROM pg_partition_tree(to_regclass($1::text)) WHERE isleaf)
     SELECT coalesce(sum(greatest(s.reltuples, 0)), 0)::float8::text AS tuples, coalesce(sum(s.relpages), 0)::text AS pages,
            coalesce(sum(s.size / current_setting('block_size')::int), 0)::text AS now_pages,
            coalesce(bool_or(s.reltuples < 0 OR s.relpages = 0), false)::text AS unknown
       FROM (SELECT c.reltuples, c.relpages, pg_relation_size(c.oid) AS size
               FROM rel JOIN pg_class c ON c.oid = rel.oid
              WHERE c.relkind <> 'p' OFFSET 0) s
      WHERE s.size > 0`,
    [name],
  );
  const row = stats.rows[0];
  const tuples = Number(row?.tuples ?? 0);
  const pages = Number(row?.pages ?? 0);
  const nowPages = Number(row?.now_pages ?? 0);
  const known = String(row?.unknown) === 'false' && tuples > 0 && pages > 0;
  if (nowPages === 0) return { table: 0, range: 0, pages: 0 };
  // `sample`: the caller knows the planner's figure for the range is wrong (a bounded count went past it).
  if (known && !opts.sample) {
    const all = Math.round((tuples / pages) * nowPages);
    if (range.text === 'true') return { table: all, range: all, pages: nowPages };
    const selectivity = (await planRows(client, `SELECT 1 FROM ${name} WHERE ${range.text}`, range.values)) / Math.max(await planRows(client, `SELECT 1 FROM ${name}`), 1);
    return { table: all, range: Math.round(Math.min(1, selectivity) * all), pages: nowPages };
  }
  const pct = Math.min(100, (SAMPLE_PAGES * 100) / nowPages);
  const sample = await client.query<{ n: string; r: string }>(
    `SELECT count(*)::text AS n, (count(*) FILTER (WHERE ${range.text}))::text AS r FROM ${name} TABLESAMPLE SYSTEM (${pct.toFixed(6)})`,
    range.values,
  );
  const seen = Number(sample.rows[0]?.n ?? 0);
  if (seen > 0 || pct >= 100) {
    const scale = 100 / pct;
    return { table: Math.round(seen * scale), range: Math.round(Number(sample.rows[0]?.r ?? 0) * scale), pages: nowPages, sampled: true };
  }
  // No row in the sampled pages (a sparse table): the planner's guesses from the size and row width.
  return { table: await planRows(client, `SELECT 1 FROM ${name}`), range: await planRows(client, `SELECT 1 FROM ${name} WHERE ${range.text}`, range.values), pages: nowPages };
}
