import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { ordersConfig, sql } from '../helpers/fixtures';
import { sleep } from '../helpers/temporal';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let src: TestDatabase;
let dst: TestDatabase;
let n = 0;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('late_src'), createTestDatabase('late_dst')]);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});
beforeEach(async () => {
  await sql(src.url, `DROP TABLE IF EXISTS public.orders; CREATE TABLE public.orders (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, status text NOT NULL, total numeric(12,2), note text)`);
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
});

function sync(lag: string, writersWait: string): Promise<RunResult> {
  const input: RunInput = { integration: 'orders', mode: 'sync', runKey: `late/${++n}` };
  const acts = createActivities({ config: () => ordersConfig({ lag, writersWait }), env: { SRC_URL: src.url, DST_URL: dst.url } });
  return new MockActivityEnvironment().run(acts.runIntegration, input) as Promise<RunResult>;
}

/**
 * A writer stamps updated_at = now() (T0) and commits 1.5 s later. Meanwhile another row, stamped
 * after T0, commits at once and a sync runs: without lag the sync's cursor passes T0 while the late
 * row is still invisible, and no later run reads it. With a lag longer than the writer's transaction,
 * the late row is still ahead of every cursor when it becomes visible. With the writers wait (its default), the
 * sync waits for the writer, then reads only up to its start: the next run reads both.
 */
async function scenario(lag: string, writersWait = '0s'): Promise<string[]> {
  const late = new pg.Client({ connectionString: src.url });
  await late.connect();
  try {
    await late.query('BEGIN');
    await late.query(`INSERT INTO public.orders VALUES (1, now(), 'late', 1, NULL)`);
    await sleep(100);
    await sql(src.url, `INSERT INTO public.orders VALUES (2, now(), 'prompt', 2, NULL)`);
    await sleep(lag === '0s' ? 0 : 2100); // a scheduled run comes along (with lag: once row 2 is past now() - lag)
    await sync(lag, writersWait);
    await sleep(1500);
    await late.query('COMMIT');
  } finally {
    await late.end();
  }
  await sleep(lag === '0s' ? 0 : 2100);
  await sync(lag, writersWait);
  return (await sql<{ id: string }>(dst.url, 'SELECT id::text FROM copy.orders ORDER BY id')).map((r) => r.id);
}

describe('late-committing transactions and lag', () => {
  it('without lag nor the writers wait, a row that commits late behind the cursor is lost (what they protect against)', async () => {
    expect(await scenario('0s')).toEqual(['2']);
  });

  it('without lag, with the writers wait: the sync reads only up to the open writer\'s start, and the next run reads both', async () => {
    expect(await scenario('0s', '300ms')).toEqual(['1', '2']);
  });

  it('with lag longer than the transaction, the late row is caught by the next run', async () => {
    expect(await scenario('3s')).toEqual(['1', '2']);
  });
});
