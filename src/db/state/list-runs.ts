import type pg from 'pg';
import { SHARD_SUMS } from './run-shard-counters';

export interface RunRow {
  run_id: string;
  kind: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  attempts: string;
  rows_read: string;
  rows_committed: string;
  rows_written: string;
  rows_rejected: string;
  /** target rows a deletes reconciliation removed (their keys gone from the source) */
  rows_deleted: string;
  pages: string;
  /** key ranges a sharded run reads (a resume: the unfinished shards it continues); null: one */
  shards: string | null;
  start_cursor: string | null;
  end_cursor: string | null;
  error: string | null;
  /** things an operator should fix (missing index, moved checkpoint) */
  warnings: string[];
}

// Counters are the run's row plus its shards' rows not rolled up yet (see run-shard-counters): exact at any time.
// `shards` is read from the row as JSON: `status` does not migrate, and must still list runs from a database a newer
// CLI has not migrated yet (migration 017 added the column).
const COLUMNS = `r.run_id, r.kind, r.status, r.started_at::text, r.finished_at::text, r.attempts::text,
            (r.rows_read + coalesce(s.rows_read, 0))::text AS rows_read, (r.rows_committed + coalesce(s.rows_committed, 0))::text AS rows_committed,
            (r.rows_written + coalesce(s.rows_written, 0))::text AS rows_written, (r.rows_rejected + coalesce(s.rows_rejected, 0))::text AS rows_rejected, r.rows_deleted::text,
            (r.pages + coalesce(s.pages, 0))::text AS pages, to_jsonb(r) ->> 'shards' AS shards, r.start_cursor::text, coalesce(s.end_cursor, r.end_cursor)::text AS end_cursor, r.error,
            to_json(r.warnings)::text AS warnings`;

// Connections keep every value as text (see pg/connect): the array arrives as JSON text.
const withWarnings = (r: Omit<RunRow, 'warnings'> & { warnings: unknown }): RunRow => ({
  ...r,
  warnings: typeof r.warnings === 'string' ? (JSON.parse(r.warnings) as string[]) : ((r.warnings as string[] | null) ?? []),
});

export async function listRuns(client: pg.Client, integration: string, limit = 20): Promise<RunRow[]> {
  const r = await client.query(`SELECT ${COLUMNS} FROM (SELECT * FROM tidemark.runs WHERE integration = $1::text ORDER BY started_at DESC LIMIT $2::int) r ${SHARD_SUMS} ORDER BY r.started_at DESC`, [integration, limit]);
  return r.rows.map(withWarnings);
}

export async function readRun(client: pg.Client, runId: string): Promise<RunRow | undefined> {
  const r = await client.query(`SELECT ${COLUMNS} FROM tidemark.runs r ${SHARD_SUMS} WHERE r.run_id = $1::text`, [runId]);
  return r.rows[0] ? withWarnings(r.rows[0]) : undefined;
}

/** The integration's latest backfill run (not a resume), whatever became of it (`resume` says when it never read a row). */
export async function latestBackfillRun(client: pg.Client, integration: string): Promise<RunRow | undefined> {
  const r = await client.query(
    `SELECT ${COLUMNS} FROM (SELECT * FROM tidemark.runs WHERE integration = $1::text AND kind = 'backfill' ORDER BY started_at DESC LIMIT 1) r ${SHARD_SUMS}`,
    [integration],
  );
  return r.rows[0] ? withWarnings(r.rows[0]) : undefined;
}
