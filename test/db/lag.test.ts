import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { claimCheckpoint, moveSyncCheckpoint } from '../../src/db/state';
import { statusAll } from '../../src/instances';
import { ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// Lag is how far the target is behind the source: a quiet source whose newest row is old is not lag once a sync has
// read to its bound, also while the next sync runs (an acceptance run: integrations synced seconds ago read lagging).
let src: TestDatabase;
let dst: TestDatabase;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('lag_src'), createTestDatabase('lag_dst')]);
  await seedOrders(src.url, { rows: 50 }); // updated_at in 2024: the newest row is old
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('lag', () => {
  it('is the later of the cursor time and the bound the last finished sync read to; a running sync keeps it; a moved checkpoint clears it', async () => {
    const config = ordersConfig({ lag: '1s' });
    const env = { SRC_URL: src.url, DST_URL: dst.url };
    const lagNow = async () => (await statusAll(config, { env })).find((l) => l.id === 'orders')?.lagSeconds;
    const acts = createActivities({ config: () => config, env });
    expect(await new MockActivityEnvironment().run(acts.runIntegration, { integration: 'orders', mode: 'backfill', runKey: 'lag/1' } satisfies RunInput)).toMatchObject({ rows: 50, done: true });
    // After the backfill alone: caught up to the bound it read to (it said 2024's age, years: an acceptance run).
    expect(await lagNow()).toBeLessThan(30);
    expect((await new MockActivityEnvironment().run(acts.runIntegration, { integration: 'orders', mode: 'sync', runKey: 'lag/2' } satisfies RunInput)) as RunResult).toMatchObject({ rows: 0, done: true });
    expect(await lagNow()).toBeLessThan(30);
    // The next sync under way (its slot claimed, its own bound not reached): still caught up to the last one's.
    const c = new pg.Client({ connectionString: dst.url });
    await c.connect();
    try {
      await claimCheckpoint(c, { integration: 'orders', slot: 'sync', owner: 'lag/3', cursor: null, highWater: '2099-01-01 00:00:00+00', reset: false });
      expect(await sql(dst.url, `SELECT status FROM tidemark.checkpoints WHERE integration = 'orders' AND slot = 'sync'`)).toEqual([{ status: 'running' }]);
      expect(await lagNow()).toBeLessThan(30);
      // An operator moves the checkpoint back: the rows after it are to be read again, lag is the cursor's.
      await moveSyncCheckpoint(c, 'orders', ['2024-01-01 00:00:00+00', '1']);
      expect(await lagNow()).toBeGreaterThan(86_400);
    } finally {
      await c.end();
    }
  });
});
