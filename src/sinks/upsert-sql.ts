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
 * `skipUnchanged` also drops rows equal to the target's before ON CONFLICT: ON CONFLICT … WHERE still
 * locks every conflicting row, which writes WAL for each unchanged row. With a one-column key the page's
 * target rows come from one index scan over the page's keys (`= ANY(ARRAY(…))`: the scan walks the sorted
 * keys leaf by leaf instead of descending the index once a row), hash-joined to the page; run it through
 * `underHashJoin` (the planner, which cannot count the stage, would otherwise scan the whole target).
 * That is half the time of a probe per row (`NOT EXISTS … OFFSET 0`), which composite keys still use.
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
  const rows = skipUnchanged ? changedRows(target, stage, columns, key, staged, row) : staged;
  // A one-column row constructor is just a parenthesised value, which is what we want here too.
  return `INSERT INTO ${target} AS t (${cols}) ${rows} ON CONFLICT (${keys}) ${conflict}`;
}

/** The staged rows not equal to the target's (see upsertFromStageSql's skipUnchanged). */
function changedRows(target: string, stage: string, columns: readonly string[], key: readonly string[], staged: string, row: (side: string) => string): string {
  const rest = columns.filter((c) => !key.includes(c));
  const differs = rest.length ? ` OR ${row('d')} IS DISTINCT FROM ${row('s')}` : '';
  if (key.length === 1) {
    const k = quoteIdent(key[0] as string);
    const there = `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${target} WHERE ${k} = ANY(ARRAY(SELECT ${k} FROM ${stage}))`;
    return `SELECT ${columns.map((c) => `s.${quoteIdent(c)}`).join(', ')} FROM (${staged}) s LEFT JOIN (${there}) d ON d.${k} = s.${k} WHERE d.${k} IS NULL${differs}`;
  }
  const same = key.map((k) => `d.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ') + (rest.length ? ` AND ${row('d')} IS NOT DISTINCT FROM ${row('s')}` : '');
  return `SELECT ${columns.map(quoteIdent).join(', ')} FROM (${staged}) s WHERE NOT EXISTS (SELECT 1 FROM ${target} d WHERE ${same} OFFSET 0)`;
}

/** The planner settings `underHashJoin` turns off for one statement. */
export const JOIN_SETTINGS = ['enable_nestloop', 'enable_mergejoin'] as const;

/**
 * `statement` with nested-loop and merge joins off, then the settings back to `current` (the session's
 * values, read once), all in one round trip (a simple-query string, inside the page's transaction).
 */
export function underHashJoin(statement: string, current: Readonly<Record<(typeof JOIN_SETTINGS)[number], string>>): string {
  const set = (value: (name: (typeof JOIN_SETTINGS)[number]) => string) => JOIN_SETTINGS.map((n) => `SET LOCAL ${n} = '${value(n).replace(/'/g, "''")}'`).join('; ');
  return `${set(() => 'off')}; ${statement}; ${set((n) => current[n])}`;
}

export function createTableSql(target: string, columns: ReadonlyArray<{ name: string; type: string; notNull: boolean }>, key: readonly string[]): string {
  const defs = columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.notNull || key.includes(c.name) ? ' NOT NULL' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${target} (${defs.join(', ')}, PRIMARY KEY (${key.map(quoteIdent).join(', ')}))`;
}

/** A column the source gained: nullable, since the target's existing rows have no value for it. */
export function addColumnSql(target: string, column: { name: string; type: string }): string {
  return `ALTER TABLE ${target} ADD COLUMN IF NOT EXISTS ${quoteIdent(column.name)} ${column.type}`;
}
