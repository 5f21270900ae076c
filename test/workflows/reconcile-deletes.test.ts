import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities';
import type { SyncWorkflowResult } from '../../src/activities/reconcile-deletes';
import { parseConfig, type Config } from '../../src/config';
import { tryLockIntegration } from '../../src/db/state';
import { createTestDatabase, timeSkippingEnv, type TestDatabase } from '../setup/database';
import { digest, seedOrders, sql } from '../helpers/fixtures';
import { testWorker, uniqueQueue } from '../helpers/temporal';

const ROWS = 1_000;
let env: TestWorkflowEnvironment;
let src: TestDatabase;
let dst: TestDatabase;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;

/** The same source read by two integrations: `orders` reconciles deletes daily, `plain` has no `deletes`. */
function config(): Config {
  const integration = (id: string, table: string, extra: Record<string, unknown>) => ({
    id,
    source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
    sink: { url: '${DST_URL}', table, key: ['id'], create: true },
    batchSize: 500,
    ...extra,
  });
  return parseConfig({ integrations: [integration('orders', 'copy.orders', { deletes: { reconcileEvery: '1d' } }), integration('plain', 'copy.plain', {})] });
}

let runs = 0;
async function sync(integration: string): Promise<{ result: SyncWorkflowResult; activities: string[]; events: number; runKey: string }> {
  const workflowId = `${integration}-sync-${++runs}`;
  const handle = await env.client.workflow.start('syncWorkflow', { taskQueue, workflowId, args: [{ integration }] });
  const result = (await handle.result()) as SyncWorkflowResult;
  const history = await handle.fetchHistory();
  const activities = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? ''] : []));
  return { result, activities, events: history.events?.length ?? 0, runKey: `${workflowId}/${handle.firstExecutionRunId}` };
}

/** As if the last reconciliation ran `days` ago. */
const age = (days: number) => sql(dst.url, `UPDATE tidemark.reconciliations SET started_at = started_at - $1::int * interval '1 day'`, [days]);
const count = async (table: string) => Number((await sql<{ n: string }>(dst.url, `SELECT count(*)::text AS n FROM ${table}`))[0]!.n);

beforeAll(async () => {
  [env, src, dst] = await Promise.all([timeSkippingEnv(), createTestDatabase('recon_src'), createTestDatabase('recon_dst')]);
  await seedOrders(src.url, { rows: ROWS });
  taskQueue = uniqueQueue('recon');
  worker = await testWorker(env, taskQueue, config(), { SRC_URL: src.url, DST_URL: dst.url });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('scheduled delete reconciliation (syncWorkflow + reconcileDeletes)', () => {
  it('reconciles on the first run, not again before reconcileEvery, and again once it has passed', async () => {
    const first = await sync('orders');
    expect(first.result).toMatchObject({ rows: ROWS, done: true, deleted: 0 });
    expect(first.activities).toEqual(['runIntegration', 'reconcileDeletes']);
    expect(first.events).toBeLessThanOrEqual(17);
    expect(await sql(dst.url, `SELECT status, run_key FROM tidemark.reconciliations`)).toEqual([{ status: 'completed', run_key: first.runKey }]);

    await sql(src.url, 'DELETE FROM public.orders WHERE id IN (1, 500, 501, 1000)');
    const notDue = await sync('orders');
    expect(notDue.activities).toEqual(['runIntegration', 'reconcileDeletes']);
    expect(notDue.result).not.toHaveProperty('deleted');
    expect(await count('copy.orders')).toBe(ROWS);

    await age(2);
    const due = await sync('orders');
    expect(due.result).toMatchObject({ rows: 0, done: true, deleted: 4 });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    expect(await sql(dst.url, `SELECT rows_deleted::text FROM tidemark.runs WHERE run_id = $1::text`, [due.runKey])).toEqual([{ rows_deleted: '4' }]);
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM tidemark.reconciliations WHERE status = 'completed'`)).toEqual([{ n: '2' }]);
  });

  it('an integration without deletes never deletes, and its history has no reconcileDeletes at all', async () => {
    const first = await sync('plain');
    expect(first.result).toMatchObject({ done: true });
    expect(first.result).not.toHaveProperty('deleted');
    expect(first.activities).toEqual(['runIntegration']);
    // The source lost rows before this integration's first copy: delete more now, after it.
    await sql(src.url, 'DELETE FROM public.orders WHERE id IN (2, 3)');
    const second = await sync('plain');
    expect(second.activities).toEqual(['runIntegration']);
    expect(second.events).toBe(first.events);
    expect(await sql(dst.url, 'SELECT id::text FROM copy.plain WHERE id IN (2, 3) ORDER BY id')).toEqual([{ id: '2' }, { id: '3' }]);
  });

  it('the activity gives way to a run holding the integration lock (busy: nothing deleted or recorded); without deletes it does nothing', async () => {
    await age(2);
    const acts = createActivities({ config, env: { SRC_URL: src.url, DST_URL: dst.url } });
    const before = await sql(dst.url, 'SELECT count(*)::text AS n FROM tidemark.reconciliations');
    const holder = new pg.Client({ connectionString: dst.url });
    await holder.connect();
    try {
      expect(await tryLockIntegration(holder, 'orders')).toBe(true);
      expect(await new MockActivityEnvironment().run(acts.reconcileDeletes, { integration: 'orders', runKey: 'manual/1' })).toEqual({ status: 'busy', deleted: 0 });
    } finally {
      await holder.end();
    }
    expect(await sql(dst.url, 'SELECT id::text FROM copy.orders WHERE id IN (2, 3) ORDER BY id')).toEqual([{ id: '2' }, { id: '3' }]);
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM tidemark.reconciliations')).toEqual(before);
    expect(await new MockActivityEnvironment().run(acts.reconcileDeletes, { integration: 'plain', runKey: 'manual/2' })).toEqual({ status: 'disabled', deleted: 0 });
  });

  it('refuses, non-retryably, to delete more than maxFraction of the target; the sync itself stays committed', async () => {
    await sql(src.url, 'DELETE FROM public.orders WHERE id % 4 = 0'); // a quarter of the target
    await sql(src.url, `UPDATE public.orders SET updated_at = now() - interval '1 minute', status = 'late' WHERE id = 7`);
    await age(2);
    const before = await count('copy.orders');
    const err = await sync('orders').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause?.cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('TooManyDeletesError');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(/orders: refusing to delete 250 of 996 target rows \(25.1%\), more than deletes.maxFraction 0.1 \(10%\); nothing was deleted/);
    expect(await count('copy.orders')).toBe(before);
    expect(await sql(dst.url, `SELECT status FROM copy.orders WHERE id = 7`)).toEqual([{ status: 'late' }]);
    expect(await sql(dst.url, `SELECT status FROM tidemark.reconciliations ORDER BY id DESC LIMIT 1`)).toEqual([{ status: 'refused' }]);
    // The sync's run row says so too (runs, status --all): not "completed" while deletes are stuck (acceptance run).
    const [run] = await sql<{ status: string; error: string }>(dst.url, `SELECT status, error FROM tidemark.runs WHERE integration = 'orders' ORDER BY started_at DESC LIMIT 1`);
    expect(run).toEqual({ status: 'failed', error: expect.stringMatching(/^deletes not reconciled: orders: refusing to delete 250 of 996 target rows/) as string });
  });
});
