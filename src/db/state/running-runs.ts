import type pg from 'pg';

/**
 * The run keys (`<workflow id>/<run id>`) of an integration's runs still marked running, newest first: how
 * `status` and `cancel` find a workflow started under an id of the operator's choosing (`temporal workflow start
 * -w …`, the Temporal UI), which no visibility query by tidemark's own ids would list.
 */
export async function runningRunKeys(db: pg.Client, integration: string): Promise<string[]> {
  const r = await db.query<{ run_id: string }>(`SELECT run_id FROM tidemark.runs WHERE integration = $1::text AND status = 'running' ORDER BY started_at DESC LIMIT 20`, [integration]);
  return r.rows.map((row) => row.run_id);
}
