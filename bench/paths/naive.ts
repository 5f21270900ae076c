import { connect } from '../../src/pg/connect';
import { countRows } from '../lib/db';
import { COLUMNS } from '../lib/seed';
import { prepareTarget, TARGET_TABLE } from '../lib/targets';
import { seconds } from './common';
import type { BenchPath } from './types';

const UPSERT =
  `INSERT INTO ${TARGET_TABLE} (${COLUMNS.join(', ')}) VALUES ($1::bigint, $2::timestamptz, $3::text, $4::text, $5::numeric, $6::text) ` +
  `ON CONFLICT (id) DO UPDATE SET ${COLUMNS.filter((c) => c !== 'id')
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ')}`;

/**
 * What a hand-written sync does: read the rows, then one autocommitted INSERT … ON CONFLICT per row
 * (a prepared statement, so this is the good version of naive). Capped to the first naiveRows rows:
 * rows/s is what compares.
 */
export const naivePath: BenchPath = {
  id: 'naive',
  label: 'naive (row-at-a-time upsert)',
  describe: 'SELECT the first N rows in cursor order, then one autocommitted INSERT … ON CONFLICT DO UPDATE per row (prepared)',
  rows: (ctx) => Math.min(ctx.naiveRows, ctx.rows),
  prepare: (ctx) => prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, 'empty'),
  async run(ctx) {
    const n = Math.min(ctx.naiveRows, ctx.rows);
    const src = await connect(ctx.srcUrl, { applicationName: 'bench-naive-src' });
    const dst = await connect(ctx.dstUrl, { applicationName: 'bench-naive-dst' });
    try {
      const t0 = performance.now();
      const res = await src.query<(string | null)[]>({
        text: `SELECT ${COLUMNS.join(', ')} FROM ${ctx.sourceTable} ORDER BY updated_at, id LIMIT $1`,
        values: [n],
        rowMode: 'array',
      });
      for (const row of res.rows) await dst.query({ name: 'bench_naive_upsert', text: UPSERT, values: row });
      return { seconds: seconds(t0), rows: res.rows.length };
    } finally {
      await Promise.all([src.end(), dst.end()]);
    }
  },
  async check(ctx, m) {
    const n = await countRows(ctx.dstUrl, TARGET_TABLE);
    return n === m.rows ? undefined : `target has ${n} rows, expected ${m.rows}`;
  },
};
