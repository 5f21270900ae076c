import type pg from 'pg';
import { quoteIdent, quoteTable, type QualifiedName } from '../config/identifiers';
import { quoteLiteral } from '../cursor/keyset-sql';
import { keyArrays, type KeyColumn, type PageKeys } from './unchanged-rows';

/**
 * After a page that changed at least 90 % of its rows (a re-sync after a bulk update, a sync of changed rows), pages
 * are replaced rather than upserted: its keys' rows are deleted and the page is COPYed into the target itself,
 * in one script with the checkpoint (issue 16). For key [id] of type bigint:
 *
 *   BEGIN; DELETE FROM "public"."orders" t WHERE t."id" = ANY('{1,7,9}'::bigint[]); COPY "public"."orders" (…) FROM STDIN; <checkpoint>; COMMIT
 *
 * (a composite key: `DELETE … USING unnest(…) AS tm_keys(k0, k1) WHERE …`). Why: the staged upsert parses every
 * value into the staging table, then joins, locks and updates row by row; COPY parses once and inserts many
 * rows per WAL record. Measured on a durable cluster, 1M rows all changed, pages of 5,000: upsert 15.6 s and
 * 478 MB of WAL, replace 9.4 s and 354 MB.
 *
 * The result equals the upsert's only where a row is nothing but its columns, so a target qualifies only when
 * (replaceBlocker): the page writes every column it has (no column of its own, default or identity, that a
 * new row would reset); no trigger of its own (an audit trigger would see DELETE and INSERT, not UPDATE); no
 * foreign key points at it (a DELETE would cascade, or fail); no rule; and no change stream can see it
 * (wal_level = logical, or a publication: subscribers would get deletes). A key repeated within a page, or a
 * NULL key, keeps the upsert (which keeps the last row of a key); a unique violation anyway (another unique
 * index) rolls the page back and turns replacing off for the run. Unchanged rows in a replaced page are
 * rewritten and count as written; after 8 replaced pages one is upserted to see whether pages still change (then
 * after 16, 32, up to 64 while they do). A replaced page may go ahead on the sink's second connection while the one
 * before it is replaced (PostgresSink.replaceAhead), on targets where nothing but the key is unique (`ahead`).
 */

/** The DELETE of the target's rows with the page's keys (see the header). */
export function deleteKeysSql(keys: PageKeys, target: string, key: readonly KeyColumn[]): string {
  const arrays = keyArrays(keys, key);
  const col = (k: KeyColumn) => `t.${quoteIdent(k.name)}`;
  if (key.length === 1) return `DELETE FROM ${target} t WHERE ${col(key[0] as KeyColumn)} = ANY(${arrays[0]})`;
  const names = key.map((_, i) => `k${i}`).join(', ');
  return `DELETE FROM ${target} t USING unnest(${arrays.join(', ')}) AS tm_keys(${names}) WHERE ${key.map((k, i) => `${col(k)} = tm_keys.k${i}`).join(' AND ')}`;
}

/** What replaceBlockers reads, as text (the sink's session parses no values: booleans are 't' / 'f'). */
interface TargetShape {
  columns: string;
  /** a unique index on other columns than the key, a partial or expression one, or an exclusion constraint */
  unique: string;
  triggers: string;
  referenced: string;
  rules: string;
  logical: string;
  published: string;
}

/**
 * Why pages into `table` (written as `columns`, keyed by `key`) cannot be replaced (`replace`), or replaced pages
 * cannot be sent ahead (`ahead`: see PostgresSink.replaceAhead; two pages with no key in common could still wait
 * for each other on another unique value); undefined when they can (see the header). Partitions count as the
 * table: their triggers, rules, indexes and the keys pointing at them too.
 */
export async function replaceBlockers(client: pg.Client, table: QualifiedName, columns: readonly string[], key: readonly string[]): Promise<{ replace?: string; ahead?: string }> {
  const r = await client.query<TargetShape>(shapeSql(table, key)).catch((err: unknown) => {
    // A server that cannot answer (before PostgreSQL 12: no pg_partition_tree, no attgenerated) keeps the upsert.
    if ((err as { code?: unknown }).code === undefined) throw err;
    return `the target's shape could not be read (${(err as Error).message})`;
  });
  if (typeof r === 'string') return { replace: r };
  const s = r.rows[0] as TargetShape;
  const replace = blocker(s, columns);
  return replace ? { replace } : s.unique === 't' ? { ahead: 'another unique index or an exclusion constraint' } : {};
}

/** What replaceBlockers reads about the target (see TargetShape), its names as literals: it also runs in a page's script. */
function shapeSql(table: QualifiedName, key: readonly string[]): string {
  const rel = `${quoteLiteral(quoteTable(table))}::regclass`;
  const keys = `ARRAY[${[...key].sort().map((k) => `${quoteLiteral(k)}::text`).join(', ')}]::text[]`;
  return `WITH rel AS (SELECT relid FROM pg_partition_tree(${rel}) UNION SELECT ${rel})
     SELECT (SELECT count(*)::text FROM pg_attribute WHERE attrelid = ${rel} AND attnum > 0 AND NOT attisdropped AND attgenerated = '') AS columns,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid IN (SELECT relid FROM rel) AND (i.indisexclusion OR (i.indisunique AND (i.indexprs IS NOT NULL
              OR i.indpred IS NOT NULL OR ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum WHERE k.ord <= i.indnkeyatts ORDER BY a.attname::text COLLATE "C") <> ${keys})))) AS unique,
            EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid IN (SELECT relid FROM rel) AND NOT tgisinternal) AS triggers,
            EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid IN (SELECT relid FROM rel)) AS referenced,
            EXISTS (SELECT 1 FROM pg_rewrite WHERE ev_class IN (SELECT relid FROM rel) AND rulename <> '_RETURN') AS rules,
            current_setting('wal_level') = 'logical' AS logical,
            EXISTS (SELECT 1 FROM pg_publication_tables WHERE schemaname = ${quoteLiteral(table.schema)}::text AND tablename = ${quoteLiteral(table.name)}::text) AS published`;
}

/** The text a replaced page's guard fails with (as a value error: the page is then upserted, see PostgresSink.replaced). */
export const TARGET_CHANGED = 'tidemark: the target changed during the run';

/**
 * The start of a replaced page's script: the target locked against DDL (a trigger or a foreign key to it cannot be
 * added until the page commits), then the shape replaceBlockers approved checked again. A trigger, a foreign key
 * pointing at it, a rule, a column or a publication added since the run prepared fails the page (a backfill runs
 * for hours: a DELETE would now cascade or fire), which is then upserted, and replacing stops for the run.
 */
export function replaceGuardSql(table: QualifiedName, columns: number, key: readonly string[]): string {
  const changed = `s.columns <> ${quoteLiteral(String(columns))} OR s.triggers OR s.referenced OR s.rules OR s.logical OR s.published`;
  // The failing cast depends on the row read (a constant one would be folded, and fail, whatever the CASE says).
  return `LOCK TABLE ${quoteTable(table)} IN ROW EXCLUSIVE MODE; SELECT CASE WHEN ${changed} THEN (${quoteLiteral(`${TARGET_CHANGED}: `)} || s.columns || ' columns')::int END FROM (${shapeSql(table, key)}) s; `;
}

function blocker(s: TargetShape, columns: readonly string[]): string | undefined {
  if (Number(s.columns) !== columns.length) return `it has ${s.columns} columns and pages write ${columns.length}`;
  if (s.triggers === 't') return 'it has triggers';
  if (s.referenced === 't') return 'a foreign key references it';
  if (s.rules === 't') return 'it has rules';
  if (s.logical === 't') return 'wal_level is logical (a change stream would see deletes)';
  if (s.published === 't') return 'it is in a publication';
  return undefined;
}
