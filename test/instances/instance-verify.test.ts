import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { addInstance, resolveIntegration } from '../../src/instances';
import { verifyIntegration, type VerifyOptions } from '../../src/verify';
import { digest, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// verify / --repair / --delete of one instance in a target its template's instances share (sink.instanceColumn), on real PostgreSQL.
let src: TestDatabase;
let dst: TestDatabase;
let env: NodeJS.ProcessEnv;
let config: Config;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('iverify_src'), createTestDatabase('iverify_dst')]);
  // Overlapping ids (1..200 in both): only the instance column tells the tenants' rows apart.
  await seedOrders(src.url, { rows: 300, table: 'public.orders_acme' });
  await seedOrders(src.url, { rows: 200, table: 'public.orders_globex' });
  env = { SRC_URL: src.url, DST_URL: dst.url };
  config = parseConfig({
    integrations: [
      {
        id: 'shop',
        template: true,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'shared.orders', instanceColumn: 'tenant', key: ['id'], create: true },
        batchSize: 100,
      },
    ],
  });
  const activities = createActivities({ config: () => config, env });
  for (const t of ['acme', 'globex']) {
    await addInstance({ config, template: 'shop', instance: t, env });
    const r = (await new MockActivityEnvironment().run(activities.runIntegration, { integration: `shop/${t}`, mode: 'backfill' as const, runKey: `seed-${t}/1` })) as RunResult;
    expect(r.done).toBe(true);
  }
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

async function verify(id: string, opts: VerifyOptions = {}) {
  const r = await resolveIntegration(config, id, env);
  return verifyIntegration(r.integration, { ranges: 8, ...opts, env: { ...env, ...r.env } });
}

const tenantRows = (tenant: string) => digest(dst.url, `(SELECT id, updated_at, status, total, note FROM shared.orders WHERE tenant = '${tenant}')`);
/** Every column of the tenant's target rows, the instance column included: what "never touched" means. */
const wholeRows = (tenant: string) => digest(dst.url, `(SELECT * FROM shared.orders WHERE tenant = '${tenant}')`);

describe('verify an instance in a shared target', () => {
  it("compares the instance's source with only its own target rows", async () => {
    expect(await verify('shop/acme')).toMatchObject({ consistent: true, sourceRows: 300, targetRows: 300, differing: [] });
    expect(await verify('shop/globex')).toMatchObject({ consistent: true, sourceRows: 200, targetRows: 200, differing: [] });
  });

  it("reports exactly acme's changed and extra rows, repairs and deletes only those; globex's rows are never reported or touched", async () => {
    // acme: one row changed, one the source never had; globex: a row changed and an extra row with the same key as acme's extra one.
    await sql(dst.url, `UPDATE shared.orders SET note = 'tampered' WHERE tenant = 'acme' AND id = 42`);
    await sql(dst.url, `INSERT INTO shared.orders SELECT tenant, 99999, updated_at, status, total, note FROM shared.orders WHERE tenant IN ('acme', 'globex') AND id = 1`);
    await sql(dst.url, `UPDATE shared.orders SET total = -1 WHERE tenant = 'globex' AND id = 43`);
    const globexBefore = await wholeRows('globex');

    const found = await verify('shop/acme');
    expect(found).toMatchObject({ consistent: false, sourceRows: 300, targetRows: 301 });
    expect(found.differing).toHaveLength(2);
    const [changed, extra] = found.differing;
    // The range holding id 42: same count, another checksum; the last (open) range: one row more.
    expect(Number(changed!.lo?.[0] ?? 0)).toBeLessThanOrEqual(42);
    expect(Number(changed!.hi?.[0])).toBeGreaterThan(42);
    expect(changed!.source.rows).toBe(changed!.target.rows);
    expect(changed!.source.checksum).not.toBe(changed!.target.checksum);
    expect(extra!.hi).toBeNull();
    expect(extra!.target.rows).toBe(extra!.source.rows + 1);

    const dry = await verify('shop/acme', { delete: true, dryRun: true });
    expect(dry.deletes).toMatchObject({ rows: 1, deleted: 0 });
    expect(dry.differing.flatMap((d) => d.missing?.samples ?? [])).toEqual([['99999']]);

    const fixed = await verify('shop/acme', { repair: true, delete: true, force: true });
    expect(fixed.consistent).toBe(true);
    expect(fixed.deletes).toMatchObject({ rows: 1, deleted: 1 });
    expect(fixed.differing.map((d) => d.repaired)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(await tenantRows('acme')).toEqual(await digest(src.url, 'public.orders_acme'));
    expect(await verify('shop/acme')).toMatchObject({ consistent: true, targetRows: 300 });

    // globex: every row as it was, its own differences still there for its own verify to report.
    expect(await wholeRows('globex')).toEqual(globexBefore);
    expect(await sql(dst.url, `SELECT total::text AS t FROM shared.orders WHERE tenant = 'globex' AND id IN (43, 99999) ORDER BY id`)).toEqual([{ t: '-1.00' }, { t: '1.25' }]);
    const g = await verify('shop/globex');
    expect(g).toMatchObject({ consistent: false, sourceRows: 200, targetRows: 201 });
    expect(g.differing).toHaveLength(2);
  });

  it('a repair writes the instance column: a row acme lost comes back as acme\'s', async () => {
    await sql(dst.url, `DELETE FROM shared.orders WHERE tenant = 'acme' AND id = 7`);
    const r = await verify('shop/acme', { repair: true });
    expect(r).toMatchObject({ consistent: true });
    expect(await sql(dst.url, `SELECT tenant FROM shared.orders WHERE id = 7 ORDER BY tenant`)).toEqual([{ tenant: 'acme' }, { tenant: 'globex' }]);
  });
});
