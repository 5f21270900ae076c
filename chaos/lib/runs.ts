import { sql } from './sql';

export interface RunRow {
  runId: string;
  kind: string;
  status: string;
  attempts: number;
  rowsRead: number;
  rowsCommitted: number;
  rowsWritten: number;
  rowsRejected: number;
  pages: number;
  error: string | null;
}

/** tidemark.runs of an integration, oldest first (empty when the state schema is not there). */
export async function runsOf(stateUrl: string, integration: string): Promise<RunRow[]> {
  const rows = await sql<Record<string, string | null>>(
    stateUrl,
    `SELECT run_id, kind, status, attempts::text, rows_read::text, rows_committed::text, rows_written::text, rows_rejected::text, pages::text, error
       FROM tidemark.runs WHERE integration = $1 ORDER BY started_at, run_id`,
    [integration],
  ).catch(() => []);
  return rows.map((r) => ({
    runId: String(r.run_id),
    kind: String(r.kind),
    status: String(r.status),
    attempts: Number(r.attempts),
    rowsRead: Number(r.rows_read),
    rowsCommitted: Number(r.rows_committed),
    rowsWritten: Number(r.rows_written),
    rowsRejected: Number(r.rows_rejected),
    pages: Number(r.pages),
    error: r.error ?? null,
  }));
}

/** rows_read - rows_committed over runs: what crashes and retries cost. */
export function reprocessedRows(runs: readonly RunRow[]): number {
  return runs.reduce((sum, r) => sum + (r.rowsRead - r.rowsCommitted), 0);
}
