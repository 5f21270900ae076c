import pg from 'pg';
import { compareTables } from '../lib/compare';
import { ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { finished, recordComparison, recordRuns, runScenario, type Harness } from '../lib/harness';
import { createOrdersTable, seedOrders } from '../lib/orders';
import type { ScenarioResult } from '../lib/report';
import { sql } from '../lib/sql';
import { sleep, until } from '../lib/wait';

/**
 * cursor-boundaries: where keyset paging could skip or repeat rows.
 * 1. 10,000 rows with one identical updated_at, read in pages of 777: none missed, none repeated.
 * 2. Rows updated while a backfill passes them (behind its cursor and ahead of it): the backfill's
 *    window ends at its high-water mark, and the next sync picks every one of them up.
 * 3. A transaction that commits late with an old updated_at while syncs run back to back: committing
 *    inside `lag` it is caught; later than `lag` it is caught too, as a run waits for the transactions writing
 *    the table (source.writersWait); later than both it is caught as well, as the runs read only up to its start
 *    (a run warning names it) until it commits.
 */
export function cursorBoundaries(ctx: ChaosContext): Promise<ScenarioResult> {
  return runScenario(ctx, 'cursor-boundaries', (h) => body(h));
}

async function body(h: Harness): Promise<void> {
  const { ctx, f } = h;
  const moving = ctx.quick ? 10_000 : 50_000;
  await seedOrders(h.src.url, 10_000, { table: 'public.same_ts', perTimestamp: 1_000_000 });
  await seedOrders(h.src.url, moving, { table: 'public.moving' });
  await createOrdersTable(h.src.url, 'public.late_inside');
  await createOrdersTable(h.src.url, 'public.late_outside');
  await createOrdersTable(h.src.url, 'public.late_beyond');
  h.ws.writeConfig({
    integrations: [
      ordersIntegration('same-ts', { table: 'public.same_ts', target: 'copy.same_ts', batchSize: 777 }),
      ordersIntegration('moving', { table: 'public.moving', target: 'copy.moving', batchSize: 500, rateLimit: ctx.quick ? 2_000 : 10_000 }),
      ordersIntegration('late-inside', { table: 'public.late_inside', target: 'copy.late_inside', lag: '3s' }),
      ordersIntegration('late-outside', { table: 'public.late_outside', target: 'copy.late_outside', lag: '1s' }),
      withSource(ordersIntegration('late-beyond', { table: 'public.late_beyond', target: 'copy.late_beyond', lag: '1s' }), { writersWait: '1s' }),
    ],
  });
  await h.ws.startWorker();

  // 1. one timestamp across 13 pages
  f.check((await h.ws.cli('backfill', 'same-ts', '--wait')).code === 0, 'same-ts: backfill failed');
  recordComparison(f, 'same-ts (10,000 rows, one updated_at, pages of 777)', await compareTables({ url: h.src.url, table: 'public.same_ts' }, { url: h.dst.url, table: 'copy.same_ts' }));
  const [sameTs] = await recordRuns(h, 'same-ts', 10_000);
  f.check(sameTs?.pages === Math.ceil(10_000 / 777), `same-ts: ${sameTs?.pages} pages, expected ${Math.ceil(10_000 / 777)}`);

  // 2. rows change behind and ahead of a running backfill's cursor
  f.check((await h.ws.cli('backfill', 'moving')).code === 0, 'moving: backfill did not start');
  await until(async () => (await h.watch.committed('moving')) >= moving * 0.4, '40% of moving', 5 * 60_000, 20);
  const [changed] = await sql<{ behind: string; ahead: string }>(
    h.src.url,
    `WITH u AS (UPDATE public.moving SET status = 'changed', updated_at = clock_timestamp() WHERE (id <= $1 OR id > $2) AND id % 7 = 0 RETURNING id)
     SELECT count(*) FILTER (WHERE id <= $1)::text AS behind, count(*) FILTER (WHERE id > $2)::text AS ahead FROM u`,
    [moving * 0.2, moving * 0.9],
  );
  const behind = Number(changed?.behind);
  const ahead = Number(changed?.ahead);
  // Rows moved ahead now sort after the backfill's high-water mark: the backfill's window no longer holds them.
  const bf = await finished(h, 'moving');
  if (bf.ok) f.check(bf.result.rows === moving - ahead, `moving: the backfill read ${bf.result.rows} rows, expected ${moving - ahead}`);
  const sync = await h.ws.cli('sync', 'moving', '--wait');
  f.check(sync.code === 0 && sync.stdout.includes(`completed: ${behind + ahead} rows`), `moving: the sync should read the ${behind + ahead} changed rows: ${sync.stdout.trim()} ${sync.stderr.trim()}`);
  recordComparison(f, `moving (${behind} rows changed behind the backfill's cursor, ${ahead} ahead; then a sync)`, await compareTables({ url: h.src.url, table: 'public.moving' }, { url: h.dst.url, table: 'copy.moving' }));
  await recordRuns(h, 'moving');

  // 3. late commits, inside and outside lag, while syncs run back to back (as a tight schedule would)
  const [inside, outside, beyond] = await Promise.all([lateCommit(h, 'late-inside', 1_500, 3_000), lateCommit(h, 'late-outside', 3_000, 1_000), lateCommit(h, 'late-beyond', 3_000, 1_000)]);
  f.add({ lost: (inside.includes('1') ? 0 : 1) + (outside.includes('1') ? 0 : 1) + (beyond.includes('1') ? 0 : 1), runs: 0 });
  f.check(inside.join() === '1,2', `late-inside: target has [${inside.join()}], expected [1,2]: a transaction committing inside lag was lost`);
  f.detail(`late-inside: a transaction committed 1.5 s late with lag 3s: caught (target [${inside.join()}])`);
  f.check(outside.join() === '1,2', `late-outside: target has [${outside.join()}], expected [1,2]: the sync did not wait for the transaction writing the table`);
  f.detail(`late-outside: committed 3 s late with lag 1s: caught, the sync waited for the open writer (target [${outside.join()}])`);
  const [{ n: warnedRuns }] = (await sql<{ n: string }>(h.dst.url, `SELECT count(*)::text AS n FROM tidemark.runs WHERE integration = 'late-beyond' AND array_to_string(warnings, ' ') LIKE '%still open after this run waited 1 s%'`)) as [{ n: string }];
  const warned = Number(warnedRuns);
  f.check(warned > 0, 'late-beyond: no run warned of the transaction still open after writersWait');
  f.check(beyond.join() === '1,2', `late-beyond: target has [${beyond.join()}], expected [1,2]: the runs did not hold their range before the transaction still open`);
  const [{ n: heldRuns }] = (await sql<{ n: string }>(h.dst.url, `SELECT count(*)::text AS n FROM tidemark.runs WHERE integration = 'late-beyond' AND array_to_string(warnings, ' ') LIKE '%this run reads only up to%'`)) as [{ n: string }];
  f.detail(`late-beyond: committed 3 s late with lag 1s and writersWait 1s: caught, ${heldRuns} of the ${warned} run(s) that named the open transaction read only up to its start (target [${beyond.join()}])`);
  f.note = `late commits beyond lag and writersWait: held, not lost (${heldRuns} run(s) held before the open transaction)`;
  await recordRuns(h, 'late-inside');
  await recordRuns(h, 'late-outside');
  await recordRuns(h, 'late-beyond');
}

/**
 * A transaction inserts row 1 (updated_at = its start), row 2 commits at once, syncs run back to back;
 * the transaction commits `delayMs` later; syncs go on until `lag` has passed. Returns the target's ids.
 */
async function lateCommit(h: Harness, id: string, delayMs: number, lagMs: number): Promise<string[]> {
  const table = `public.${id.replace('-', '_')}`;
  const late = new pg.Client({ connectionString: h.src.url });
  await late.connect();
  let committed = false;
  let syncs = 0;
  try {
    await late.query('BEGIN');
    await late.query(`INSERT INTO ${table} VALUES (1, now(), 'late', 1, NULL)`);
    await sleep(100);
    await sql(h.src.url, `INSERT INTO ${table} VALUES (2, now(), 'prompt', 2, NULL)`);
    const t0 = Date.now();
    // The commit comes when it comes, whether a sync is running (and waiting for it) or not.
    const commit = sleep(delayMs).then(async () => {
      await late.query('COMMIT');
      committed = true;
    });
    while (Date.now() < t0 + delayMs + lagMs + 2_500) {
      await h.client.workflow.execute('syncWorkflow', { taskQueue: h.ws.taskQueue, workflowId: `chaos-${id}-${++syncs}`, args: [{ integration: id }] });
      await sleep(150);
    }
    await commit;
  } finally {
    if (!committed) await late.query('ROLLBACK').catch(() => undefined);
    await late.end();
  }
  h.log(`${id}: ${syncs} syncs around a transaction that committed ${delayMs / 1000} s late (lag ${lagMs / 1000} s)`);
  return (await sql<{ id: string }>(h.dst.url, `SELECT id::text FROM copy.${id.replace('-', '_')} ORDER BY id`).catch(() => [])).map((r) => r.id);
}

/** An integration with more source settings. */
function withSource(it: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  return { ...it, source: { ...(it.source as Record<string, unknown>), ...source } };
}
