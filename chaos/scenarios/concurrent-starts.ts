import { compareTables } from '../lib/compare';
import { ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { finished, recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import { createOrdersTable, seedOrders } from '../lib/orders';
import type { ScenarioResult } from '../lib/report';
import { sql } from '../lib/sql';
import { outcome } from '../lib/temporal';
import { installWriteAudit, readWriteAudit } from '../lib/write-audit';

/**
 * concurrent-starts: two workers; two `tidemark backfill` at once (one starts, the other is told the
 * integration is busy, exit 1); `sync` and `backfill` while it runs (busy), `resume` (follows it); a scheduled-style sync
 * with its own workflow id while it runs (yields: skipped, nothing written); then two scheduled-style
 * syncs at once and two `sync --wait` at once. A statement trigger on the target records which run
 * wrote each page: writes of two runs must never interleave, and the target must equal the source.
 */
export function concurrentStarts(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario(ctx, 'concurrent-starts', (h) => body(h));
}

async function body(h: Harness): Promise<void> {
  const { ctx, f } = h;
  const rows = ctx.quick ? 30_000 : 100_000;
  await seedOrders(h.src.url, rows);
  await createOrdersTable(h.dst.url, 'copy.orders');
  await installWriteAudit(h.dst.url, 'copy.orders');
  h.ws.writeConfig({ integrations: [ordersIntegration('orders', { batchSize: 1_000, rateLimit: 500 })] });
  await Promise.all([h.ws.startWorker(), h.ws.startWorker()]);
  const busy = /integration "orders" is busy: workflow tidemark-orders is running/;

  const both = await Promise.all([h.ws.cli('backfill', 'orders'), h.ws.cli('backfill', 'orders')]);
  const ran = both.filter((r) => r.code === 0 && /started backfillWorkflow tidemark-orders/.test(r.stdout));
  const told = both.filter((r) => r.code !== 0 && busy.test(r.stderr));
  f.check(ran.length === 1 && told.length === 1, `two backfills at once: ${both.map((r) => `exit ${r.code} ${(r.stdout + r.stderr).trim()}`).join(' | ')}`);
  // The backfill is throttled to 500 rows/s (a minute or more): long enough for these and for a
  // scheduled sync's 10 s wait for the lock, however slow the machine; then `tune` lets it go.
  const during = [['sync', 'orders'], ['backfill', 'orders']];
  const answers = await Promise.all([...during.map((args) => h.ws.cli(...args)), h.ws.cli('resume', 'orders')]);
  answers.slice(0, during.length).forEach((r, i) => f.check(r.code !== 0 && busy.test(r.stderr), `tidemark ${(during[i] as string[]).join(' ')} during the backfill: exit ${r.code} ${r.stderr.trim()}`));
  // `resume` of the backfill running: that one is the backfill to continue; nothing new starts.
  const resumed = answers[during.length]!;
  f.check(resumed.code === 0 && /tidemark-orders is this backfill, still running: it continues from its checkpoint by itself/.test(resumed.stdout), `tidemark resume orders during the backfill: exit ${resumed.code} ${(resumed.stdout + resumed.stderr).trim()}`);
  // A Schedule's run has its own workflow id: Temporal lets it start, the integration lock makes it yield.
  const scheduled = `tidemark-orders-scheduled-${new Date().toISOString()}`;
  await h.client.workflow.start('syncWorkflow', { taskQueue: h.ws.taskQueue, workflowId: scheduled, args: [{ integration: 'orders' }] });
  const yielded = await outcome(h.client, scheduled);
  f.check(yielded.ok && yielded.result.stoppedBy === 'busy' && yielded.result.rows === 0, `scheduled sync during the backfill: ${JSON.stringify(yielded)}`);
  const tuned = await h.ws.cli('tune', 'orders', '--rate', '1000000');
  f.check(tuned.code === 0, `tidemark tune: exit ${tuned.code} ${tuned.stderr.trim()}`);
  const bf = await finished(h, 'orders');
  if (bf.ok) f.check(bf.result.rows === rows, `backfill result ${JSON.stringify(bf.result)}`);
  h.log(`two backfills at once: one started, one told "busy"; sync/backfill during it: busy, resume: follows it; a scheduled sync yielded (${yielded.ok ? yielded.result.stoppedBy : 'failed'})`);

  // Changes, then two scheduled-style syncs at once (on two workers), then two `sync --wait` at once.
  const [changed] = await sql<{ n: string }>(h.src.url, `WITH u AS (UPDATE public.orders SET status = 'changed', updated_at = clock_timestamp() WHERE id % 10 = 0 RETURNING 1) SELECT count(*)::text AS n FROM u`);
  const ids = [1, 2].map((i) => `tidemark-orders-scheduled-${i}-${Date.now()}`);
  await Promise.all(ids.map((id) => h.client.workflow.start('syncWorkflow', { taskQueue: h.ws.taskQueue, workflowId: id, args: [{ integration: 'orders' }] })));
  const syncs = await Promise.all(ids.map((id) => outcome(h.client, id)));
  const read = syncs.reduce((s, o) => s + (o.ok ? o.result.rows : 0), 0);
  f.check(syncs.every((o) => o.ok) && read === Number(changed?.n), `two syncs at once read ${read} rows, expected ${changed?.n} in all: ${JSON.stringify(syncs)}`);
  await sql(h.src.url, `UPDATE public.orders SET status = 'again', updated_at = clock_timestamp() WHERE id % 25 = 0`);
  const cli = await Promise.all([h.ws.cli('sync', 'orders', '--wait'), h.ws.cli('sync', 'orders', '--wait')]);
  const completed = cli.filter((r) => r.code === 0 && /completed: \d+ rows/.test(r.stdout));
  f.check(completed.length === 1 && cli.some((r) => r.code !== 0 && busy.test(r.stderr)), `two sync --wait at once: ${cli.map((r) => `exit ${r.code} ${(r.stdout + r.stderr).trim()}`).join(' | ')}`);
  h.log(`two scheduled syncs at once: ${syncs.map((o) => (o.ok ? `${o.result.rows} rows${o.result.stoppedBy ? ` (${o.result.stoppedBy})` : ''}` : 'failed')).join(' and ')}; two sync --wait at once: one ran, one told "busy"`);

  recordComparison(f, 'after backfill and concurrent syncs', await compareTables({ url: h.src.url, table: 'public.orders' }, { url: h.dst.url, table: 'copy.orders' }));
  const audit = await readWriteAudit(h.dst.url);
  f.check(audit.interleavings === 0, `writes of different runs interleaved ${audit.interleavings} time(s)`);
  f.detail(`${audit.transactions} page transactions by ${audit.writers} runs, never interleaved (statement trigger on the target)`);
  const runs = await recordRuns(h, 'orders');
  const written = runs.reduce((s, r) => s + r.rowsWritten, 0);
  const [again] = await sql<{ n: string }>(h.src.url, `SELECT count(*)::text AS n FROM public.orders WHERE status = 'again'`);
  const expected = rows + Number(changed?.n) + Number(again?.n);
  if (written > expected) f.add({ duplicated: written - expected });
  f.check(written === expected, `rows_written ${written}, expected ${expected} (each insert or change written once)`);
  f.check(runs.filter((r) => r.status === 'skipped').every((r) => r.rowsCommitted === 0 && r.pages === 0), 'a skipped run wrote');
}
