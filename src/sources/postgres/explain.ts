import type pg from 'pg';

export interface PlanNode {
  'Node Type'?: string;
  'Plan Rows'?: number;
  Plans?: PlanNode[];
}

/** The top node of `EXPLAIN (FORMAT JSON)` of a query (planned only: no rows read). */
export async function explain(client: pg.Client, text: string, values: unknown[] = []): Promise<PlanNode | undefined> {
  const r = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, values);
  const raw = r.rows[0]?.['QUERY PLAN'];
  // Text on tidemark's source sessions (identity type parsers), already parsed on a typed client.
  const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan?: PlanNode }> | undefined;
  return parsed?.[0]?.Plan;
}

/** The planner's row estimate for a query. */
export async function planRows(client: pg.Client, text: string, values: unknown[] = []): Promise<number> {
  return Math.round((await explain(client, text, values))?.['Plan Rows'] ?? 0);
}
