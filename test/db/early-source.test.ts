import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { SourceSlots } from '../../src/activities/source-slots';
import type { Config } from '../../src/config';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';

/**
 * A PostgreSQL source's connection opens while the state session opens and the run's lock is taken (a sync's
 * setup, issue 16): a busy run closes it unused and reports busy, a source that cannot connect fails as
 * before, and the per-worker cap on source connections holds.
 */
let src: TestDatabase;
let dst: TestDatabase;
const ROWS = 2_000;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('early_src'), createTestDatabase('early_dst')]);
  await seedOrders(src.url, { rows: ROWS });
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

function run(input: Partial<RunInput> & { runKey: string }, opts: { config?: Config; slots?: SourceSlots; srcUrl?: string } = {}): Promise<RunResult> {
  const acts = createActivities({
    config: () => opts.config ?? ordersConfig(),
    env: { SRC_URL: opts.srcUrl ?? src.url, DST_URL: dst.url },
    syncLockWaitMs: 200,
    ...(opts.slots ? { sourceSlots: opts.slots } : {}),
  });
  const full: RunInput = { integration: 'orders', mode: 'sync', ...input };
  return new MockActivityEnvironment().run(acts.runIntegration, full) as Promise<RunResult>;
}

const sourceSessions = async () =>
  Number((await sql<{ n: string }>(src.url, `SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'tm:%:source'`))[0]?.n);

/** Holds the integration's run lock in a session of its own while `fn` runs (another run writing). */
async function whileBusy<T>(fn: () => Promise<T>): Promise<T> {
  const holder = new pg.Client({ connectionString: dst.url });
  await holder.connect();
  try {
    await holder.query(`SELECT pg_advisory_lock(hashtextextended('tidemark:' || $1::text, 0))`, ['orders']);
    return await fn();
  } finally {
    await holder.end();
  }
}

describe('the source opened beside the state session', () => {
  it('a busy sync is skipped and leaves no source connection and no slot behind', async () => {
    await run({ runKey: 'early/first' }); // the state tables exist, the sync checkpoint is seeded
    const slots = new SourceSlots(1);
    const r = await whileBusy(() => run({ runKey: 'early/busy' }, { slots }));
    expect(r).toMatchObject({ rows: 0, done: false, stoppedBy: 'busy' });
    expect(slots.inUse).toBe(0);
    expect(await sourceSessions()).toBe(0);
    const [row] = await sql<{ status: string }>(dst.url, `SELECT status FROM tidemark.runs WHERE run_id = 'early/busy'`);
    expect(row?.status).toBe('skipped');
  });

  it('a backfill `from` of the wrong shape fails at once, not after waiting for the lock another run holds (an acceptance run: 4-11 s)', async () => {
    await run({ runKey: 'early/first3' });
    const t0 = Date.now();
    const failed = await whileBusy(() => run({ runKey: 'early/badfrom', mode: 'backfill', from: '2024-01-01' as never }).catch((e: unknown) => e));
    expect(failed).toMatchObject({ nonRetryable: true, type: 'InvalidCursorError' });
    expect(Date.now() - t0).toBeLessThan(5_000); // a backfill waits for the lock for good: this would hang
    // Bad input leaves the database as it was: no run row.
    expect(await sql(dst.url, `SELECT 1 FROM tidemark.runs WHERE run_id = 'early/badfrom'`)).toEqual([]);
  });

  it('a busy sync whose source cannot connect reports busy, not the source', async () => {
    await run({ runKey: 'early/first2' });
    const r = await whileBusy(() => run({ runKey: 'early/busy2' }, { srcUrl: 'postgres://nobody@127.0.0.1:1/none' }));
    expect(r).toMatchObject({ stoppedBy: 'busy' });
  });

  it('a source that cannot connect fails the run with its connection error, as before', async () => {
    await expect(run({ runKey: 'early/refused', mode: 'backfill' }, { srcUrl: 'postgres://nobody@127.0.0.1:1/none' })).rejects.toThrow(
      'cannot reach the source database at 127.0.0.1:1/none (integrations[orders].source.url): connect ECONNREFUSED 127.0.0.1:1',
    );
    // Still retried (its code kept): the run row says running, not failed.
    expect(await sql(dst.url, `SELECT status, error FROM tidemark.runs WHERE run_id = 'early/refused'`)).toEqual([{ status: 'running', error: expect.stringContaining('cannot reach the source database at 127.0.0.1:1/none') }]);
    expect(await sourceSessions()).toBe(0);
  });

  it('with every source slot taken, the run waits for one and opens its source only then', async () => {
    const slots = new SourceSlots(1);
    const other = slots.tryAcquire()!;
    const seen: number[] = [];
    const poll = setInterval(() => void sourceSessions().then((n) => seen.push(n)), 50);
    const running = run({ runKey: 'early/slots', mode: 'backfill' }, { slots });
    await new Promise((r) => setTimeout(r, 600));
    clearInterval(poll);
    expect(seen.length).toBeGreaterThan(3);
    expect(Math.max(...seen)).toBe(0); // nothing opened while the slot was taken
    other();
    expect(await running).toMatchObject({ rows: ROWS, done: true });
    expect(slots.inUse).toBe(0);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });
});
