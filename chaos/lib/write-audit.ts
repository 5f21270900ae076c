import { sql } from './sql';

/**
 * Who wrote a target table, statement by statement: an AFTER … FOR EACH STATEMENT trigger (COPY fires
 * it too) records the writing session's application_name (a tidemark run's state connection is named
 * tm:<run>:<attempt>), its transaction id and the time. Enough to prove two runs never interleaved.
 */
export async function installWriteAudit(url: string, table: string): Promise<void> {
  await sql(
    url,
    `CREATE TABLE public.chaos_writes (app text NOT NULL, xid bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
     CREATE FUNCTION public.chaos_audit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO public.chaos_writes (app, xid) VALUES (current_setting('application_name'), txid_current()); RETURN NULL; END $$;
     CREATE TRIGGER chaos_audit AFTER INSERT OR UPDATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION public.chaos_audit();`,
  );
}

export interface WriteAudit {
  /** page transactions recorded */
  transactions: number;
  /** distinct runs that wrote */
  writers: number;
  /** times a run wrote again after another run had written since its previous write (0: never interleaved) */
  interleavings: number;
}

/** Transactions in commit-time order, each attributed to its run (the attempt number dropped). */
export async function readWriteAudit(url: string): Promise<WriteAudit> {
  const rows = await sql<{ run: string }>(url, `SELECT regexp_replace(min(app), ':[0-9]+$', '') AS run FROM public.chaos_writes GROUP BY xid ORDER BY max(at)`);
  const finished = new Set<string>();
  let interleavings = 0;
  let current: string | undefined;
  for (const { run } of rows) {
    if (run === current) continue;
    if (finished.has(run)) interleavings++;
    if (current) finished.add(current);
    current = run;
  }
  return { transactions: rows.length, writers: new Set(rows.map((r) => r.run)).size, interleavings };
}
