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
      // Ctrl-C (SIGINT) or SIGTERM at any point stops what the demo started, in order (worker, API, servers), and
      // exits 130 / 143: the SDK's own handler would only stop the worker and leave the demo waiting on its run.
      const stopping = interruption();
      // The demo narrates: the SDK's per-activity INFO logs would drown it, so warnings show as one line each (an
      // API retry), and nothing once stopping (the servers going away fail the run in flight, as they should).
      const logger = new DefaultLogger('WARN', (e) => {
        if (!stopping.signal()) console.error(`    ${e.level === 'WARN' ? '↻' : '!'} ${e.message}`);
      });
      // Core's own warnings (a gRPC retry) go through the same logger: quiet once stopping.
      Runtime.install({ logger, shutdownSignals: [], telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } } });
      console.log('tidemark demo: starting a Temporal dev server and PostgreSQL…');
      const stackStarting = startStack({ ui: true });
      let up = false;
      // Stopped while it starts: stop the servers once they are up. Once up, the finally below stops them last.
      stopping.onStop(() => void (up ? undefined : stackStarting.then((st) => st.stop()).catch(() => undefined)));
      const started = await stopping.race(stackStarting).catch(async (err: unknown) => {
        if (!(await stopping.causedBy())) throw err;
        return undefined;
      });
      if (!started) {
        // Stopped while the servers start: they are stopped as soon as they are up (onStop above), or were stopped by
        // the same Ctrl-C; then exit now, not when some start-up timer ends.
        await Promise.race([stackStarting.then((st) => st.stop()).catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
        process.exit(stopping.signal() === 'SIGINT' ? 130 : 143);
      }
      const stack = started;
      up = true;
      /** The demo's narration: nothing once it is stopping (its awaits may still end while the servers stop). */
      const say = (line: string) => {
        if (!stopping.signal()) console.log(line);
      };
      const stops: Array<() => Promise<void>> = [() => stack.stop()];
      let failure: { err: unknown } | undefined;
      try {
        await stopping.race(demo());
      } catch (err) {
        failure = { err };
      } finally {
        for (const stop of stops) await stop().catch(() => undefined);
      }
      // Asked only now: the stops took real time, so a Ctrl-C that cut the demo's work has been heard by now.
      if (failure && !(await stopping.causedBy())) throw failure.err;
      const sig = stopping.signal();
      if (sig && !opts.keep) {
        console.log(`tidemark demo: stopped (${sig}); the servers, worker and API it started are stopped.`);
        // Now, not when the client's last retry timer would have fired against the stopped server.
        process.exit(sig === 'SIGINT' ? 130 : 143);
      }
      console.log('tidemark demo: done.');

      async function demo(): Promise<void> {
        say(`  TEMPORAL_ADDRESS=${stack.temporalAddress}\n  DATABASE_URL=${stack.databaseUrl.replace(/:[^:@/]*@/, ':***@')}${stack.uiUrl ? `\n  TEMPORAL_UI=${stack.uiUrl}` : ''}`);
        const db = await openStateSession(stack.databaseUrl, { applicationName: 'tidemark' });
        stops.unshift(() => closeQuietly(db));
        say(`\nSeeding ${opts.rows.toLocaleString('en-US')} orders into ${DEMO_SCHEMA}.orders…`);
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
        say(`  TIDEMARK_UI=${ui.url}   (the operator's page: every run, its progress, dead letters, actions)`);

        say(`\nBackfill: one workflow, one long-running activity, a checkpoint committed with every batch`);
        const t0 = Date.now();
        const handle = await startIntegrationRun(client, 'backfill', { integration: 'demo-orders' }, TASK_QUEUE);
        const bar = new ProgressBar();
        stopping.onStop(() => bar.stop()); // the terminal's cursor back, the bar as it stood
        let finished = false;
        const watching = pollUntil(async () => {
          if (finished || stopping.signal()) return true;
          const v = await describeRun(client, handle).catch(() => undefined);
          if (v?.progress && !finished && !stopping.signal()) bar.update(v.progress);
          return undefined;
        }, { intervalMs: 250 });
        const result = (await handle.result().finally(() => (finished = true))) as RunResult;
        await watching;
        if (stopping.signal()) return;
        const secs = (Date.now() - t0) / 1000;
        bar.update({ integration: 'demo-orders', slot: 'backfill', cursor: result.cursor, rows: result.rows, pages: 0, rate: result.rows / secs, total: result.rows, remaining: 0, etaSeconds: 0, attempt: 1, updatedAt: '' });
        bar.stop();
        const events = (await handle.fetchHistory()).events?.length ?? 0;
        say(`  ${result.rows.toLocaleString('en-US')} rows in ${secs.toFixed(1)}s (${Math.round(result.rows / secs).toLocaleString('en-US')} rows/s); workflow history: ${events} events`);

        say(`\nIncremental runs: each starts from the checkpoint and reads only what changed`);
        for (let round = 1; round <= 3; round++) {
          const changed = 200 * round;
          const added = 100 * round;
          await changeDemo(db, round, changed, added);
          await sleep(1100); // rows settle past the 1s lag
          const h = await startIntegrationRun(client, 'sync', { integration: 'demo-orders' }, TASK_QUEUE);
          const r = (await h.result()) as RunResult;
          say(`  sync ${round}: ${changed} orders changed and ${added} added in the source → picked up ${r.rows} rows, cursor ${JSON.stringify(r.cursor)}`);
        }
        const [a, b] = await Promise.all(
          ['orders', 'orders_copy'].map(async (t) => (await db.query(`SELECT count(*)::text AS n, md5(string_agg(o::text, '|' ORDER BY id)) AS h FROM ${DEMO_SCHEMA}.${t} o`)).rows[0]),
        );
        say(`\nSource and target: ${a?.n} rows each, checksums ${a?.h === b?.h ? 'equal' : 'DIFFERENT'}.`);
        await apiDemo(client, db, api, `${DEMO_SCHEMA}.${API_TABLE}`, say);
        if (opts.keep) {
          say(`\nThe stack stays up: open ${stack.uiUrl ?? 'the Temporal UI'}; Ctrl-C to stop.`);
          await new Promise<void>(() => undefined); // until Ctrl-C: stopping.race ends it
        }
      }
    });
}

/**
 * The demo's Ctrl-C: the first SIGINT / SIGTERM makes `race` reject at once (the demo's awaits end, its finally
 * stops what it started); a second one says it is still stopping; a third exits at once.
 */
function interruption() {
  let got: NodeJS.Signals | undefined;
  let count = 0;
  let reject!: (err: Error) => void;
  const stopped = new Promise<never>((_, r) => (reject = r));
  stopped.catch(() => undefined);
  const listeners: Array<() => void> = [];
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      got = sig;
      // The servers go away under the client's and worker's calls in flight (Ctrl-C reaches them too): their
      // failures from here on are the stop itself, not news.
      process.on('uncaughtException', () => undefined);
      process.on('unhandledRejection', () => undefined);
      console.log(`\n${sig}: stopping the demo (the worker, the API, Temporal and PostgreSQL)…`);
      for (const l of listeners) l();
      reject(new Error(`demo stopped by ${sig}`));
    } else if (count === 2) console.log('still stopping; once more to exit now (servers may be left running)');
    else process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: () => got,
    /**
     * Whether a failure is the stop's. A terminal's Ctrl-C reaches the demo's servers too (one process group), and
     * PostgreSQL's "terminating connection due to administrator command" can reach this process before its own
     * SIGINT does (a CI run exited 1 so): a failure waits a moment for the signal before it counts as one.
     */
    causedBy: async (): Promise<boolean> => {
      if (!got) await new Promise((r) => setTimeout(r, 500));
      return got !== undefined;
    },
    onStop: (l: () => void) => listeners.push(l),
    race: <T>(p: Promise<T>): Promise<T> => {
      p.catch(() => undefined); // left running when stopped: its later failure is expected
      return Promise.race([p, stopped]);
    },
  };
}

/** The HTTP source against the bundled mock API, through injected faults: retries survived, exact rows. */
async function apiDemo(client: Client, db: pg.Client, api: MockApi, apiTable: string, say: (line: string) => void): Promise<void> {
  const { startIntegrationRun } = await lazy('../client');
  const { compareWithSnapshot } = await lazy('../mock-api');
  say(`\nHTTP API source: ${API_RECORDS.toLocaleString('en-US')} orders from a local mock API (tidemark mock-api) at ${api.url}`);
  say('  which fails ~12% of requests on purpose: 500/502/503, 429 with Retry-After, dropped connections, JSON cut in half');
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
  say(`  backfill: ${full.r.rows.toLocaleString('en-US')} rows in ${full.secs}s; ${full.retries}`);
  say(`  ${await compare()}`);
  const m = api.mutate(300);
  await (await lazy('../util/sleep')).sleep(1100); // changes settle past the 1s lag
  const sync = await run('sync');
  say(`  sync: ${m.updated.length} orders changed and ${m.inserted.length} added, all with updated_at ${m.at} → picked up ${sync.r.rows} rows in ${sync.secs}s; ${sync.retries}`);
  say(`  ${await compare()}`);
}
