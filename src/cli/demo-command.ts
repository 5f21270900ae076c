import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import type { RunResult } from '../activities/types';
import { dataConverterFromEnv } from '../codec/aes-gcm-codec';
import { parseConfig } from '../config';
import { startIntegrationRun } from '../client';
import { connect, closeQuietly } from '../db/connect';
import { migrate } from '../db/migrate';
import { changeDemo, DEMO_SCHEMA, seedDemo } from '../demo/demo-data';
import { startStack } from '../dev';
import { createWorker } from '../worker';
import { ProgressBar } from './progress-bar';
import { describeRun } from './run-progress';

const TASK_QUEUE = 'tidemark-demo';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job on embedded defaults: local stack, a seeded source, a backfill with a live progress bar, then incremental runs')
    .option('--rows <n>', 'rows in the demo source table', (v) => Number(v), 500_000)
    .option('--keep', 'keep the stack running after the demo (Ctrl-C to stop)')
    .action(async (opts: { rows: number; keep?: boolean }) => {
      if (!Number.isInteger(opts.rows) || opts.rows < 1) throw new Error('--rows must be a positive whole number');
      // The demo narrates; the SDK's per-activity INFO logs would drown it (warnings still show).
      Runtime.install({ logger: new DefaultLogger('WARN') });
      console.log('tidemark demo: starting a Temporal dev server and PostgreSQL…');
      const stack = await startStack({ ui: true });
      const stops: Array<() => Promise<void>> = [() => stack.stop()];
      try {
        console.log(`  TEMPORAL_ADDRESS=${stack.temporalAddress}\n  DATABASE_URL=${stack.databaseUrl.replace(/:[^:@/]*@/, ':***@')}${stack.uiUrl ? `\n  TEMPORAL_UI=${stack.uiUrl}` : ''}`);
        const db = await connect(stack.databaseUrl);
        stops.unshift(() => closeQuietly(db));
        await migrate(db);
        console.log(`\nSeeding ${opts.rows.toLocaleString('en-US')} orders into ${DEMO_SCHEMA}.orders…`);
        await seedDemo(db, opts.rows);

        const config = parseConfig({
          integrations: [
            {
              id: 'demo-orders',
              source: { kind: 'postgres', url: '${TIDEMARK_DEMO_DB}', table: `${DEMO_SCHEMA}.orders`, cursor: ['updated_at', 'id'], lag: '1s' },
              sink: { kind: 'postgres', url: '${TIDEMARK_DEMO_DB}', table: `${DEMO_SCHEMA}.orders_copy`, key: ['id'], create: true },
              batchSize: 5000,
            },
          ],
        });
        const workerConn = await NativeConnection.connect({ address: stack.temporalAddress });
        const worker = await createWorker({ connection: workerConn, taskQueue: TASK_QUEUE, config: () => config, env: { ...process.env, TIDEMARK_DEMO_DB: stack.databaseUrl } });
        const running = worker.run();
        stops.unshift(async () => {
          worker.shutdown();
          await running;
          await workerConn.close();
        });
        const client = new Client({ connection: await Connection.connect({ address: stack.temporalAddress }), dataConverter: dataConverterFromEnv() });
        stops.unshift(() => client.connection.close());

        console.log(`\nBackfill: one workflow, one long-running activity, a checkpoint committed with every batch`);
        const t0 = Date.now();
        const handle = await startIntegrationRun(client, 'backfill', { integration: 'demo-orders' }, TASK_QUEUE);
        const bar = new ProgressBar();
        let finished = false;
        const watching = (async () => {
          while (!finished) {
            const v = await describeRun(client, handle).catch(() => undefined);
            if (v?.progress && !finished) bar.update(v.progress);
            await new Promise((r) => setTimeout(r, 250));
          }
        })();
        const result = (await handle.result().finally(() => (finished = true))) as RunResult;
        await watching;
        const secs = (Date.now() - t0) / 1000;
        bar.update({ integration: 'demo-orders', slot: 'backfill', cursor: result.cursor, rows: result.rows, pages: 0, rate: result.rows / secs, total: result.rows, remaining: 0, etaSeconds: 0, attempt: 1, updatedAt: '' });
        bar.stop();
        const events = (await handle.fetchHistory()).events?.length ?? 0;
        console.log(`  ${result.rows.toLocaleString('en-US')} rows in ${secs.toFixed(1)}s (${Math.round(result.rows / secs).toLocaleString('en-US')} rows/s); workflow history: ${events} events`);

        console.log(`\nIncremental runs: each starts from the checkpoint and reads only what changed`);
        for (let round = 1; round <= 3; round++) {
          const changed = 200 * round;
          const added = 100 * round;
          await changeDemo(db, round, changed, added);
          await new Promise((r) => setTimeout(r, 1100)); // rows settle past the 1s lag
          const h = await startIntegrationRun(client, 'sync', { integration: 'demo-orders' }, TASK_QUEUE);
          const r = (await h.result()) as RunResult;
          console.log(`  sync ${round}: ${changed} orders changed and ${added} added in the source → picked up ${r.rows} rows, cursor ${JSON.stringify(r.cursor)}`);
        }
        const [a, b] = await Promise.all(
          ['orders', 'orders_copy'].map(async (t) => (await db.query(`SELECT count(*)::text AS n, md5(string_agg(o::text, '|' ORDER BY id)) AS h FROM ${DEMO_SCHEMA}.${t} o`)).rows[0]),
        );
        console.log(`\nSource and target: ${a?.n} rows each, checksums ${a?.h === b?.h ? 'equal' : 'DIFFERENT'}.`);
        if (opts.keep) {
          console.log(`\nThe stack stays up: open ${stack.uiUrl ?? 'the Temporal UI'}; Ctrl-C to stop.`);
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
        }
      } finally {
        for (const stop of stops) await stop().catch(() => undefined);
      }
      console.log('tidemark demo: done.');
    });
}
