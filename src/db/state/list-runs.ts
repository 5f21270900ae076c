import type pg from 'pg';

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
  pages: string;
  start_cursor: string | null;
  end_cursor: string | null;
  error: string | null;
  /** things an operator should fix (missing index, moved checkpoint) */
  warnings: string[];
}

const COLUMNS = `run_id, kind, status, started_at::text, finished_at::text, attempts::text, rows_read::text, rows_committed::text,
            rows_written::text, rows_rejected::text, pages::text, start_cursor::text, end_cursor::text, error, to_json(warnings)::text AS warnings`;

// Connections keep every value as text (see pg/connect): the array arrives as JSON text.
const withWarnings = (r: Omit<RunRow, 'warnings'> & { warnings: unknown }): RunRow => ({
  ...r,
  warnings: typeof r.warnings === 'string' ? (JSON.parse(r.warnings) as string[]) : ((r.warnings as string[] | null) ?? []),
});

export async function listRuns(client: pg.Client, integration: string, limit = 20): Promise<RunRow[]> {
  const r = await client.query(`SELECT ${COLUMNS} FROM tidemark.runs WHERE integration = $1::text ORDER BY started_at DESC LIMIT $2::int`, [integration, limit]);
  return r.rows.map(withWarnings);
}

export async function readRun(client: pg.Client, runId: string): Promise<RunRow | undefined> {
  const r = await client.query(`SELECT ${COLUMNS} FROM tidemark.runs WHERE run_id = $1::text`, [runId]);
  return r.rows[0] ? withWarnings(r.rows[0]) : undefined;
}
