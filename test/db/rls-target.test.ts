import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunResult } from '../../src/activities';
import { asRole, digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// A target with row-level security that applies to the sink's role: COPY into it is refused ("COPY FROM not
// supported with row-level security", 0A000), INSERT is not. The run used to retry that for good (found by a review).
let src: TestDatabase;
let dst: TestDatabase;
const role = `tm_rls_${randomBytes(3).toString('hex')}`;
let roleUrl: string;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('rls_src'), createTestDatabase('rls_dst')]);
  await seedOrders(src.url, { rows: 3000 });
  await sql(dst.url, `CREATE ROLE ${role} LOGIN PASSWORD 'pw'; GRANT ALL ON DATABASE ${dst.name} TO ${role}; CREATE SCHEMA copy AUTHORIZATION ${role}`);
  roleUrl = asRole(dst.url, role);
  await sql(roleUrl, `CREATE TABLE copy.orders (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, status text NOT NULL, total numeric(12,2), note text);
    ALTER TABLE copy.orders ENABLE ROW LEVEL SECURITY; ALTER TABLE copy.orders FORCE ROW LEVEL SECURITY;
    CREATE POLICY everything ON copy.orders USING (true) WITH CHECK (true)`);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
  await sql(src.url.replace(/\/[^/]*$/, '/postgres'), `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
});

describe('a target with row-level security', () => {
  it('is written through the upsert: backfill, then a re-sync of changed rows', async () => {
    const config = ordersConfig({ lag: '0s' }, { batchSize: 500 });
    const acts = createActivities({ config: () => config, env: { SRC_URL: src.url, DST_URL: roleUrl } });
    const run = (runKey: string, mode: 'backfill' | 'sync') => new MockActivityEnvironment().run(acts.runIntegration, { integration: 'orders', mode, runKey }) as Promise<RunResult>;
    expect(await run('rls/1', 'backfill')).toMatchObject({ rows: 3000, done: true });
    await sql(src.url, `UPDATE public.orders SET status = 'changed', updated_at = now() - interval '1 minute'`);
    expect(await run('rls/2', 'sync')).toMatchObject({ rows: 3000, done: true });
    expect(await digest(roleUrl, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });
});
