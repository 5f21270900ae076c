/**
 * The throughput bench (issue #5): `npm run bench [-- --rows N] [--runs K] [--paths a,b] [--scaling]`.
 *
 * Starts its own stack (Temporal dev server + embedded PostgreSQL, or DATABASE_URL), seeds a source table,
 * and measures in one process the median of K runs of each path, each on a fresh target, interleaved
 * (run 1 of every path, then run 2, …) so background load hits every path alike. Prints a table and the
 * issue's goal ratios; writes bench/results/latest.{md,json}, throughput.svg and (with --scaling) scaling.svg.
 */
import { cpuShares, machineCpu } from './lib/proc';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Command, InvalidArgumentError, Option } from 'commander';
import { scalingSvg, throughputSvg } from './charts';
import { settle, tableDigest } from './lib/db';
import { cleanupDistBuild } from './lib/dist-build';
import { machineInfo } from './lib/machine';
import { seedSource, type SeedInfo } from './lib/seed';
import { shipped } from './lib/shipped';
import { parseSettings, runBeside } from './lib/settings';
import { startBenchStack, type BenchStack, type Durability } from './lib/stack';
import { TARGET_TABLE } from './lib/targets';
import { barePath, bareLabel, mappingPath, upsertChangedPath, upsertNewPath, upsertSamePath } from './paths/bare-loop';
import { limitPath, limitShardsPath } from './paths/limit';
import { mappingCost } from './mapping-cost';
import { httpSinkBench } from './paths/http-sink';
import { naivePath } from './paths/naive';
import { httpPath, stopMockApi } from './paths/http';
import { instancesRequested, runInstancesBench } from './paths/instances';
import { httpGoals, httpSlicePaths, stopFastApis } from './paths/http-slices';
import { prototypePaths } from './paths/prototypes';
import { shardedPaths, tidemarkPath, tidemarkWorkerVariants } from './paths/tidemark';
import { syncChangedPath } from './paths/sync-changed';
import type { BenchContext, BenchPath, Measurement } from './paths/types';
import {
  besideOf,
  evaluateGoals,
  fmtInt,
  goalsTable,
  markdown,
  median,
  pathsTable,
  profileTable,
  prototypesTable,
  scalingTable,
  summarise,
  workerMemoryTable,
  type BenchReport,
  type PathResult,
  type ScalingPoint,
} from './report';

const REPO = resolve(__dirname, '..');
/** --scaling: the limit, tidemark as the brief runs it, and the compiled worker with a prebuilt bundle, plain and tuned (their memory). */
const SCALING_PATHS: BenchPath[] = [limitPath, tidemarkPath, ...tidemarkWorkerVariants.filter((p) => p.id.startsWith('x-tidemark-dist-prebundled'))];
const CORE: BenchPath[] = [limitPath, naivePath, barePath, tidemarkPath, ...shardedPaths, upsertNewPath, upsertChangedPath, upsertSamePath, syncChangedPath, mappingPath, httpPath, ...httpSlicePaths];
const PROTOTYPES: BenchPath[] = [limitShardsPath, ...tidemarkWorkerVariants, ...prototypePaths];
const ALL: BenchPath[] = [...CORE, ...PROTOTYPES];
const ALIASES: Record<string, string[]> = {
  'bare-loop': ['bare'],
  'all-new': ['upsert-new'],
  'all-changed': ['upsert-changed'],
  'no-change': ['upsert-same'],
  upsert: ['upsert-new', 'upsert-changed', 'upsert-same'],
  shards: ['tidemark', ...shardedPaths.map((p) => p.id)],
  'http-all': ['http', ...httpSlicePaths.map((p) => p.id)],
  core: CORE.map((p) => p.id),
  prototypes: PROTOTYPES.map((p) => p.id),
  all: ALL.map((p) => p.id),
};

function count(name: string, min = 1) {
  return (v: string) => {
    const n = Number(v.replace(/[_,]/g, '').replace(/k$/i, '000').replace(/m$/i, '000000'));
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
}

function parseEnvList(v: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of v.split(';').filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i < 1) throw new InvalidArgumentError(`--worker-env: expected NAME=value, got "${pair}"`);
    env[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return env;
}

function selectPaths(list: string): BenchPath[] {
  const ids = new Set<string>();
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const expanded = ALIASES[raw] ?? [raw];
    for (const id of expanded) {
      if (!ALL.some((p) => p.id === id)) {
        throw new InvalidArgumentError(`unknown path "${raw}"; known: ${ALL.map((p) => p.id).join(', ')} (groups: ${Object.keys(ALIASES).join(', ')})`);
      }
      ids.add(id);
    }
  }
  return ALL.filter((p) => ids.has(p.id));
}

interface Options {
  rows: number;
  runs: number;
  paths: BenchPath[];
  batch: number;
  naiveRows: number;
  bare: 'activity' | 'direct';
  scaling: boolean;
  scalingSizes: number[];
  scalingRuns: number;
  scalingPaths: BenchPath[];
  out: string;
  workerEnv: Record<string, string>;
  /** cluster durabilities: the first is the main table's, the others run beside it */
  settings: Durability[];
}

function parseArgs(argv: string[]): Options {
  const program = new Command()
    .name('npm run bench --')
    .description('tidemark throughput bench: limit, naive, bare loop, tidemark through Temporal, upserts into non-empty targets')
    .option('--rows <n>', 'source rows (1_000_000, 200k, 5m)', count('--rows'), 1_000_000)
    .option('--runs <k>', 'repetitions per path (the median is reported)', count('--runs'), 3)
    .addOption(
      new Option('--paths <list>', `comma-separated paths or groups (${[...ALL.map((p) => p.id), ...Object.keys(ALIASES)].join(', ')})`)
        .argParser(selectPaths)
        .default(ALL, 'all'),
    )
    .option('--batch <n>', 'batchSize of the integration (page size)', count('--batch'), 5000)
    .option('--naive-rows <n>', 'rows of the naive path (row-at-a-time is slow; rows/s is what compares)', count('--naive-rows'), 20_000)
    .option('--bare <mode>', "bare loop: 'activity' (MockActivityEnvironment + createActivities) or 'direct' (PostgresSource + PostgresSink)", 'activity')
    .option('--scaling', 'also run the limit, tidemark and tidemark with a compiled, prebundled worker at 100k, 1M and 5M rows (1 run each by default); writes scaling.svg', false)
    .option('--scaling-sizes <list>', 'row counts for --scaling', (v) => v.split(',').map(count('--scaling-sizes')), [100_000, 1_000_000, 5_000_000])
    .addOption(
      new Option('--scaling-paths <list>', 'paths for --scaling (e.g. tidemark: the default worker\'s memory at each size beside its history size)')
        .argParser(selectPaths)
        .default(SCALING_PATHS, SCALING_PATHS.map((p) => p.id).join(',')),
    )
    .option('--scaling-runs <k>', 'repetitions per size for --scaling', count('--scaling-runs'), 1)
    .option('--out <dir>', 'results directory', join(REPO, 'bench', 'results'))
    .option('--http-sink', 'only the HTTP sink: deliveries/s against a fake API with 20 ms latency at concurrency 1, 8, 32, and the delivery ledger\'s cost per record; --rows records (default here 4000); writes http-sink.md')
    .option('--mapping-cost', 'only the cost per record of mapping (plain copy, renames, expressions, JSONata only, a module; in process, no stack), --rows records (default here 100k)')
    .option('--settings <list>', 'PostgreSQL clusters to measure on: durable (fsync, synchronous_commit, full_page_writes on; the main table and goals) and/or throwaway (all off), beside it', parseSettings, ['durable', 'throwaway'] as Durability[])
    .option('--worker-env <list>', "extra environment for the worker processes, e.g. 'MALLOC_ARENA_MAX=2;NODE_OPTIONS=--max-semi-space-size=2' (';'-separated)", parseEnvList, {})
    .parse(argv);
  const o = program.opts<Options & { bare: string }>();
  if (o.bare !== 'activity' && o.bare !== 'direct') program.error(`--bare must be 'activity' or 'direct', got ${o.bare}`);
  return { ...o, bare: o.bare as Options['bare'], out: resolve(o.out) };
}

const started = Date.now();
function log(line: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(0).padStart(5);
  process.stderr.write(`[bench ${t}s] ${line}\n`);
}

async function prepareSource(stack: BenchStack, rows: number): Promise<{ seed: SeedInfo; digest: { count: number; hash: string } }> {
  log(`seeding ${fmtInt(rows)} source rows…`);
  const seed = await seedSource(stack.srcUrl, rows);
  const digest = await tableDigest(stack.srcUrl, seed.table);
  log(`${seed.reused ? 'reusing' : 'seeded'} ${seed.table} in ${seed.seconds.toFixed(1)} s (${seed.textBytesPerRow} bytes/row as COPY text, ${seed.diskBytesPerRow} on disk)`);
  return { seed, digest };
}

/** Untimed preparation, settle, the timed run, the untimed check. */
async function measure(path: BenchPath, ctx: BenchContext, rep: number): Promise<Measurement> {
  await path.prepare(ctx);
  await settle([
    { url: ctx.srcUrl, tables: [ctx.sourceTable] },
    { url: ctx.dstUrl, tables: [TARGET_TABLE, 'tidemark.checkpoints', 'tidemark.runs'] },
  ]);
  const cpu0 = machineCpu();
  const m = await path.run(ctx, rep);
  m.cpu ??= cpuShares(cpu0, machineCpu());
  const problem = await path.check(ctx, m);
  if (problem) throw new Error(`wrong result: ${problem}`);
  return m;
}

async function main(): Promise<void> {
  // The scale bench of issue #14 has options and a shape of its own (one stack, K schedule intervals).
  if (instancesRequested(process.argv)) return void (await runInstancesBench(process.argv));
  const opts = parseArgs(process.argv);
  if (process.argv.includes('--http-sink')) return void process.stdout.write(`${await httpSinkBench({ runs: opts.runs, records: process.argv.includes('--rows') ? opts.rows : 4000, latencyMs: 20, out: opts.out, log })}\n`);
  if (process.argv.includes('--mapping-cost')) return void (await mappingCost({ records: process.argv.includes('--rows') ? opts.rows : 100_000, runs: opts.runs, out: opts.out }));
  if (opts.runs < 3) log(`note: --runs ${opts.runs} (< 3): medians of fewer than 3 runs are noisy`);
  const paths = opts.paths;
  const needTemporal = opts.scaling || paths.some((p) => p.needsTemporal && !p.unavailable?.());
  // The other clusters first, each in a child bench, so no two stacks share the machine at once.
  const beside = [];
  // (With DATABASE_URL there is one server, with its own settings: nothing to run beside it.)
  for (const setting of process.env.DATABASE_URL ? [] : opts.settings.slice(1)) beside.push(besideOf(await runBeside(setting, process.argv, log)));
  const stack = await startBenchStack({ temporal: needTemporal, log, durability: opts.settings[0] });
  let temporalClient: Client | undefined;
  const shutdown = async () => {
    await cleanupDistBuild();
    await stopMockApi();
    await stopFastApis();
    await temporalClient?.connection.close().catch(() => undefined);
    await stack.stop();
  };
  process.once('SIGINT', () => {
    log('interrupted: stopping the stack');
    void shutdown().finally(() => process.exit(130));
  });
  try {
    if (stack.temporalAddress) temporalClient = new Client({ connection: await Connection.connect({ address: stack.temporalAddress }) });
    const temporal = temporalClient && stack.temporalAddress ? { address: stack.temporalAddress, client: temporalClient, taskQueue: `tidemark-bench-${process.pid}` } : undefined;
    const machine = await machineInfo(stack.serverUrl, stack.postgres, REPO);
    const { seed, digest } = await prepareSource(stack, opts.rows);
    const ctx: BenchContext = {
      srcUrl: stack.srcUrl,
      dstUrl: stack.dstUrl,
      rows: opts.rows,
      sourceTable: seed.table,
      batchSize: opts.batch,
      naiveRows: opts.naiveRows,
      bareMode: opts.bare,
      temporal,
      repoRoot: REPO,
      workerEnv: opts.workerEnv,
      sourceDigest: digest,
      log,
    };

    // The build as it ships (bench/lib/shipped.ts), made before the first run, whose CPU shares it would swell.
    if (paths.some((p) => !['limit', 'naive'].includes(p.id))) await shipped(REPO, log);
    const results: PathResult[] = paths.map((p) => ({
      id: p.id,
      label: p.id === 'bare' ? `bare loop (${bareLabel(ctx)})` : p.label,
      describe: p.describe,
      prototype: !!p.prototype,
      status: p.unavailable?.() ?? 'ok',
      rows: p.unavailable?.() ? 0 : p.rows(ctx),
      runs: [],
      problems: [],
    }));
    for (let rep = 1; rep <= opts.runs; rep++) {
      for (const [i, path] of paths.entries()) {
        const r = results[i]!;
        if (r.status !== 'ok') continue;
        try {
          const m = await measure(path, ctx, rep);
          r.runs.push(m);
          const extra = [
            m.workerPeakRssMb !== undefined ? `worker peak ${Math.round(m.workerPeakRssMb)} MB (run max ${Math.round(m.workerRunMaxRssMb ?? 0)}; at ready: RSS ${Math.round(m.workerIdleRssMb ?? 0)}, peak so far ${Math.round(m.workerStartupPeakRssMb ?? 0)})` : '',
            m.workerMemory
              ? `worker max MiB: heap ${Math.round(m.workerMemory.heapTotal)} (used ${Math.round(m.workerMemory.heapUsed)}), external ${Math.round(m.workerMemory.external)} (arrayBuffers ${Math.round(m.workerMemory.arrayBuffers)})`
              : '',
            m.historyEvents !== undefined ? `${m.historyEvents} history events` : '',
            m.activitySeconds !== undefined ? `activity ${m.activitySeconds.toFixed(2)} s` : '',
            m.warmupSeconds !== undefined ? `warm-up workflow ${m.warmupSeconds.toFixed(2)} s (untimed)` : '',
            m.rowsWritten !== undefined ? `${fmtInt(m.rowsWritten)} rows written` : '',
            m.cpu ?? '',
          ].filter(Boolean);
          log(`run ${rep}/${opts.runs} ${path.id}: ${fmtInt(m.rows)} rows in ${m.seconds.toFixed(2)} s = ${fmtInt(m.rows / m.seconds)} rows/s${extra.length ? `; ${extra.join(', ')}` : ''}`);
        } catch (err) {
          r.status = `error: ${(err as Error).message.split('\n')[0]}`;
          r.problems.push((err as Error).message);
          log(`run ${rep}/${opts.runs} ${path.id} FAILED: ${(err as Error).message}`);
        }
      }
    }
    summarise(results);

    // What the default worker ran with (its own ready line), and its launcher's memory, for the notes.
    const settingsSeen = new Set<string>(results.flatMap((r) => r.runs.map((m) => m.workerSettings ?? '')));
    const launcherPeaks = results.flatMap((r) => r.runs.map((m) => m.launcherPeakRssMb).filter((x): x is number => x !== undefined));
    let scaling: ScalingPoint[] | undefined;
    if (opts.scaling) {
      scaling = [];
      for (const size of opts.scalingSizes) {
        const src = size === opts.rows ? { seed, digest } : await prepareSource(stack, size);
        const sctx: BenchContext = { ...ctx, rows: size, sourceTable: src.seed.table, sourceDigest: src.digest };
        for (const path of opts.scalingPaths) {
          // The main run already measured this size: reuse it rather than run it again.
          const main = size === opts.rows ? results.find((r) => r.id === path.id && r.status === 'ok' && r.runs.length) : undefined;
          const runs: Measurement[] = main ? main.runs : [];
          for (let rep = 1; !main && rep <= opts.scalingRuns; rep++) {
            const m = await measure(path, sctx, rep);
            runs.push(m);
            log(`scaling ${path.id} at ${fmtInt(size)} rows, run ${rep}: ${m.seconds.toFixed(2)} s = ${fmtInt(size / m.seconds)} rows/s`);
          }
          const secs = median(runs.map((m) => m.seconds));
          const peak = runs.map((m) => m.workerPeakRssMb).filter((x): x is number => x !== undefined);
          const runMax = runs.map((m) => m.workerRunMaxRssMb).filter((x): x is number => x !== undefined);
          const ev = runs.map((m) => m.historyEvents).filter((x): x is number => x !== undefined);
          settingsSeen.add(runs.find((m) => m.workerSettings)?.workerSettings ?? '');
          launcherPeaks.push(...runs.map((m) => m.launcherPeakRssMb).filter((x): x is number => x !== undefined));
          scaling.push({
            path: path.id,
            label: path.label,
            rows: size,
            seconds: secs,
            rowsPerSec: size / secs,
            ...(peak.length ? { workerPeakRssMb: Math.max(...peak) } : {}),
            ...(runMax.length ? { workerRunMaxRssMb: Math.max(...runMax) } : {}),
            ...(ev.length ? { historyEvents: Math.max(...ev) } : {}),
          });
        }
      }
    }

    const goals = [...evaluateGoals(results, scaling, opts.rows), ...httpGoals(results)];
    const profile = results.find((r) => r.id === 'x-loop-seq')?.median?.loop;
    const notes = [
      `bare loop = ${bareLabel(ctx)}; the upsert paths run through the same bare loop.`,
      `naive is capped at ${fmtInt(Math.min(opts.naiveRows, opts.rows))} rows; compare its rows/s, not its time.`,
      'worker peak RSS = VmHWM of the worker process (includes start-up); "run max" = highest VmRSS sampled every 50 ms while the workflow ran.',
      ...[...settingsSeen].filter(Boolean).map((s) => `the default worker (\`bin/tidemark.js worker\`, measured as the child its launcher starts) ran with: ${s}.`),
      ...(launcherPeaks.length
        ? [`its launcher (bin/tidemark.js passing signals on; no tidemark code loaded) peaked at ${Math.round(Math.max(...launcherPeaks))} MB RSS, most of it the node binary's pages it shares with the worker.`]
        : []),
      'tidemark time = backfillWorkflow start → result on a warm worker (already polling, and one 100-row sync of another integration done, untimed); the activity time from tidemark.runs and the warm-up time are in latest.json.',
      stack.postgres === 'embedded'
        ? `PostgreSQL: an embedded ${stack.durability} cluster (${stack.durability === 'durable' ? `fsync, synchronous_commit and full_page_writes on, data and WAL in ${stack.dataDir}` : 'fsync, synchronous_commit and full_page_writes off'}), source and target databases on the same server.`
        : 'PostgreSQL: DATABASE_URL, source and target databases on the same server.',
      `${machine.cores} cores shared by Node, both PostgreSQL backends and the Temporal server (and anything else running): absolute numbers are noisy, ratios within one run are what matters.`,
    ];
    const report: BenchReport = {
      machine,
      params: { rows: opts.rows, runs: opts.runs, batchSize: opts.batch, naiveRows: opts.naiveRows, bareMode: opts.bare, paths: paths.map((p) => p.id), workerEnv: opts.workerEnv },
      seed,
      paths: results,
      goals,
      ...(profile ? { profile } : {}),
      ...(scaling ? { scaling } : {}),
      notes,
      durability: stack.durability,
      ...(beside.length ? { beside } : {}),
      loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
    };

    mkdirSync(opts.out, { recursive: true });
    writeFileSync(join(opts.out, 'latest.md'), markdown(report));
    writeFileSync(join(opts.out, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(opts.out, 'throughput.svg'), throughputSvg(results, `tidemark bench: ${fmtInt(opts.rows)} rows, batch ${opts.batch}, ${machine.cores} cores (${machine.date.slice(0, 10)})`));
    if (scaling?.length) writeFileSync(join(opts.out, 'scaling.svg'), scalingSvg(scaling, `tidemark backfill time vs rows (batch ${opts.batch}, ${machine.cores} cores)`));

    const out: string[] = ['', pathsTable(results, beside), '', goalsTable(goals)];
    const protos = prototypesTable(results);
    if (protos) out.push('', protos);
    const memory = workerMemoryTable(results);
    if (memory) out.push('', memory);
    if (profile) out.push('', "where the loop's time goes (instrumented copy without prefetch, median run):", profileTable(profile));
    if (scaling?.length) out.push('', scalingTable(scaling));
    out.push('', `wrote ${join(opts.out, 'latest.md')}, latest.json, throughput.svg${scaling?.length ? ', scaling.svg' : ''}`, '');
    process.stdout.write(out.join('\n'));
    if (results.some((r) => r.status.startsWith('error'))) process.exitCode = 1;
  } finally {
    await shutdown();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
