import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { IntegrationBusyError, startIntegrationRun } from '../../src/client';
import { createTestDatabase, timeSkippingEnv, type TestDatabase } from '../setup/database';
import { digest, insertOrders, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { sleep, testWorker, uniqueQueue } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let src: TestDatabase;
let dst: TestDatabase;
const ROWS = 3_000;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });

beforeAll(async () => {
  [env, src, dst] = await Promise.all([timeSkippingEnv(), createTestDatabase('ops_src'), createTestDatabase('ops_dst')]);
  await seedOrders(src.url, { rows: ROWS });
});
afterAll(async () => {
  await env?.teardown();
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

async function committed(slot = 'backfill'): Promise<number> {
  const r = await sql<{ n: string }>(dst.url, `SELECT rows_done::text AS n FROM tidemark.checkpoints WHERE slot = $1`, [slot]).catch(() => []);
  return Number(r[0]?.n ?? 0);
}
async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}
/** Slow batches, so there is time to act mid-run. */
const slow = (ms: number) => ({ afterBatch: () => sleep(ms) });

describe('operating integrations (time-skipping server, real PostgreSQL)', () => {
  it('cancel stops at a batch boundary: the checkpoint matches the target exactly', async () => {
    const taskQueue = uniqueQueue('cancel');
    // 30 pages of 200 ms: the cancel (delivered with the next heartbeat, <= 2 s) lands well before the end.
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 100 }), vars(), slow(200));
    await w.runUntil(async () => {
      const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'orders' }, taskQueue);
      await until(async () => (await committed()) >= 300, '3 batches');
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    });
    const [{ n }] = (await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.orders')) as [{ n: string }];
    expect(Number(n)).toBe(await committed());
    expect(Number(n) % 100).toBe(0);
    expect(Number(n)).toBeLessThan(ROWS);
    expect(await sql(dst.url, 'SELECT status FROM tidemark.runs')).toEqual([{ status: 'cancelled' }]);
  });

  it('cancel while the run waits to retry after a failure: its row says cancelled, with the failure, not running for good', async () => {
    const taskQueue = uniqueQueue('cancel-retry');
    // The source refuses connections (a retryable failure): the run's row is made with the error, then it retries.
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 100 }), { SRC_URL: 'postgres://postgres:x@127.0.0.1:1/none', DST_URL: dst.url });
    await w.runUntil(async () => {
      const handle = await startIntegrationRun(env.client, 'backfill', { integration: 'orders' }, taskQueue);
      await until(async () => (await sql(dst.url, `SELECT 1 FROM tidemark.runs WHERE error IS NOT NULL`).catch(() => [])).length > 0, 'the failed attempt');
      await handle.cancel();
      const err = await handle.result().catch((e: unknown) => e);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    });
    const [run] = await sql<{ status: string; error: string; finished: boolean }>(dst.url, 'SELECT status, error, finished_at IS NOT NULL AS finished FROM tidemark.runs');
    expect(run).toMatchObject({ status: 'cancelled', finished: true, error: expect.stringMatching(/^cancelled while waiting to retry after: .*(ECONNREFUSED|connect)/) });
  });

  it('resume continues a terminated backfill from its checkpoint and closes the abandoned run', async () => {
    const taskQueue = uniqueQueue('resume');
    // Slow enough that the old activity cannot finish before it learns of the termination (next heartbeat, <= 2 s).
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 100 }), vars(), slow(250));
    await w.runUntil(async () => {
      const first = await startIntegrationRun(env.client, 'backfill', { integration: 'orders' }, taskQueue);
      await until(async () => (await committed()) >= 500, '500 rows');
      await first.terminate('operator gave up on it');
      const resumed = await startIntegrationRun(env.client, 'backfill', { integration: 'orders', resume: true }, taskQueue);
      const r = (await resumed.result()) as RunResult;
      expect(r.done).toBe(true);
    });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const runs = await sql<{ kind: string; status: string; rows_read: string; error: string | null }>(
      dst.url,
      'SELECT kind, status, rows_read::text, error FROM tidemark.runs ORDER BY started_at',
    );
    expect(runs.map((r) => [r.kind, r.status])).toEqual([
      ['backfill', 'failed'],
      ['resume', 'completed'],
    ]);
    expect(runs[0]!.error).toMatch(/terminated|abandoned .* continued by tidemark-orders\//);
    const read = runs.reduce((s, r) => s + Number(r.rows_read), 0);
    expect(read - ROWS).toBeLessThanOrEqual(100); // at most the batch in flight when it was terminated
    expect(await committed()).toBe(ROWS);
  });

  it('hand-off: rows updated while the backfill passes them are picked up by the next sync', async () => {
    const taskQueue = uniqueQueue('handoff');
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 500 }), vars(), {
      afterBatch: async ({ pages }) => {
        // Rows 1..50 were copied in page 1; now they change, after the backfill's high-water mark.
        if (pages === 2) await sql(src.url, `UPDATE public.orders SET status = 'changed-mid-backfill', updated_at = now() WHERE id <= 50`);
      },
    });
    await w.runUntil(async () => {
      const b = (await env.client.workflow.execute('backfillWorkflow', { taskQueue, workflowId: 'handoff-b', args: [{ integration: 'orders' }] })) as RunResult;
      expect(b.rows).toBe(ROWS);
      expect(await sql(dst.url, `SELECT count(*)::text AS n FROM copy.orders WHERE status = 'changed-mid-backfill'`)).toEqual([{ n: '0' }]);
      const s = (await env.client.workflow.execute('syncWorkflow', { taskQueue, workflowId: 'handoff-s', args: [{ integration: 'orders' }] })) as RunResult;
      expect(s.rows).toBe(50);
    });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    await sql(src.url, `UPDATE public.orders SET status = 'new', updated_at = '2024-01-01 00:00:00.000123+00'::timestamptz + ((id / 10) * interval '1 second') WHERE id <= 50`);
  });

  it('one writer per integration: a second manual run is refused; a sync from elsewhere yields as busy', async () => {
    const taskQueue = uniqueQueue('busy');
    const w = await testWorker(env, taskQueue, ordersConfig({}, { batchSize: 100 }), vars(), { ...slow(100), syncLockWaitMs: 300 });
    await w.runUntil(async () => {
      const b = await startIntegrationRun(env.client, 'backfill', { integration: 'orders' }, taskQueue);
      await expect(startIntegrationRun(env.client, 'sync', { integration: 'orders' }, taskQueue)).rejects.toThrow(IntegrationBusyError);
      await expect(startIntegrationRun(env.client, 'sync', { integration: 'orders' }, taskQueue)).rejects.toThrow(/integration "orders" is busy: workflow tidemark-orders is running/);
      await until(async () => (await committed()) >= 100, 'first batch');
      // e.g. a scheduled run, which has its own workflow id: the integration lock makes it yield
      const s = (await env.client.workflow.execute('syncWorkflow', { taskQueue, workflowId: 'busy-s', args: [{ integration: 'orders' }] })) as RunResult;
      expect(s).toMatchObject({ rows: 0, done: false, stoppedBy: 'busy' });
      await b.cancel();
      await b.result().catch(() => undefined);
    });
    expect(await sql(dst.url, `SELECT status FROM tidemark.runs WHERE run_id LIKE 'busy-s/%'`)).toEqual([{ status: 'skipped' }]);
  });

  it('time budget: 5,000 new orders, a budget of about 1,000 rows per run: caught up over several runs, nothing lost', async () => {
    await sql(src.url, 'CREATE TABLE IF NOT EXISTS public.orders_bf (LIKE public.orders INCLUDING ALL)');
    await insertOrders(src.url, 1, 5000, { table: 'public.orders_bf' });
    const taskQueue = uniqueQueue('budget');
    // 250 rows a page at 1,000 rows/s: one second of budget holds about 4 pages, 1,000 rows.
    const cfg = ordersConfig({ table: 'public.orders_bf' }, { batchSize: 250, rateLimit: 1000, maxRunDuration: '1s' });
    const w = await testWorker(env, taskQueue, cfg, vars());
    const results: RunResult[] = [];
    await w.runUntil(async () => {
      for (let i = 0; i < 12; i++) {
        const r = (await env.client.workflow.execute('syncWorkflow', { taskQueue, workflowId: `budget-${i}`, args: [{ integration: 'orders' }] })) as RunResult;
        results.push(r);
        if (r.done) break;
      }
      // back to normal: the next run has nothing to do and finishes
      const after = (await env.client.workflow.execute('syncWorkflow', { taskQueue, workflowId: 'budget-after', args: [{ integration: 'orders' }] })) as RunResult;
      expect(after).toMatchObject({ rows: 0, done: true });
    });
    const partial = results.filter((r) => !r.done);
    console.log(`catch-up: ${results.length} runs, rows per run ${results.map((r) => r.rows).join(', ')}`);
    // How many runs it takes depends on the machine (start-up costs count against the budget); at
    // most 12 or the run after them would still find rows. What matters: split by the budget, nothing lost.
    expect(results.length).toBeGreaterThanOrEqual(4);
    expect(partial.every((r) => r.stoppedBy === 'time-budget')).toBe(true);
    expect(results.reduce((s, r) => s + r.rows, 0)).toBe(5000);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders_bf'));
  });
});
