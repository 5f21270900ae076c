import type pg from 'pg';

/**
 * A terminated or timed-out backfill never gets to finish its run row. When a resume takes over
 * (holding the integration lock, so nothing else is writing), earlier backfill rows still marked
 * running are closed as failed, naming the run that continued them.
 */
export async function abandonBackfillRuns(client: pg.Client, integration: string, successor: string): Promise<number> {
  const r = await client.query(
    `UPDATE tidemark.runs SET status = 'failed', finished_at = now(),
            error = coalesce(error || '; ', '') || 'abandoned (workflow terminated, timed out or failed); continued by ' || $2::text
      WHERE integration = $1::text AND status = 'running' AND kind IN ('backfill', 'resume') AND run_id <> $2::text`,
    [integration, successor],
  );
  return r.rowCount ?? 0;
}
