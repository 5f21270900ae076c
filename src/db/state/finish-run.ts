import type pg from 'pg';

export type RunStatus = 'completed' | 'partial' | 'failed' | 'cancelled' | 'skipped' | 'running';

export async function finishRun(client: pg.Client, runId: string, status: RunStatus, error?: string): Promise<void> {
  await client.query(
    `UPDATE tidemark.runs SET status = $2::text, error = $3::text,
            finished_at = CASE WHEN $2::text = 'running' THEN NULL ELSE now() END
      WHERE run_id = $1::text`,
    [runId, status, error ?? null],
  );
}
