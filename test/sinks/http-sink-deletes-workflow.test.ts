import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncWorkflowResult } from '../../src/activities/reconcile-deletes';
import { parseConfig, type Config } from '../../src/config';
import { seedOrders, sql } from '../helpers/fixtures';
import { testWorker, uniqueQueue } from '../helpers/temporal';
import { createTestDatabase, timeSkippingEnv, type TestDatabase } from '../setup/database';
import { startDeliveryFake, type DeliveryFake } from './fakes/delivery-fake';
import { ENV, ledger, stateClient } from './helpers';

/** Scheduled deletes of an HTTP sink through the worker: syncWorkflow → runIntegration → reconcileDeletes → DELETEs at the fake. */
const ROWS = 200;
let env: TestWorkflowEnvironment;
let db: TestDatabase;
let state: pg.Client;
let api: DeliveryFake;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;

function config(): Config {
  return parseConfig({
    integrations: [
      {
        id: 'orders-api',
        source: { kind: 'postgres', url: '${DB_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
        sink: {
          kind: 'http',
          url: '${API_URL}/items',
          key: ['id'],
          headers: { Authorization: 'Bearer ${API_TOKEN}' },
          concurrency: 8,
          backoff: { initial: '5ms', max: '20ms' },
          stateUrl: '${DB_URL}',
          deletes: { reconcileEvery: '1d', path: "'/' & id" },
        },
        batchSize: 50,
      },
    ],
  });
}

let runs = 0;
async function sync(): Promise<{ result: SyncWorkflowResult; activities: string[] }> {
  const handle = await env.client.workflow.start('syncWorkflow', { taskQueue, workflowId: `orders-api-sync-${++runs}`, args: [{ integration: 'orders-api' }] });
  const result = (await handle.result()) as SyncWorkflowResult;
  const history = await handle.fetchHistory();
  return { result, activities: (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? ''] : [])) };
}
/** As if the last reconciliation ran `days` ago. */
const age = (days: number) => sql(db.url, `UPDATE tidemark.reconciliations SET started_at = started_at - $1::int * interval '1 day'`, [days]);
const deletesSent = () => api.log.filter((l) => l.method === 'DELETE');

beforeAll(async () => {
  [env, db] = await Promise.all([timeSkippingEnv(), createTestDatabase('http_deletes_wf')]);
  state = await stateClient(db.url);
  await seedOrders(db.url, { rows: ROWS });
  api = await startDeliveryFake();
  taskQueue = uniqueQueue('http-deletes');
  worker = await testWorker(env, taskQueue, config(), { ...ENV, DB_URL: db.url, DATABASE_URL: db.url, API_URL: api.url });
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await api?.close();
  await state?.end();
  await env?.teardown();
  await db?.drop();
});

describe('HTTP sink deletes through the worker (sink.deletes)', () => {
  it('a due sync sends DELETE for the rows gone from the source; more than maxFraction fails it non-retryably, nothing sent', async () => {
    const first = await sync();
    expect(first.result).toMatchObject({ rows: ROWS, done: true, deleted: 0 });
    expect(first.activities).toEqual(['runIntegration', 'reconcileDeletes']);
    expect(api.store.size).toBe(ROWS);

    await sql(db.url, 'DELETE FROM public.orders WHERE id IN (1, 99, 200)');
    const notDue = await sync();
    expect(notDue.result).not.toHaveProperty('deleted');
    expect(deletesSent()).toHaveLength(0);

    await age(2);
    const due = await sync();
    expect(due.result).toMatchObject({ done: true, deleted: 3 });
    expect(deletesSent().map((l) => l.path).sort()).toEqual(['/items/1', '/items/200', '/items/99']);
    expect(api.store.size).toBe(ROWS - 3);
    expect((await ledger(state, 'orders-api')).size).toBe(ROWS - 3);

    await sql(db.url, 'DELETE FROM public.orders WHERE id <= 60'); // 59 more of 197: 30%
    await age(2);
    const err = await sync().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause?.cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('TooManyDeliveryDeletesError');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toMatch(/orders-api: refusing to send DELETE for 59 of the 197 records the API was sent \(29.95%\).*tidemark sync orders-api --force-deletes/);
    expect(deletesSent()).toHaveLength(3);
    expect((await ledger(state, 'orders-api')).size).toBe(ROWS - 3);
  });
});
