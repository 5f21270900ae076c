import { quoteIdent, quoteTable, type QualifiedName } from '../config/identifiers';
import { rangePredicate, scopeSql, type Bound, type KeyColumn, type TargetScope } from './range-sql';

/**
 * SQL for removing target rows whose key the source no longer has, one key range at a time. Key values
 * travel as text and are cast back with explicit types; nothing depends on the two databases sorting
 * alike (each side is paged in its own order, membership is checked by equality).
 */

const cols = (key: readonly KeyColumn[]) => key.map((k) => quoteIdent(k.name)).join(', ');

/** One page of a range's keys, in key order, strictly after $1..$k when `after`; the page size is the last parameter. */
export function keyPageSql(table: QualifiedName, key: readonly KeyColumn[], lo: Bound, hi: Bound, after: boolean, scope?: TargetScope): string {
  const next = after ? ` AND (${cols(key)}) > (${key.map((k, i) => `$${i + 1}::${k.type}`).join(', ')})` : '';
  // Output columns get other names than the key's: ORDER BY "id" would otherwise sort by the text copy.
  const typed = key.map((k) => `t.${quoteIdent(k.name)}`).join(', ');
  return (
    `SELECT ${key.map((k, i) => `t.${quoteIdent(k.name)}::text AS k${i}`).join(', ')} FROM ${quoteTable(table)} t ` +
    `WHERE ${rangePredicate(key, lo, hi)}${next}${scopeSql(scope, 't')} ORDER BY ${typed} LIMIT $${after ? key.length + 1 : 1}::int`
  );
}

/** Of the keys given as one text array per column ($1..$k), the 1-based positions of those the table does not have, in order. */
export function absentKeysSql(table: QualifiedName, key: readonly KeyColumn[]): string {
  const u = key.map((_, i) => `k${i}`);
  return (
    `SELECT u.i::text FROM unnest(${key.map((_, i) => `$${i + 1}::text[]`).join(', ')}) WITH ORDINALITY AS u(${u.join(', ')}, i) ` +
    `WHERE NOT EXISTS (SELECT 1 FROM ${quoteTable(table)} s WHERE (${key.map((k) => `s.${quoteIdent(k.name)}`).join(', ')}) = ` +
    `(${key.map((k, i) => `u.k${i}::${k.type}`).join(', ')})) ORDER BY u.i`
  );
}

/** Session-local list of the keys to delete: kept in the target database, not in memory, whatever its size. */
export function createDoomedSql(keyLength: number): string {
  const k = Array.from({ length: keyLength }, (_, i) => `k${i} text`).join(', ');
  return `CREATE TEMP TABLE tidemark_doomed (seq bigserial PRIMARY KEY, ${k})`;
}

export function insertDoomedSql(keyLength: number): string {
  const k = Array.from({ length: keyLength }, (_, i) => `k${i}`);
  return `INSERT INTO pg_temp.tidemark_doomed (${k.join(', ')}) SELECT * FROM unnest(${k.map((_, i) => `$${i + 1}::text[]`).join(', ')})`;
}

/** Takes the next $1 keys off the list and deletes their rows; returns the deleted rows (one per key at most). */
export function deleteDoomedBatchSql(table: QualifiedName, key: readonly KeyColumn[], scope?: TargetScope): string {
  const k = key.map((_, i) => `k${i}`);
  return (
    `WITH batch AS (DELETE FROM pg_temp.tidemark_doomed WHERE seq IN ` +
    `(SELECT seq FROM pg_temp.tidemark_doomed ORDER BY seq LIMIT $1::int) RETURNING ${k.join(', ')}) ` +
    `DELETE FROM ${quoteTable(table)} t USING batch b ` +
    `WHERE (${key.map((c) => `t.${quoteIdent(c.name)}`).join(', ')}) = (${key.map((c, i) => `b.k${i}::${c.type}`).join(', ')})${scopeSql(scope, 't')}`
  );
}
