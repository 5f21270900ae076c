import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { RunInput, RunResult } from '../../src/activities';
import { resolveEnvRefs } from '../../src/config';
import { closeQuietly, connect } from '../../src/pg/connect';
import { migrate } from '../../src/db/migrate';
import * as state from '../../src/db/state';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { prefetch } from '../../src/sources/combinators/prefetch';
import { PostgresSource } from '../../src/sources/postgres/postgres-source';
import { sql } from '../lib/db';
import { prepareTarget, TARGET_TABLE, type Prefill } from '../lib/targets';
import { shipped } from '../lib/shipped';
import { benchConfig, benchEnv, benchIntegration, checkCopy, INTEGRATION, pgSink, pgSource, seconds } from './common';
import type { BenchContext, BenchPath, Measurement, PathId } from './types';

let runs = 0;

/**
 * tidemark's own loop without Temporal. 'activity': the real activity function (createActivities of the build as
 * it ships, bench/lib/shipped.ts) under MockActivityEnvironment, i.e. everything the worker runs minus the server.
 * 'direct' (the checkout's classes through tsx): prefetch(PostgresSource
 * .copyPages) → PostgresSink.writeCopy with the same state statements, written out here (no lock, no heartbeats).
 */
export async function runBareLoop(ctx: BenchContext, extra: Record<string, unknown> = {}, mode: RunInput['mode'] = 'backfill'): Promise<Measurement> {
  const runKey = `bench/bare/${process.pid}/${++runs}`;
  if (ctx.bareMode === 'direct' && !Object.keys(extra).length && mode === 'backfill') return runDirect(ctx, runKey);
  const code = await shipped(ctx.repoRoot, ctx.log);
  const config = code.parseConfig({ integrations: [benchIntegration(ctx, extra)] }, 'bench config');
  const activities = code.createActivities({ config: () => config, env: benchEnv(ctx) });
  // WARN: the activity's per-run INFO lines would flood the bench output (a worker logs them too; it costs nothing measurable).
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('WARN') });
  const t0 = performance.now();
  const input: RunInput = { integration: INTEGRATION, mode, runKey };
  const result = (await env.run(activities.runIntegration, input)) as RunResult;
  const secs = seconds(t0);
  if (!result.done) throw new Error(`bare loop stopped early: ${JSON.stringify(result)}`);
  return { seconds: secs, rows: result.rows, rowsWritten: await rowsWritten(ctx, runKey), rowsRejected: await rowsRejected(ctx, runKey) };
}

async function runDirect(ctx: BenchContext, runKey: string): Promise<Measurement> {
  const it = benchConfig(ctx).integrations[0]!;
  const env = benchEnv(ctx);
  const sinkCfg = pgSink(it);
  const t0 = performance.now();
  const stateDb = await connect(resolveEnvRefs(sinkCfg.url, 'sink.url', env));
  const cfg = pgSource(it);
  const source = new PostgresSource(await connect(resolveEnvRefs(cfg.url, 'source.url', env)), cfg);
  try {
    await migrate(stateDb);
    const plan = await source.prepare({});
    await state.claimCheckpoint(stateDb, { integration: it.id, slot: 'backfill', owner: runKey, cursor: null, highWater: plan.highWater, reset: true });
    await state.startRun(stateDb, runKey, it.id, 'backfill', null);
    const sink = new PostgresSink(stateDb, sinkCfg);
    await sink.prepare(plan.columns);
    let rows = 0;
    // The activity's own choices: COPY-text pages, one page read ahead, direct COPY into an empty target.
    for await (const page of prefetch(source.copyPages(null, { limit: it.batchSize }))) {
      // As the page loop: the checkpoint and the run's counters in one statement of the page's transaction.
      await sink.writeCopy(page.data, page.count, (tx, res) =>
        state.recordPage(tx, { integration: it.id, slot: 'backfill', runId: runKey, cursor: page.cursor, rows: page.count, written: res.written, rejected: 0, read: page.count }),
      );
      rows += page.count;
    }
    await state.finishRun(stateDb, runKey, 'completed');
    return { seconds: seconds(t0), rows, rowsWritten: await rowsWritten(ctx, runKey) };
  } finally {
    await source.close();
    await closeQuietly(stateDb);
  }
}

async function rowsWritten(ctx: BenchContext, runKey: string): Promise<number | undefined> {
  const [r] = await sql<{ w: string }>(ctx.dstUrl, 'SELECT rows_written::text AS w FROM tidemark.runs WHERE run_id = $1', [runKey]).catch(() => []);
  return r ? Number(r.w) : undefined;
}

async function rowsRejected(ctx: BenchContext, runKey: string): Promise<number | undefined> {
  const [r] = await sql<{ n: string }>(ctx.dstUrl, 'SELECT rows_rejected::text AS n FROM tidemark.runs WHERE run_id = $1', [runKey]).catch(() => []);
  return r ? Number(r.n) : undefined;
}

function bareLabel(ctx: { bareMode: 'activity' | 'direct' }): string {
  return ctx.bareMode === 'activity' ? 'activity under MockActivityEnvironment' : 'PostgresSource.copyPages + PostgresSink.writeCopy, direct';
}

export const barePath: BenchPath = {
  id: 'bare',
  label: 'bare loop (no Temporal)',
  describe: "tidemark's source + sink loop without Temporal (see the mode in the run's notes)",
  rows: (ctx) => ctx.rows,
  prepare: (ctx) => prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, 'empty'),
  run: (ctx) => runBareLoop(ctx),
  check: (ctx) => checkCopy(ctx),
};

function upsertPath(id: PathId, prefill: Prefill, label: string, describe: string, expectWritten: (rows: number) => number): BenchPath {
  return {
    id,
    label,
    describe,
    rows: (ctx) => ctx.rows,
    prepare: (ctx) => prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, prefill),
    run: (ctx) => runBareLoop(ctx),
    async check(ctx, m) {
      const problem = await checkCopy(ctx, prefill === 'new' ? ctx.rows : 0);
      if (problem) return problem;
      const want = expectWritten(m.rows);
      return m.rowsWritten === undefined || m.rowsWritten === want ? undefined : `rows_written ${m.rowsWritten}, expected ${want}`;
    },
  };
}

export const upsertNewPath = upsertPath(
  'upsert-new',
  'new',
  'upsert: all rows new',
  'bare loop into a target pre-filled with as many rows of other ids (non-overlapping): every row an insert into a non-empty table',
  (rows) => rows,
);
export const upsertChangedPath = upsertPath(
  'upsert-changed',
  'changed',
  'upsert: all rows changed',
  'bare loop into a target pre-filled with the same ids and different values: every row an update',
  (rows) => rows,
);
export const upsertSamePath = upsertPath(
  'upsert-same',
  'same',
  'upsert: no rows changed',
  'bare loop into a target equal to the source (a re-sync): every row compared, none written',
  () => 0,
);

/** A mapping that touches every column and rules on most: the per-record path (rows parsed, mapped, validated, encoded). */
export const BENCH_MAPPING = {
  mapping: {
    id: 'id',
    updated_at: 'updated_at',
    customer: { from: 'customer', transform: 'upper' },
    status: 'status',
    total: 'total',
    note: { from: 'note', transform: 'trim' },
  },
  validate: {
    id: { type: 'integer', required: true, min: 1 },
    updated_at: { type: 'timestamp', required: true },
    customer: { required: true, maxLength: 40, pattern: '^CUSTOMER-[0-9]+$' },
    status: { enum: ['new', 'paid', 'shipped', 'cancelled'] },
    total: { type: 'number', min: 0 },
  },
};

export const mappingPath: BenchPath = {
  id: 'mapping',
  label: 'mapping + validation',
  describe: 'the bare loop with a mapping (upper-case customer, trim note, the rest 1:1) and validation rules on five columns: rows parsed, mapped, validated (the rules compiled to plain checks), encoded',
  rows: (ctx) => ctx.rows,
  prepare: (ctx) => prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, 'empty'),
  run: (ctx) => runBareLoop(ctx, BENCH_MAPPING),
  async check(ctx, m) {
    if (m.rowsRejected) return `${m.rowsRejected} rows rejected (the seed should pass every rule)`;
    const [r] = await sql<{ n: string; lower: string }>(ctx.dstUrl, `SELECT count(*)::text AS n, count(*) FILTER (WHERE customer <> upper(customer))::text AS lower FROM ${TARGET_TABLE}`);
    if (Number(r?.n) !== ctx.rows) return `target has ${r?.n} rows, expected ${ctx.rows}`;
    return Number(r?.lower) ? `${r?.lower} rows not mapped (customer not upper case)` : undefined;
  },
};

export { bareLabel };
