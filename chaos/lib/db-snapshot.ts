import { sql } from './sql';

/** Every user table of a database with its row count and a checksum of its rows: "was anything written?" */
export async function snapshotDatabase(url: string): Promise<Map<string, string>> {
  const tables = await sql<{ t: string }>(
    url,
    `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS t FROM information_schema.tables
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg_temp%' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const out = new Map<string, string>();
  for (const { t } of tables) {
    const [r] = await sql<{ n: string; h: string | null }>(url, `SELECT count(*)::text AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM ${t} x`);
    out.set(t, `${r?.n} rows, ${r?.h ?? '-'}`);
  }
  return out;
}

/** What changed between two snapshots, one entry per table ("" when nothing did). */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string {
  const changes: string[] = [];
  for (const [t, v] of after) {
    const was = before.get(t);
    if (was === undefined) changes.push(`${t} created (${v.split(',')[0]})`);
    else if (was !== v) changes.push(`${t} changed (${was.split(',')[0]} → ${v.split(',')[0]})`);
  }
  for (const t of before.keys()) if (!after.has(t)) changes.push(`${t} dropped`);
  return changes.join('; ');
}
