import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jitterOffset } from '../../src/schedules/instance-schedules';
import { createTestKit, ScheduleNotPlayableError, type TestKit } from '../../src/testing';
import { digest, insertOrders, seedOrders } from '../helpers/fixtures';

// Instances in `tidemark/testing`, written the way a user tests a template of their own.
let kit: TestKit;
let source: string;
let sink: string;
const EVERY = 5 * 60_000;

beforeAll(async () => {
  kit = await createTestKit({
    config: {
      integrations: [
        {
          id: 'shop',
          template: true,
          source: { kind: 'postgres', url: '${secret.db}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
          sink: { url: '${DST}', table: 'tenant_${instance.id}.orders', key: ['id'], create: true },
          schedule: { every: '5m' },
          batchSize: 100,
        },
        {
          id: 'nightly',
          template: true,
          source: { kind: 'postgres', url: '${SRC}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
          sink: { url: '${DST}', table: 'nightly_${instance.id}.orders', key: ['id'], create: true },
          schedule: { cron: '0 3 * * *' },
        },
      ],
    },
  });
  source = await kit.createDatabase('kiti_src');
  sink = await kit.createDatabase('kiti_dst');
  kit.setEnv({ SRC: source, DST: sink });
  await seedOrders(source, { rows: 250, table: 'public.orders_acme' });
  await seedOrders(source, { rows: 120, table: 'public.orders_globex' });
}, 120_000);
afterAll(async () => {
  await kit?.teardown();
});

describe('tidemark/testing: instances', () => {
  it('adds instances and runs their syncs and backfills by <template>/<id>', async () => {
    expect(await kit.addInstance('shop', 'acme', { secrets: { db: { env: 'SRC' } } })).toEqual({ id: 'shop/acme', outcome: 'added' });
    expect(await kit.addInstance('shop', 'globex', { secrets: { db: { env: 'SRC' } } })).toEqual({ id: 'shop/globex', outcome: 'added' });
    await expect(kit.addInstance('shop', 'initech')).rejects.toThrow(/missing secret\(s\) db/);
    expect(await kit.backfill('shop/acme')).toMatchObject({ rows: 250, done: true });
    expect(await kit.sync('shop/globex')).toMatchObject({ rows: 120, done: true });
    expect(await digest(sink, 'tenant_acme.orders')).toEqual(await digest(source, 'public.orders_acme'));
    expect(await digest(sink, 'tenant_globex.orders')).toEqual(await digest(source, 'public.orders_globex'));
    expect((await kit.runs('shop/acme', sink)).map((r) => r.kind)).toEqual(['backfill']);
  });

  it('plays an instance schedule: each tick at its offset, one interval apart, running the new rows', async () => {
    await insertOrders(source, 251, 270, { table: 'public.orders_acme', start: '2025-01-01' });
    const runs = await kit.runSchedule('shop/acme', 3);
    expect(runs.map((r) => r.result.rows)).toEqual([20, 0, 0]);
    const offset = jitterOffset('shop/acme', EVERY);
    for (const r of runs) {
      expect(r.at.getTime() % EVERY).toBe(offset);
      expect(r.workflowId).toBe(`tidemark-shop.acme-scheduled-${r.at.toISOString().replace('.000Z', 'Z')}`);
    }
    expect(runs[1]!.at.getTime() - runs[0]!.at.getTime()).toBe(EVERY);
    expect(runs[2]!.at.getTime() - runs[1]!.at.getTime()).toBe(EVERY);
    expect(await digest(sink, 'tenant_acme.orders')).toEqual(await digest(source, 'public.orders_acme'));
    // The syncs are recorded as the instance's runs, its backfill first.
    const history = await kit.runs('shop/acme', sink);
    expect(history.filter((r) => r.kind === 'sync' && r.status === 'completed')).toHaveLength(3);
  });

  it('says what it cannot play', async () => {
    await kit.addInstance('nightly', 'acme');
    await expect(kit.runSchedule('nightly/acme')).rejects.toThrow(ScheduleNotPlayableError);
    await expect(kit.runSchedule('nightly/acme')).rejects.toThrow("only `every` schedules are played; for cron use kit.startCron('nightly/acme', '0 3 * * *') and kit.skip");
    await expect(kit.runSchedule('nope/acme')).rejects.toThrow(/unknown template "nope"/);
  });
});
