import type { Priority } from '@temporalio/common';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import type { RunningDevServer } from '../../src/dev';
import { addInstance } from '../../src/instances';
import { createWorker } from '../../src/worker';
import { digest, seedOrders, sql } from '../helpers/fixtures';
import { recordPriorities, type SeenActivity } from '../helpers/priority-recorder';
import { uniqueQueue, workflowBundle } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

// Fairness keys, the per-worker run cap and time-boxed backfills, on the dev server with real workers and PostgreSQL.
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let client: Client;
let env: NodeJS.ProcessEnv;
let config: Config;
const running: Array<{ worker: Worker; done: Promise<void> }> = [];
const seen: SeenActivity[] = [];

const TENANTS = { acme: 200, globex: 200, initech: 200, umbrella: 200, hooli: 200, small: 60, huge: 400 };

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('fair_src'), createTestDatabase('fair_dst')]);
  for (const [t, rows] of Object.entries(TENANTS)) await seedOrders(src.url, { rows, table: `public.orders_${t}` });
  env = { SRC_URL: src.url, DST_URL: dst.url };
  const template = (id: string, extra: Record<string, unknown>) => ({
    id,
    template: true,
    source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
    sink: { kind: 'postgres', url: '${DST_URL}', table: `${id}.orders`, instanceColumn: 'tenant', key: ['id'], create: true },
    // 50-row pages at 100 rows/s: a 200-row run takes about 2 s, long enough to see overlap.
    batchSize: 50,
    rateLimit: 100,
    ...extra,
  });
  config = parseConfig({ integrations: [template('shop', {}), template('big', { maxRunDuration: '1s' })] });
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  for (const t of ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'small']) await addInstance({ config, template: 'shop', instance: t, env });
  await addInstance({ config, template: 'big', instance: 'huge', env });
});
afterAll(async () => {
  for (const r of running) r.worker.shutdown();
  await Promise.all(running.map((r) => r.done));
  await client?.connection.close();
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

/** A real worker on its own queue; every activity it runs records its type, integration and priority. */
async function worker(maxConcurrentRuns?: number): Promise<string> {
  const taskQueue = uniqueQueue('fair');
  const w = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue,
    config: () => config,
    env,
    ...(maxConcurrentRuns ? { maxConcurrentRuns } : {}),
    worker: {
      workflowBundle: await workflowBundle(),
      interceptors: {
        activity: [recordPriorities(seen)],
      },
    },
  });
  running.push({ worker: w, done: w.run() });
  return taskQueue;
}

const sync = (taskQueue: string, integration: string, id: string, priority?: Priority) =>
  client.workflow.start('syncWorkflow', { taskQueue, workflowId: id, args: [{ integration }], ...(priority ? { priority } : {}) });

/** [start, end] of the run each workflow made, from tidemark.runs. */
async function spans(workflowIds: string[]): Promise<Array<[number, number]>> {
  const rows = await sql(dst.url, `SELECT (extract(epoch FROM started_at) * 1000)::text AS s, (extract(epoch FROM finished_at) * 1000)::text AS f, run_id FROM tidemark.runs WHERE split_part(run_id, '/', 1) = ANY($1::text[]) ORDER BY started_at`, [workflowIds]);
  return rows.map((r) => [Number(r.s), Number(r.f)]);
}

describe('fairness and isolation on one worker (dev server)', () => {
  it('the run activity carries the instance as its fairness key; a key and weight the workflow was started with pass through', async () => {
    const q = await worker();
    await (await sync(q, 'shop/acme', 'fair-acme-1')).result();
    expect(seen.find((s) => s.type === 'runIntegration' && s.integration === 'shop/acme')?.priority).toMatchObject({ fairnessKey: 'shop/acme' });
    // Started with a priority (as a Schedule or an app may): the activity inherits key and weight.
    await (await sync(q, 'shop/acme', 'fair-acme-2', { fairnessKey: 'tier-gold', fairnessWeight: 2.5 })).result();
    expect(seen.filter((s) => s.type === 'runIntegration' && s.integration === 'shop/acme').at(-1)?.priority).toMatchObject({ fairnessKey: 'tier-gold', fairnessWeight: 2.5 });
  });

  it('maxConcurrentRuns: 1 on a worker: two instances started at once run one after the other; with 2 they overlap', async () => {
    const one = await worker(1);
    const a = await Promise.all([sync(one, 'shop/globex', 'cap1-globex'), sync(one, 'shop/initech', 'cap1-initech')]);
    expect(((await Promise.all(a.map((h) => h.result()))) as RunResult[]).map((r) => r.rows)).toEqual([200, 200]);
    const [first, second] = await spans(['cap1-globex', 'cap1-initech']);
    expect(second![0]).toBeGreaterThanOrEqual(first![1]);

    const two = await worker(2);
    // Two instances never synced before (acme was, above: its sync would find nothing and end at once).
    const b = await Promise.all([sync(two, 'shop/umbrella', 'cap2-umbrella'), sync(two, 'shop/hooli', 'cap2-hooli')]);
    expect(((await Promise.all(b.map((h) => h.result()))) as RunResult[]).map((r) => r.rows)).toEqual([200, 200]);
    const [x, y] = await spans(['cap2-umbrella', 'cap2-hooli']);
    expect(y![0]).toBeLessThan(x![1]);
  });

  it('a backfill with maxRunDuration continues in time boxes, and another instance gets the one slot between them', async () => {
    const q = await worker(1);
    const backfill = await client.workflow.start('backfillWorkflow', { taskQueue: q, workflowId: 'boxes-huge', args: [{ integration: 'big/huge' }] });
    // Queued while the first box runs: it gets the slot when that box ends, not after the whole backfill.
    await new Promise((r) => setTimeout(r, 300));
    const other = await sync(q, 'shop/small', 'boxes-small');
    expect(((await other.result()) as RunResult).rows).toBe(60);
    const smallDone = Date.now();
    const result = (await backfill.result()) as RunResult;
    expect(result).toMatchObject({ rows: 400, done: true });
    expect(Date.now()).toBeGreaterThan(smallDone);
    const history = await backfill.fetchHistory();
    const boxes = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runIntegration');
    expect(boxes.length).toBeGreaterThanOrEqual(2);
    // One run row for the whole backfill, completed; the target holds exactly the source.
    expect(await sql(dst.url, `SELECT status, rows_committed::text AS n FROM tidemark.runs WHERE run_id LIKE 'boxes-huge/%'`)).toEqual([{ status: 'completed', n: '400' }]);
    expect(await digest(dst.url, `(SELECT id, updated_at, status, total, note FROM big.orders WHERE tenant = 'huge')`)).toEqual(await digest(src.url, 'public.orders_huge'));
    const [small] = await spans(['boxes-small']);
    const [huge] = await spans(['boxes-huge']);
    expect(small![1]).toBeLessThan(huge![1]);
  });
});
