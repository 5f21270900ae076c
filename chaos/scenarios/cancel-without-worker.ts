import { workflowIdFor } from '../../src/client';
import { compareTables } from '../lib/compare';
import { ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { finished, recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import { seedOrders } from '../lib/orders';
import type { ScenarioResult } from '../lib/report';
import { runsOf } from '../lib/runs';
import { until } from '../lib/wait';

/**
 * cancel-without-worker: the run's only worker is killed (SIGKILL), then the operator cancels. No worker polls, so
 * the workflow cannot see the cancel: `tidemark cancel` must say so (not leave the operator guessing). When a
 * worker starts, the workflow takes the cancel; the dead worker's activity can only end by its heartbeat timeout,
 * and the run must end CANCELLED all the same (not FAILED), its run row `cancelled`; `tidemark resume` then
 * continues from the checkpoint to an exact target.
 */
export function cancelWithoutWorker(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario(ctx, 'cancel-without-worker', (h) => body(h));
}

async function body(h: Harness): Promise<void> {
  const { f } = h;
  const rows = 20_000;
  const batch = 1_000;
  await seedOrders(h.src.url, rows);
  h.ws.writeConfig({ integrations: [ordersIntegration('orders', { batchSize: batch, rateLimit: 4_000 })] });
  let worker = await h.ws.startWorker();
  const started = await h.ws.cli('backfill', 'orders');
  f.check(started.code === 0, `tidemark backfill: exit ${started.code}: ${started.stderr}`);
  const handle = h.client.workflow.getHandle(workflowIdFor('orders'));
  await until(async () => (await h.watch.committed('orders')) >= 3 * batch, '3 committed pages', 5 * 60_000, 20);
  await worker.kill();
  const cancel = await h.ws.cli('cancel', 'orders');
  f.check(cancel.code === 0, `tidemark cancel: exit ${cancel.code}: ${cancel.stderr}`);
  f.check(/no worker has taken the cancel of .* within 15 s: is any worker running on task queue/.test(cancel.stderr), `tidemark cancel did not say that no worker took it: ${cancel.stderr}`);
  f.check((await handle.describe()).status.name === 'RUNNING', 'the workflow ended with no worker alive');
  worker = await h.ws.startWorker();
  const t = Date.now();
  await until(async () => (await handle.describe()).status.name !== 'RUNNING', 'the workflow to end', 3 * 60_000, 500);
  const status = (await handle.describe()).status.name;
  f.check(status === 'CANCELLED', `after cancel with no worker alive, then a worker started, the workflow ended ${status}, not CANCELLED`);
  const [run] = await runsOf(h.dst.url, 'orders');
  f.check(run?.status === 'cancelled', `the run row says ${run?.status}, not cancelled`);
  h.log(`ended ${status} ${((Date.now() - t) / 1000).toFixed(1)} s after a worker started; run row ${run?.status}`);

  const resumed = await h.ws.cli('resume', 'orders');
  f.check(resumed.code === 0, `tidemark resume: exit ${resumed.code}: ${resumed.stderr}`);
  const o = await finished(h, 'orders');
  if (o.ok) f.check(o.result.done, `resume result ${JSON.stringify(o.result)}: not done`);
  recordComparison(f, 'backfill', await compareTables({ url: h.src.url, table: 'public.orders' }, { url: h.dst.url, table: 'copy.orders' }));
  await recordRuns(h, 'orders');
  await worker.terminate();
}
