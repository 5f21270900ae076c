import type pg from 'pg';
import { ADD_SHARD_TOTALS, TAKE_SHARD_TOTALS } from './run-shard-counters';

export type RunStatus = 'completed' | 'partial' | 'failed' | 'cancelled' | 'skipped' | 'running';

/** Sets the run's status; shard counters not rolled up yet (a shard that died) join its row in the same statement. */
export async function finishRun(client: pg.Client, runId: string, status: RunStatus, error?: string): Promise<void> {
  await client.query(
    `WITH ${TAKE_SHARD_TOTALS}
     UPDATE tidemark.runs r SET status = $3::text, error = $4::text,
            finished_at = CASE WHEN $3::text = 'running' THEN NULL ELSE now() END, ${ADD_SHARD_TOTALS}
       FROM t WHERE r.run_id = $1::text`,
    [runId, null, status, error ?? null],
  );
}
