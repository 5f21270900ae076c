import type { Client } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIntegrationRun } from '../../src/client';
import { parseConfig, type Config } from '../../src/config';
import { addInstance, InstanceRunningError, listInstances, removeInstance } from '../../src/instances';
import { seedOrders, sql } from '../helpers/fixtures';
import { sleep, startDevWorkerStack, type DevWorkerStack } from '../helpers/temporal';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * `instances remove` while a run of the instance goes on: an acceptance run removed it, and the run went on with
 * `status` and `cancel` refusing its id and its row left `partial`. Now the removal is refused, naming the
 * workflow; with --cancel it cancels the run, waits for it to stop (its row ends cancelled), then removes.
 * The run is held mid-way by a lock on its source table (a dev server, a real worker, real PostgreSQL).
 */
const QUEUE = 'remove-running';
let stack: DevWorkerStack;
let client: Client;
let src: TestDatabase;
let dst: TestDatabase;
let config: Config;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('rm_src'), createTestDatabase('rm_dst')]);
  await seedOrders(src.url, { rows: 500, table: 'public.orders_acme' });
  env = { SRC_URL: src.url, DST_URL: dst.url, TIDEMARK_TASK_QUEUE: QUEUE };
  config = parseConfig({
    integrations: [
      {
        id: 'shop',
        template: true,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'shared.orders', instanceColumn: 'tenant', key: ['id'], create: true },
        batchSize: 100,
      },
    ],
  });
  stack = await startDevWorkerStack({ taskQueue: QUEUE, config: () => config, env });
  client = stack.client;
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('instances remove while a run goes on', () => {
  it('is refused, naming the workflow; --cancel cancels the run, waits for it to stop, then removes', async () => {
    await addInstance({ config, template: 'shop', instance: 'acme', client, env, taskQueue: QUEUE });
    const holder = new pg.Client({ connectionString: src.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE public.orders_acme IN ACCESS EXCLUSIVE MODE'); // the run's first read waits
      const handle = await startIntegrationRun(client, 'backfill', { integration: 'shop/acme' }, QUEUE);
      // Its activity has started (its run row is there) and waits on the lock.
      for (let i = 0; i < 100 && !(await sql(dst.url, `SELECT 1 FROM tidemark.runs WHERE integration = 'shop/acme'`).catch(() => [])).length; i++) await sleep(100);
      const refused = removeInstance({ config, template: 'shop', instance: 'acme', client, env });
      await expect(refused).rejects.toThrow(InstanceRunningError);
      await expect(refused).rejects.toThrow('shop/acme has a run going (tidemark-shop.acme): cancel it first (`tidemark cancel shop/acme`), or remove with --cancel, which cancels it and waits for it to stop');
      expect((await listInstances({ config, env })).map((i) => i.id)).toEqual(['shop/acme']);

      let removed = false;
      const removing = removeInstance({ config, template: 'shop', instance: 'acme', client, env, cancel: true }).then((r) => ((removed = true), r));
      await sleep(1_500);
      expect(removed).toBe(false); // the run's page in flight waits on the lock: the removal waits for the run
      await holder.query('COMMIT');
      expect(await removing).toMatchObject({ id: 'shop/acme', scheduleDeleted: false });
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      expect(await listInstances({ config, env })).toEqual([]);
      // Its run is not left running or partial.
      expect(await sql(dst.url, `SELECT status FROM tidemark.runs WHERE integration = 'shop/acme'`)).toEqual([{ status: 'cancelled' }]);
    } finally {
      await holder.end();
    }
  }, 120_000);
});
