import { workflowIdFor } from '../../src/client';
import { compareTables } from '../lib/compare';
import { ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { finished, recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import { seedOrders } from '../lib/orders';
import type { ScenarioResult } from '../lib/report';
import { scalar } from '../lib/sql';
import { until } from '../lib/wait';

/**
 * sigterm: graceful shutdown in the middle of a page (SIGTERM while a page transaction is open). The
 * worker must let that page commit whole with its checkpoint (target rows = checkpoint rows = whole
 * pages), exit 0, and fail the attempt as retryable; a new worker resumes at once (no heartbeat
 * timeout) and the target ends identical to the source.
 */
export function sigterm(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario(ctx, 'sigterm', (h) => body(h));
}

async function body(h: Harness): Promise<void> {
  const { ctx, f } = h;
  const rows = ctx.quick ? 30_000 : 200_000;
  const stops = ctx.quick ? 2 : 4;
  const batch = 2_000;
  await seedOrders(h.src.url, rows);
  // A throttle keeps the run going long enough to stop it several times.
  h.ws.writeConfig({ integrations: [ordersIntegration('orders', { batchSize: batch, rateLimit: ctx.quick ? 8_000 : 20_000 })] });
  let worker = await h.ws.startWorker();
  const started = await h.ws.cli('backfill', 'orders');
  f.check(started.code === 0, `tidemark backfill: exit ${started.code}: ${started.stderr}`);
  const handle = h.client.workflow.getHandle(workflowIdFor('orders'));
  const committed = () => h.watch.committed('orders');
  const targetRows = () => scalar(h.dst.url, 'SELECT count(*)::text AS n FROM copy.orders');

  let midPage = 0;
  for (let k = 0; k < stops; k++) {
    const at = Math.round((rows * 0.8 * (k + 1)) / (stops + 1));
    await until(async () => (await committed()) >= at, `${at} committed rows`, 10 * 60_000, 20);
    if (await until(() => h.watch.pageInFlight(), 'a page transaction', 5_000, 2).then(() => true, () => false)) midPage++;
    await worker.terminate();
    f.check(worker.exitCode === 0, `stop ${k + 1}: the worker exited with ${worker.exitCode} after SIGTERM`);
    f.check(/tidemark worker: stopped/.test(worker.output), `stop ${k + 1}: the worker did not say it stopped`);
    const [inTarget, inCheckpoint] = [await targetRows(), await committed()];
    // Whole pages only: what the target holds is exactly what the checkpoint covers.
    f.check(inTarget === inCheckpoint, `stop ${k + 1}: target has ${inTarget} rows but the checkpoint covers ${inCheckpoint}`);
    f.check(inTarget % batch === 0, `stop ${k + 1}: target has ${inTarget} rows, not whole pages of ${batch}`);
    h.log(`stop ${k + 1}/${stops}: SIGTERM, worker exited ${worker.exitCode}; target ${inTarget} rows = checkpoint ${inCheckpoint}`);
    const t = Date.now();
    worker = await h.ws.startWorker();
    await until(async () => (await committed()) > inCheckpoint || (await handle.describe()).status.name !== 'RUNNING', 'the next attempt to commit', 5 * 60_000, 50);
    h.log(`resumed ${((Date.now() - t) / 1000).toFixed(1)} s after the new worker started`);
  }
  f.detail(`${stops} SIGTERMs (${midPage} while a page transaction was open); each page committed whole`);

  const o = await finished(h, 'orders');
  if (o.ok) f.check(o.result.rows === rows && o.result.done, `result ${JSON.stringify(o.result)}: expected ${rows} rows, done`);
  recordComparison(f, 'backfill', await compareTables({ url: h.src.url, table: 'public.orders' }, { url: h.dst.url, table: 'copy.orders' }));
  const [run] = await recordRuns(h, 'orders', rows);
  f.check(run?.attempts === stops + 1, `attempts ${run?.attempts}, expected ${stops + 1}`);
  f.check((run?.rowsRead ?? 0) - (run?.rowsCommitted ?? 0) <= stops * batch, 'more than one page re-read per stop');
}
