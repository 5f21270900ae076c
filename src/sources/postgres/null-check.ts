import type pg from 'pg';
import { quoteIdent, quoteTable, type QualifiedName } from '../../config/identifiers';
import { SourceSetupError } from './source-errors';

/** Longest a NULL probe without an index may scan before tidemark gives up on it (at most source.statementTimeout). */
export const NULL_PROBE_MS = 15_000;

/**
 * A NULL never compares greater than a cursor, so rows with a NULL cursor value would silently never
 * be read: a nullable cursor column must have none. The check must not scan a large table:
 * - with a btree index leading with the column (the keyset index usually is one), the probe is an
 *   index lookup; sequential scans are disabled for it so the planner cannot prefer one on a table
 *   whose statistics are missing;
 * - without one, the probe is a scan bounded by a statement_timeout of `probeMs` (lock waits by
 *   lock_timeout, half of it: a lock is transient and its error retryable). A scan that does not finish
 *   cannot prove there are no NULLs, so prepare fails, naming the index to create or the NOT NULL to add.
 */
export async function checkNoNulls(client: pg.Client, table: QualifiedName, column: string, probeMs = NULL_PROBE_MS): Promise<void> {
  const indexed = await client.query<{ ok: string }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_am am ON am.oid = ic.relam
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = to_regclass($1::text) AND a.attname = $2::name AND am.amname = 'btree'
          AND i.indpred IS NULL AND i.indisvalid)::text AS ok`,
    [quoteTable(table), column],
  );
  const useIndex = String(indexed.rows[0]?.ok) === 'true';
  const name = `${table.schema}.${table.name}`;
  await client.query('BEGIN');
  let found: boolean;
  try {
    if (useIndex) await client.query('SET LOCAL enable_seqscan = off');
    else await client.query(`SET LOCAL statement_timeout = ${Math.round(probeMs)}; SET LOCAL lock_timeout = ${Math.round(probeMs / 2)}`);
    const r = await client.query(`SELECT 1 FROM ${quoteTable(table)} WHERE ${quoteIdent(column)} IS NULL LIMIT 1`);
    found = (r.rowCount ?? 0) > 0;
  } catch (err) {
    if (!useIndex && (err as { code?: unknown }).code === '57014') {
      throw new SourceSetupError(
        'source.cursor',
        `cannot check that cursor column "${column}" of ${name} has no NULLs: no index leads with it and scanning the table took longer than ${probeMs} ms; ` +
          `create one (CREATE INDEX CONCURRENTLY ON ${name} (${column}, ...) — the keyset index does) or make the column NOT NULL`,
      );
    }
    throw err;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
  if (found) {
    throw new SourceSetupError('source.cursor', `${name} has rows where cursor column "${column}" is NULL; they could never be read: set a value and make the column NOT NULL`);
  }
}
