import type pg from 'pg';
import type { Cursor } from '../../cursor/cursor';

export type RunKind = 'sync' | 'backfill' | 'resume';

/** One row per workflow run; a retried activity attempt counts an attempt on the same row. */
export async function startRun(client: pg.Client, runId: string, integration: string, kind: RunKind, startCursor: Cursor): Promise<void> {
  await client.query(
    `INSERT INTO tidemark.runs (run_id, integration, kind, status, start_cursor, end_cursor)
     VALUES ($1::text, $2::text, $3::text, 'running', $4::jsonb, $4::jsonb)
     ON CONFLICT (run_id) DO UPDATE SET attempts = tidemark.runs.attempts + 1, status = 'running', error = NULL, finished_at = NULL,
       -- A row an earlier attempt made without reading (it failed first: recordFailure) starts where this attempt starts.
       start_cursor = CASE WHEN tidemark.runs.pages = 0 THEN EXCLUDED.start_cursor ELSE tidemark.runs.start_cursor END,
       end_cursor = CASE WHEN tidemark.runs.pages = 0 THEN EXCLUDED.end_cursor ELSE tidemark.runs.end_cursor END`,
    [runId, integration, kind, JSON.stringify(startCursor)],
  );
}
