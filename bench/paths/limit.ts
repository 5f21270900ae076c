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
