import type pg from 'pg';

/**
 * `t`: the totals of the run's shard rows that a statement deletes (all of them, or shard $2), for
 * adding to tidemark.runs in the same statement: rows move from run_shards to runs atomically.
 */
function takeShardTotals(condition = ''): string {
  return `d AS (DELETE FROM tidemark.run_shards WHERE run_id = $1::text AND ($2::int IS NULL OR shard = $2::int) ${condition} RETURNING *),
t AS (SELECT count(*) AS n, coalesce(sum(rows_read), 0) AS r, coalesce(sum(rows_committed), 0) AS c, coalesce(sum(rows_written), 0) AS w,
             coalesce(sum(rows_rejected), 0) AS j, coalesce(sum(pages), 0) AS p,
             (array_agg(end_cursor ORDER BY updated_at DESC) FILTER (WHERE end_cursor IS NOT NULL))[1] AS e
        FROM d)`;
}

export const TAKE_SHARD_TOTALS = takeShardTotals();

/** SET list adding `t` (above) to a tidemark.runs row aliased `r`. */
export const ADD_SHARD_TOTALS = `rows_read = r.rows_read + t.r, rows_committed = r.rows_committed + t.c, rows_written = r.rows_written + t.w,
       rows_rejected = r.rows_rejected + t.j, pages = r.pages + t.p, end_cursor = coalesce(t.e, r.end_cursor)`;

/**
 * Moves a shard's counters into its run's row (about once a second while it runs, and when it stops), so
 * readers of tidemark.runs itself are at most a moment behind; readRun / listRuns add the rest.
 * `whenFree`: skip (try again later) while another shard or reader holds the run's row, rather than wait.
 */
export async function rollUpShardCounters(client: pg.Client, runId: string, shard: number, opts: { whenFree?: boolean } = {}): Promise<void> {
  const free = opts.whenFree ? 'AND EXISTS (SELECT 1 FROM tidemark.runs WHERE run_id = $1::text FOR UPDATE SKIP LOCKED)' : '';
  await client.query(`WITH ${takeShardTotals(free)} UPDATE tidemark.runs r SET ${ADD_SHARD_TOTALS} FROM t WHERE r.run_id = $1::text AND t.n > 0`, [runId, shard]);
}

/** Columns of tidemark.runs `r` plus its shards' rows not rolled up yet (a lateral `s` of sums; see listRuns). */
export const SHARD_SUMS = `LEFT JOIN LATERAL (
  SELECT sum(rows_read) AS rows_read, sum(rows_committed) AS rows_committed, sum(rows_written) AS rows_written,
         sum(rows_rejected) AS rows_rejected, sum(pages) AS pages,
         (array_agg(end_cursor ORDER BY updated_at DESC) FILTER (WHERE end_cursor IS NOT NULL))[1] AS end_cursor
    FROM tidemark.run_shards WHERE run_id = r.run_id) s ON true`;
