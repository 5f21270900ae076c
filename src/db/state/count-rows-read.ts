import type pg from 'pg';

/** Outside the batch transaction, so rows read but lost to a crash still show up (rows_read - rows_committed). */
export async function countRowsRead(client: pg.Client, runId: string, rows: number): Promise<void> {
  await client.query('UPDATE tidemark.runs SET rows_read = rows_read + $2::bigint WHERE run_id = $1::text', [runId, rows]);
}
