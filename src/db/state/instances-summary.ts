import type pg from 'pg';

/** Per integration (or instance) id, what `status --all` shows from the state tables. */
export interface RunSummary {
  integration: string;
  /** Status of the latest run (null: never ran). */
  lastStatus: string | null;
  lastError: string | null;
  /** Rows committed by the latest run. */
  lastRows: number;
  /** When the latest run that did its work ended: completed, or partial (stopped by its time budget, more to read). */
  lastSuccess: string | null;
  /** Failed runs since then. */
  consecutiveFailures: number;
  /** Dead letters waiting for `tidemark dead-letters --retry` (not retried, not superseded). */
  deadLetters: number;
  /** The newest cursor committed (sync slot, else backfill): its time is how far behind the source it is. */
  cursor: unknown;
  /** The slot's run bound when its last run read to it (status done): nothing older is missing, however old the cursor. */
  caughtUp: string | null;
}

/** One statement for many ids (the runs index serves each lookup), so a thousand instances cost one round trip. */
export async function summarizeRuns(client: pg.Client, integrations: string[]): Promise<RunSummary[]> {
  const r = await client.query<Record<string, string | null>>(
    `WITH ids AS (SELECT DISTINCT unnest($1::text[]) AS integration)
     SELECT ids.integration, last.status, last.error, coalesce(last.rows_committed, 0)::text AS rows,
            ok.finished_at::text AS last_success, fails.n::text AS failures, cp.cursor::text AS cursor, cp.caught_up, dl.n::text AS dead_letters
       FROM ids
       -- A skipped run (another was writing) did nothing: the run before it is the latest one (an acceptance run read
       -- "rows 0" for a backfill of 1,500 rows beside a skipped sync).
       LEFT JOIN LATERAL (SELECT status, error, rows_committed FROM tidemark.runs r WHERE r.integration = ids.integration AND status <> 'skipped'
                           ORDER BY started_at DESC LIMIT 1) last ON true
       LEFT JOIN LATERAL (SELECT finished_at, started_at FROM tidemark.runs r WHERE r.integration = ids.integration AND status IN ('completed', 'partial')
                           ORDER BY started_at DESC LIMIT 1) ok ON true
       LEFT JOIN LATERAL (SELECT count(*) AS n FROM tidemark.runs r WHERE r.integration = ids.integration AND status = 'failed'
                           AND (ok.started_at IS NULL OR r.started_at > ok.started_at)) fails ON true
       LEFT JOIN LATERAL (SELECT cursor, caught_up FROM tidemark.checkpoints c WHERE c.integration = ids.integration AND slot IN ('sync', 'backfill')
                           ORDER BY slot = 'sync' DESC LIMIT 1) cp ON true
       LEFT JOIN LATERAL (SELECT count(*) AS n FROM tidemark.dead_letters d WHERE d.integration = ids.integration
                           AND d.retried_at IS NULL AND NOT d.superseded) dl ON true
      ORDER BY ids.integration`,
    [integrations],
  );
  return r.rows.map((row) => ({
    integration: row.integration as string,
    lastStatus: row.status ?? null,
    lastError: row.error ?? null,
    lastRows: Number(row.rows),
    lastSuccess: row.last_success ?? null,
    consecutiveFailures: Number(row.failures ?? 0),
    deadLetters: Number(row.dead_letters ?? 0),
    cursor: row.cursor === null || row.cursor === undefined ? null : (JSON.parse(row.cursor) as unknown),
    caughtUp: row.caught_up ?? null,
  }));
}
