import type pg from 'pg';
import { quoteTable, type QualifiedName } from '../config/identifiers';

/**
 * How each key column of a table sorts: `C` (byte order), a description of its collation (provider and
 * locale, the database's own for `default`), or null for a type without one (numbers, timestamps, uuid).
 * Verify cuts key ranges on the source and applies them on both sides: two sides that sort a text key
 * differently would each read other rows into a range (issue: a target created in a database with another
 * default locale), so those ranges are compared in byte order instead (see range-sql.ts).
 */
/** Locales that sort UTF-8 text in byte (code point) order, as COLLATE "C" does. */
const BYTE_ORDER = `('C', 'POSIX', 'C.UTF-8', 'C.utf8')`;
const COLLATIONS_SQL = `
SELECT a.attname AS name,
       CASE WHEN a.attcollation = 0 THEN NULL
            WHEN co.collname IN ('C', 'POSIX', 'ucs_basic', 'pg_c_utf8') THEN 'C'
            WHEN co.collname = 'default' THEN (
              SELECT CASE WHEN coalesce(j->>'datlocprovider', 'c') = 'c' AND j->>'datcollate' IN ${BYTE_ORDER} THEN 'C'
                          WHEN j->>'datlocprovider' = 'b' AND j->>'datlocale' IN ${BYTE_ORDER} THEN 'C'
                          ELSE jsonb_build_object('provider', j->'datlocprovider', 'collate', j->'datcollate', 'ctype', j->'datctype',
                                                  'icu', coalesce(j->'datlocale', j->'daticulocale'), 'rules', j->'daticurules')::text END
                FROM (SELECT to_jsonb(d) AS j FROM pg_database d WHERE d.datname = current_database()) db)
            ELSE (
              SELECT CASE WHEN j->>'collprovider' = 'c' AND j->>'collcollate' IN ${BYTE_ORDER} THEN 'C'
                          WHEN j->>'collprovider' = 'b' AND j->>'colllocale' IN ${BYTE_ORDER} THEN 'C'
                          ELSE jsonb_build_object('provider', j->'collprovider', 'collate', j->'collcollate', 'ctype', j->'collctype',
                                                  'icu', coalesce(j->'colllocale', j->'colliculocale'), 'rules', j->'collicurules',
                                                  'deterministic', j->'collisdeterministic')::text END
                FROM (SELECT to_jsonb(co) AS j) c)
       END AS collation
  FROM pg_attribute a
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
 WHERE a.attrelid = to_regclass($1::text) AND a.attname = ANY($2::text[]) AND a.attnum > 0 AND NOT a.attisdropped`;

export async function keyCollations(client: pg.Client, table: QualifiedName, names: readonly string[]): Promise<Map<string, string | null>> {
  const r = await client.query<{ name: string; collation: string | null }>(COLLATIONS_SQL, [quoteTable(table), names]);
  return new Map(r.rows.map((row) => [row.name, row.collation]));
}

/** The key columns to compare in byte order: those that sort by a collation other than C on either side, unless both sides sort alike. */
export function byteOrderColumns(key: readonly string[], source: Map<string, string | null>, target: Map<string, string | null>): Set<string> {
  const out = new Set<string>();
  for (const k of key) {
    const [s, t] = [source.get(k) ?? null, target.get(k) ?? null];
    if ((s !== null || t !== null) && s !== t) out.add(k);
  }
  return out;
}
