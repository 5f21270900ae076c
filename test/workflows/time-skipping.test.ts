import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import type { CreateWorkerOptions } from '../../src/worker';
import { createTestDatabase, timeSkippingEnv, type TestDatabase } from '../setup/database';
import { digest, insertOrders, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { testWorker, uniqueQueue } from '../helpers/temporal';

let env: TestWorkflowEnvironment;
let src: TestDatabase;
let dst: TestDatabase;
const ROWS = 4_000;

beforeAll(async () => {
  [env, src, dst] = await Promise.all([timeSkippingEnv(), createTestDatabase('ts_src'), createTestDatabase('ts_dst')]);
  await seedOrders(src.url, { rows: ROWS });
});
afterAll(async () => {
  await env?.teardown();
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

function worker(taskQueue: string, extra: Partial<CreateWorkerOptions> = {}): Promise<Worker> {
  return testWorker(env, taskQueue, ordersConfig(), { SRC_URL: src.url, DST_URL: dst.url }, extra);
}

describe('workflows on the time-skipping test server', () => {
  it('a hung worker is noticed by the heartbeat timeout; the retry resumes from the checkpoint, not from zero', async () => {
    const taskQueue = uniqueQueue('ts');
    const w = await worker(taskQueue, {
      afterBatch: async ({ attempt, pages, signal }) => {
        // Attempt 1 hangs after its second batch: no more heartbeats, like a stuck source query.
        if (attempt === 1 && pages === 2) await new Promise((resolve) => signal.addEventListener('abort', resolve));
      },
    });
    const result = (await w.runUntil(
      env.client.workflow.execute('backfillWorkflow', { taskQueue, workflowId: 'hang-1', args: [{ integration: 'orders' }] }),
    )) as RunResult;
    expect(result).toMatchObject({ rows: ROWS, done: true });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const [run] = await sql(dst.url, `SELECT attempts::text, rows_read::text, rows_committed::text, status FROM tidemark.runs`);
    // Attempt 2 started from attempt 1's checkpoint: nothing was written twice, and only the page attempt 1 had read
    // ahead (counted with the page it overlapped) was read twice — rows_read - rows_committed is at most that page.
    expect(run).toMatchObject({ attempts: '2', rows_committed: String(ROWS), status: 'completed' });
    expect(Number(run!.rows_read) - ROWS).toBeGreaterThanOrEqual(0);
    expect(Number(run!.rows_read) - ROWS).toBeLessThanOrEqual(1000); // batchSize of ordersConfig()
    const history = await env.client.workflow.getHandle('hang-1').fetchHistory();
    expect(history.events?.length).toBeLessThanOrEqual(15);
  });

  it('a cron run chain passes the cursor from run to run (lastResult)', async () => {
    const taskQueue = uniqueQueue('ts');
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const handle = await env.client.workflow.start('syncWorkflow', {
        taskQueue,
        workflowId: 'cron-1',
        cronSchedule: '*/5 * * * *',
        args: [{ integration: 'orders' }],
      });
      const completed = async (n: number) => {
        for (let i = 0; i < 100; i++) {
          const rows = await sql(dst.url, `SELECT run_id, rows_committed::text, start_cursor::text, end_cursor::text FROM tidemark.runs WHERE status = 'completed' ORDER BY started_at`).catch(() => []);
          if (rows.length >= n) return rows;
          await env.sleep('1 minute');
        }
        throw new Error(`fewer than ${n} cron runs completed`);
      };
      const [first] = await completed(1);
      expect(first!.rows_committed).toBe(String(ROWS));
      // Only the previous run's result can tell run 2 where to start: the durable checkpoint is gone.
      await sql(dst.url, `DELETE FROM tidemark.checkpoints WHERE slot = 'sync'`);
      await insertOrders(src.url, ROWS + 1, ROWS + 50, { start: '2025-01-01' });
      const runs = await completed(2);
      expect(runs[1]!.start_cursor).toBe(first!.end_cursor);
      expect(runs[1]!.rows_committed).toBe('50');
      await handle.terminate('test done');
    });
    await sql(src.url, `DELETE FROM public.orders WHERE id > ${ROWS}`);
  });

  it('bad input fails the workflow at once, non-retryable, naming the field', async () => {
    const taskQueue = uniqueQueue('ts');
    const w = await worker(taskQueue);
    await w.runUntil(async () => {
      const bad = env.client.workflow.execute('syncWorkflow', { taskQueue, workflowId: 'bad-1', args: [{ integration: 'Orders; DROP TABLE x' }] });
      const err = await bad.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toMatchObject({ type: 'InvalidWorkflowInput', nonRetryable: true, message: expect.stringContaining('integration: must be an integration id') });
      const shards = await env.client.workflow
        .execute('backfillWorkflow', { taskQueue, workflowId: 'bad-2', args: [{ integration: 'orders', shards: 'many' }] })
        .catch((e: unknown) => e);
      expect((shards as WorkflowFailedError).cause?.message).toMatch(/shards: must be a whole number/);
      const unknown = await env.client.workflow
        .execute('syncWorkflow', { taskQueue, workflowId: 'bad-3', args: [{ integration: 'nope' }] })
        .catch((e: unknown) => e);
      // The activity's reason on top (the UI's and `temporal workflow start`'s first line), not "Activity task failed".
      expect((unknown as WorkflowFailedError).cause).toMatchObject({ type: 'UnknownIntegrationError', nonRetryable: true, message: expect.stringContaining('unknown integration "nope"') });
      expect((unknown as WorkflowFailedError).cause?.cause).toMatchObject({ type: 'UnknownIntegrationError', message: expect.stringContaining('unknown integration "nope"') });
      // A sharded backfill's plan refuses the same way.
      const plan = await env.client.workflow
        .execute('backfillWorkflow', { taskQueue, workflowId: 'bad-4', args: [{ integration: 'nope', shards: 2 }] })
        .catch((e: unknown) => e);
      expect((plan as WorkflowFailedError).cause).toMatchObject({ type: 'UnknownIntegrationError', nonRetryable: true, message: expect.stringContaining('unknown integration "nope"') });
    });
  });
});
