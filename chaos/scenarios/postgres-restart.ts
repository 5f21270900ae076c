import { compareTables } from '../lib/compare';
import { ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { createDatabase } from '../lib/databases';
import { finished, recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import { seedOrders } from '../lib/orders';
import type { ScenarioResult } from '../lib/report';
import { RestartablePostgres } from '../lib/restartable-postgres';
import { until } from '../lib/wait';

/**
 * postgres-restart: two embedded PostgreSQL servers on fixed ports, one holding the source, the other
 * the target and tidemark's state. One backfill sees the sink/state server restarted in its middle,
 * another the source server: sessions are terminated, connections refused for a few seconds, then the
 * server is back. The activity fails its attempt, Temporal retries with backoff until the server
 * answers, and the run continues from its checkpoint: exact target, at most the page in flight re-read.
 */
export async function postgresRestart(ctx: ChaosContext): Promise<ScenarioResult> {
  const servers: RestartablePostgres[] = [];
  return runScenario(ctx, 'postgres-restart', (h) => body(h, servers[0] as RestartablePostgres, servers[1] as RestartablePostgres), {
    databases: async () => {
      servers.push(await RestartablePostgres.start(), await RestartablePostgres.start());
      const [srcServer, dstServer] = servers as [RestartablePostgres, RestartablePostgres];
      return { src: await createDatabase(srcServer.url, 'restart_src'), dst: await createDatabase(dstServer.url, 'restart_dst'), close: async () => void (await Promise.all(servers.map((s) => s.destroy()))) };
    },
  });
}

async function body(h: Harness, srcServer: RestartablePostgres, dstServer: RestartablePostgres): Promise<void> {
  const { ctx, f } = h;
  const rows = ctx.quick ? 30_000 : 200_000;
  const batch = 2_000;
  const downMs = ctx.quick ? 3_000 : 8_000;
  await seedOrders(h.src.url, rows);
  const rateLimit = ctx.quick ? 8_000 : 25_000;
  h.ws.writeConfig({
    integrations: [
      ordersIntegration('sink_restart', { target: 'copy.orders_a', batchSize: batch, rateLimit }),
      ordersIntegration('source_restart', { target: 'copy.orders_b', batchSize: batch, rateLimit }),
    ],
  });
  await h.ws.startWorker();
  const cases = [
    { id: 'sink_restart', target: 'copy.orders_a', server: dstServer, what: 'sink/state' },
    { id: 'source_restart', target: 'copy.orders_b', server: srcServer, what: 'source' },
  ];
  for (const c of cases) {
    const started = await h.ws.cli('backfill', c.id);
    f.check(started.code === 0, `tidemark backfill ${c.id}: exit ${started.code}: ${started.stderr}`);
    await until(async () => (await h.watch.committed(c.id)) >= rows * 0.3, `30% of ${c.id}`, 5 * 60_000, 20);
    const at = await h.watch.committed(c.id);
    const t = Date.now();
    await c.server.restart(downMs);
    h.log(`${c.id}: ${c.what} PostgreSQL restarted at ${at} committed rows (down ${((Date.now() - t) / 1000).toFixed(1)} s)`);
    const o = await finished(h, c.id, 10 * 60_000);
    if (o.ok) f.check(o.result.rows === rows && o.result.done, `${c.id}: result ${JSON.stringify(o.result)}: expected ${rows} rows, done`);
    recordComparison(f, `${c.id} (${c.what} restarted)`, await compareTables({ url: h.src.url, table: 'public.orders' }, { url: h.dst.url, table: c.target }));
    const [run] = await recordRuns(h, c.id, rows);
    f.check((run?.attempts ?? 0) >= 2, `${c.id}: ${run?.attempts} attempt(s): the restart did not hit the run`);
    f.check((run?.rowsRead ?? 0) - (run?.rowsCommitted ?? 0) <= batch, `${c.id}: more than the page in flight was re-read`);
  }
}
