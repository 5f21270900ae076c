import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { closeQuietly, connect, connectLike } from '../../src/pg/connect';
import { verifyIntegration } from '../../src/verify';
import { asRole, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// A source table with row-level security that hides rows from the role tidemark reads as (acceptance L): the run
// read what the policy showed without a word, and a deletes reconciliation then removed the hidden rows from the
// target. The source session sets row_security off (as pg_dump does): PostgreSQL refuses instead of filtering.
let src: TestDatabase;
let dst: TestDatabase;
const role = `tm_rls_reader_${randomBytes(3).toString('hex')}`;
let readerUrl: string;
const backfill = (runKey: string): RunInput => ({ integration: 'orders', mode: 'backfill', runKey });

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('rlssrc_src'), createTestDatabase('rlssrc_dst')]);
  await seedOrders(src.url, { rows: 2000 });
  await sql(src.url, `CREATE ROLE ${role} LOGIN PASSWORD 'pw'; GRANT SELECT ON public.orders TO ${role};
    ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY; CREATE POLICY most ON public.orders FOR SELECT TO ${role} USING (id % 20 <> 0)`);
  readerUrl = asRole(src.url, role);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
  await sql(dst.url.replace(/\/[^/]*$/, '/postgres'), `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
});

describe('a source table with row-level security for the reading role', () => {
  it('is refused, naming the table and the fix, before a row is written; verify --delete deletes nothing', async () => {
    const config = ordersConfig({ lag: '0s' }, { batchSize: 500 });
    // The table as its owner sees it: every row in the target.
    const owner = createActivities({ config: () => config, env: { SRC_URL: src.url, DST_URL: dst.url } });
    expect(await new MockActivityEnvironment().run(owner.runIntegration, backfill('rls/owner'))).toMatchObject({ rows: 2000, done: true });

    const reader = createActivities({ config: () => config, env: { SRC_URL: readerUrl, DST_URL: dst.url } });
    const failed = await (new MockActivityEnvironment().run(reader.runIntegration, backfill('rls/reader')) as Promise<RunResult>).catch((e: unknown) => e as Error);
    expect(failed).toMatchObject({ type: 'SourceRowSecurityError', nonRetryable: true });
    expect((failed as Error).message).toMatch(/^source table public\.orders: row-level security applies to the role tidemark reads as \(query would be affected by row-level security policy for table "orders"\), so a read could miss rows .*BYPASSRLS.*source\.rowSecurity: apply/);

    // verify (and the deletes reconciliation, which is verify --delete) reads the source the same way: it fails
    // rather than call the hidden rows deleted.
    await expect(verifyIntegration(config.integrations[0]!, { delete: true, env: { SRC_URL: readerUrl, DST_URL: dst.url } })).rejects.toThrow(/row-level security/);
    expect(await sql(dst.url, 'SELECT count(*)::int AS n FROM copy.orders')).toEqual([{ n: 2000 }]);

    // source.rowSecurity: apply reads what the policies show, on purpose (a role meant to see some rows) ...
    const applied = ordersConfig({ lag: '0s', rowSecurity: 'apply' }, { batchSize: 500, sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.shown', key: ['id'], create: true } });
    const shown = createActivities({ config: () => applied, env: { SRC_URL: readerUrl, DST_URL: dst.url } });
    expect(await new MockActivityEnvironment().run(shown.runIntegration, backfill('rls/apply'))).toMatchObject({ rows: 1900, done: true });
    // ... and never reconciles deletes from it: the rows they hide would read as deleted.
    await expect(verifyIntegration(applied.integrations[0]!, { delete: true, env: { SRC_URL: readerUrl, DST_URL: dst.url } })).rejects.toThrow(/source\.rowSecurity: apply .*would delete the ones they hide/);

    // A read-all policy applies too (row_security off refuses whenever a policy applies): refused by default, read
    // whole with apply.
    await sql(src.url, `DROP POLICY most ON public.orders; CREATE POLICY everything ON public.orders FOR SELECT TO ${role} USING (true)`);
    await expect(new MockActivityEnvironment().run(reader.runIntegration, backfill('rls/all'))).rejects.toMatchObject({ type: 'SourceRowSecurityError' });
    expect(await new MockActivityEnvironment().run(shown.runIntegration, backfill('rls/all-apply'))).toMatchObject({ rows: 2000, done: true });

    // Its owner (or a BYPASSRLS role) reads every row: unchanged.
    await sql(src.url, `ALTER ROLE ${role} BYPASSRLS`);
    expect(await new MockActivityEnvironment().run(reader.runIntegration, backfill('rls/bypass'))).toMatchObject({ rows: 2000, done: true });
  });

  it('a second session like a source session (a lane, a cancel) keeps row_security off', async () => {
    for (const off of [true, false]) {
      const first = await connect(readerUrl, { rowSecurityOff: off });
      const second = await connectLike(first);
      try {
        expect((await second!.query<{ row_security: string }>('SHOW row_security')).rows[0]!.row_security).toBe(off ? 'off' : 'on');
      } finally {
        await closeQuietly(first);
        await closeQuietly(second);
      }
    }
  });
});
