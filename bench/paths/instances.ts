/**
 * The scale bench of issue #14: `npm run bench -- --paths instances [--instances N] [--every 5m] [--cycles K]`.
 * N instances of one template reading a local API (bench/lib/fast-api.ts in its own process) into one shared
 * target, each with its own jittered Schedule, on the Temporal dev server and ONE worker (the default
 * `tidemark worker` as it ships). Measures the time to add the N instances, then K whole schedule intervals:
 * instances synced per interval, runs per minute, latency from the schedule's time to the run's completion
 * (p50/p95), the state database's size and the worker's RSS. Writes bench/results/instances.{md,json}.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Command, InvalidArgumentError } from 'commander';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config';
import { parseDuration } from '../../src/config/duration';
import { addInstance } from '../../src/instances';
import { ORDER_COLUMN_TYPES } from '../../src/mock-api';
import { scheduleIdFor } from '../../src/schedules/schedule-id';
import { sql } from '../lib/db';
import { cleanupDistBuild } from '../lib/dist-build';
import { startFastApi } from '../lib/fast-api-process';
import { instancesMarkdown } from '../lib/instance-report';
import { cycleFigures, scheduledRuns, type CycleFigures } from '../lib/instance-runs';
import { startBenchWorker } from '../lib/instance-worker';
import { machineInfo } from '../lib/machine';
import { startBenchStack } from '../lib/stack';

const TEMPLATE = 'acct';
const REPO = resolve(__dirname, '..', '..');

/** `--paths instances` alone selects this bench (run.ts hands it the argv before its own parsing). */
export function instancesRequested(argv: string[]): boolean {
  const i = argv.indexOf('--paths');
  const v = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--paths='))?.slice('--paths='.length);
  return v === 'instances';
}

interface Options {
  instances: number;
  every: number;
  cycles: number;
  records: number;
  concurrency: number;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const int = (name: string) => (v: string) => {
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1`);
    return n;
  };
  const o = new Command()
    .name('npm run bench -- --paths instances')
    .option('--paths <p>', 'instances')
    .option('--instances <n>', 'instances of the template', int('--instances'), 1000)
    .option('--every <duration>', "the template's schedule interval", (v) => parseDuration(v) ?? (() => { throw new InvalidArgumentError('--every: a duration such as 5m'); })(), 300_000)
    .option('--cycles <k>', 'whole schedule intervals measured', int('--cycles'), 3)
    .option('--records <n>', 'records the API serves to each instance (the first run reads them, later ones find nothing new)', int('--records'), 20)
    .option('--concurrency <n>', 'addInstance calls at once (as an onboarding app would make them)', int('--concurrency'), 8)
    .option('--out <dir>', 'results directory', join(REPO, 'bench', 'results'))
    .parse(argv)
    .opts<Options>();
  return { ...o, out: resolve(o.out) };
}

const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function templateConfig(o: Options) {
  return {
    integrations: [
      {
        id: TEMPLATE,
        template: true,
        source: { kind: 'http', url: '${API_URL}/v1/orders?account=${instance.id}', records: 'data', columns: ORDER_COLUMN_TYPES, pagination: { style: 'starting_after', idField: 'id' }, pageSize: 100 },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'bench.instance_orders', key: ['id'], create: true, instanceColumn: 'tenant' },
        batchSize: 100,
        // A tick the server fires late (1,000 schedules on a loaded dev server) still runs within its interval,
        // instead of being dropped after the default 1-minute catch-up window (the next tick would catch up).
        schedule: { every: `${o.every / 1000}s`, catchupWindow: `${o.every / 1000}s` },
      },
    ],
  };
}

export async function runInstancesBench(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const stack = await startBenchStack({ temporal: true, log, durability: 'durable' });
  const api = await startFastApi(REPO, { records: o.records, seed: 7, latencyMs: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'tm-bench-inst-'));
  const configFile = join(dir, 'tidemark.yaml');
  writeFileSync(configFile, stringify(templateConfig(o)));
  const taskQueue = `tidemark-bench-inst-${process.pid}`;
  const env = { API_URL: api.url, DST_URL: stack.dstUrl, TEMPORAL_ADDRESS: stack.temporalAddress!, TIDEMARK_TASK_QUEUE: taskQueue };
  const client = new Client({ connection: await Connection.connect({ address: stack.temporalAddress! }) });
  const worker = await startBenchWorker(REPO, configFile, env, log).catch(async (err: unknown) => {
    await Promise.all([api.stop(), stack.stop()]);
    throw err;
  });
  const loads: number[] = [];
  const loadTimer = setInterval(() => loads.push(os.loadavg()[0]!), 60_000);
  try {
    const machine = await machineInfo(stack.serverUrl, stack.postgres, REPO);
    const config = parseConfig(templateConfig(o), configFile);
    const ids = Array.from({ length: o.instances }, (_, i) => `c${String(i + 1).padStart(5, '0')}`);
    log(`adding ${o.instances} instances (${o.concurrency} at once)…`);
    const a0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          await addInstance({ config, template: TEMPLATE, instance: id, client, env: { ...process.env, ...env }, taskQueue });
        }
      }),
    );
    const addSeconds = (performance.now() - a0) / 1000;
    log(`added ${o.instances} instances with their schedules in ${addSeconds.toFixed(1)} s`);
    // Whole intervals only: the first one that starts after every schedule exists.
    const first = (Math.floor(Date.now() / o.every) + 1) * o.every;
    const end = first + o.cycles * o.every;
    const grace = Math.min(o.every, 120_000);
    while (Date.now() < end + grace) {
      await sleep(Math.min(30_000, end + grace - Date.now()));
      const runs = await scheduledRuns(stack.dstUrl, TEMPLATE);
      const open = runs.filter((r) => r.scheduledMs >= first && r.scheduledMs < end && r.status !== 'completed').length;
      // A run has no row until its activity starts: the last interval is done when every instance completed in it.
      const lastDone = new Set(runs.filter((r) => r.scheduledMs >= end - o.every && r.scheduledMs < end && r.status === 'completed').map((r) => r.integration)).size;
      const m = worker.rss;
      log(`${runs.length} scheduled runs so far, ${runs.filter((r) => r.status === 'completed').length} completed; worker RSS max ${Math.round(m.maxRssMb)} MB; load ${os.loadavg()[0]!.toFixed(2)}`);
      if (Date.now() > end && open === 0 && lastDone >= o.instances) break;
    }
    const runs = await scheduledRuns(stack.dstUrl, TEMPLATE);
    const cycles: CycleFigures[] = Array.from({ length: o.cycles }, (_, k) => cycleFigures(runs, k + 1, first + k * o.every, o.every));
    const [size] = await sql<{ db: string; runs: string; checkpoints: string; instances: string }>(
      stack.dstUrl,
      `SELECT pg_database_size(current_database())::text AS db, pg_total_relation_size('tidemark.runs')::text AS runs,
              pg_total_relation_size('tidemark.checkpoints')::text AS checkpoints, pg_total_relation_size('tidemark.instances')::text AS instances`,
    );
    worker.rss.sample();
    // Where a missing run went: the Schedules' own counters (a tick later than the catch-up window is dropped).
    const schedules = { taken: 0, missedCatchupWindow: 0, skippedOverlap: 0 };
    for (let i = 0; i < ids.length; i += 50) {
      const infos = await Promise.all(ids.slice(i, i + 50).map(async (id) => (await client.schedule.getHandle(scheduleIdFor(`${TEMPLATE}/${id}`)).describe()).info));
      for (const info of infos) {
        schedules.taken += info.numActionsTaken;
        schedules.missedCatchupWindow += info.numActionsMissedCatchupWindow;
        schedules.skippedOverlap += info.numActionsSkippedOverlap;
      }
    }
    const missing = cycles.map((c, k) => {
      const from = first + k * o.every;
      const have = new Set(runs.filter((r) => r.scheduledMs >= from && r.scheduledMs < from + o.every && r.status === 'completed').map((r) => r.integration));
      return { cycle: c.cycle, instances: ids.map((id) => `${TEMPLATE}/${id}`).filter((id) => !have.has(id)) };
    });
    const report = {
      schedules,
      missing,
      machine,
      params: { ...o, out: undefined, template: templateConfig(o).integrations[0] },
      addSeconds,
      cycles,
      failedRuns: runs.filter((r) => r.status === 'failed').length,
      retriedRuns: runs.filter((r) => r.attempts > 1).length,
      stateBytes: Object.fromEntries(Object.entries(size!).map(([k, v]) => [k, Number(v)])),
      workerRssMaxMb: worker.rss.maxRssMb,
      workerRssHwmMb: worker.rss.lastHwmMb,
      loadAverages: loads,
      loadAverageAtEnd: os.loadavg(),
    };
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'instances.json'), `${JSON.stringify(report, null, 2)}\n`);
    const md = instancesMarkdown(report);
    writeFileSync(join(o.out, 'instances.md'), md);
    process.stdout.write(`\n${md}\nwrote ${join(o.out, 'instances.md')} and instances.json\n`);
  } catch (err) {
    log(`worker output:\n${worker.output()}`);
    throw err;
  } finally {
    clearInterval(loadTimer);
    await worker.stop();
    await client.connection.close().catch(() => undefined);
    await api.stop();
    await cleanupDistBuild();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
