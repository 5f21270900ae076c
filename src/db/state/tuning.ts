import type pg from 'pg';

export interface Tuning {
  batchSize?: number;
  rowsPerSecond?: number;
}

/** Written by the workflow's 'tune' signal (through an activity); a value left out keeps the previous one. */
export async function setTuning(client: pg.Client, runKey: string, integration: string, t: Tuning): Promise<void> {
  await client.query(
    `INSERT INTO tidemark.tuning AS t (run_key, integration, batch_size, rows_per_second) VALUES ($1::text, $2::text, $3::int, $4::float8)
     ON CONFLICT (run_key) DO UPDATE SET batch_size = coalesce(EXCLUDED.batch_size, t.batch_size),
       rows_per_second = coalesce(EXCLUDED.rows_per_second, t.rows_per_second), updated_at = now()`,
    [runKey, integration, t.batchSize ?? null, t.rowsPerSecond ?? null],
  );
}

export async function readTuning(client: pg.Client, runKey: string): Promise<Tuning | undefined> {
  const r = await client.query<{ b: string | null; r: string | null }>(
    'SELECT batch_size::text AS b, rows_per_second::text AS r FROM tidemark.tuning WHERE run_key = $1::text',
    [runKey],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  return { ...(row.b !== null ? { batchSize: Number(row.b) } : {}), ...(row.r !== null ? { rowsPerSecond: Number(row.r) } : {}) };
}
