import type pg from 'pg';
import { ADD_SHARD_TOTALS, TAKE_SHARD_TOTALS } from './run-shard-counters';
import type { Cursor } from '../../cursor/cursor';
import type { RunKind } from './start-run';

export type RunStatus = 'completed' | 'partial' | 'failed' | 'cancelled' | 'skipped' | 'running';

/** Sets the run's status; shard counters not rolled up yet (a shard that died) join its row in the same statement. */
export async function finishRun(client: pg.Client, runId: string, status: RunStatus, error?: string): Promise<{ warnings: string[]; rejected: number }> {
  // Its warnings and records refused come back for the run's result (`--wait` prints them).
  const r = await client.query<{ warnings: string | null; rejected: string | null }>(
    `WITH ${TAKE_SHARD_TOTALS}
     UPDATE tidemark.runs r SET status = $3::text, error = $4::text,
            finished_at = CASE WHEN $3::text = 'running' THEN NULL ELSE now() END, ${ADD_SHARD_TOTALS}
       FROM t WHERE r.run_id = $1::text AND NOT ${cancelledByWorkflow('r')}
     RETURNING to_json(r.warnings)::text AS warnings, r.rows_rejected::text AS rejected`,
    [runId, null, status, error ?? null],
  );
  const warnings = r.rows[0]?.warnings;
  return { warnings: warnings ? (JSON.parse(warnings) as string[]) : [], rejected: Number(r.rows[0]?.rejected ?? 0) };
}

/**
 * A row its workflow recorded cancelled (markRunCancelled): final. An activity still finishing after that (a plan,
 * which the workflow does not wait for) changes nothing. A row an attempt marked cancelled itself (its heartbeat
 * timed out, it was paused or reset: Temporal retries it) is not this: the retry starts it again.
 */
export function cancelledByWorkflow(alias: string): string {
  return `(${alias}.status = 'cancelled' AND (${alias}.error LIKE 'cancelled while waiting to retry%' OR ${alias}.error LIKE 'cancelled before its first page%'))`;
}

/**
 * A run cancelled while no activity of it ran (waiting to retry after a failure): nothing recorded the cancel, so the
 * workflow does (recordCancelled). Only a row still `running`: one the activity finished keeps its own outcome.
 * With `started` (the run's integration and kind): a run with no row yet (cancelled during its plan or its wait for
 * writers, or after attempts that could not reach the state database) gets one, `cancelled`, so `runs` shows it and a
 * plan finishing after the cancel writes nothing (startRun). `started.at` (ms): when its workflow run started, the
 * row's start (not the cancel's time: acceptance L).
 */
export async function markRunCancelled(client: pg.Client, runId: string, started?: { integration: string; kind: RunKind; at?: number }): Promise<void> {
  // Shard counters not rolled up yet stay in run_shards, where readers of the run add them.
  const retrying = `'cancelled while waiting to retry' || coalesce(' after: ' || tidemark.runs.error, '')`;
  if (!started) {
    await client.query(`UPDATE tidemark.runs SET status = 'cancelled', finished_at = now(), error = ${retrying} WHERE run_id = $1::text AND status = 'running'`, [runId]);
    return;
  }
  await client.query(
    `INSERT INTO tidemark.runs (run_id, integration, kind, status, attempts, started_at, finished_at, error)
     VALUES ($1::text, $2::text, $3::text, 'cancelled', 1, least(now(), coalesce(to_timestamp($4::float8 / 1000), now())), now(), 'cancelled before its first page')
     ON CONFLICT (run_id) DO UPDATE SET status = 'cancelled', finished_at = now(), error = ${retrying} WHERE tidemark.runs.status = 'running'`,
    [runId, started.integration, started.kind, started.at ?? null],
  );
}

/**
 * A sharded backfill's end cursor, once all its shards are done: where its range to the high-water mark ended (the
 * next sync starts there), not the cursor of whichever shard happened to commit last.
 */
export async function setRunEndCursor(client: pg.Client, runId: string, cursor: Cursor): Promise<void> {
  await client.query('UPDATE tidemark.runs SET end_cursor = $2::jsonb WHERE run_id = $1::text', [runId, JSON.stringify(cursor)]);
}
