import { migrate } from '../../src/db/migrate';
import * as state from '../../src/db/state';
import { sql, withClient } from '../lib/db';
import { prepareTarget, TARGET_TABLE } from '../lib/targets';
import { runBareLoop } from './bare-loop';
import { checkCopy, INTEGRATION } from './common';
import type { BenchContext, BenchPath } from './types';

/** The share of the source a sync finds changed (issue #16: 0.1 %). */
const CHANGED_SHARE = 0.001;

const changedRows = (ctx: BenchContext) => Math.max(1, Math.round(ctx.rows * CHANGED_SHARE));

/**
 * A sync after the source changed 0.1 % of its rows: the target holds the whole source, the newest 0.1 % (by
 * cursor) with other values, and the sync checkpoint sits just before them. The sync reads those rows by the
 * cursor's index and upserts them by the key's: index-only work, which must not grow with the table.
 */
async function prepareSync(ctx: BenchContext): Promise<void> {
  await prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, 'same');
  const skip = ctx.rows - changedRows(ctx);
  const [edge] = await sql<{ updated_at: string; id: string }>(
    ctx.srcUrl,
    `SELECT updated_at::text AS updated_at, id::text AS id FROM ${ctx.sourceTable} ORDER BY updated_at, id OFFSET $1::bigint LIMIT 1`,
    [skip - 1],
  );
  if (!edge) throw new Error(`sync path: the source has fewer than ${skip} rows`);
  const [last] = await sql<{ ids: string[] }>(
    ctx.srcUrl,
    `SELECT array_agg(id::text) AS ids FROM (SELECT id FROM ${ctx.sourceTable} WHERE (updated_at, id) > ($1::timestamptz, $2::bigint)) s`,
    [edge.updated_at, edge.id],
  );
  await withClient(ctx.dstUrl, async (c) => {
    await c.query(`UPDATE ${TARGET_TABLE} SET status = 'old-' || status, total = total + 1 WHERE id = ANY($1::bigint[])`, [last?.ids ?? []]);
    await migrate(c);
    await state.claimCheckpoint(c, { integration: INTEGRATION, slot: 'sync', owner: 'bench-prepare', cursor: [edge.updated_at, edge.id], highWater: null, reset: true });
  });
}

export const syncChangedPath: BenchPath = {
  id: 'sync-changed',
  label: 'sync, 0.1 % of rows changed',
  describe:
    'a sync (bare loop, mode sync) of a target that holds the whole source except the newest 0.1 % of rows by cursor, which differ; the checkpoint sits just before them: rows read by the cursor index, upserted by the key index',
  rows: (ctx) => changedRows(ctx),
  prepare: prepareSync,
  run: (ctx) => runBareLoop(ctx, {}, 'sync'),
  async check(ctx, m) {
    const problem = await checkCopy(ctx);
    if (problem) return problem;
    return m.rowsWritten === changedRows(ctx) ? undefined : `rows_written ${m.rowsWritten}, expected ${changedRows(ctx)}`;
  },
};
