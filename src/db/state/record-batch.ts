import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';

/** Inside the batch transaction: the run's counters move with the data. */
export async function recordBatch(client: pg.Client, runId: string, rows: number, written: number, cursor: Cursor, rejected = 0): Promise<void> {
  await client.query(
    `UPDATE tidemark.runs SET rows_committed = rows_committed + $2::bigint, rows_written = rows_written + $3::bigint,
            pages = pages + 1, end_cursor = $4::jsonb, rows_rejected = rows_rejected + $5::bigint
      WHERE run_id = $1::text`,
    [runId, rows, written, JSON.stringify(cursor), rejected],
  );
}
