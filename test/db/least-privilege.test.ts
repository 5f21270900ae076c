import { randomBytes } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { asRole, digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// A sink role as a DBA hands it out (acceptance L): no CREATE on the database, its own schemas made for it. CREATE
// SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema is there, so such a role could never migrate
// schema tidemark nor create its target, and PostgreSQL said only "permission denied for database …".
let src: TestDatabase;
let dst: TestDatabase;
const role = `tm_lp_${randomBytes(3).toString('hex')}`;
let roleUrl: string;
const backfill = (runKey: string): RunInput => ({ integration: 'orders', mode: 'backfill', runKey });

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('lp_src'), createTestDatabase('lp_dst')]);
  await seedOrders(src.url, { rows: 1500 });
  // CONNECT and TEMP come from PUBLIC; CREATE on the database does not.
  await sql(dst.url, `CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
  roleUrl = asRole(dst.url, role);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
  await sql(src.url.replace(/\/[^/]*$/, '/postgres'), `DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
});

describe('a sink role without CREATE on its database', () => {
  it('is told which grant or schema it needs; with schemas made for it, it migrates and creates its target', async () => {
    const config = ordersConfig({ lag: '0s' }, { batchSize: 500 });
    const acts = createActivities({ config: () => config, env: { SRC_URL: src.url, DST_URL: roleUrl } });
    const run = (key: string) => new MockActivityEnvironment().run(acts.runIntegration, backfill(key)) as Promise<RunResult>;

    const refused = (await run('lp/1').catch((e: unknown) => e)) as Error;
    expect(refused).toMatchObject({ type: 'StatePrivilegeError', nonRetryable: true });
    expect(refused.message).toContain(`its role ${role} may not create it or its tables`);
    expect(refused.message).toContain(`GRANT CREATE ON DATABASE ${dst.name} TO ${role}`);
    expect(refused.message).toContain(`CREATE SCHEMA tidemark AUTHORIZATION ${role}`);

    // The second fix it names, and the target's schema made the same way: every run works from then on.
    await sql(dst.url, `CREATE SCHEMA tidemark AUTHORIZATION ${role}; CREATE SCHEMA copy AUTHORIZATION ${role}`);
    expect(await run('lp/2')).toMatchObject({ rows: 1500, done: true });
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));

    // A target in a schema that is not there: sink.create says what to grant or make.
    const other = ordersConfig({ lag: '0s' }, { sink: { kind: 'postgres', url: '${DST_URL}', table: 'other.orders', key: ['id'], create: true } });
    const acts2 = createActivities({ config: () => other, env: { SRC_URL: src.url, DST_URL: roleUrl } });
    const failed = (await (new MockActivityEnvironment().run(acts2.runIntegration, backfill('lp/3')) as Promise<RunResult>).catch((e: unknown) => e)) as Error;
    expect(failed).toMatchObject({ type: 'SinkSetupError', nonRetryable: true });
    expect(failed.message).toMatch(new RegExp(`^sink\\.create: creating the target other\\.orders as role ${role} was refused \\(permission denied for database ${dst.name}\\): GRANT CREATE ON DATABASE ${dst.name} TO ${role}, or create schema other for it`));
  });

  it('a privilege missing on the source table or the target is named with its side, role and grant', async () => {
    // The source read as the same role, which may not read public.orders yet.
    const config = ordersConfig({ lag: '0s' }, { batchSize: 500 });
    const run = (key: string, env: Record<string, string>, mode: RunInput['mode'] = 'backfill') =>
      new MockActivityEnvironment().run(createActivities({ config: () => config, env }).runIntegration, { ...backfill(key), mode }) as Promise<RunResult>;
    const failure = (p: Promise<RunResult>) => p.then(() => new Error('completed'), (e: unknown) => e as Error);

    const noSelect = await failure(run('lp/src', { SRC_URL: asRole(src.url, role), DST_URL: roleUrl }));
    expect(noSelect).toMatchObject({ type: 'SourcePrivilegeError', nonRetryable: true });
    expect(noSelect.message).toMatch(new RegExp(`^source table public\\.orders: the role ${role} may not read it \\(permission denied for table orders\\): GRANT USAGE ON SCHEMA public TO ${role} and GRANT SELECT ON public\\.orders TO ${role}`));

    // A target the role may insert into but not update: the first page that must upsert says what to grant.
    await sql(dst.url, `CREATE TABLE copy.owned (LIKE copy.orders INCLUDING ALL); INSERT INTO copy.owned SELECT * FROM copy.orders WHERE id <= 100; GRANT SELECT, INSERT ON copy.owned TO ${role}`);
    const owned = ordersConfig({ lag: '0s' }, { batchSize: 500, sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.owned', key: ['id'], create: true } });
    const noUpdate = await failure(new MockActivityEnvironment().run(createActivities({ config: () => owned, env: { SRC_URL: src.url, DST_URL: roleUrl } }).runIntegration, backfill('lp/upd')) as Promise<RunResult>);
    expect(noUpdate).toMatchObject({ type: 'SinkSetupError', nonRetryable: true });
    expect(noUpdate.message).toMatch(new RegExp(`^sink\\.table: the role ${role} lacks a privilege the target copy\\.owned needs \\(permission denied for table owned\\): GRANT SELECT, INSERT, UPDATE ON copy\\.owned TO ${role}`));
    // Granted, it goes on and the target is exact.
    await sql(dst.url, `GRANT UPDATE ON copy.owned TO ${role}`);
    expect(await new MockActivityEnvironment().run(createActivities({ config: () => owned, env: { SRC_URL: src.url, DST_URL: roleUrl } }).runIntegration, backfill('lp/upd2'))).toMatchObject({ rows: 1500, done: true });
    expect(await digest(dst.url, 'copy.owned')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('a sink role whose sessions are read-only gets a retried failure that says so and where to look', async () => {
    await sql(dst.url, `ALTER ROLE ${role} IN DATABASE ${dst.name} SET default_transaction_read_only = on`);
    try {
      const config = ordersConfig({ lag: '0s' }, { batchSize: 500 });
      const acts = createActivities({ config: () => config, env: { SRC_URL: src.url, DST_URL: roleUrl } });
      const failed = (await (new MockActivityEnvironment().run(acts.runIntegration, backfill('lp/ro')) as Promise<RunResult>).catch((e: unknown) => e)) as Error & { nonRetryable?: boolean };
      expect(failed.message).toMatch(/read-only transaction: the database's sessions are read-only \(default_transaction_read_only for the sink role or its database, or sink\.url or sink\.stateUrl points at a standby\)$/);
      expect(failed.nonRetryable).not.toBe(true); // a standby being promoted comes back
    } finally {
      await sql(dst.url, `ALTER ROLE ${role} IN DATABASE ${dst.name} RESET default_transaction_read_only`);
    }
  });
});
