import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunResult } from '../../src/activities';
import { parseConfig } from '../../src/config';
import { seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// An acceptance run: rows stamped 'infinity' or ten years ahead were never read (a run reads up to now - lag), and
// the backfill said "done" with nothing to show for them. They are still left for later, but every run says so.
let src: TestDatabase;
let dst: TestDatabase;

const config = parseConfig({
  integrations: [
    {
      id: 'ahead',
      source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'] },
      sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'], create: true },
    },
  ],
});
const run = async (runKey: string, mode: 'backfill' | 'sync') =>
  (await new MockActivityEnvironment().run(createActivities({ config: () => config, env: { SRC_URL: src.url, DST_URL: dst.url } }).runIntegration, { integration: 'ahead', mode, runKey })) as RunResult;
const warnings = async (runKey: string) => (await sql<{ w: string[] }>(dst.url, `SELECT warnings AS w FROM tidemark.runs WHERE run_id = $1`, [runKey]))[0]?.w ?? [];

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('future_src'), createTestDatabase('future_dst')]);
  await seedOrders(src.url, { rows: 50 });
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('rows whose cursor time lies ahead of now', () => {
  it('no warning while every row is in the past', async () => {
    expect(await run('ahead/1', 'backfill')).toMatchObject({ rows: 50, done: true });
    expect((await warnings('ahead/1')).filter((w) => /ahead of now/.test(w))).toEqual([]);
  });

  it("are named by every run that leaves them out, 'infinity' as never read", async () => {
    await sql(src.url, `UPDATE public.orders SET updated_at = 'infinity' WHERE id = 3; UPDATE public.orders SET updated_at = now() + interval '10 years' WHERE id = 4`);
    await run('ahead/2', 'backfill');
    expect(await warnings('ahead/2')).toContainEqual(
      "2 rows of public.orders have updated_at ahead of now (the latest infinity): a run reads rows up to now - lag only, so they wait until that time has passed ('infinity': for ever) and are not in the target; correct the values if they are wrong",
    );
    await sql(src.url, `UPDATE public.orders SET updated_at = now() - interval '1 hour' WHERE id = 3`);
    await run('ahead/3', 'sync');
    expect((await warnings('ahead/3')).find((w) => /ahead of now/.test(w))).toMatch(/^1 row of public\.orders has updated_at ahead of now \(the latest \d{4}-.*\): a run reads rows up to now - lag only, so it waits until that time has passed and is not in the target/);
  });

  it('a stored checkpoint holding "now" (set by SQL, or before this check) fails the sync, naming the value, instead of reading nothing for ever', async () => {
    await sql(dst.url, `UPDATE tidemark.checkpoints SET cursor = '["now", "0"]' WHERE integration = 'ahead' AND slot = 'sync'`);
    await expect(run('ahead/4', 'sync')).rejects.toMatchObject({ nonRetryable: true, message: expect.stringContaining('expected a fixed point in time for updated_at (timestamp with time zone), not "now"') });
  });
});
