import { quoteIdent } from '../config/identifiers';

/**
 * The batch upsert, from a staging table filled by COPY. For key [id] and columns id, status, total:
 *
 *   INSERT INTO "public"."orders_copy" AS t ("id", "status", "total")
 *   SELECT DISTINCT ON ("id") "id", "status", "total" FROM "tm_stage" ORDER BY "id", tm_ord DESC
 *   ON CONFLICT ("id") DO UPDATE SET "status" = EXCLUDED."status", "total" = EXCLUDED."total"
 *   WHERE (t."status", t."total") IS DISTINCT FROM (EXCLUDED."status", EXCLUDED."total")
 *
 * DISTINCT ON keeps the last row of a key within the batch (ON CONFLICT cannot touch a row twice);
 * the WHERE clause makes unchanged rows cost no write, so a re-sync rewrites only what changed.
 */
export function upsertFromStageSql(target: string, stage: string, columns: readonly string[], key: readonly string[], keyUniqueInPage = false): string {
  const cols = columns.map(quoteIdent).join(', ');
  const keys = key.map(quoteIdent).join(', ');
  const rest = columns.filter((c) => !key.includes(c)).map(quoteIdent);
  const conflict = rest.length
    ? `DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ')} ` +
      `WHERE (${rest.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${rest.map((c) => `EXCLUDED.${c}`).join(', ')})`
    : 'DO NOTHING';
  // A one-column row constructor is just a parenthesised value, which is what we want here too.
  return (
    `INSERT INTO ${target} AS t (${cols}) ` +
    // When the source guarantees the key is unique, a page cannot repeat it: no sort needed.
    (keyUniqueInPage ? `SELECT ${cols} FROM ${stage} ` : `SELECT DISTINCT ON (${keys}) ${cols} FROM ${stage} ORDER BY ${keys}, tm_ord DESC `) +
    `ON CONFLICT (${keys}) ${conflict}`
  );
}

export function createTableSql(target: string, columns: ReadonlyArray<{ name: string; type: string; notNull: boolean }>, key: readonly string[]): string {
  const defs = columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.notNull || key.includes(c.name) ? ' NOT NULL' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${target} (${defs.join(', ')}, PRIMARY KEY (${key.map(quoteIdent).join(', ')}))`;
}
