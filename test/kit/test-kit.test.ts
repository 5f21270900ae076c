import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestKit, type TestKit } from '../../src/testing';
import { digest, insertOrders, seedOrders } from '../helpers/fixtures';

// Written the way a user tests an integration of their own with `tidemark/testing`.
let kit: TestKit;
let source: string;
let sink: string;
let hang = false;

beforeAll(async () => {
  kit = await createTestKit({
    config: {
      integrations: [
        {
          id: 'orders',
          source: { kind: 'postgres', url: '${SRC}', table: 'public.orders', cursor: ['updated_at', 'id'] },
          sink: { url: '${DST}', table: 'public.orders_copy', key: ['id'], create: true },
          batchSize: 500,
        },
      ],
    },
    worker: {
      // Fault injection: while `hang` is set, attempt 1 stops heartbeating after its second page.
      afterBatch: async ({ attempt, pages, signal }) => {
        if (hang && attempt === 1 && pages === 2) await new Promise((r) => signal.addEventListener('abort', r));
      },
    },
  });
  source = await kit.createDatabase('kit_src');
  sink = await kit.createDatabase('kit_dst');
  kit.setEnv({ SRC: source, DST: sink });
  await seedOrders(source, { rows: 2000 });
}, 120_000);
afterAll(async () => {
  await kit?.teardown();
});

describe('tidemark/testing', () => {
  it('runs a backfill and scheduled (cron) syncs through the real workflows, skipping time between runs', async () => {
    expect(await kit.backfill('orders')).toMatchObject({ rows: 2000, done: true });
    const cron = await kit.startCron('orders', '*/10 * * * *');
    await insertOrders(source, 2001, 2100, { start: '2025-01-01', perTimestamp: 1_000_000 });
    let runs = await kit.runs('orders', sink);
    for (let i = 0; i < 30 && !runs.some((r) => r.kind === 'sync' && r.rows_committed === '100'); i++) {
      await kit.skip('10 minutes');
      runs = await kit.runs('orders', sink);
    }
    await cron.stop();
    expect(runs.find((r) => r.kind === 'sync' && r.status === 'completed')?.rows_committed).toBe('100');
    expect(await digest(sink, 'public.orders_copy')).toEqual(await digest(source, 'public.orders'));
  });

  it('a worker that stops heartbeating is retried from the checkpoint', async () => {
    hang = true;
    const r = await kit.backfill('orders');
    hang = false;
    expect(r).toMatchObject({ rows: 2100, done: true });
    const [last] = await kit.runs('orders', sink);
    expect(last).toMatchObject({ kind: 'backfill', status: 'completed', attempts: '2' });
    // Nothing is written twice; the page read ahead while the hung attempt wrote its last page is read again by the
    // retry, and rows_read counts it (it is counted with the page whose transaction it overlapped): at most one page.
    const reread = Number(last!.rows_read) - Number(last!.rows_committed);
    expect(reread).toBeGreaterThanOrEqual(0);
    expect(reread).toBeLessThanOrEqual(500);
  });
});

