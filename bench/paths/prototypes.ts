import { runLoopCopy, TIDEMARK_LOOP, type LoopOptions } from '../lib/loop-copy';
import { prepareTarget, type Prefill } from '../lib/targets';
import { runBareLoop } from './bare-loop';
import { benchConfig, checkCopy } from './common';
import type { BenchPath, PathId } from './types';

let runs = 0;

function prototype(id: PathId, prefill: Prefill, label: string, describe: string, opts: Partial<LoopOptions>): BenchPath {
  const options = { ...TIDEMARK_LOOP, ...opts };
  return {
    id,
    label,
    describe,
    prototype: true,
    rows: (ctx) => ctx.rows,
    prepare: (ctx) => prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, prefill),
    async run(ctx) {
      const it = benchConfig(ctx).integrations[0]!;
      const loop = await runLoopCopy(it, { source: ctx.srcUrl, sink: ctx.dstUrl }, `bench/${id}/${process.pid}/${++runs}`, options);
      return { seconds: loop.seconds, rows: loop.rows, loop };
    },
    check: (ctx) => checkCopy(ctx, prefill === 'new' ? ctx.rows : 0),
  };
}

/** The real bare loop (activity) with another batchSize: how much is per-page overhead. */
function batchVariant(batchSize: number): BenchPath {
  return {
    id: `x-batch-${batchSize}`,
    label: `bare loop, batchSize ${batchSize}`,
    describe: `the bare loop (real activity) with batchSize ${batchSize} instead of the run's`,
    prototype: true,
    rows: (ctx) => ctx.rows,
    prepare: (ctx) => prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, 'empty'),
    run: (ctx) => runBareLoop({ ...ctx, batchSize }),
    check: (ctx) => checkCopy(ctx),
  };
}

/** The instrumented copy of tidemark's loop without prefetch: phases add up to the wall time (the breakdown). */
export const loopSequentialPath = prototype(
  'x-loop-seq',
  'empty',
  'loop copy, sequential (breakdown)',
  "bench/lib/loop-copy.ts with tidemark's choices but no prefetch, so its phases add up: the breakdown comes from here",
  { prefetch: false },
);

export const prototypePaths: BenchPath[] = [
  loopSequentialPath,
  prototype('x-loop', 'empty', 'loop copy (control)', "bench/lib/loop-copy.ts with tidemark's own choices (COPY pages, prefetch, direct COPY into the empty target): should match the bare loop", {}),
  prototype('x-rows-read-autocommit', 'empty', 'loop copy + rows_read autocommit (before #16)', 'with the separate autocommitted rows_read UPDATE before each page, as tidemark did before issue #16: a second commit per page', {
    rowsRead: true,
  }),
  prototype('x-lean', 'empty', 'loop copy − count(*)', 'without the count(*) estimate before the first page', {
    estimate: false,
  }),
  prototype('x-rows', 'empty', 'loop copy, row pages + encode', 'rows parsed into JS arrays and re-encoded (the path mapping takes), otherwise as tidemark', { read: 'rows' }),
  batchVariant(1000),
  batchVariant(20000),
  prototype('x-new-optimistic', 'new', 'all new: optimistic direct COPY', 'all-new scenario: COPY straight into the non-empty target, staged upsert only after a conflict', { write: 'optimistic' }),
  prototype('x-new-nodistinct', 'new', 'all new: upsert without DISTINCT ON', 'all-new scenario: staged upsert without DISTINCT ON / ORDER BY (key unique in the source)', { distinct: false }),
  prototype('x-same-prefilter', 'same', 'no change: anti-join prefilter', 'no-change scenario: unchanged rows dropped before ON CONFLICT (no row locks, no xmax writes)', { prefilter: true }),
  prototype('x-changed-nodistinct', 'changed', 'all changed: upsert without DISTINCT ON', 'all-changed scenario: staged upsert without DISTINCT ON / ORDER BY', { distinct: false }),
];
