import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { BackfillPlan, RunInput, RunResult } from '../../src/activities';
import type { Config } from '../../src/config';
import { closeQuietly, connect } from '../../src/pg/connect';
import { compareWithSnapshot, ORDER_COLUMN_TYPES } from '../../src/mock-api';
import { OrdersDataset } from '../../src/mock-api/orders-dataset';
import { withClient } from '../lib/db';
import { readAllAsCopy } from '../lib/fast-api-client-cost';
import { shipped, type Shipped } from '../lib/shipped';
import { startFastApi, type FastApiProcess } from '../lib/fast-api-process';
import { cpuSecondsOf } from '../lib/proc';
import { seconds } from './common';
import type { BenchContext, BenchPath, Measurement, PathId } from './types';

/**
 * HTTP throughput (issue 13): the HTTP source reading a local API in its own process (bench/lib/fast-api.ts:
 * the mock API's orders, each serialized once, so the server costs little) into PostgreSQL through the
 * activities of the build as it ships (bench/lib/shipped.ts), as a worker runs them.
 * - http-zero: no latency, starting_after, 1,000-record pages: what parsing, extraction and COPY cost (after one
 *   untimed read of the whole API when its process starts: answers built, code compiled hot).
 * - http-zero-client: the same reads without PostgreSQL (pages made into COPY text and dropped): what the
 *   client alone reaches, and its CPU per record (the bench process's, logged), which is what one core would give.
 * - http-latency-seq / http-latency-4: 50 ms per request, time_window, 100-record pages, one activity vs
 *   `--shards 4` (planBackfill, 4 runIntegration at once, finishBackfill: the sharded backfill's activities).
 */
const SEED = 7;
const TABLE = 'bench.api_orders';
const ZERO_MAX = 200_000;
const LATENCY_MAX = 30_000;
/** Stripe's page cap: with 50 ms per request, the client's work per page stays small beside the wait. */
const LATENCY_PAGE = 100;
const LATENCY_MS = 50;

const apis = new Map<string, FastApiProcess>();
let runs = 0;

async function apiProcess(ctx: BenchContext, records: number, latencyMs: number): Promise<FastApiProcess> {
  const key = `${records}/${latencyMs}`;
  let a = apis.get(key);
  if (!a) {
    apis.set(key, (a = await startFastApi(ctx.repoRoot, { records, seed: SEED, latencyMs })));
    if (latencyMs === 0) {
      // Untimed: the server builds each answer once (about a second of its CPU for 200 pages) and this process's
      // code is compiled hot, as in a worker that has run before; else the first timed run pays both.
      const w = await readAllAsCopy(a.url, 1000, await shipped(ctx.repoRoot, ctx.log));
      ctx.log(`  warm-up: one untimed read of the zero-latency API's ${w.records.toLocaleString('en-US')} records (${w.seconds.toFixed(2)} s)`);
    }
  }
  return a;
}

/** Stops every bench API process (the bench's shutdown). */
export async function stopFastApis(): Promise<void> {
  const all = [...apis.values()];
  apis.clear();
  await Promise.all(all.map((a) => a.stop()));
}

function config(code: Shipped, url: string, source: Record<string, unknown>, batchSize: number): Config {
  return code.parseConfig({
    integrations: [
      {
        id: 'bench-http',
        source: { kind: 'http', url, records: 'data', columns: ORDER_COLUMN_TYPES, ...source },
        sink: { url: '${DST_URL}', table: TABLE, key: ['id'], create: true },
        batchSize,
      },
    ],
  });
}

/**
 * A retryable failure is retried from the shard's checkpoint, as Temporal retries the activity: the first
 * shards to start can race on creating the target (CREATE SCHEMA / TABLE IF NOT EXISTS at once: 23505).
 */
async function withRetries(run: () => Promise<RunResult>): Promise<RunResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= 3 || (err as { nonRetryable?: boolean }).nonRetryable) throw err;
    }
  }
}

/** CPU time of this process (the activities: client, COPY text, pg) since `from`, in ms. */
function cpuMs(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return Math.round((d.user + d.system) / 1000);
}

interface ApiStats {
  requests: number;
  /** requests for more than one record per window end (a slice, or the run's bound), since the last reset */
  windows: Record<string, number>;
  /** the client's turnaround between an answer and the next request of its window, since the last reset */
  gapMs: { median: number | null; p90: number | null; n: number };
}

/** What the bench API has answered so far (`reset`: and start the per-window figures afresh). */
async function apiStats(apiUrl: string, reset = false): Promise<ApiStats> {
  return (await (await fetch(`${apiUrl}/stats${reset ? '?reset' : ''}`)).json()) as ApiStats;
}

/** The trace's request figures: total, per slice (window end, ascending), and the client's turnaround. */
function requestTrace(before: number, s: ApiStats): string[] {
  const perSlice = Object.entries(s.windows).sort(([a], [b]) => a.localeCompare(b)).map(([, n]) => n);
  return [`${s.requests - before} requests`, `pages' requests per slice ${perSlice.join(' / ')}`, `client turnaround median ${s.gapMs.median} ms, p90 ${s.gapMs.p90} ms`];
}

const quiet = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('WARN') });

/** One backfill through the activities: unsharded, or planBackfill + N shards at once + finishBackfill. */
async function backfill(code: Shipped, cfg: Config, ctx: BenchContext, shards: number, server: FastApiProcess): Promise<Measurement> {
  const before = process.env.BENCH_HTTP_TRACE ? (await apiStats(server.url, true)).requests : 0;
  const serverCpu0 = cpuSecondsOf(server.pid) ?? 0;
  const activities = code.createActivities({ config: () => cfg, env: { DST_URL: ctx.dstUrl } });
  const runKey = `bench/http/${process.pid}/${++runs}`;
  const base: RunInput = { integration: 'bench-http', mode: 'backfill', runKey };
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let result: RunResult;
  const trace: string[] = [];
  if (shards <= 1) {
    result = (await quiet().run(activities.runIntegration, base)) as RunResult;
  } else {
    const plan = (await quiet().run(activities.planBackfill, { integration: 'bench-http', runKey, shards, resume: false })) as BackfillPlan;
    trace.push(`plan ${seconds(t0).toFixed(2)} s`);
    await Promise.all(
      plan.todo.map(async (shard) => {
        let first: string | undefined; // the first heartbeat: the slice's first page written
        let last: string | undefined; // the last heartbeat with more pages: its last page (a shard then waits to take work)
        let pages = -1;
        const r = await withRetries(() => {
          const env = quiet();
          env.on('heartbeat', (d: unknown) => {
            first ??= seconds(t0).toFixed(2);
            const n = (d as { pages?: number } | undefined)?.pages ?? 0;
            if (n !== pages) [pages, last] = [n, seconds(t0).toFixed(2)];
          });
          return env.run(activities.runIntegration, { ...base, shard, shards: plan.todo.length }) as Promise<RunResult>;
        });
        trace.push(`slice ${shard}: ${r.rows} records, first page by ${first ?? '?'} s, last by ${last ?? '?'} s, done by ${seconds(t0).toFixed(2)} s`);
      }),
    );
    result = (await quiet().run(activities.finishBackfill, { integration: 'bench-http', runKey })) as RunResult;
  }
  const secs = seconds(t0);
  if (process.env.BENCH_HTTP_TRACE) process.stderr.write(`[http ${shards}] ${[...trace, `total ${secs.toFixed(2)} s`, ...requestTrace(before, await apiStats(server.url)), `bench process CPU ${cpuMs(cpu0)} ms`, `API process CPU ${Math.round(((cpuSecondsOf(server.pid) ?? 0) - serverCpu0) * 1000)} ms`].join('; ')}\n`);
  if (!result.done) throw new Error(`http backfill stopped early: ${JSON.stringify(result)}`);
  return { seconds: secs, rows: result.rows };
}

async function prepare(ctx: BenchContext): Promise<void> {
  await withClient(ctx.dstUrl, async (c) => {
    await c.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await c.query(`DELETE FROM tidemark.checkpoints WHERE integration = 'bench-http'`).catch(() => undefined);
  });
}

/** The target equals the dataset the API served (a function of the seed). */
async function check(ctx: BenchContext, records: number): Promise<string | undefined> {
  const snapshot = new OrdersDataset(records, SEED).snapshot();
  const db = await connect(ctx.dstUrl);
  try {
    const c = await compareWithSnapshot(db, TABLE, snapshot);
    return c.exact ? undefined : `target differs from the API: ${c.rows} rows, ${c.missing} missing, ${c.differing} differing of ${c.expected}`;
  } finally {
    await closeQuietly(db);
  }
}

const zeroRows = (ctx: BenchContext) => Math.min(ctx.rows, ZERO_MAX);
const latencyRows = (ctx: BenchContext) => Math.min(ctx.rows, LATENCY_MAX);

export const httpZeroPath: BenchPath = {
  id: 'http-zero',
  label: 'HTTP source, zero-latency API',
  describe: `the HTTP source (starting_after, 1,000-record pages) reading a local API in its own process with no latency (bench/lib/fast-api.ts: records serialized once), up to ${ZERO_MAX.toLocaleString('en-US')} nested orders, into PostgreSQL via the activity`,
  rows: zeroRows,
  prepare,
  run: async (ctx) => {
    const server = await apiProcess(ctx, zeroRows(ctx), 0);
    const code = await shipped(ctx.repoRoot, ctx.log);
    return backfill(code, config(code, `${server.url}/v1/orders`, { pagination: { style: 'starting_after', idField: 'id' }, pageSize: 1000 }, 1000), ctx, 1, server);
  },
  check: (ctx) => check(ctx, zeroRows(ctx)),
};

/** Client CPU per record of every http-zero-client run (µs), for the goals' note (their median). */
const clientCpu: number[] = [];

export const httpZeroClientPath: BenchPath = {
  id: 'http-zero-client',
  label: 'HTTP source alone, zero-latency API (no PostgreSQL)',
  describe: `the HTTP source reading the same zero-latency API as http-zero (starting_after, 1,000-record pages), pages made into COPY text and dropped: the client's own rate and CPU per record (logged)`,
  rows: zeroRows,
  prepare: async () => undefined,
  async run(ctx) {
    const c = await readAllAsCopy((await apiProcess(ctx, zeroRows(ctx), 0)).url, 1000, await shipped(ctx.repoRoot, ctx.log));
    clientCpu.push(c.cpuUsPerRecord);
    ctx.log(`http-zero-client: client CPU ${c.cpuUsPerRecord.toFixed(1)} µs/record (${Math.round(1e6 / c.cpuUsPerRecord).toLocaleString('en-US')} records/s on one core of its own)`);
    return { seconds: c.seconds, rows: c.records };
  },
  // Nothing is written: the check is that every record was read once.
  check: async (ctx, m) => (m.rows === zeroRows(ctx) ? undefined : `read ${m.rows} of ${zeroRows(ctx)} records`),
};

function latencyPath(shards: number): BenchPath {
  const id: PathId = shards > 1 ? `http-latency-${shards}` : 'http-latency-seq';
  return {
    id,
    label: shards > 1 ? `HTTP, 50 ms API, ${shards} slices` : 'HTTP, 50 ms API, sequential',
    describe: `the HTTP source (time_window, ${LATENCY_PAGE}-record pages) reading a local API answering after ${LATENCY_MS} ms, up to ${LATENCY_MAX.toLocaleString('en-US')} orders, ${shards > 1 ? `as a backfill --shards ${shards} (planBackfill, ${shards} runIntegration at once, finishBackfill)` : 'as one backfill activity'}`,
    rows: latencyRows,
    prepare,
    run: async (ctx) => {
      const server = await apiProcess(ctx, latencyRows(ctx), LATENCY_MS);
      const code = await shipped(ctx.repoRoot, ctx.log);
      return backfill(code, config(code, `${server.url}/v1/orders/window`, { pagination: { style: 'time_window', field: 'updated_at', hasMore: 'has_more' }, pageSize: LATENCY_PAGE, lag: 0 }, LATENCY_PAGE), ctx, shards, server);
    },
    check: (ctx) => check(ctx, latencyRows(ctx)),
  };
}

export const httpLatencyPaths: BenchPath[] = [latencyPath(1), latencyPath(4)];
export const httpSlicePaths: BenchPath[] = [httpZeroPath, httpZeroClientPath, ...httpLatencyPaths];

interface RateResult {
  id: string;
  status: string;
  rowsPerSec?: number;
}

/** What the client alone reached (http-zero-client), and on a core of its own (1 / its CPU per record). */
function clientNote(alone: number | undefined): string {
  if (alone === undefined || !clientCpu.length) return '';
  const cpu = [...clientCpu].sort((a, b) => a - b)[Math.floor(clientCpu.length / 2)] as number;
  return `; client alone ${Math.round(alone).toLocaleString('en-US')}/s, median ${cpu.toFixed(1)} µs CPU/record = ${Math.round(1e6 / cpu).toLocaleString('en-US')}/s on a core of its own`;
}

/** The issue's HTTP goals, from the paths above when they ran: zero-latency records/s and the 4-slice speed-up. */
export function httpGoals(results: readonly RateResult[]): { goal: string; target: string; measured: string; status: 'PASS' | 'MISS' | 'n/a' }[] {
  const rps = (id: string) => results.find((r) => r.id === id && r.status === 'ok')?.rowsPerSec;
  const zero = rps('http-zero');
  const seq = rps('http-latency-seq');
  const four = rps('http-latency-4');
  return [
    zero === undefined
      ? { goal: 'HTTP, zero-latency API', target: '≥ 50,000 records/s', measured: 'n/a (path not run)', status: 'n/a' }
      : { goal: 'HTTP, zero-latency API', target: '≥ 50,000 records/s', measured: `${Math.round(zero).toLocaleString('en-US')} records/s${clientNote(rps('http-zero-client'))}`, status: zero >= 50_000 ? 'PASS' : 'MISS' },
    seq === undefined || four === undefined
      ? { goal: 'HTTP, 50 ms API: 4 slices vs sequential', target: '≥ 3.5×', measured: 'n/a (path not run)', status: 'n/a' }
      : {
          goal: 'HTTP, 50 ms API: 4 slices vs sequential',
          target: '≥ 3.5×',
          measured: `${(four / seq).toFixed(2)}× (${Math.round(four).toLocaleString('en-US')} vs ${Math.round(seq).toLocaleString('en-US')} records/s)`,
          status: four / seq >= 3.5 ? 'PASS' : 'MISS',
        },
  ];
}
