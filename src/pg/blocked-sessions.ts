import type pg from 'pg';

/** A session of a run waiting for a lock, and the sessions holding it (pg_blocking_pids). */
export interface BlockedSession {
  pid: number;
  /** its application_name: a run's lock tag, `:source` for its source connection */
  app: string;
  waitedS: number;
  /** A prepared transaction holds it too (pg_blocking_pids says pid 0: it has no session). */
  prepared: boolean;
  blockers: { pid: number; state: string | null; app: string | null; query: string | null; xactS: number | null }[];
}

/**
 * The sessions whose application_name starts with one of `prefixes` (a run's lock tags, see run-lock.ts) that
 * have waited at least `minWaitS` for a lock, with who holds it. pg_stat_activity shows another role's pid and
 * application_name to everyone; its wait, state and query only to that role, a superuser or pg_read_all_stats (so
 * each database is asked with the role its run's sessions use).
 */
export async function blockedSessions(client: pg.Client, prefixes: string[], minWaitS = 2): Promise<BlockedSession[]> {
  if (!prefixes.length) return [];
  const r = await client.query<{ pid: string; app: string; waited: string; blockers: string | null; prepared: boolean }>(
    `SELECT a.pid::text, a.application_name AS app, extract(epoch FROM now() - a.query_start)::float8::text AS waited,
            (SELECT json_agg(json_build_object('pid', b.pid, 'state', b.state, 'app', nullif(b.application_name, ''), 'query', left(b.query, 100),
                                               'xactS', extract(epoch FROM now() - b.xact_start)::float8) ORDER BY b.pid)
               FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(a.pid)))::text AS blockers,
            0 = ANY (pg_blocking_pids(a.pid)) AS prepared
       FROM pg_stat_activity a
      WHERE a.wait_event_type = 'Lock' AND a.application_name LIKE ANY ($1::text[])
        AND a.query_start < now() - make_interval(secs => $2::float8)
      ORDER BY a.pid`,
    [prefixes.map((p) => `${p}%`), minWaitS],
  );
  return r.rows.map((row) => ({ pid: Number(row.pid), app: row.app, waitedS: Number(row.waited), prepared: String(row.prepared) === 'true', blockers: row.blockers ? (JSON.parse(row.blockers) as BlockedSession['blockers']) : [] }));
}
