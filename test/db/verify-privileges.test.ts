import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput } from '../../src/activities';
import { verifyIntegration } from '../../src/verify';
import { verifyPrivilegeError, VerifyError } from '../../src/verify/verify-errors';
import { asRole, digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * verify as a least-privilege role (acceptance L): PostgreSQL's "permission denied for table orders" becomes an
 * error naming the side, the role and the grant.
 */
let src: TestDatabase;
let dst: TestDatabase;
const role = `tm_vp_${process.pid}`;
const it0 = () => ordersConfig().integrations[0]!;
const asUs = () => ({ SRC_URL: asRole(src.url, role), DST_URL: asRole(dst.url, role) });

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('vp_src'), createTestDatabase('vp_dst')]);
  await seedOrders(src.url, { rows: 1_000 });
  const input: RunInput = { integration: 'orders', mode: 'backfill', runKey: 'vp/1' };
  await new MockActivityEnvironment().run(createActivities({ config: () => ordersConfig(), env: { SRC_URL: src.url, DST_URL: dst.url } }).runIntegration, input);
  await sql(src.url, `CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
});
afterAll(async () => {
  for (const d of [src, dst]) await sql(d.url, `DROP OWNED BY ${role}`).catch(() => undefined);
  await Promise.all([src?.drop(), dst?.drop()]);
  await sql(src.url.replace(/\/[^/]*$/, '/postgres'), `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
});

const refusal = async (opts: Parameters<typeof verifyIntegration>[1] = {}) => (await verifyIntegration(it0(), { env: asUs(), ...opts }).catch((e: unknown) => e)) as Error;

describe('verify as a role that lacks a grant', () => {
  it('names the source, the role and its GRANT', async () => {
    await sql(dst.url, `GRANT USAGE ON SCHEMA copy TO ${role}; GRANT SELECT ON copy.orders TO ${role}`);
    const err = await refusal();
    expect(err).toBeInstanceOf(VerifyError);
    expect(err.message).toContain('permission denied for table orders');
    expect(err.message).toContain(`the source public.orders refused the role ${role}: GRANT SELECT ON public.orders TO ${role} (the refused`);
  });

  it('names the target, or its schema, and the grants its options need', async () => {
    await sql(src.url, `GRANT SELECT ON public.orders TO ${role}`);
    await sql(dst.url, `REVOKE USAGE ON SCHEMA copy FROM ${role}`);
    const schema = await refusal();
    expect(schema).toBeInstanceOf(VerifyError);
    expect(schema.message).toContain(`(permission denied for schema copy): the target copy.orders refused the role ${role}: GRANT USAGE ON SCHEMA copy TO ${role} (the refused`);

    await sql(dst.url, `GRANT USAGE ON SCHEMA copy TO ${role}; REVOKE SELECT ON copy.orders FROM ${role}`);
    const err = await refusal();
    expect(err).toBeInstanceOf(VerifyError);
    expect(err.message).toContain(`the target copy.orders refused the role ${role}: GRANT SELECT ON copy.orders TO ${role} (the refused`);

    // --delete: a source row gone, the target readable but not deletable by the role.
    await sql(dst.url, `GRANT SELECT ON copy.orders TO ${role}; GRANT USAGE ON SCHEMA tidemark TO ${role}; GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA tidemark TO ${role}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA tidemark TO ${role}`);
    await sql(src.url, 'DELETE FROM public.orders WHERE id = 7');
    const refused = await refusal({ delete: true });
    expect(refused).toBeInstanceOf(VerifyError);
    expect(refused.message).toContain(`the target copy.orders refused the role ${role}: GRANT DELETE ON copy.orders TO ${role} (the refused`);
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.orders')).toEqual([{ n: '1000' }]);

    // Granted: the same verify deletes the row.
    await sql(dst.url, `GRANT DELETE ON copy.orders TO ${role}`);
    expect(await verifyIntegration(it0(), { env: asUs(), delete: true })).toMatchObject({ consistent: true, deletes: { deleted: 1 } });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('row-level security refusing a repaired row: the range reports it, nothing changes; such a refusal is never blamed on a grant', async () => {
    await sql(dst.url, `GRANT INSERT, UPDATE ON copy.orders TO ${role}; ALTER TABLE copy.orders ENABLE ROW LEVEL SECURITY; CREATE POLICY read_all ON copy.orders FOR SELECT USING (true)`);
    try {
      await sql(src.url, `UPDATE public.orders SET status = 'rls' WHERE id = 5`);
      const report = await verifyIntegration(it0(), { env: asUs(), repair: true });
      expect(report.consistent).toBe(false);
      expect(report.differing).toEqual([expect.objectContaining({ repairError: expect.stringMatching(/new row violates row-level security policy/) })]);
      expect(await sql(dst.url, `SELECT status FROM copy.orders WHERE id = 5`)).toEqual([{ status: 'new' }]);
      // The same refusal met elsewhere (SQLSTATE 42501, as a missing grant): said as a policy's, with no GRANT.
      const refused = Object.assign(new Error(report.differing[0]!.repairError as string), { code: '42501' });
      const said = await verifyPrivilegeError(refused, { integration: 'orders', source: { client: undefined as never, table: 'public.orders' } });
      expect(said?.message).toMatch(/^orders: row-level security refused a row \(new row violates row-level security policy.*\): verify compares and repairs whole tables, so its roles must see and write every row \(a role with BYPASSRLS/);
      expect(said?.message).not.toContain('GRANT');
    } finally {
      await sql(dst.url, `DROP POLICY read_all ON copy.orders; ALTER TABLE copy.orders DISABLE ROW LEVEL SECURITY`);
    }
  });

  it('--delete without TEMPORARY on the target database (its keys are listed in a temporary table) names that grant', async () => {
    const [{ db }] = (await sql<{ db: string }>(dst.url, 'SELECT current_database() AS db')) as [{ db: string }];
    await sql(dst.url, `REVOKE TEMPORARY ON DATABASE ${db} FROM PUBLIC`);
    try {
      await sql(src.url, 'DELETE FROM public.orders WHERE id = 8');
      const err = await refusal({ delete: true });
      expect(err).toBeInstanceOf(VerifyError);
      expect(err.message).toContain(`the target copy.orders refused the role ${role}: GRANT TEMPORARY ON DATABASE ${db} TO ${role} (the refused`);
      expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.orders WHERE id = 8')).toEqual([{ n: '1' }]);
    } finally {
      await sql(dst.url, `GRANT TEMPORARY ON DATABASE ${db} TO PUBLIC`);
    }
  });

  it('a role whose name needs quotes gets a GRANT that can be pasted as it is', async () => {
    const upper = `TM Upper ${process.pid}`;
    await sql(src.url, `CREATE ROLE "${upper}" LOGIN PASSWORD 'pw'`);
    try {
      const err = (await verifyIntegration(it0(), { env: { SRC_URL: asRole(src.url, encodeURIComponent(upper)), DST_URL: dst.url } }).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(VerifyError);
      expect(err.message).toContain(`GRANT SELECT ON public.orders TO "${upper}" (the refused`);
    } finally {
      await sql(src.url, `DROP OWNED BY "${upper}"; DROP ROLE "${upper}"`).catch(() => undefined);
    }
  });
});
