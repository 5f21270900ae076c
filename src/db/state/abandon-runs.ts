import type pg from 'pg';

/**
 * Closes as failed the integration's earlier rows of `kinds` still marked running, naming the run that took over.
 * The caller holds the integration's lock, so none of them is writing: a terminated or timed-out backfill (closed by a
 * resume), a sync that ended without recording it (cancelled or failed while the state database was down, its worker
 * gone; closed by the next sync). A retried attempt of such a run reopens its row when it starts (startRun).
 */
async function abandonRuns(client: pg.Client, integration: string, successor: string, kinds: readonly string[], why: string): Promise<number> {
  const r = await client.query(
    `UPDATE tidemark.runs SET status = 'failed', finished_at = now(), error = coalesce(error || '; ', '') || $4::text || $2::text
      WHERE integration = $1::text AND status = 'running' AND kind = ANY($3::text[]) AND run_id <> $2::text`,
    [integration, successor, kinds, why],
  );
  return r.rowCount ?? 0;
}

export function abandonBackfillRuns(client: pg.Client, integration: string, successor: string): Promise<number> {
  return abandonRuns(client, integration, successor, ['backfill', 'resume'], 'abandoned (workflow terminated, timed out or failed); continued by ');
}

export function abandonSyncRuns(client: pg.Client, integration: string, successor: string): Promise<number> {
  return abandonRuns(client, integration, successor, ['sync'], 'ended without recording how (cancelled or failed while the state database could not be reached, or its worker gone); a later sync ran: ');
}
