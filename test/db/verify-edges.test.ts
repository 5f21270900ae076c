import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunResult } from '../../src/activities';
import { parseConfig, type Config, type Integration } from '../../src/config';
import { sharedTargetOf, verifyIntegration, type VerifyReport } from '../../src/verify';
import { digest, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// verify and --repair where the two sides differ in more than rows: column order, key collation, encoding settings,
// repeated keys, rows the target refuses, shared targets and key types (found by a review of verify).
let src: TestDatabase;
let dst: TestDatabase;
const env = () => ({ SRC_URL: src.url, DST_URL: dst.url });

function configOf(table: string, target: string, source: Record<string, unknown> = {}, sink: Record<string, unknown> = {}): Config {
  return parseConfig({
    integrations: [
      {
        id: table.split('.')[1] as string, // one per table: state (the source's columns) is kept per integration
        source: { kind: 'postgres', url: '${SRC_URL}', table, cursor: ['updated_at', 'id'], lag: '0s', ...source },
        sink: { kind: 'postgres', url: '${DST_URL}', table: target, key: ['id'], create: true, ...sink },
        batchSize: 500,
      },
    ],
  });
}

async function backfill(config: Config): Promise<void> {
  const r = (await new MockActivityEnvironment().run(createActivities({ config: () => config, env: env() }).runIntegration, { integration: one(config).id, mode: 'backfill' as const, runKey: `vb/${Math.random()}` })) as RunResult;
  expect(r.done).toBe(true);
}

const one = (c: Config): Integration => c.integrations[0] as Integration;
const repairedSum = (r: VerifyReport) => r.differing.reduce((a, d) => a + (d.repaired ?? 0), 0);

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('vedge_src'), createTestDatabase('vedge_dst')]);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('verify --repair', () => {
  it('a database it cannot reach is named (host, port, database, the config field), not a bare ECONNREFUSED (an acceptance run)', async () => {
    const config = configOf('public.nothing', 'copy.nothing');
    await expect(verifyIntegration(one(config), { env: { ...env(), SRC_URL: 'postgres://u:secret@127.0.0.1:1/gone' } })).rejects.toThrow(
      'cannot reach the source database at 127.0.0.1:1/gone (integrations[nothing].source.url): connect ECONNREFUSED 127.0.0.1:1',
    );
    await expect(verifyIntegration(one(config), { env: { ...env(), DST_URL: 'postgres://u:secret@127.0.0.1:1/gone' } })).rejects.toThrow(
      'cannot reach the target database at 127.0.0.1:1/gone (integrations[nothing].sink.url): connect ECONNREFUSED 127.0.0.1:1',
    );
  });

  it('a target not made yet under sink.create says to run a backfill first, not to set the create it has (an acceptance run)', async () => {
    await seedOrders(src.url, { rows: 5, table: 'public.fresh' });
    await expect(verifyIntegration(one(configOf('public.fresh', 'copy.fresh')), { env: env() })).rejects.toThrow(
      'the target copy.fresh does not exist yet: sink.create makes it on the first run; run a backfill of this integration first, then verify',
    );
    await expect(verifyIntegration(one(configOf('public.fresh', 'copy.fresh', {}, { create: false })), { env: env() })).rejects.toThrow('sink table copy.fresh does not exist: create it, or set sink.create: true');
  });

  it('writes each value into its own column when source.columns lists them in another order than the table', async () => {
    await sql(src.url, `CREATE TABLE people (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, first_name text, last_name text);
      INSERT INTO people SELECT g, '2024-01-01'::timestamptz + g * interval '1 s', 'F' || g, 'L' || g FROM generate_series(1, 50) g`);
    const config = configOf('public.people', 'copy.people', { columns: ['id', 'updated_at', 'last_name', 'first_name'] });
    await backfill(config);
    await sql(src.url, `UPDATE people SET last_name = 'Changed' WHERE id = 5`);
    const r = await verifyIntegration(one(config), { env: env(), repair: true });
    expect(r.consistent).toBe(true);
    expect(repairedSum(r)).toBe(1);
    expect(await sql(dst.url, 'SELECT first_name, last_name FROM copy.people WHERE id = 5')).toEqual([{ first_name: 'F5', last_name: 'Changed' }]);
  });

  it('key columns named like its own query\'s names (c, rn): verify, --repair and --delete work (an acceptance run: "column reference is ambiguous")', async () => {
    await sql(src.url, `CREATE TABLE odd_keys (c int, rn int, updated_at timestamptz NOT NULL, v text, PRIMARY KEY (c, rn));
      INSERT INTO odd_keys SELECT g % 7, g, '2024-01-01'::timestamptz + g * interval '1 s', 'v' || g FROM generate_series(1, 300) g`);
    const config = configOf('public.odd_keys', 'copy.odd_keys', { cursor: ['updated_at', 'c', 'rn'] }, { key: ['c', 'rn'] });
    await backfill(config);
    await sql(src.url, `UPDATE odd_keys SET v = 'changed' WHERE rn = 10; DELETE FROM odd_keys WHERE rn IN (20, 21)`);
    const r = await verifyIntegration(one(config), { env: env(), ranges: 8, repair: true, delete: true, force: true });
    expect(repairedSum(r)).toBe(1);
    expect(r.deletes).toMatchObject({ deleted: 2 });
    expect(await sql(dst.url, `SELECT count(*)::int AS n, count(*) FILTER (WHERE v = 'changed')::int AS changed FROM copy.odd_keys`)).toEqual([{ n: 298, changed: 1 }]);
    expect((await verifyIntegration(one(config), { env: env(), ranges: 8 })).consistent).toBe(true);
  });

  it('counts only the rows that changed, even when the first range differs by stale rows alone (no whole-range rewrites)', async () => {
    await seedOrders(src.url, { rows: 20_000, table: 'public.many' });
    const config = configOf('public.many', 'copy.many');
    await backfill(config);
    // Rows the source deleted below its smallest key (the first range then has no source rows), and 13 changed rows.
    await sql(src.url, `DELETE FROM public.many WHERE id <= 100; UPDATE public.many SET status = 'changed' WHERE id % 1500 = 0`);
    const before = new Map((await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.many')).map((row) => [row.id, row.x]));
    const r = await verifyIntegration(one(config), { env: env(), repair: true, delete: true });
    expect(r.consistent).toBe(true);
    expect(r.deletes?.deleted).toBe(100);
    expect(repairedSum(r)).toBe(13);
    const after = await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.many');
    expect(after.filter((row) => before.get(row.id) !== row.x).map((row) => Number(row.id)).sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => (i + 1) * 1500));
    expect(await digest(dst.url, 'copy.many')).toEqual(await digest(src.url, 'public.many'));
  });

  it('keeps the newest row of a key the source repeats, as a run does', async () => {
    await sql(src.url, `CREATE TABLE ev (id bigint PRIMARY KEY, entity int NOT NULL, updated_at timestamptz NOT NULL, v text);
      INSERT INTO ev VALUES (1, 9, '2024-01-01 09:00Z', 'other'), (2, 1, '2024-01-01 11:00Z', 'new'), (3, 1, '2024-01-01 10:00Z', 'old')`);
    const config = configOf('public.ev', 'copy.ev', {}, { key: ['entity'] });
    await backfill(config);
    expect(await sql(dst.url, 'SELECT v FROM copy.ev WHERE entity = 1')).toEqual([{ v: 'new' }]);
    await sql(dst.url, `UPDATE copy.ev SET v = 'corrupt' WHERE entity = 1`);
    await verifyIntegration(one(config), { env: env(), repair: true });
    expect(await sql(dst.url, 'SELECT id::text, v FROM copy.ev WHERE entity = 1')).toEqual([{ id: '2', v: 'new' }]);
  });

  it('reports a range whose rows the target refuses, and repairs the others', async () => {
    await seedOrders(src.url, { rows: 2_000, table: 'public.checked' });
    const config = configOf('public.checked', 'copy.checked');
    await backfill(config);
    await sql(dst.url, `ALTER TABLE copy.checked ADD CONSTRAINT no_bad CHECK (status <> 'bad')`);
    await sql(src.url, `UPDATE public.checked SET status = 'bad' WHERE id = 10; UPDATE public.checked SET status = 'fine' WHERE id = 1990`);
    const r = await verifyIntegration(one(config), { env: env(), repair: true });
    expect(r.consistent).toBe(false);
    const refused = r.differing.find((d) => d.repairError);
    expect(refused?.repairError).toMatch(/no_bad/);
    expect(r.differing.filter((d) => d.repaired === 1)).toHaveLength(1);
    expect(await sql(dst.url, 'SELECT status FROM copy.checked WHERE id IN (10, 1990) ORDER BY id')).toEqual([{ status: 'new' }, { status: 'fine' }]);
  });
});

describe('verify compares alike what the two databases say differently', () => {
  it('a text key the two sides sort differently (ICU in the source, the target database default): consistent, no overlapping ranges', async () => {
    await sql(src.url, `CREATE TABLE codes (id text COLLATE "en-x-icu" PRIMARY KEY, updated_at timestamptz NOT NULL, v int);
      INSERT INTO codes SELECT (CASE WHEN g % 2 = 0 THEN 'a' ELSE 'B' END) || g || (CASE WHEN g % 3 = 0 THEN 'Z' ELSE 'y' END), '2024-01-01'::timestamptz + g * interval '1 s', g FROM generate_series(1, 2000) g`);
    const config = configOf('public.codes', 'copy.codes');
    await backfill(config);
    const r = await verifyIntegration(one(config), { env: env(), ranges: 16 });
    expect(r).toMatchObject({ consistent: true, differing: [], sourceRows: 2000, targetRows: 2000 });
    await sql(dst.url, `DELETE FROM copy.codes WHERE v = 77`);
    const d = await verifyIntegration(one(config), { env: env(), ranges: 16, repair: true });
    expect(d.differing).toHaveLength(1);
    expect(d.consistent).toBe(true);
    expect(repairedSum(d)).toBe(1);
  });

  it('bytea in escape form on one side, and money, compare as equal', async () => {
    await sql(src.url, `CREATE TABLE blobs (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, b bytea, m money);
      INSERT INTO blobs SELECT g, '2024-01-01'::timestamptz + g * interval '1 s', decode(md5(g::text), 'hex'), g * 1000.5 FROM generate_series(1, 300) g`);
    const config = configOf('public.blobs', 'copy.blobs');
    await backfill(config);
    await sql(src.url, `ALTER DATABASE ${src.name} SET bytea_output = 'escape'`);
    const r = await verifyIntegration(one(config), { env: env() });
    expect(r.differing).toEqual([]);
    expect(r.sourceRows).toBe(300);
  });
});

describe('verify --delete refuses what would delete rows the source has', () => {
  it('a target shared with another integration, or by the instances of a template without instanceColumn', async () => {
    const base = { kind: 'postgres', url: '${SRC_URL}', cursor: ['updated_at', 'id'] };
    const config = parseConfig({
      integrations: [
        { id: 'a', source: { ...base, table: 'public.many' }, sink: { url: '${DST_URL}', table: 'copy.many', key: ['id'] } },
        { id: 'b', source: { ...base, table: 'public.checked' }, sink: { url: '${DST_URL}', table: 'copy.many', key: ['id'] } },
        { id: 'c', source: { ...base, table: 'public.checked' }, sink: { url: '${DST_URL}', table: 'copy.checked', key: ['id'] } },
        { id: 'shop', template: true, source: { ...base, table: 'public.orders_${instance.id}' }, sink: { url: '${DST_URL}', table: 'copy.shop', key: ['id'] } },
        { id: 'own', template: true, source: { ...base, table: 'public.o_${instance.id}' }, sink: { url: '${DST_URL}', table: 'copy.o_${instance.id}', key: ['id'] } },
      ],
    });
    const a = config.integrations.find((i) => i.id === 'a') as Integration;
    expect(sharedTargetOf(config, a)).toBe('b also writes to copy.many');
    expect(sharedTargetOf(config, config.integrations.find((i) => i.id === 'c') as Integration)).toBeUndefined();
    const instance = (id: string, table: string) => ({ ...a, id, sink: { ...a.sink, table } }) as Integration;
    expect(sharedTargetOf(config, instance('shop/acme', 'copy.shop'))).toMatch(/every instance of template shop writes to copy\.shop/);
    expect(sharedTargetOf(config, instance('own/acme', 'copy.o_acme'))).toBeUndefined();
    const before = await digest(dst.url, 'copy.many');
    await expect(verifyIntegration(a, { env: env(), delete: true, sharedTarget: sharedTargetOf(config, a) })).rejects.toThrow(/would also delete other writers' rows: b also writes to copy\.many/);
    expect(await digest(dst.url, 'copy.many')).toEqual(before);
  });

  it('a key column whose type reads back differently in the source (real against double precision)', async () => {
    await sql(src.url, `CREATE TABLE fl (id double precision PRIMARY KEY, updated_at timestamptz NOT NULL);
      INSERT INTO fl SELECT g + 0.123456789, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 20) g`);
    await sql(dst.url, `CREATE TABLE copy.fl (id real PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    const config = configOf('public.fl', 'copy.fl', {}, { create: false });
    await backfill(config);
    await expect(verifyIntegration(one(config), { env: env(), delete: true })).rejects.toThrow(/key column "id" is double precision in the source but real in the target/);
    expect(await sql(dst.url, 'SELECT count(*)::int AS n FROM copy.fl')).toEqual([{ n: 20 }]);
  });
});
