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

/**
 * A sync that ended without recording it (cancelled or failed while the state database was down, its worker gone for
 * good) leaves its row running. A later sync holds the integration's lock, so no other sync writes: earlier sync
 * rows still running are closed as failed, naming it. A retried attempt of such a sync (Temporal still retrying it)
 * reopens its row when it starts (startRun).
 */
export async function abandonSyncRuns(client: pg.Client, integration: string, successor: string): Promise<number> {
  const r = await client.query(
    `UPDATE tidemark.runs SET status = 'failed', finished_at = now(),
            error = coalesce(error || '; ', '') || 'ended without recording how (cancelled or failed while the state database could not be reached, or its worker gone); a later sync ran: ' || $2::text
      WHERE integration = $1::text AND status = 'running' AND kind = 'sync' AND run_id <> $2::text`,
    [integration, successor],
  );
  return r.rowCount ?? 0;
}
