import type pg from 'pg';
import type { QualifiedName } from '../../config/identifiers';
import type { SqlQuery } from '../../cursor/keyset-sql';
import { explain, type PlanNode } from './explain';

/**
 * A warning when no index serves the keyset order: every page would then read and sort all rows after
 * the cursor. The page query is EXPLAINed with sequential scans and sorts disabled, so the planner picks
 * an index whenever one can produce the order, whatever the table's size or statistics; a Sort left in
 * the plan (or no index scan at all) means none can. Returns the CREATE INDEX to run, or undefined.
 */
export async function keysetIndexWarning(client: pg.Client, table: QualifiedName, cursor: readonly string[], page: SqlQuery): Promise<string | undefined> {
  await client.query('BEGIN');
  let plan: PlanNode | undefined;
  try {
    await client.query('SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_incremental_sort = off');
    plan = await explain(client, page.text, page.values);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
  const types = nodeTypes(plan);
  if (!types.some((t) => /Sort$/.test(t)) && types.some((t) => /^Index( Only)? Scan$/.test(t))) return undefined;
  const sql = await client.query<{ sql: string }>(
    "SELECT format('CREATE INDEX CONCURRENTLY ON %I.%I (%s)', $1::text, $2::text, (SELECT string_agg(quote_ident(c), ', ' ORDER BY o) FROM unnest($3::text[]) WITH ORDINALITY AS u(c, o))) AS sql",
    [table.schema, table.name, cursor],
  );
  return (
    `no index on ${table.schema}.${table.name} serves the keyset order (${cursor.join(', ')}): every page reads and sorts all rows after the cursor, ` +
    `which gets slower as the table grows and may hit source.statementTimeout. Create one: ${sql.rows[0]?.sql}`
  );
}

function nodeTypes(node: PlanNode | undefined): string[] {
  if (!node) return [];
  return [node['Node Type'] ?? '', ...(node.Plans ?? []).flatMap(nodeTypes)];
}
