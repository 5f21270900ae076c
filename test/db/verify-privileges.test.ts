import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput } from '../../src/activities';
import { verifyIntegration } from '../../src/verify';
import { VerifyError } from '../../src/verify/verify-errors';
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
});
