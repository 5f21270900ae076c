import type pg from 'pg';

/** Things an operator should fix (a missing index, a moved checkpoint), kept on the run for `status` and `runs`. */
export async function addRunWarnings(client: pg.Client, runId: string, warnings: readonly string[]): Promise<void> {
  if (!warnings.length) return;
  await client.query(
    `UPDATE tidemark.runs SET warnings = ARRAY(SELECT DISTINCT unnest(warnings || $2::text[])) WHERE run_id = $1::text`,
    [runId, warnings],
  );
}
