import type pg from 'pg';

/**
 * A sharded run's row counts the highest attempt of any of its activities: a shard retried (its worker killed)
 * shows on the run as an unsharded run's retry does, not as a run of one attempt.
 */
export async function noteShardAttempt(client: pg.Client, runId: string, attempt: number): Promise<void> {
  if (attempt <= 1) return;
  await client.query(`UPDATE tidemark.runs SET attempts = greatest(attempts, $2::int) WHERE run_id = $1::text`, [runId, attempt]);
}
