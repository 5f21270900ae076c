import { quoteIdent, quoteTable, type QualifiedName } from '../config/identifiers';
import { quoteLiteral } from '../cursor/keyset-sql';

/**
 * SQL for comparing a table between two databases by key ranges, computed where the data is:
 *
 *   SELECT count(*)::text, coalesce(sum(('x' || substr(md5(convert_to(ROW("id"::text, "status"::text)::text, 'UTF8')), 1, 15))::bit(60)::bigint), 0)::text
 *     FROM "public"."orders" WHERE ("id") >= ('1000'::bigint) AND ("id") < ('2000'::bigint)
 *
 * The checksum is a sum of per-row hashes, so it does not depend on row order; values are compared as
 * text (both sessions use the same settings: UTC, ISO dates, hex bytea), hashed as UTF-8 whatever each database's
 * encoding. Ranges are [lo, hi): lo inclusive, hi exclusive; a missing lo or hi is unbounded. A text key the two
 * databases sort differently is compared in byte order on both sides (`byteOrder`), so a range holds the same keys on each.
 */
export interface KeyColumn {
  name: string;
  type: string;
  /** compared and ordered in byte order (COLLATE "C"): the two sides sort this text column differently (key-collations.ts) */
  byteOrder?: boolean;
}

const C = ' COLLATE "C"';
const keyExpr = (k: KeyColumn) => `${quoteIdent(k.name)}${k.byteOrder ? C : ''}`;

export type Bound = string[] | null;

/**
 * The target rows of one instance in a target its template's instances share (`sink.instanceColumn`):
 * every target-side statement is limited to them, so verify never sees, repairs or deletes another instance's rows.
 */
export interface TargetScope {
  column: string;
  value: string;
}

/** ` AND "tenant" = 'acme'::text` (with `alias.` before the column when given), or nothing without a scope. */
export function scopeSql(scope: TargetScope | undefined, alias = ''): string {
  return scope ? ` AND ${alias ? `${alias}.` : ''}${quoteIdent(scope.column)} = ${quoteLiteral(scope.value)}::text` : '';
}

export function rangePredicate(key: readonly KeyColumn[], lo: Bound, hi: Bound): string {
  const cols = `(${key.map(keyExpr).join(', ')})`;
  const lit = (b: string[]) => `(${b.map((v, i) => `${quoteLiteral(v)}::${(key[i] as KeyColumn).type}${(key[i] as KeyColumn).byteOrder ? C : ''}`).join(', ')})`;
  // A row with a NULL key is in no range (a run cannot write it: it is a dead letter), also when the range is open.
  const parts = [lo ? `${cols} >= ${lit(lo)}` : '', hi ? `${cols} < ${lit(hi)}` : '', lo || hi ? '' : `${cols} IS NOT NULL`].filter(Boolean);
  return parts.join(' AND ');
}

/** How many rows have a NULL in a key column: in no range, so counted on their own. */
export function nullKeyCountSql(table: QualifiedName, key: readonly KeyColumn[]): string {
  return `SELECT count(*)::text AS n FROM ${quoteTable(table)} WHERE ${key.map((k) => `${quoteIdent(k.name)} IS NULL`).join(' OR ')}`;
}

export function rangeDigestSql(table: QualifiedName, columns: readonly string[], key: readonly KeyColumn[], lo: Bound, hi: Bound, scope?: TargetScope): string {
  const row = `convert_to(ROW(${columns.map((c) => `${quoteIdent(c)}::text`).join(', ')})::text, 'UTF8')`;
  return (
    `SELECT count(*)::text AS n, coalesce(sum(('x' || substr(md5(${row}), 1, 15))::bit(60)::bigint), 0)::text AS h ` +
    `FROM ${quoteTable(table)} WHERE ${rangePredicate(key, lo, hi)}${scopeSql(scope)}`
  );
}

/** About `ranges` boundaries splitting the table's keys into ranges of similar row counts (one index scan). */
export function boundariesSql(table: QualifiedName, key: readonly KeyColumn[], ranges: number): string {
  const cols = key.map((k) => quoteIdent(k.name)).join(', ');
  const order = key.map(keyExpr).join(', ');
  const asText = key.map((k) => `${quoteIdent(k.name)}::text`).join(', ');
  return (
    `SELECT array_to_json(ARRAY[${asText}])::text AS b FROM (` +
    // Names no key column can have unquoted (a key column "rn" or "c" made them ambiguous: an acceptance run).
    `SELECT ${cols}, row_number() OVER (ORDER BY ${order}) AS "tidemark.rn", count(*) OVER () AS "tidemark.n" FROM ${quoteTable(table)} WHERE (${cols}) IS NOT NULL) s ` +
    `WHERE (s."tidemark.rn" - 1) % greatest(ceil(s."tidemark.n"::numeric / ${Math.max(1, Math.floor(ranges))}), 1) = 0 ORDER BY s."tidemark.rn"`
  );
}
