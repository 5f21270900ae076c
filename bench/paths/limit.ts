import { withClient } from '../lib/db';
import { COLUMNS } from '../lib/seed';
import { copyPipe, prepareTarget, TARGET_TABLE } from '../lib/targets';
import { checkCopy, seconds } from './common';
import type { BenchPath } from './types';

/** The physical reference: one COPY out, piped through Node into one COPY in, target with its primary key. */
export const limitPath: BenchPath = {
  id: 'limit',
  label: 'limit (COPY pipe)',
  describe: 'COPY (SELECT … ORDER BY updated_at, id) TO STDOUT piped (pg-copy-streams) into COPY target FROM STDIN, target with its primary key',
  rows: (ctx) => ctx.rows,
  prepare: (ctx) => prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, 'empty'),
  async run(ctx) {
    const t0 = performance.now();
    await copyPipe(ctx.srcUrl, `SELECT ${COLUMNS.join(', ')} FROM ${ctx.sourceTable} ORDER BY updated_at, id`, ctx.dstUrl, TARGET_TABLE);
    return { seconds: seconds(t0), rows: ctx.rows };
  },
  check: (ctx) => checkCopy(ctx),
};

/**
 * The physical reference for shards (issue #16): the same pipe 4 times at once, each over a quarter of the rows by id
 * (quartiles found before the clock starts), into the one target. What 4 writers can do on this machine at best.
 */
export const limitShardsPath: BenchPath = {
  id: 'x-limit-4',
  label: 'limit, 4 COPY pipes at once',
  describe: 'four COPY (SELECT … WHERE id in a quarter ORDER BY updated_at, id) TO STDOUT → COPY target FROM STDIN pipes at once, target with its primary key',
  rows: (ctx) => ctx.rows,
  prepare: (ctx) => prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, 'empty'),
  async run(ctx) {
    const cuts = await withClient(ctx.srcUrl, async (c) => {
      const r = await c.query<{ q: string[] }>(`SELECT percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY id)::text[] AS q FROM ${ctx.sourceTable}`);
      return r.rows[0]!.q;
    });
    const bounds = [null, ...cuts, null];
    const t0 = performance.now();
    await Promise.all(
      bounds.slice(0, -1).map((lo, i) => {
        const hi = bounds[i + 1];
        const where = [lo === null ? '' : `id > ${Number(lo)}`, hi === null ? '' : `id <= ${Number(hi)}`].filter(Boolean).join(' AND ');
        return copyPipe(ctx.srcUrl, `SELECT ${COLUMNS.join(', ')} FROM ${ctx.sourceTable} WHERE ${where} ORDER BY updated_at, id`, ctx.dstUrl, TARGET_TABLE);
      }),
    );
    return { seconds: seconds(t0), rows: ctx.rows };
  },
  check: (ctx) => checkCopy(ctx),
};
