import pg from 'pg';
import { workflowIdFor } from '../../src/client';
import { startMockApi, type MockApi } from '../../src/mock-api';
import { compareWithApi } from '../lib/api-dataset';
import { compareTables } from '../lib/compare';
import { apiIntegration, ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { finished, recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import { seedOrders } from '../lib/orders';
import type { ScenarioResult } from '../lib/report';
import { scalar } from '../lib/sql';
import { activityAttempts, historyEvents } from '../lib/temporal';
import { sleep, until } from '../lib/wait';

/**
 * source-hang: a source that stops answering.
 * - PostgreSQL: mid-run, another session takes LOCK TABLE … ACCESS EXCLUSIVE on the source table and
 *   holds it longer than the heartbeat timeout. The page query blocks; a blocked page is slow, not
 *   dead, so the activity keeps heartbeating (on a timer) and the same attempt finishes once the lock
 *   is released, exactly, without a retry. (A query blocked past source.statementTimeout — 5 min by
 *   default — would fail the attempt and be retried from the checkpoint.)
 * - HTTP: requests to the mock API that are never answered. The http source's request timeout
 *   aborts them and retries (the activity keeps heartbeating meanwhile); the dataset arrives exactly.
 */
export function sourceHang(ctx: ChaosContext): Promise<ScenarioResult> {
  let api: MockApi | undefined;
  return runScenario(ctx, 'source-hang', async (h) => {
    api = await startMockApi({ records: ctx.quick ? 3_000 : 10_000, seed: 7 });
    await body(h, api);
  }).finally(() => api?.close());
}

async function body(h: Harness, api: MockApi): Promise<void> {
  const { ctx, f } = h;
  const rows = ctx.quick ? 20_000 : 100_000;
  const batch = 1_000;
  // Longer than the 30 s heartbeat timeout: without heartbeats during the blocked page the attempt would time out.
  const holdMs = ctx.quick ? 40_000 : 70_000;
  await seedOrders(h.src.url, rows);
  h.ws.env.API_URL = api.url;
  const integrations = [
    ordersIntegration('orders', { batchSize: batch, rateLimit: ctx.quick ? 4_000 : 10_000 }),
    apiIntegration('api_hang', { style: 'cursor', target: 'api.orders', timeout: '2s', requestsPerSecond: 20 }),
    apiIntegration('api_long_hang', { style: 'cursor', target: 'api.orders_long', timeout: '35s', requestsPerSecond: 20 }),
  ];
  h.ws.writeConfig({ integrations });
  await h.ws.startWorker();

  // PostgreSQL: a table lock held past the heartbeat timeout.
  f.check((await h.ws.cli('backfill', 'orders')).code === 0, 'tidemark backfill orders did not start');
  await until(async () => (await h.watch.committed('orders')) >= rows * 0.25, '25% of the rows', 5 * 60_000, 20);
  const locker = new pg.Client({ connectionString: h.src.url, application_name: 'chaos-locker' });
  await locker.connect();
  let blocked = 0;
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');
    const at = await h.watch.committed('orders');
    h.log(`orders: source table locked at ${at} committed rows; holding it ${holdMs / 1000} s`);
    const until = Date.now() + holdMs;
    let told = '';
    while (Date.now() < until) {
      // A run's source session is named after its lock tag, ending in ':source'.
      const waiting = await scalar(h.src.url, `SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name LIKE 'tm:%:source' AND wait_event_type = 'Lock'`);
      blocked = Math.max(blocked, waiting);
      if (!told && waiting > 0) told = (await h.ws.cli('status', 'orders')).stdout.split('\n').find((l) => l.includes('waiting ')) ?? '';
      await sleep(1_000);
    }
    h.log(`orders: status said: ${told.trim() || '(no waiting line)'}`);
    f.check(/the run's source read \(pid \d+\) has waited .* for a lock held by pid \d+ \(.*application chaos-locker/.test(told), `orders: status did not name the lock holder: ${told || '(no waiting line)'}`);
    // The page being written and the one already read ahead may still commit; nothing after them.
    const during = (await h.watch.committed('orders')) - at;
    f.check(during <= 2 * batch, `${during} rows were committed while the source table was locked`);
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end().catch(() => undefined);
  }
  const pending = (await h.client.workflow.getHandle(workflowIdFor('orders')).describe()).raw.pendingActivities?.[0];
  h.log(`orders: lock released; ${blocked} tidemark source session(s) were blocked on it; activity attempt ${pending?.attempt}, last failure: ${pending?.lastFailure?.message ?? 'none'}`);
  f.check(blocked >= 1, 'no tidemark source session was seen waiting on the lock');
  const o = await finished(h, 'orders', 10 * 60_000);
  if (o.ok) f.check(o.result.rows === rows && o.result.done, `orders: result ${JSON.stringify(o.result)}`);
  recordComparison(f, 'orders (source table locked)', await compareTables({ url: h.src.url, table: 'public.orders' }, { url: h.dst.url, table: 'copy.orders' }));
  const [run] = await recordRuns(h, 'orders', rows);
  const attempts = Math.max(0, ...activityAttempts(await historyEvents(h.client, workflowIdFor('orders'))));
  f.check(attempts === 1, `orders: ${attempts} activity attempt(s): a page blocked on a source lock is slow, not dead: it must keep heartbeating and finish without a retry`);
  f.check((run?.rowsRead ?? 0) - (run?.rowsCommitted ?? 0) <= batch * attempts, 'orders: more than one page re-read per attempt');

  // HTTP: requests that never get an answer.
  const cases = [{ id: 'api_hang', target: 'api.orders', hangs: 3 }, ...(ctx.quick ? [] : [{ id: 'api_long_hang', target: 'api.orders_long', hangs: 1 }])];
  for (const c of cases) {
    api.resetStats();
    api.injectFaults(...Array.from({ length: c.hangs }, () => 'hang' as const));
    const t = Date.now();
    const r = await h.ws.cli('backfill', c.id, '--wait');
    f.check(r.code === 0, `${c.id}: tidemark backfill --wait exit ${r.code}: ${r.stderr}`);
    const s = api.stats();
    h.log(`${c.id}: ${s.faults.hang} hung request(s), ${s.clientAborts} abandoned by the client, ${s.requests} requests, ${((Date.now() - t) / 1000).toFixed(1)} s`);
    f.check(s.faults.hang === c.hangs && s.clientAborts >= c.hangs, `${c.id}: expected ${c.hangs} hung requests abandoned by the client`);
    recordComparison(f, `${c.id} (requests hung)`, await compareWithApi(api, h.dst.url, c.target));
    const [apiRun] = await recordRuns(h, c.id, api.snapshot().length);
    // The request timeout handles a hang inside the attempt; the activity heartbeats meanwhile.
    f.check(apiRun?.attempts === 1, `${c.id}: ${apiRun?.attempts} attempts: a hung request should not cost an activity attempt`);
  }
}
