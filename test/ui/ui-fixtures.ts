import pg from 'pg';
import { migrate } from '../../src/db/migrate';

/** The state tables in a database, migrated as the worker would. */
export async function migrated(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await migrate(c);
  } finally {
    await c.end();
  }
}

/** A run row as a worker leaves it (fixture data in the real state tables). */
export async function insertRun(url: string, r: { runId: string; integration: string; status: string; rows?: number; error?: string; startedAgo?: string; tookSeconds?: number; kind?: string }): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(
      `INSERT INTO tidemark.runs (run_id, integration, kind, status, started_at, finished_at, rows_committed, error)
       VALUES ($1::text, $2::text, $3::text, $4::text, now() - $5::interval,
               CASE WHEN $4::text = 'running' THEN NULL ELSE now() - $5::interval + make_interval(secs => $6::int) END, $7::bigint, $8::text)`,
      [r.runId, r.integration, r.kind ?? 'sync', r.status, r.startedAgo ?? '1 hour', r.tookSeconds ?? 5, r.rows ?? 0, r.error ?? null],
    );
  } finally {
    await c.end();
  }
}
