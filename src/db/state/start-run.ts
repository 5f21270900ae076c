import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';
import { cancelledByWorkflow } from './finish-run';

export type RunKind = 'sync' | 'backfill' | 'resume';

/** What Temporal knows of the attempt: its number, and when the activity was first scheduled. */
export interface AttemptInfo {
  attempt?: number;
  /** The row's start (ms): a later attempt's first schedule, or when a first attempt began. */
  scheduledAt?: number;
}

/**
 * One row per workflow run; a retried activity attempt counts an attempt on the same row. False: its workflow
 * recorded the run cancelled already (cancelledByWorkflow), nothing changed. Temporal's attempt number
 * is a floor: attempts that failed before they reached the state database (it was down) count too, and the row's
 * start is when the activity was first scheduled, not when an attempt first got through (an acceptance run).
 * `shards`: the key ranges a sharded run reads (see migration 017).
 */
export async function startRun(client: pg.Client, runId: string, integration: string, kind: RunKind, startCursor: Cursor, at: AttemptInfo = {}, shards?: number): Promise<boolean> {
  const r = await client.query(
    `INSERT INTO tidemark.runs (run_id, integration, kind, status, start_cursor, end_cursor, attempts, started_at, shards)
     VALUES ($1::text, $2::text, $3::text, 'running', $4::jsonb, $4::jsonb, greatest(1, coalesce($5::int, 1)), coalesce(to_timestamp($6::float8 / 1000), now()), $7::int)
     ON CONFLICT (run_id) DO UPDATE SET attempts = greatest(tidemark.runs.attempts + 1, coalesce($5::int, 0)), status = 'running', error = NULL, finished_at = NULL,
       shards = coalesce(EXCLUDED.shards, tidemark.runs.shards),
       -- A row an earlier attempt made without reading (it failed first: recordFailure) starts where this attempt starts.
       start_cursor = CASE WHEN tidemark.runs.pages = 0 THEN EXCLUDED.start_cursor ELSE tidemark.runs.start_cursor END,
       end_cursor = CASE WHEN tidemark.runs.pages = 0 THEN EXCLUDED.end_cursor ELSE tidemark.runs.end_cursor END
     -- A run its workflow recorded as cancelled stays so (a plan that finished after the cancel: recordCancelled).
     WHERE NOT ${cancelledByWorkflow('tidemark.runs')}`,
    [runId, integration, kind, JSON.stringify(startCursor), at.attempt ?? null, at.scheduledAt ?? null, shards ?? null],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * The attempt info of an activity context; for a later attempt (earlier ones failed, perhaps before they reached the
 * state database) the first attempt's schedule time, when it is a real one (a test's mock environment says 1 ms after
 * the epoch): within the 30 days a backfill activity may last.
 */
export function attemptInfoOf(info: { attempt: number; scheduledTimestampMs: number }, began?: number, now = Date.now()): AttemptInfo {
  const at = info.scheduledTimestampMs;
  // A first attempt starts when it began to run (its wait for the source's writers is run time); its
  // schedule time would count the wait for a free slot (maxConcurrentRuns) as run time.
  const real = info.attempt > 1 && at > now - 31 * 86_400_000 && at <= now + 60_000;
  return { attempt: info.attempt, ...(real ? { scheduledAt: at } : began !== undefined ? { scheduledAt: began } : {}) };
}
