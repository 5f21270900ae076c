import type pg from 'pg';
import { errorMessage } from '../activities/failures';
import { deleteListed } from './delete-keys';
import { createDoomedSql } from './key-sql';
import { findMissingKeys, type KeySides } from './missing-keys';
import type { Bound } from './range-sql';
import { finishReconciliation, recordDeletes, startReconciliation } from './reconciliations';
import { TooManyDeletesError } from './verify-errors';

export interface DeleteSummary {
  /** target rows, in the ranges that differ, whose key the source no longer has */
  rows: number;
  /** rows deleted (0 in a dry run or when refused) */
  deleted: number;
  dryRun: boolean;
  maxFraction: number;
  forced: boolean;
  /** more than maxFraction of the target: refused unless forced */
  overLimit: boolean;
}

export interface DeleteOptions {
  integration: string;
  targetRows: number;
  maxFraction: number;
  dryRun: boolean;
  force: boolean;
  samples: number;
  pageSize: number;
  /** the sync run this reconciliation belongs to: its tidemark.runs row counts the deleted rows */
  runKey: string | null;
  check: () => void;
}

/**
 * Removes target rows whose key the source no longer has, range by range: first every differing range's
 * keys are compared (the missing ones listed in the target's session, not in memory), then the guard
 * looks at the total, and only then are they deleted in batches, one transaction each. The caller holds
 * the integration lock, so no sync writes the target in between. A dry run only counts and samples.
 */
export async function deleteMissing(
  src: pg.Client,
  dst: pg.Client,
  sides: KeySides,
  ranges: Array<{ lo: Bound; hi: Bound; missing?: { rows: number; samples: string[][] } }>,
  o: DeleteOptions,
): Promise<DeleteSummary> {
  const summary: DeleteSummary = { rows: 0, deleted: 0, dryRun: o.dryRun, maxFraction: o.maxFraction, forced: o.force, overLimit: false };
  const recId = o.dryRun ? undefined : await startReconciliation(dst, o.integration, o.runKey);
  const counts = () => ({ rangesCompared: ranges.length, rowsMissing: summary.rows });
  try {
    if (!o.dryRun) await dst.query(createDoomedSql(sides.dstKey.length));
    for (const r of ranges) {
      r.missing = await findMissingKeys(src, dst, sides, r, { pageSize: o.pageSize, samples: o.samples, list: !o.dryRun, check: o.check });
      summary.rows += r.missing.rows;
    }
    summary.overLimit = summary.rows > o.maxFraction * o.targetRows;
    if (recId === undefined) return summary;
    if (summary.overLimit && !o.force) {
      const refusal = new TooManyDeletesError(o.integration, summary.rows, o.targetRows, o.maxFraction);
      await finishReconciliation(dst, recId, 'refused', counts(), refusal.message);
      throw refusal;
    }
    summary.deleted = await deleteListed(dst, sides.dstTable, sides.dstKey, summary.rows, {
      batchSize: o.pageSize,
      record: (tx, n) => recordDeletes(tx, recId, o.runKey, n),
      check: o.check,
      ...(sides.dstScope ? { scope: sides.dstScope } : {}),
    });
    await finishReconciliation(dst, recId, 'completed', counts());
    return summary;
  } catch (err) {
    if (recId !== undefined && !(err instanceof TooManyDeletesError)) {
      await finishReconciliation(dst, recId, 'failed', counts(), errorMessage(err)).catch(() => undefined);
    }
    throw err;
  } finally {
    if (!o.dryRun) await dst.query('DROP TABLE IF EXISTS pg_temp.tidemark_doomed').catch(() => undefined);
  }
}
