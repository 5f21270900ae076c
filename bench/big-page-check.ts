/**
 * Does the default worker's heap cap leave room for big pages? `npx tsx bench/big-page-check.ts [--rows N]
 * [--batch B] [--heap-mb M]`: a wide table (20 text columns of 50 characters, ~1.1 KB a row), batchSize
 * 100000, a mapping on every column (rows parsed into JS objects, mapped, validated, encoded: the most heap a
 * page takes), backfilled by the default worker (`bin/tidemark.js worker` of an install, as the bench builds
 * it), TIDEMARK_WORKER_HEAP_MB=M when given. Prints the worker's peak RSS and whether the run completed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { withClient } from './lib/db';
import { cleanupDistBuild, distBuild } from './lib/dist-build';
import { childrenOf, RssSampler } from './lib/proc';
import { startBenchStack } from './lib/stack';

const COLS = 20;
const o = new Command()
  .option('--rows <n>', 'source rows', Number, 200_000)
  .option('--batch <n>', 'batchSize', Number, 100_000)
  .option('--heap-mb <n>', 'TIDEMARK_WORKER_HEAP_MB (default: the launcher default)')
  .parse(process.argv)
  .opts<{ rows: number; batch: number; heapMb?: string }>();
const log = (s: string) => process.stderr.write(`[big-page] ${s}\n`);

async function main(): Promise<void> {
  const stack = await startBenchStack({ temporal: true, log });
  const client = new Client({ connection: await Connection.connect({ address: stack.temporalAddress! }) });
  try {
    const cols = Array.from({ length: COLS }, (_, i) => `c${i}`);
    await withClient(stack.srcUrl, async (c) => {
      await c.query('DROP TABLE IF EXISTS public.wide');
      await c.query(`CREATE TABLE public.wide (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, ${cols.map((n) => `${n} text`).join(', ')})`);
      await c.query(
        `INSERT INTO public.wide SELECT g, timestamptz '2024-01-01' + g * interval '1 ms', ${cols.map((_, i) => `rpad(md5((g * ${i + 1})::text), 50, 'x')`).join(', ')} FROM generate_series(1, $1::int) g`,
        [o.rows],
      );
      await c.query('CREATE INDEX ON public.wide (updated_at, id)');
    });
    log(`seeded ${o.rows} wide rows`);
    const dir = mkdtempSync(join(tmpdir(), 'tm-big-'));
    const config = join(dir, 'tidemark.yaml');
    writeFileSync(
      config,
      stringify({
        integrations: [
          {
            id: 'wide',
            source: { kind: 'postgres', url: stack.srcUrl, table: 'public.wide', cursor: ['updated_at', 'id'] },
            sink: { kind: 'postgres', url: stack.dstUrl, table: 'public.wide_copy', key: ['id'], create: true },
            batchSize: o.batch,
            mapping: { id: 'id', updated_at: 'updated_at', ...Object.fromEntries(cols.map((n) => [n, { from: n, transform: 'upper' }])) },
            validate: Object.fromEntries(cols.map((n) => [n, { required: true, maxLength: 60 }])),
          },
        ],
      }),
    );
    const build = await distBuild(resolve(__dirname, '..'), log);
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: stack.dstUrl, TEMPORAL_ADDRESS: stack.temporalAddress, TIDEMARK_TASK_QUEUE: 'big-page' };
    delete env.NODE_OPTIONS;
    if (o.heapMb) env.TIDEMARK_WORKER_HEAP_MB = o.heapMb;
    const launcher = spawn(process.execPath, build.install(config), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    launcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    launcher.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => launcher.once('exit', (code) => r(code)));
    while (!/tidemark worker: 1 integration/.test(out) && launcher.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    const [pid] = childrenOf(launcher.pid!);
    const sampler = new RssSampler(pid ?? launcher.pid!).start();
    const t0 = performance.now();
    const handle = await client.workflow.start('backfillWorkflow', { taskQueue: 'big-page', workflowId: `big-${Date.now()}`, args: [{ integration: 'wide' }] });
    const result = await Promise.race([handle.result(), exited.then((code) => ({ workerExited: code }))]);
    sampler.stop();
    log(`result ${JSON.stringify(result)} in ${((performance.now() - t0) / 1000).toFixed(1)} s; worker peak RSS ${Math.round(sampler.lastHwmMb)} MB`);
    log(`worker output:\n${out.slice(-3000)}`);
    if (launcher.exitCode === null) {
      launcher.kill('SIGTERM');
      await exited;
    } else await handle.terminate('worker died').catch(() => undefined);
  } finally {
    await client.connection.close();
    await cleanupDistBuild();
    await stack.stop();
  }
}

main().catch((err) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
