/**
 * Per integration, in one statement: its latest run, its latest success and how many runs failed
 * since then (failures in a row). Each lateral uses the runs_by_integration index.
 */
export const RUN_SUMMARIES = `
SELECT i.id AS integration, l.run_id, l.kind, l.status, l.started_at::text, l.finished_at::text,
       l.rows_committed::text, l.error, s.finished_at::text AS last_success, f.n::text AS failures
  FROM unnest($1::text[]) AS i(id)
  LEFT JOIN LATERAL (SELECT r.run_id, r.kind, r.status, r.started_at, r.finished_at, r.error,
                            -- a running sharded run's shards count on their own rows until rolled up (tidemark.run_shards)
                            r.rows_committed + coalesce((SELECT sum(rs.rows_committed) FROM tidemark.run_shards rs WHERE rs.run_id = r.run_id), 0) AS rows_committed
                       FROM tidemark.runs r
                      -- a skipped run (another was writing) did nothing: not the latest (see instances-summary)
                      WHERE r.integration = i.id AND r.status <> 'skipped' ORDER BY r.started_at DESC LIMIT 1) l ON true
  LEFT JOIN LATERAL (SELECT started_at, finished_at FROM tidemark.runs
                      WHERE integration = i.id AND status IN ('completed', 'partial') ORDER BY started_at DESC LIMIT 1) s ON true
  LEFT JOIN LATERAL (SELECT count(*) AS n FROM tidemark.runs
                      WHERE integration = i.id AND status = 'failed' AND started_at > coalesce(s.started_at, '-infinity'::timestamptz)) f ON true`;

export interface RunSummaryRow extends Record<string, unknown> {
  integration: string;
  run_id: string | null;
  kind: string | null;
  status: string | null;
  started_at: string | null;
  finished_at: string | null;
  rows_committed: string | null;
  error: string | null;
  last_success: string | null;
  failures: string;
}
