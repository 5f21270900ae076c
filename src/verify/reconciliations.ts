import type pg from 'pg';

/** State of delete reconciliations (table tidemark.reconciliations, migration 005). */

/** True when no reconciliation of `integration` completed in the last `everyMs` (database time). */
export async function reconciliationDue(db: pg.Client, integration: string, everyMs: number): Promise<boolean> {
  const r = await db.query<{ due: string }>(
    `SELECT coalesce(now() - max(started_at) >= $2::bigint * interval '1 millisecond', true)::text AS due
       FROM tidemark.reconciliations WHERE integration = $1::text AND status = 'completed'`,
    [integration, everyMs],
  );
  return r.rows[0]?.due === 'true';
}

export async function startReconciliation(db: pg.Client, integration: string, runKey: string | null): Promise<string> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO tidemark.reconciliations (integration, run_key, status) VALUES ($1::text, $2::text, 'running') RETURNING id::text`,
    [integration, runKey],
  );
  return (r.rows[0] as { id: string }).id;
}

/** Called in the transaction of each delete batch, so the count never disagrees with what was committed. */
export async function recordDeletes(tx: pg.Client, id: string, runKey: string | null, rows: number): Promise<void> {
  await tx.query(`UPDATE tidemark.reconciliations SET rows_deleted = rows_deleted + $2::bigint WHERE id = $1::bigint`, [id, rows]);
  if (runKey !== null) await tx.query(`UPDATE tidemark.runs SET rows_deleted = rows_deleted + $2::bigint WHERE run_id = $1::text`, [runKey, rows]);
}

export async function finishReconciliation(
  db: pg.Client,
  id: string,
  status: 'completed' | 'refused' | 'failed',
  counts: { rangesCompared: number; rowsMissing: number },
  error?: string,
): Promise<void> {
  await db.query(
    `UPDATE tidemark.reconciliations SET status = $2::text, finished_at = now(), ranges_compared = $3::int, rows_missing = $4::bigint, error = $5::text
      WHERE id = $1::bigint`,
    [id, status, counts.rangesCompared, counts.rowsMissing, error ?? null],
  );
}
