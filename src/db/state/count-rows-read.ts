import type pg from 'pg';

/**
 * Corrects rows_read outside a page's transaction (a page that failed to commit, a page read ahead that
 * was never written): on the run's row, or on a shard's own row. Pages count their rows read in their
 * own transaction (recordPage); this runs only when an attempt stops.
 */
export async function addRowsRead(client: pg.Client, runId: string, rows: number, shard?: number): Promise<void> {
  if (shard === undefined) {
    await client.query('UPDATE tidemark.runs SET rows_read = rows_read + $2::bigint WHERE run_id = $1::text', [runId, rows]);
    return;
  }
  await client.query(
    `INSERT INTO tidemark.run_shards AS s (run_id, shard, rows_read) VALUES ($1::text, $3::int, $2::bigint)
     ON CONFLICT (run_id, shard) DO UPDATE SET rows_read = s.rows_read + EXCLUDED.rows_read, updated_at = now()`,
    [runId, rows, shard],
  );
}

/** The run's row only (kept for callers outside the page loop). */
export async function countRowsRead(client: pg.Client, runId: string, rows: number): Promise<void> {
  await addRowsRead(client, runId, rows);
}
