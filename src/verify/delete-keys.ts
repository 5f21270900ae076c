import type pg from 'pg';
import type { QualifiedName } from '../config/identifiers';
import { deleteDoomedBatchSql } from './key-sql';
import type { KeyColumn, TargetScope } from './range-sql';

/**
 * Deletes the rows of the keys listed in tidemark_doomed, `batchSize` keys per transaction; `record` runs
 * inside each transaction, so the recorded count always matches what was committed.
 */
export async function deleteListed(
  dst: pg.Client,
  table: QualifiedName,
  key: readonly KeyColumn[],
  listed: number,
  opts: { batchSize: number; record: (tx: pg.Client, rows: number) => Promise<void>; check?: () => void; scope?: TargetScope },
): Promise<number> {
  let deleted = 0;
  for (let taken = 0; taken < listed; taken += opts.batchSize) {
    await dst.query('BEGIN');
    try {
      const n = (await dst.query(deleteDoomedBatchSql(table, key, opts.scope), [opts.batchSize])).rowCount ?? 0;
      await opts.record(dst, n);
      await dst.query('COMMIT');
      deleted += n;
    } catch (err) {
      await dst.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    opts.check?.();
  }
  return deleted;
}
