import type pg from 'pg';
import { quoteTable, type QualifiedName } from '../config/identifiers';

/**
 * Columns of a table whose `=` means "same value, same text": the (domain base) type's default btree
 * operator class has an equalimage support function (the one B-tree deduplication relies on), and a
 * collatable column has a deterministic collation. Everything else compares as text in the upsert:
 * json, xml and the geometric types have no `=` at all, box/circle/path have an `=` on area or size,
 * and numeric (1.0 = 1.00), interval ('1 day' = '24 hours'), float (-0 = 0), jsonb, arrays, ranges
 * and composites have an `=` that calls different texts equal.
 */
const EXACT_SQL = `
SELECT a.attname AS name
  FROM pg_attribute a
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
 CROSS JOIN LATERAL (
   WITH RECURSIVE d(oid, depth) AS (
     SELECT a.atttypid, 0
     UNION ALL
     SELECT t.typbasetype, d.depth + 1 FROM d JOIN pg_type t ON t.oid = d.oid WHERE t.typtype = 'd')
   SELECT d.oid AS base, t.typtype FROM d JOIN pg_type t ON t.oid = d.oid ORDER BY d.depth DESC LIMIT 1) bt
 WHERE a.attrelid = to_regclass($1::text) AND a.attnum > 0 AND NOT a.attisdropped
   AND coalesce(co.collisdeterministic, true)
   AND coalesce(
     -- the type's own default btree opclass (enums share anyenum's) ...
     (SELECT bool_or(p.oid IS NOT NULL)
        FROM pg_opclass oc
        JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'
        LEFT JOIN pg_amproc p ON p.amprocfamily = oc.opcfamily AND p.amproclefttype = oc.opcintype
                             AND p.amprocrighttype = oc.opcintype AND p.amprocnum = 4
       WHERE oc.opcdefault AND (oc.opcintype = bt.base OR (bt.typtype = 'e' AND oc.opcintype = 'anyenum'::regtype))),
     -- ... else one it is implicitly binary-coercible to, as the = operator resolves it (varchar uses text's, cidr inet's)
     (SELECT bool_or(p.oid IS NOT NULL)
        FROM pg_cast c
        JOIN pg_opclass oc ON oc.opcintype = c.casttarget AND oc.opcdefault
        JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'
        LEFT JOIN pg_amproc p ON p.amprocfamily = oc.opcfamily AND p.amproclefttype = oc.opcintype
                             AND p.amprocrighttype = oc.opcintype AND p.amprocnum = 4
       WHERE c.castsource = bt.base AND c.castmethod = 'b' AND c.castcontext = 'i'),
     false)`;

/** Answers per database and table shape: a sync asks each run, and the query costs 4–13 ms (planning included). */
const known = new Map<string, Set<string>>();
const KNOWN_MAX = 1_000;

/**
 * The answer depends only on the columns' types and collations (`shape`, from describeTable) and the
 * server's built-in operator classes, so it is kept per worker for a database and shape: a column that
 * changes type or collation changes the shape, and is asked again.
 */
export async function exactEqualityColumns(client: pg.Client, table: QualifiedName, shape?: string): Promise<Set<string>> {
  const key = shape === undefined ? undefined : `${client.host}:${client.port}/${client.database}|${shape}`;
  const hit = key === undefined ? undefined : known.get(key);
  if (hit) return new Set(hit);
  const r = await client.query<{ name: string }>(EXACT_SQL, [quoteTable(table)]);
  const found = new Set(r.rows.map((row) => row.name));
  if (key !== undefined) {
    if (known.size >= KNOWN_MAX) known.clear();
    known.set(key, new Set(found));
  }
  return found;
}
