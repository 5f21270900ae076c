import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKit, type TestKit } from '../../src/testing';
import { digest, seedOrders, sql } from '../helpers/fixtures';

// An instance (`shop/acme`) through the sharded backfill and `resume`: both resolve the instance the way a run does.
let kit: TestKit;
let source: string;
let sink: string;
/** The instance whose next run fails once, after its second committed page (non-retryable: the workflow fails). */
let failOnce: string | undefined;

beforeAll(async () => {
  kit = await createTestKit({
    config: {
      integrations: [
        {
          id: 'shop',
          template: true,
          source: { kind: 'postgres', url: '${secret.db}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
          sink: { url: '${DST}', table: 'tenant_${instance.id}.orders', key: ['id'], create: true },
          batchSize: 50,
        },
      ],
    },
    worker: {
      afterBatch: async ({ integration, pages }) => {
        if (integration !== failOnce || pages < 2) return;
        failOnce = undefined;
        throw ApplicationFailure.nonRetryable(`injected failure in ${integration} after page ${pages}`, 'InjectedFailure');
      },
    },
  });
  source = await kit.createDatabase('kish_src');
  sink = await kit.createDatabase('kish_dst');
  kit.setEnv({ SRC: source, DST: sink });
  await seedOrders(source, { rows: 600, table: 'public.orders_acme' });
  await seedOrders(source, { rows: 400, table: 'public.orders_globex' });
  await kit.addInstance('shop', 'acme', { secrets: { db: { env: 'SRC' } } });
  await kit.addInstance('shop', 'globex', { secrets: { db: { env: 'SRC' } } });
}, 120_000);
afterAll(async () => {
  await kit?.teardown();
});

describe('instances: sharded backfill and resume', () => {
  it('backfill --shards 3 of an instance: three slots of its own, every row once', async () => {
    const backfill = kit.backfill as (id: string, input: Record<string, unknown>) => ReturnType<TestKit['backfill']>;
    expect(await backfill('shop/acme', { shards: 3 })).toMatchObject({ rows: 600, done: true });
    expect(await digest(sink, 'tenant_acme.orders')).toEqual(await digest(source, 'public.orders_acme'));
    const slots = await sql<{ slot: string }>(sink, `SELECT slot FROM tidemark.checkpoints WHERE integration = 'shop/acme' ORDER BY slot`);
    expect(slots.map((s) => s.slot)).toEqual(expect.arrayContaining(['backfill/0', 'backfill/1', 'backfill/2']));
    // The other instance's state is untouched.
    expect(await sql(sink, `SELECT 1 FROM tidemark.checkpoints WHERE integration = 'shop/globex'`)).toHaveLength(0);
    const runs = await kit.runs('shop/acme', sink);
    expect(runs.map((r) => [r.kind, r.status])).toEqual([['backfill', 'completed']]);
  });

  it('a failed backfill of an instance continues with resume from its checkpoint', async () => {
    failOnce = 'shop/globex';
    await expect(kit.backfill('shop/globex')).rejects.toThrow();
    const [partial] = await sql<{ n: string }>(sink, 'SELECT count(*)::text AS n FROM tenant_globex.orders');
    expect(Number(partial!.n)).toBe(100); // two committed pages of 50
    const resumed = await kit.backfill('shop/globex', { resume: true });
    expect(resumed).toMatchObject({ rows: 300, done: true });
    expect(await digest(sink, 'tenant_globex.orders')).toEqual(await digest(source, 'public.orders_globex'));
    const runs = await kit.runs('shop/globex', sink);
    expect(runs.map((r) => r.status).sort()).toEqual(['completed', 'failed']);
  });
});
