import { quoteIdent } from '../config/identifiers';

/**
 * The batch upsert, from a staging table filled by COPY. For key [id] and columns id, status, doc
 * (doc a json column, which has no `=`, so it is in `compareAsText`):
 *
 *   INSERT INTO "public"."orders_copy" AS t ("id", "status", "doc")
 *   SELECT DISTINCT ON ("id") "id", "status", "doc" FROM "tm_stage" ORDER BY "id", tm_ord DESC
 *   ON CONFLICT ("id") DO UPDATE SET "status" = EXCLUDED."status", "doc" = EXCLUDED."doc"
 *   WHERE (t."status", t."doc"::text COLLATE "C") IS DISTINCT FROM (EXCLUDED."status", EXCLUDED."doc"::text COLLATE "C")
 *
 * DISTINCT ON keeps the last row of a key within the batch (ON CONFLICT cannot touch a row twice);
 * the WHERE clause makes unchanged rows cost no write, so a re-sync rewrites only what changed.
 * Columns whose type has no exact `=` (see exact-equality.ts) compare by their text, byte for byte.
 *
 * `skipUnchanged` also drops rows equal to the target's before ON CONFLICT (a NOT EXISTS probe of the
 * key's index per row; OFFSET 0 keeps it a per-row probe rather than a join that scans the target):
 * ON CONFLICT … WHERE still locks every conflicting row, which writes WAL for each unchanged row.
 */
export function upsertFromStageSql(
  target: string,
  stage: string,
  columns: readonly string[],
  key: readonly string[],
  keyUniqueInPage = false,
  compareAsText: ReadonlySet<string> = new Set(),
  skipUnchanged = false,
): string {
  const cols = columns.map(quoteIdent).join(', ');
  const keys = key.map(quoteIdent).join(', ');
  const rest = columns.filter((c) => !key.includes(c));
  const cmp = (side: string, c: string) => (compareAsText.has(c) ? `${side}.${quoteIdent(c)}::text COLLATE "C"` : `${side}.${quoteIdent(c)}`);
  const row = (side: string) => `(${rest.map((c) => cmp(side, c)).join(', ')})`;
  const conflict = rest.length
    ? `DO UPDATE SET ${rest.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')} WHERE ${row('t')} IS DISTINCT FROM ${row('EXCLUDED')}`
    : 'DO NOTHING';
  // When the source guarantees the key is unique, a page cannot repeat it: no sort needed.
  const staged = keyUniqueInPage ? `SELECT ${cols} FROM ${stage}` : `SELECT DISTINCT ON (${keys}) ${cols} FROM ${stage} ORDER BY ${keys}, tm_ord DESC`;
  const same = key.map((k) => `d.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ') + (rest.length ? ` AND ${row('d')} IS NOT DISTINCT FROM ${row('s')}` : '');
  const rows = skipUnchanged ? `SELECT ${cols} FROM (${staged}) s WHERE NOT EXISTS (SELECT 1 FROM ${target} d WHERE ${same} OFFSET 0)` : staged;
  // A one-column row constructor is just a parenthesised value, which is what we want here too.
  return `INSERT INTO ${target} AS t (${cols}) ${rows} ON CONFLICT (${keys}) ${conflict}`;
}

export function createTableSql(target: string, columns: ReadonlyArray<{ name: string; type: string; notNull: boolean }>, key: readonly string[]): string {
  const defs = columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.notNull || key.includes(c.name) ? ' NOT NULL' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${target} (${defs.join(', ')}, PRIMARY KEY (${key.map(quoteIdent).join(', ')}))`;
}

/** A column the source gained: nullable, since the target's existing rows have no value for it. */
export function addColumnSql(target: string, column: { name: string; type: string }): string {
  return `ALTER TABLE ${target} ADD COLUMN IF NOT EXISTS ${quoteIdent(column.name)} ${column.type}`;
}
