import { temporal } from '@temporalio/proto';
import { workflowIdFor } from '../../src/client';
import { compareTables } from '../lib/compare';
import { ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { finished, recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import { seedOrders } from '../lib/orders';
import type { WorkerProcess } from '../lib/processes';
import type { ScenarioResult } from '../lib/report';
import { activityAttempts, historyEvents } from '../lib/temporal';
import { randomInt, sleep, until } from '../lib/wait';

/**
 * worker-kill: a backfill whose worker process is killed with SIGKILL again and again, a new worker
 * started at once each time. Every kill costs Temporal's heartbeat timeout (30 s, set in the workflow)
 * before the retry; the retry must continue from the last committed page: lost 0, duplicated 0 (no
 * row written twice: rows_written = rows), reprocessed at most one page per kill.
 */
export function workerKill(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario(ctx, 'worker-kill', (h) => body(h));
}

async function body(h: Harness): Promise<void> {
  const { ctx, f } = h;
  const rows = ctx.rows ?? (ctx.quick ? 50_000 : 1_000_000);
  const kills = ctx.kills ?? (ctx.quick ? 2 : 10);
  const batch = ctx.quick ? 2_000 : 5_000;
  h.log(`seeding ${rows} rows`);
  await seedOrders(h.src.url, rows);
  // Quick runs are throttled so that the kills land inside the run; a full run goes at full speed.
  h.ws.writeConfig({ integrations: [ordersIntegration('orders', { batchSize: batch, ...(ctx.quick ? { rateLimit: 10_000 } : {}) })] });
  let worker: WorkerProcess = await h.ws.startWorker();
  const started = await h.ws.cli('backfill', 'orders');
  f.check(started.code === 0, `tidemark backfill: exit ${started.code}: ${started.stderr}`);
  const handle = h.client.workflow.getHandle(workflowIdFor('orders'));
  // Asked at most once a second: the row count is what the kills key on, and it is polled every 20 ms.
  let known = { at: 0, running: true };
  const running = async () => {
    if (Date.now() - known.at > 1_000) known = { at: Date.now(), running: (await handle.describe()).status.name === 'RUNNING' };
    return known.running;
  };
  const committed = () => h.watch.committed('orders');
  // The attempt number of the backfill's running activity (0: none started): a retry shows as a higher one.
  const attemptRunning = async () => {
    const pending = (await handle.describe()).raw.pendingActivities ?? [];
    const started = pending.filter((a) => a.activityType?.name === 'runIntegration' && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
    return Math.max(0, ...started.map((a) => a.attempt ?? 0));
  };

  // Kill k lands at a random row count inside the k-th slice of 3%..85% of the table: spread over the
  // run, and always with rows left. Every other kill waits for a page transaction to be open (killed
  // mid-write: it must roll back whole); the others add a random delay of up to half a second.
  const lo = rows * 0.03;
  const span = rows * 0.82;
  let done = 0;
  let midPage = 0;
  for (let k = 0; k < kills; k++) {
    const target = randomInt(Math.round(lo + (span * k) / kills), Math.round(lo + (span * (k + 1)) / kills));
    await until(async () => (await committed()) >= target || !(await running()), `${target} committed rows`, 10 * 60_000, 20);
    if ((await committed()) < target) break; // the run ended first
    if (k % 2 === 1) {
      const open = await until(() => h.watch.pageInFlight(), 'a page transaction', 5_000, 5).then(() => true, () => false);
      if (open) midPage++;
    } else await sleep(randomInt(0, 500));
    const attemptKilled = await attemptRunning();
    await worker.kill();
    done++;
    const at = await committed();
    h.log(`kill ${done}/${kills}: SIGKILL at ${at} committed rows; new worker; the retry waits for the 30 s heartbeat timeout`);
    worker = await h.ws.startWorker();
    // The retry is the next attempt committing a page. A commit alone is not enough: the killed worker's last
    // COMMIT can still land after `at` was read, and the next kill would then hit an idle worker (a CI run: 2
    // kills, 2 attempts).
    await until(async () => (await attemptRunning()) > attemptKilled || !(await running()), `the attempt after ${attemptKilled} to start`, 10 * 60_000, 250);
    const resumedAt = await committed();
    await until(async () => (await committed()) > resumedAt || !(await running()), 'the retry to commit a page', 10 * 60_000, 100);
  }
  f.check(done === kills, `only ${done} of ${kills} kills happened before the backfill ended (use more --rows)`);
  f.detail(`${done} SIGKILLs (${midPage} with a page transaction open), a new worker each time`);

  const o = await finished(h, 'orders', 30 * 60_000);
  if (o.ok) f.check(o.result.rows === rows && o.result.done, `result ${JSON.stringify(o.result)}: expected ${rows} rows, done`);
  recordComparison(f, 'backfill', await compareTables({ url: h.src.url, table: 'public.orders' }, { url: h.dst.url, table: 'copy.orders' }));
  const runs = await recordRuns(h, 'orders', rows);
  const run = runs.find((r) => r.kind === 'backfill');
  f.check(run?.attempts === done + 1, `attempts ${run?.attempts}, expected ${done + 1} (one per kill, plus the first)`);
  f.check(run?.rowsCommitted === rows, `rows_committed ${run?.rowsCommitted}, expected ${rows}`);
  // rows_read - rows_committed cannot show what a SIGKILL cost: a page counts its reads when it commits, and a killed
  // worker never counts the page or two it had read ahead (an acceptance run found the check here could not fail).
  // What a kill costs shows as attempts (above) and, exactly, as rows written once each (recordRuns).
  const attempts = activityAttempts(await historyEvents(h.client, workflowIdFor('orders')));
  f.detail(`history: activity attempts ${attempts.join(', ')}; at most ${done} × ${batch} rows read again (not counted after a SIGKILL)`);
}
