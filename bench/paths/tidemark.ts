import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { WorkflowHandle } from '@temporalio/client';
import type { RunResult } from '../../src/activities';
import { sql, withClient } from '../lib/db';
import { COLUMN_DDL } from '../lib/seed';
import { distBuild } from '../lib/dist-build';
import { childrenOf, cpuShares, machineCpu, memoryOf, RssSampler } from '../lib/proc';
import { prepareTarget } from '../lib/targets';
import { benchEnv, benchIntegration, checkCopy, INTEGRATION, seconds } from './common';
import type { BenchContext, BenchPath, Measurement } from './types';

const WARMUP = 'bench-warmup';
const WARMUP_SOURCE = 'public.bench_warmup';

/**
 * Rows of the warm-up integration: enough pages of the run's size that the per-row code (COPY text, the page's
 * checks) is optimised by V8 before the timed run, as in a worker that has been running for a while. 100 rows in
 * one page left it to be compiled inside the timed run, once per worker process (which weighed on runs on several).
 */
const WARMUP_ROWS = 20_000;
const WARMUP_TARGET = 'bench.warmup';

/** The warm-up source, and its target emptied: each warm-up backfill takes the timed run's path (a direct load). */
async function ensureWarmupSource(ctx: BenchContext): Promise<void> {
  await withClient(ctx.srcUrl, async (c) => {
    await c.query(`CREATE TABLE IF NOT EXISTS ${WARMUP_SOURCE} (${COLUMN_DDL}, PRIMARY KEY (id))`);
    await c.query(`CREATE INDEX IF NOT EXISTS bench_warmup_cursor ON ${WARMUP_SOURCE} (updated_at, id)`);
    await c.query(
      `INSERT INTO ${WARMUP_SOURCE} SELECT g, timestamptz '2024-01-01' + g * interval '1 second', 'c' || g, 'new', g, NULL FROM generate_series(1, ${WARMUP_ROWS}) g ON CONFLICT DO NOTHING`,
    );
  });
  await emptyWarmupTarget(ctx);
}
async function emptyWarmupTarget(ctx: BenchContext): Promise<void> {
  await withClient(ctx.dstUrl, async (c) => {
    if ((await c.query(`SELECT to_regclass('${WARMUP_TARGET}') AS t`)).rows[0].t) await c.query(`TRUNCATE ${WARMUP_TARGET}`);
  });
}
function warmupIntegration(ctx: BenchContext) {
  return { ...benchIntegration({ sourceTable: WARMUP_SOURCE, batchSize: ctx.batchSize }), id: WARMUP, sink: { ...benchIntegration(ctx).sink, table: WARMUP_TARGET } };
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/**
 * Untimed backfills of the warm-up integration until every one of `count` worker processes polling the task queue has
 * run a workflow task and an activity that wrote its rows (which process takes a task is the server's choice),
 * so a timed run on several workers starts as warm as the one-worker run does (its sandbox built, its page code run
 * once). Backfills, not syncs: a sync after the first reads nothing, and left the page code of the processes that
 * ran only those cold (loaded and compiled inside the timed run).
 */
async function warmUpEach(ctx: BenchContext, count: number): Promise<{ runs: number; seconds: number }> {
  const t = ctx.temporal!;
  const [wf, act] = [new Set<string>(), new Set<string>()];
  const t0 = performance.now();
  for (let runs = 1; runs <= 12; runs++) {
    await emptyWarmupTarget(ctx);
    const handle = await t.client.workflow.start('backfillWorkflow', { taskQueue: t.taskQueue, workflowId: `bench-warmup-${process.pid}-${Date.now()}`, args: [{ integration: WARMUP }] });
    await handle.result();
    for (const e of (await handle.fetchHistory()).events ?? []) {
      if (e.workflowTaskStartedEventAttributes?.identity) wf.add(e.workflowTaskStartedEventAttributes.identity);
      if (e.activityTaskStartedEventAttributes?.identity) act.add(e.activityTaskStartedEventAttributes.identity);
    }
    if (wf.size >= count && act.size >= count) return { runs, seconds: seconds(t0) };
  }
  throw new Error(`warm-up: after 12 backfills only ${wf.size} worker process(es) ran a workflow task and ${act.size} an activity, of ${count}`);
}

const ms = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);

/** Where a sharded backfill's time went, from its history: the plan, each shard activity (start → end), the finish. */
/** The first payload of an event's input or result as JSON (the bench runs without a codec); undefined if not JSON. */
function payloadJson(p: { payloads?: { data?: Uint8Array | null }[] | null } | null | undefined): Record<string, unknown> | undefined {
  const data = p?.payloads?.[0]?.data;
  try {
    return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Each activity's span from the history, with a shard's index and rows: `runIntegration #2 (253,246 rows) 0.21→3.68`. */
function timeline(events: HistoryEvent[], t0: number): string {
  const scheduled = new Map<string, string>();
  const started = new Map<string, number>();
  const spans: { type: string; from: number; to: number }[] = [];
  for (const e of events) {
    const id = String(e.eventId);
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      const shard = payloadJson(sched.input)?.shard;
      scheduled.set(id, `${sched.activityType?.name ?? '?'}${typeof shard === 'number' ? ` #${shard}` : ''}`);
    }
    if (e.activityTaskStartedEventAttributes) started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), ms(e));
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const name = scheduled.get(String(done.scheduledEventId)) ?? '?';
      const rows = name.includes('#') ? payloadJson(done.result)?.rows : undefined;
      spans.push({ type: typeof rows === 'number' ? `${name} (${rows.toLocaleString('en-US')} rows)` : name, from: started.get(String(done.scheduledEventId)) ?? ms(e), to: ms(e) });
    }
  }
  const s = (v: number) => ((v - t0) / 1000).toFixed(2);
  const end = events.length ? s(ms(events[events.length - 1] as HistoryEvent)) : '?';
  return `${spans.map((p) => `${p.type} ${s(p.from)}→${s(p.to)}`).join(', ')}; closed ${end} s after start`;
}

const READY = /tidemark worker: \d+ integration/;
const READY_TIMEOUT_MS = 180_000;

type MemoryReport = NonNullable<Measurement['workerMemory']>;

interface WorkerProcess {
  child: ChildProcess;
  /** the process that runs the worker: the launcher's child for `bin/tidemark.js worker` */
  pid: number;
  /** set when `pid` is the child of a launcher (bin/tidemark.js re-executing itself with the memory settings) */
  launcherPid?: number;
  /** the worker's line on its workflow bundle, heap and allocator settings */
  settings?: string;
  output(): string;
  /** maxima of the bench-memory lines the prebundled launcher prints (MiB), from the last reset */
  memory(): MemoryReport | undefined;
  resetMemory(): void;
  stop(): Promise<void>;
}

/**
 * How the worker process is started:
 *   'bin'             the default worker as it ships: `node <install>/bin/tidemark.js worker --config <yaml>`, an install
 *                     built from the checkout by the steps of `npm run build` (compiled, prebuilt workflow bundle; its
 *                     launcher starts the worker with the heap flags and MALLOC_ARENA_MAX=2)
 *   'dist-prebundled' the same compiled worker and bundle through createWorker directly: no launcher, node's default heap
 */
export type WorkerForm = 'bin' | 'dist-prebundled';

async function workerArgs(ctx: BenchContext, form: WorkerForm, configFile: string): Promise<string[]> {
  const build = await distBuild(ctx.repoRoot, ctx.log);
  return form === 'bin' ? build.install(configFile) : build.prebundled(configFile);
}

/** The worker in its own process, resolved once it says it is ready. */
async function startWorker(ctx: BenchContext, configFile: string, form: WorkerForm): Promise<WorkerProcess> {
  const t = ctx.temporal!;
  const child = spawn(process.execPath, await workerArgs(ctx, form, configFile), {
    cwd: ctx.repoRoot,
    env: { ...process.env, ...benchEnv(ctx), TEMPORAL_ADDRESS: t.address, TIDEMARK_TASK_QUEUE: t.taskQueue, ...ctx.workerEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let memory: MemoryReport | undefined;
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('bench-memory ')) continue;
      const m = JSON.parse(line.slice('bench-memory '.length)) as MemoryReport;
      const next = { ...m };
      for (const k of Object.keys(next) as (keyof MemoryReport)[]) next[k] = Math.max(next[k] / 2 ** 20, memory?.[k] ?? 0);
      memory = next;
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready after ${READY_TIMEOUT_MS / 1000} s:\n${out}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      out = (out + chunk.toString('utf8').replace(/^bench-memory .*\n?/gm, '')).slice(-20_000);
      if (READY.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker exited before it was ready (${child.exitCode ?? child.signalCode}):\n${out}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  // bin/tidemark.js starts the worker as its child (heap flags, MALLOC_ARENA_MAX): measure that process.
  const [workerPid] = childrenOf(child.pid!);
  return {
    child,
    pid: workerPid ?? child.pid!,
    ...(workerPid ? { launcherPid: child.pid! } : {}),
    settings: /tidemark worker: (workflows .*)/.exec(out)?.[1],
    output: () => out,
    memory: () => memory,
    resetMemory: () => {
      memory = undefined;
    },
    stop,
  };
}

/**
 * The whole product: backfillWorkflow through the Temporal dev server, its worker in a separate process
 * (so its memory is its own). Timed from workflow start to result; worker start-up is not timed.
 */
export async function runTidemark(ctx: BenchContext, rep: number, form: WorkerForm = 'bin', shards = 1, workers = 1): Promise<Measurement> {
  if (workers > 1) return runOnWorkers(ctx, rep, shards, workers);
  const t = ctx.temporal;
  if (!t) throw new Error('the tidemark path needs the Temporal dev server');
  const dir = mkdtempSync(join(tmpdir(), 'tm-bench-'));
  const configFile = join(dir, 'tidemark.yaml');
  writeFileSync(configFile, stringify({ integrations: [benchIntegration(ctx), warmupIntegration(ctx)] }));
  await ensureWarmupSource(ctx);
  const worker = await startWorker(ctx, configFile, form);
  try {
    const idle = memoryOf(worker.pid);
    const sampler = new RssSampler(worker.pid).start();
    const launcher = worker.launcherPid ? new RssSampler(worker.launcherPid).start() : undefined;
    // Untimed: the first workflow task on a new worker builds its workflow sandbox and loads the activity code; a
    // backfill (a sync after the first of the bench reads nothing) runs its page code warm.
    const w0 = performance.now();
    await warmUpEach(ctx, 1);
    const warmupSeconds = seconds(w0);
    worker.resetMemory();
    const workflowId = `bench-${ctx.rows}-${process.pid}-${rep}-${Date.now()}`;
    const cpu0 = machineCpu();
    const t0 = performance.now();
    const handle = await t.client.workflow.start('backfillWorkflow', { taskQueue: t.taskQueue, workflowId, args: [{ integration: INTEGRATION, ...(shards > 1 ? { shards } : {}) }] });
    const result = (await handle.result()) as RunResult;
    const secs = seconds(t0);
    const cpu = cpuShares(cpu0, machineCpu());
    sampler.stop();
    launcher?.stop();
    if (!result.done || result.rows !== ctx.rows) throw new Error(`tidemark run returned ${JSON.stringify(result)}, expected ${ctx.rows} rows done`);
    const history = await handle.fetchHistory();
    const [run] = await sql<{ s: string; w: string }>(
      ctx.dstUrl,
      'SELECT extract(epoch FROM finished_at - started_at)::text AS s, rows_written::text AS w FROM tidemark.runs WHERE run_id = $1',
      [`${workflowId}/${handle.firstExecutionRunId}`],
    ).catch(() => []);
    return {
      seconds: secs,
      cpu,
      rows: result.rows,
      workerPeakRssMb: sampler.lastHwmMb,
      workerRunMaxRssMb: sampler.maxRssMb,
      workerIdleRssMb: idle?.rssMb,
      workerStartupPeakRssMb: idle?.hwmMb,
      warmupSeconds,
      ...(worker.settings ? { workerSettings: worker.settings } : {}),
      ...(launcher ? { launcherPeakRssMb: launcher.lastHwmMb } : {}),
      ...(worker.memory() ? { workerMemory: worker.memory() } : {}),
      historyEvents: history.events?.length,
      activitySeconds: run ? Number(run.s) : undefined,
      rowsWritten: run ? Number(run.w) : undefined,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- worker output ---\n${worker.output()}`, { cause: err });
  } finally {
    await worker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const tidemarkPath: BenchPath = {
  id: 'tidemark',
  label: 'tidemark (Temporal)',
  describe:
    'backfillWorkflow on the Temporal dev server; worker = the default `tidemark worker` in its own process, as it ships: bin/tidemark.js of an install built from the checkout by the steps of `npm run build` (compiled, prebuilt workflow bundle, heap flags and MALLOC_ARENA_MAX=2 set by its launcher); memory measured on the worker process',
  needsTemporal: true,
  rows: (ctx) => ctx.rows,
  prepare: (ctx) => prepareTarget(ctx.srcUrl, ctx.dstUrl, ctx.sourceTable, 'empty'),
  run: (ctx, rep) => runTidemark(ctx, rep),
  check: (ctx) => checkCopy(ctx),
};

/**
 * The sharded backfill on several worker processes polling one task queue (issue #16: 4 shards on 2
 * workers must not lose to one shard). Memory is the highest peak of the worker processes.
 */
async function runOnWorkers(ctx: BenchContext, rep: number, shards: number, count: number): Promise<Measurement> {
  const t = ctx.temporal;
  if (!t) throw new Error('the tidemark path needs the Temporal dev server');
  const dir = mkdtempSync(join(tmpdir(), 'tm-bench-'));
  const configFile = join(dir, 'tidemark.yaml');
  writeFileSync(configFile, stringify({ integrations: [benchIntegration(ctx), warmupIntegration(ctx)] }));
  await ensureWarmupSource(ctx);
  const workers: WorkerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) workers.push(await startWorker(ctx, configFile, 'bin'));
    const warm = await warmUpEach(ctx, count);
    ctx.log(`  warm-up: ${warm.runs} untimed backfills until each of the ${count} worker processes ran a workflow task and an activity (${warm.seconds.toFixed(2)} s)`);
    const samplers = workers.map((w) => new RssSampler(w.pid).start());
    const workflowId = `bench-${ctx.rows}-${process.pid}-${rep}-w${count}-${Date.now()}`;
    const cpu0 = machineCpu();
    const t0 = performance.now();
    const t0Ms = Date.now();
    const handle = await t.client.workflow.start('backfillWorkflow', { taskQueue: t.taskQueue, workflowId, args: [{ integration: INTEGRATION, shards }] });
    const result = (await handle.result()) as RunResult;
    const secs = seconds(t0);
    const cpu = cpuShares(cpu0, machineCpu());
    for (const s of samplers) s.stop();
    if (!result.done || result.rows !== ctx.rows) throw new Error(`tidemark run returned ${JSON.stringify(result)}, expected ${ctx.rows} rows done`);
    const history = await handle.fetchHistory();
    // Which worker ran which shard: the activity task's identity names the worker process.
    const ran = new Set((history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.identity).filter(Boolean));
    ctx.log(`  ${shards} shards ran on ${ran.size} of ${count} worker processes; ${timeline(history.events ?? [], t0Ms)}`);
    return {
      seconds: secs,
      cpu,
      rows: result.rows,
      workerPeakRssMb: Math.max(...samplers.map((s) => s.lastHwmMb ?? 0)),
      workerRunMaxRssMb: Math.max(...samplers.map((s) => s.maxRssMb ?? 0)),
      historyEvents: history.events?.length,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same backfill cut into N shards, read by N concurrent activities on the one worker (issue #7's table). */
function shardedPath(shards: number): BenchPath {
  return {
    ...tidemarkPath,
    id: `tidemark-shards-${shards}`,
    label: `tidemark, ${shards} shards`,
    describe: `backfillWorkflow with shards: ${shards} (key range cut from a sample, ${shards} concurrent activities on one worker process)`,
    run: (ctx, rep) => runTidemark(ctx, rep, 'bin', shards),
  };
}

/** 4 shards on 2 worker processes (one task queue): the mechanism across processes. */
const shardsOnWorkers = (shards: number, workers: number): BenchPath => ({
  ...tidemarkPath,
  id: `tidemark-shards-${shards}-workers-${workers}`,
  label: `tidemark, ${shards} shards on ${workers} worker processes`,
  describe: `backfillWorkflow with shards: ${shards}, ${workers} default worker processes polling the task queue (untimed warm-up backfills of 20,000 rows until each process ran a workflow task and an activity; memory: the highest worker peak)`,
  run: (ctx, rep) => runTidemark(ctx, rep, 'bin', shards, workers),
});

export const shardedPaths: BenchPath[] = [shardedPath(2), shardedPath(4), shardsOnWorkers(4, 2)];

function tidemarkVariant(form: Exclude<WorkerForm, 'bin'>, label: string, describe: string, env?: Record<string, string>, suffix = ''): BenchPath {
  return {
    ...tidemarkPath,
    id: `x-tidemark-${form}${suffix}`,
    label,
    describe,
    prototype: true,
    run: (ctx, rep) => runTidemark(env ? { ...ctx, workerEnv: { ...ctx.workerEnv, ...env } } : ctx, rep, form),
  };
}

/** Small young generation (page Buffers are garbage within a page; a 16 MB semi-space lets ~60 MB of them wait), fewer malloc arenas, a capped old space. */
export const TUNED_WORKER_ENV = { NODE_OPTIONS: '--max-semi-space-size=2 --max-old-space-size=96', MALLOC_ARENA_MAX: '2' };

/** The same workflow with the compiled worker started without the launcher's settings, and with the old prototype's: memory and time. */
export const tidemarkWorkerVariants: BenchPath[] = [
  tidemarkVariant(
    'dist-prebundled',
    'proto: tidemark, compiled worker + prebuilt bundle, node defaults',
    'the tidemark path with the compiled worker and its prebuilt workflow bundle started directly (createWorker), without the launcher\'s heap flags and MALLOC_ARENA_MAX',
  ),
  tidemarkVariant(
    'dist-prebundled',
    'proto: tidemark, compiled + prebuilt bundle + tuned heap',
    `as above, worker started with ${Object.entries(TUNED_WORKER_ENV)
      .map(([k, v]) => `${k}="${v}"`)
      .join(' ')}`,
    TUNED_WORKER_ENV,
    '-tuned',
  ),
];
