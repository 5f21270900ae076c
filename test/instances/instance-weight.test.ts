import type { Priority } from '@temporalio/common';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../src/config';
import { ConfigError } from '../../src/config/errors';
import type { RunningDevServer } from '../../src/dev';
import { updateInstanceWeight } from '../../src/db/state/instances-set-weight';
import { openStateSession } from '../../src/db/state-session';
import { addInstance, InvalidWeightError, listInstances, setInstanceWeight, statusAll, WeightDiffersError } from '../../src/instances';
import { reconcileInstances } from '../../src/schedules';
import { scheduleIdFor } from '../../src/schedules/schedule-id';
import { createWorker } from '../../src/worker';
import { seedOrders, sql } from '../helpers/fixtures';
import { recordPriorities, type SeenActivity } from '../helpers/priority-recorder';
import { sleep, uniqueQueue, workflowBundle } from '../helpers/temporal';
import { createTestDatabase, devServerForTests, type TestDatabase } from '../setup/database';

// Fairness weight per instance, end to end on the dev server: stored row → Schedule input → the run activity's priority.
let server: RunningDevServer;
let src: TestDatabase;
let dst: TestDatabase;
let client: Client;
let env: NodeJS.ProcessEnv;
let config: Config;
let taskQueue: string;
let worker: { worker: Worker; done: Promise<void> } | undefined;
const seen: SeenActivity[] = [];

const template = (extra: Record<string, unknown> = {}) => ({
  id: 'shop',
  template: true,
  source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
  sink: { kind: 'postgres', url: '${DST_URL}', table: 'shop.orders', instanceColumn: 'tenant', key: ['id'], create: true },
  // Far apart: only triggers start runs during the test.
  schedule: { every: '1h' },
  ...extra,
});

beforeAll(async () => {
  [server, src, dst] = await Promise.all([devServerForTests(), createTestDatabase('weight_src'), createTestDatabase('weight_dst')]);
  for (const t of ['acme', 'globex', 'initech']) await seedOrders(src.url, { rows: 20, table: `public.orders_${t}` });
  env = { SRC_URL: src.url, DST_URL: dst.url, TEMPORAL_ADDRESS: server.address };
  config = parseConfig({ integrations: [template({ fairnessWeight: 2 })] });
  client = new Client({ connection: await Connection.connect({ address: server.address }) });
  taskQueue = uniqueQueue('weight');
  const w = await createWorker({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue,
    config: () => config,
    env,
    worker: {
      workflowBundle: await workflowBundle(),
      interceptors: {
        activity: [recordPriorities(seen)],
      },
    },
  });
  worker = { worker: w, done: w.run() };
});
afterAll(async () => {
  worker?.worker.shutdown();
  await worker?.done;
  await client?.connection.close();
  await server?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

/**
 * Triggers the instance's schedule and returns the priority of the run activity it started, once that run
 * has ended (the schedule skips a trigger while its previous run is still going).
 */
async function scheduledRunPriority(id: string): Promise<Priority | undefined> {
  const before = seen.length;
  const handle = client.schedule.getHandle(scheduleIdFor(id));
  await handle.trigger();
  for (let i = 0; i < 300; i++) {
    const hit = seen.slice(before).find((s) => s.type === 'runIntegration' && s.integration === id);
    const d = await handle.describe();
    if (hit && d.info.runningActions.length === 0 && d.info.recentActions.length > 0) {
      const last = d.info.recentActions.at(-1)!.action.workflow;
      const status = (await client.workflow.getHandle(last.workflowId, last.firstExecutionRunId).describe()).status.name;
      if (status !== 'RUNNING') {
        expect(status).toBe('COMPLETED');
        return hit.priority;
      }
    }
    await sleep(100);
  }
  throw new Error(`no run of ${id} completed within 30 s of the trigger`);
}

describe('fairness weight per instance (dev server)', () => {
  it('an instance added with weight 3: its scheduled run activity has fairnessKey shop/acme and fairnessWeight 3', async () => {
    const r = await addInstance({ config, template: 'shop', instance: 'acme', weight: 3, env, client, taskQueue });
    expect(r.outcome).toBe('added');
    expect(await scheduledRunPriority('shop/acme')).toMatchObject({ fairnessKey: 'shop/acme', fairnessWeight: 3 });
    // Adding it again with the same weight (or none) is idempotent; with another weight it points at set-weight.
    expect((await addInstance({ config, template: 'shop', instance: 'acme', weight: 3, env, client, taskQueue })).schedule?.outcome).toBe('unchanged');
    expect((await addInstance({ config, template: 'shop', instance: 'acme', env, client, taskQueue })).outcome).toBe('unchanged');
    await expect(addInstance({ config, template: 'shop', instance: 'acme', weight: 4, env, client, taskQueue })).rejects.toThrow(WeightDiffersError);
  });

  it("without a weight of its own, an instance gets the template's fairnessWeight; list and status --all show it", async () => {
    await addInstance({ config, template: 'shop', instance: 'globex', env, client, taskQueue });
    expect(await scheduledRunPriority('shop/globex')).toMatchObject({ fairnessKey: 'shop/globex', fairnessWeight: 2 });
    const views = await listInstances({ config, env });
    expect(views.map((v) => [v.id, v.weight, v.weightFrom])).toEqual([
      ['shop/acme', 3, 'instance'],
      ['shop/globex', 2, 'template'],
    ]);
    const lines = await statusAll(config, { env });
    expect(lines.map((l) => [l.id, l.weight])).toEqual([
      ['shop/acme', 3],
      ['shop/globex', 2],
    ]);
  });

  it('a weight changed in the state database reaches the schedule at reconcile; set-weight updates it at once', async () => {
    const db = await openStateSession(dst.url, { applicationName: 'test' });
    try {
      await updateInstanceWeight(db, 'shop', 'acme', 0.5);
    } finally {
      await db.end();
    }
    const reports = await reconcileInstances(client, config, { taskQueue, env });
    expect(reports.find((r) => r.integration === 'shop/acme')).toMatchObject({ outcome: 'updated' });
    expect(reports.find((r) => r.integration === 'shop/globex')).toMatchObject({ outcome: 'unchanged' });
    expect(await scheduledRunPriority('shop/acme')).toMatchObject({ fairnessKey: 'shop/acme', fairnessWeight: 0.5 });

    expect(await setInstanceWeight({ config, template: 'shop', instance: 'acme', weight: 7, env, client, taskQueue })).toMatchObject({ weight: 7, schedule: 'updated' });
    expect(await scheduledRunPriority('shop/acme')).toMatchObject({ fairnessWeight: 7 });
    // Back to the template default: reconcile then finds nothing to change.
    expect(await setInstanceWeight({ config, template: 'shop', instance: 'acme', weight: null, env, client, taskQueue })).toMatchObject({ weight: 2, schedule: 'updated' });
    expect(await scheduledRunPriority('shop/acme')).toMatchObject({ fairnessWeight: 2 });
    expect((await reconcileInstances(client, config, { taskQueue, env })).map((r) => r.outcome)).toEqual(['unchanged', 'unchanged']);
  });

  it('weight 1 (the default) leaves the schedule input as it was before weights existed', async () => {
    const plain = parseConfig({ integrations: [template()] });
    await addInstance({ config: plain, template: 'shop', instance: 'initech', env, client, taskQueue });
    const d = await client.schedule.getHandle(scheduleIdFor('shop/initech')).describe();
    expect(d.action.type === 'startWorkflow' ? d.action.args : undefined).toEqual([{ integration: 'shop/initech' }]);
    const p = await scheduledRunPriority('shop/initech');
    expect(p).toMatchObject({ fairnessKey: 'shop/initech' });
    // The server reports the default weight as 0 or leaves it out: never another value.
    expect([undefined, 0, 1]).toContain(p?.fairnessWeight);
  });

  it('bad weights are refused before anything is written', async () => {
    for (const weight of [0, -1, Number.NaN, 1001, Number.POSITIVE_INFINITY]) {
      await expect(addInstance({ config, template: 'shop', instance: 'bad', weight, env, client, taskQueue })).rejects.toThrow(InvalidWeightError);
      await expect(setInstanceWeight({ config, template: 'shop', instance: 'acme', weight, env, client, taskQueue })).rejects.toThrow(/above 0 and at most 1000/);
    }
    expect(await sql(dst.url, `SELECT instance_id FROM tidemark.instances WHERE instance_id = 'bad'`)).toEqual([]);
    expect(await sql(dst.url, `SELECT weight::text AS w FROM tidemark.instances WHERE instance_id = 'acme'`)).toEqual([{ w: null }]);
    await expect(client.schedule.getHandle(scheduleIdFor('shop/bad')).describe()).rejects.toThrow();
  });

  it("the template's fairnessWeight is checked at load, and refused outside templates", () => {
    expect(() => parseConfig({ integrations: [template({ fairnessWeight: 0 })] })).toThrow(/fairnessWeight.*above 0 and at most 1000/s);
    expect(() => parseConfig({ integrations: [template({ fairnessWeight: 'x' })] })).toThrow(ConfigError);
    const { template: _t, source, sink, ...rest } = template({ fairnessWeight: 2 });
    const plain = { ...rest, id: 'orders', source: { ...source, table: 'public.orders_acme' }, sink: { kind: 'postgres', url: sink.url, table: 'public.orders_copy', key: ['id'] } };
    expect(() => parseConfig({ integrations: [plain] })).toThrow(/fairnessWeight.*is for templates/s);
  });
});
