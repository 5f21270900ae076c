import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type pg from 'pg';
import type { RunResult } from '../activities/types';
import type { MockApi } from '../mock-api';
import { lazy } from './lazy';
import { wholeNumber } from './arg-parsers';

const TASK_QUEUE = 'tidemark-demo';
const API_RECORDS = 5_000;
const API_TABLE = 'api_orders'; // in DEMO_SCHEMA

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the main job on embedded defaults: local stack, a seeded source, a backfill with a live progress bar, then incremental runs')
    .option('--rows <n>', 'rows in the demo source table', wholeNumber(1, 100_000_000), 500_000)
    .option('--keep', 'keep the stack running after the demo (Ctrl-C to stop)')
    .action(async (opts: { rows: number; keep?: boolean }) => {
      if (!Number.isInteger(opts.rows) || opts.rows < 1) throw new Error('--rows must be a positive whole number');
      const { randomBytes } = await lazy('node:crypto');
      const { Client, Connection } = await lazy('@temporalio/client');
      const { DefaultLogger, NativeConnection, Runtime } = await lazy('@temporalio/worker');
      const { dataConverterFromEnv } = await lazy('../codec/aes-gcm-codec');
      const { parseConfig } = await lazy('../config');
      const { startIntegrationRun } = await lazy('../client');
      const { closeQuietly } = await lazy('../pg/connect');
      const { pollUntil } = await lazy('../util/poll');
      const { sleep } = await lazy('../util/sleep');
      const { openStateSession } = await lazy('../db/state-session');
      const { changeDemo, DEMO_SCHEMA, seedDemo } = await lazy('../demo/demo-data');
      const { startStack } = await lazy('../dev');
      const { ORDER_COLUMN_TYPES, startMockApi } = await lazy('../mock-api');
      const { createWorker } = await lazy('../worker');
      const { ProgressBar } = await lazy('./progress-bar');
      const { describeRun } = await lazy('./run-progress');
      // The demo narrates; the SDK's per-activity INFO logs would drown it (warnings still show).
      Runtime.install({ logger: new DefaultLogger('WARN') });
      console.log('tidemark demo: starting a Temporal dev server and PostgreSQL…');
      const stack = await startStack({ ui: true });
      const stops: Array<() => Promise<void>> = [() => stack.stop()];
      try {
        console.log(`  TEMPORAL_ADDRESS=${stack.temporalAddress}\n  DATABASE_URL=${stack.databaseUrl.replace(/:[^:@/]*@/, ':***@')}${stack.uiUrl ? `\n  TEMPORAL_UI=${stack.uiUrl}` : ''}`);
        const db = await openStateSession(stack.databaseUrl, { applicationName: 'tidemark' });
        stops.unshift(() => closeQuietly(db));
        console.log(`\nSeeding ${opts.rows.toLocaleString('en-US')} orders into ${DEMO_SCHEMA}.orders…`);
        await seedDemo(db, opts.rows);
        // The HTTP part runs after the PostgreSQL one; its API starts now so the worker's config can name it.
        const apiToken = randomBytes(12).toString('hex');
        const api = await startMockApi({ records: API_RECORDS, seed: 7, token: apiToken, failRate: 0.05, throttleRate: 0.03, dropRate: 0.02, truncateRate: 0.02, retryAfter: 1 });
        stops.unshift(() => api.close());
        await db.query(`DELETE FROM tidemark.checkpoints WHERE integration = 'demo-api'`);

        const config = parseConfig({
          integrations: [
            {
              id: 'demo-orders',
              source: { kind: 'postgres', url: '${TIDEMARK_DEMO_DB}', table: `${DEMO_SCHEMA}.orders`, cursor: ['updated_at', 'id'], lag: '1s' },
              sink: { kind: 'postgres', url: '${TIDEMARK_DEMO_DB}', table: `${DEMO_SCHEMA}.orders_copy`, key: ['id'], create: true },
              batchSize: 5000,
            },
            {
              id: 'demo-api',
              source: {
                kind: 'http',
                url: '${TIDEMARK_DEMO_API}/v1/orders/window',
                headers: { Authorization: 'Bearer ${TIDEMARK_DEMO_API_TOKEN}' },
                pagination: { style: 'time_window', field: 'updated_at' },
                columns: ORDER_COLUMN_TYPES,
                timeout: '2s',
                retries: 8,
                backoff: { initial: '200ms', max: '2s' },
                lag: '1s',
              },
              sink: { kind: 'postgres', url: '${TIDEMARK_DEMO_DB}', table: `${DEMO_SCHEMA}.${API_TABLE}`, key: ['id'], create: true },
              batchSize: 250,
            },
          ],
        });
        const workerConn = await NativeConnection.connect({ address: stack.temporalAddress });
        const worker = await createWorker({ connection: workerConn, taskQueue: TASK_QUEUE, config: () => config, env: { ...process.env, TIDEMARK_DEMO_DB: stack.databaseUrl, TIDEMARK_DEMO_API: api.url, TIDEMARK_DEMO_API_TOKEN: apiToken } });
        const running = worker.run();
        stops.unshift(async () => {
          worker.shutdown();
          await running;
          await workerConn.close();
        });
        const client = new Client({ connection: await Connection.connect({ address: stack.temporalAddress }), dataConverter: dataConverterFromEnv() });
        stops.unshift(() => client.connection.close());
        // The operator's page on a free port, on this machine only: watch the runs below from a browser.
        const { createUiServer } = await lazy('../ui/server');
        const ui = await createUiServer({ config, temporal: client, taskQueue: TASK_QUEUE, port: 0, env: { ...process.env, TIDEMARK_DEMO_DB: stack.databaseUrl, TIDEMARK_DEMO_API: api.url, TIDEMARK_DEMO_API_TOKEN: apiToken }, ...(stack.uiUrl ? { temporalUiUrl: stack.uiUrl } : {}) });
        stops.unshift(() => ui.close());
        console.log(`  TIDEMARK_UI=${ui.url}   (the operator's page: every run, its progress, dead letters, actions)`);

        console.log(`\nBackfill: one workflow, one long-running activity, a checkpoint committed with every batch`);
        const t0 = Date.now();
        const handle = await startIntegrationRun(client, 'backfill', { integration: 'demo-orders' }, TASK_QUEUE);
        const bar = new ProgressBar();
        let finished = false;
        const watching = pollUntil(async () => {
          if (finished) return true;
          const v = await describeRun(client, handle).catch(() => undefined);
          if (v?.progress && !finished) bar.update(v.progress);
          return undefined;
        }, { intervalMs: 250 });
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
          await sleep(1100); // rows settle past the 1s lag
          const h = await startIntegrationRun(client, 'sync', { integration: 'demo-orders' }, TASK_QUEUE);
          const r = (await h.result()) as RunResult;
          console.log(`  sync ${round}: ${changed} orders changed and ${added} added in the source → picked up ${r.rows} rows, cursor ${JSON.stringify(r.cursor)}`);
        }
        const [a, b] = await Promise.all(
          ['orders', 'orders_copy'].map(async (t) => (await db.query(`SELECT count(*)::text AS n, md5(string_agg(o::text, '|' ORDER BY id)) AS h FROM ${DEMO_SCHEMA}.${t} o`)).rows[0]),
        );
        console.log(`\nSource and target: ${a?.n} rows each, checksums ${a?.h === b?.h ? 'equal' : 'DIFFERENT'}.`);
        await apiDemo(client, db, api, `${DEMO_SCHEMA}.${API_TABLE}`);
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

/** The HTTP source against the bundled mock API, through injected faults: retries survived, exact rows. */
async function apiDemo(client: Client, db: pg.Client, api: MockApi, apiTable: string): Promise<void> {
  const { startIntegrationRun } = await lazy('../client');
  const { compareWithSnapshot } = await lazy('../mock-api');
  console.log(`\nHTTP API source: ${API_RECORDS.toLocaleString('en-US')} orders from a local mock API (tidemark mock-api) at ${api.url}`);
  console.log('  which fails ~12% of requests on purpose: 500/502/503, 429 with Retry-After, dropped connections, JSON cut in half');
  const run = async (kind: 'backfill' | 'sync') => {
    api.resetStats();
    const t0 = Date.now();
    const r = (await (await startIntegrationRun(client, kind, { integration: 'demo-api' }, TASK_QUEUE)).result()) as RunResult;
    const s = api.stats();
    const f = s.faults;
    const failed = f.error + f.throttle + f.rateLimited + f.drop + f.truncate + f.hang;
    const retries = `${s.requests} requests, ${failed} failed and were retried (${f.error} × 5xx, ${f.throttle + f.rateLimited} × 429, ${f.drop} dropped, ${f.truncate} truncated)`;
    return { r, secs: ((Date.now() - t0) / 1000).toFixed(1), retries };
  };
  const compare = async () => {
    const c = await compareWithSnapshot(db, apiTable, api.snapshot());
    return `target ${c.rows.toLocaleString('en-US')} rows, API ${c.expected.toLocaleString('en-US')}: ${c.exact ? 'every record identical' : `${c.missing} missing, ${c.differing} DIFFERENT`}`;
  };
  const full = await run('backfill');
  console.log(`  backfill: ${full.r.rows.toLocaleString('en-US')} rows in ${full.secs}s; ${full.retries}`);
  console.log(`  ${await compare()}`);
  const m = api.mutate(300);
  await (await lazy('../util/sleep')).sleep(1100); // changes settle past the 1s lag
  const sync = await run('sync');
  console.log(`  sync: ${m.updated.length} orders changed and ${m.inserted.length} added, all with updated_at ${m.at} → picked up ${sync.r.rows} rows in ${sync.secs}s; ${sync.retries}`);
  console.log(`  ${await compare()}`);
}
