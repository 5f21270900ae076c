import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type RunInput } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { splitTableName } from '../../src/config/identifiers';
import { tryLockIntegration } from '../../src/db/state';
import { boundariesSql, TooManyDeletesError, verifyIntegration } from '../../src/verify';
import { runCli } from '../helpers/cli';
import { digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

const ROWS = 2_000;
let src: TestDatabase;
let dst: TestDatabase;
let cwd: string;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });
const orders = () => ordersConfig().integrations[0]!;

/** orders plus `items`: a composite key (region, id) and a soft-delete column. */
function config(): Config {
  const items = {
    id: 'items',
    source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.items', cursor: ['updated_at', 'region', 'id'] },
    sink: { url: '${DST_URL}', table: 'copy.items', key: ['region', 'id'], create: true },
    batchSize: 100,
  };
  return parseConfig({ integrations: [{ ...orders(), source: { ...orders().source, lag: '0s' } }, items] });
}

async function run(integration: string, mode: 'backfill' | 'sync', runKey: string) {
  const input: RunInput = { integration, mode, runKey };
  return await new MockActivityEnvironment().run(createActivities({ config, env: vars() }).runIntegration, input);
}

const ids = async (url: string, table: string) => (await sql<{ id: string }>(url, `SELECT id::text FROM ${table} ORDER BY id`)).map((r) => Number(r.id));
const boundaries = async (ranges: number) =>
  (await sql<{ b: string }>(src.url, boundariesSql(splitTableName('public.orders'), [{ name: 'id', type: 'bigint' }], ranges))).map((r) => Number(JSON.parse(r.b)[0]));

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('deletes_src'), createTestDatabase('deletes_dst')]);
  cwd = mkdtempSync(join(tmpdir(), 'tm-deletes-'));
  writeFileSync(join(cwd, 'tidemark.json'), JSON.stringify({ integrations: config().integrations }));
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});
describe('verify --delete', () => {
  beforeEach(async () => {
    // Each test: a fresh source of ROWS orders, copied whole into the target.
    await sql(src.url, 'DROP TABLE IF EXISTS public.orders');
    await sql(dst.url, 'DROP TABLE IF EXISTS copy.orders; DROP SCHEMA IF EXISTS tidemark CASCADE');
    await seedOrders(src.url, { rows: ROWS });
    await run('orders', 'backfill', `seed/${Date.now()}`);
  });

  it('removes exactly the rows deleted in the source: below the first key, at range edges, a whole top block', async () => {
    // Below the source's smallest key (a range with no source rows at all) and a block at the top.
    await sql(src.url, 'DELETE FROM public.orders WHERE id <= 20 OR id > 1990');
    // Deleting a boundary key makes its successor the boundary: the deleted key is then the last one of the range below it.
    const edges: number[] = [];
    for (const j of [2, 6]) {
      const b = (await boundaries(10))[j]!;
      await sql(src.url, 'DELETE FROM public.orders WHERE id = $1::bigint', [b]);
      edges.push(b);
    }
    const finalBounds = await boundaries(10);
    for (const e of edges) expect(finalBounds).toContain(e + 1);
    const gone = [...Array.from({ length: 20 }, (_, i) => i + 1), ...edges, ...Array.from({ length: 10 }, (_, i) => 1991 + i)].sort((a, b) => a - b);
    const before = new Map((await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders')).map((r) => [r.id, r.x]));

    // Small pages: each range's keys take several pages, deletes several transactions.
    const r = await verifyIntegration(config().integrations[0]!, { ranges: 10, delete: true, pageSize: 7, samples: 3, env: vars() });
    expect(r.deletes).toMatchObject({ rows: gone.length, deleted: gone.length, dryRun: false, overLimit: false });
    expect(r.consistent).toBe(true);
    expect(r.differing.map((d) => d.missing!.rows).reduce((a, b) => a + b, 0)).toBe(gone.length);
    expect(r.differing[0]).toMatchObject({ lo: null, source: { rows: 0 }, target: { rows: 20 }, missing: { rows: 20, samples: [['1'], ['2'], ['3']] } });
    expect(await ids(dst.url, 'copy.orders')).toEqual(await ids(src.url, 'public.orders'));
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    // Nothing else was touched.
    const after = await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders');
    expect(after.filter((row) => before.get(row.id) !== row.x)).toEqual([]);
    expect(await sql(dst.url, `SELECT status, rows_missing::text, rows_deleted::text, run_key FROM tidemark.reconciliations`)).toEqual([
      { status: 'completed', rows_missing: String(gone.length), rows_deleted: String(gone.length), run_key: null },
    ]);
  });

  it('tidemark verify --repair --delete re-syncs changed rows and deletes the gone ones in one pass', async () => {
    await sql(src.url, `DELETE FROM public.orders WHERE id IN (5, 700, 701, 1500); UPDATE public.orders SET status = 'changed' WHERE id IN (10, 1200)`);
    const res = await runCli(['verify', 'orders', '--repair', '--delete', '--ranges', '8'], vars(), cwd);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/1 row\(s\) the source no longer has deleted: 5; repaired, 1 rows written/);
    expect(res.stdout).toMatch(/2 row\(s\) the source no longer has deleted: 700, 701; repaired, 0 rows written/);
    expect(res.stdout).toMatch(/orders: deleted 4 target row\(s\) the source no longer has \(0.2% of 2000 target rows; deletes.maxFraction 0.1\)/);
    expect(res.stdout).toMatch(/orders: consistent/);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
  });

  it('--dry-run lists the rows that would go (count per range, sample keys) and deletes nothing', async () => {
    await sql(src.url, 'DELETE FROM public.orders WHERE id BETWEEN 300 AND 340 OR id = 1800');
    const before = await digest(dst.url, 'copy.orders');
    const res = await runCli(['verify', 'orders', '--delete', '--dry-run', '--samples', '3', '--ranges', '8'], vars(), cwd);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/41 row\(s\) the source no longer has \(would be deleted\): 300, 301, 302, …/);
    expect(res.stdout).toMatch(/1 row\(s\) the source no longer has \(would be deleted\): 1800$/m);
    expect(res.stdout).toMatch(/orders: dry run: 42 target row\(s\) the source no longer has would be deleted \(2.1% of 2000 target rows; deletes.maxFraction 0.1\); nothing was written/);
    expect(await digest(dst.url, 'copy.orders')).toEqual(before);
    // A dry run is no reconciliation: it records none.
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM tidemark.reconciliations')).toEqual([{ n: '0' }]);

    const flags = await runCli(['verify', 'orders', '--dry-run'], vars(), cwd);
    expect(flags.code).toBe(2);
    expect(flags.stderr).toMatch(/--dry-run and --force apply to --delete/);
  });

  it('refuses to delete more than maxFraction of the target without --force (nothing deleted); --force goes through', async () => {
    await sql(src.url, 'DELETE FROM public.orders WHERE id % 5 = 0 OR id <= 10'); // 400 + 8 = 408 of 2000: 20.4%
    await sql(src.url, `UPDATE public.orders SET status = 'changed' WHERE id = 11`);
    const before = await digest(dst.url, 'copy.orders');
    const refused = await runCli(['verify', 'orders', '--repair', '--delete'], vars(), cwd);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/orders: refusing to delete 408 of 2000 target rows \(20.4%\), more than deletes.maxFraction 0.1 \(10%\); nothing was deleted/);
    expect(refused.stderr).toMatch(/--force/);
    // Refused before anything was written: no deletes and no repair either.
    expect(await digest(dst.url, 'copy.orders')).toEqual(before);
    await expect(verifyIntegration(config().integrations[0]!, { delete: true, env: vars() })).rejects.toBeInstanceOf(TooManyDeletesError);

    const forced = await runCli(['verify', 'orders', '--repair', '--delete', '--force'], vars(), cwd);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/orders: deleted 408 target row\(s\) .*--force\)/);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    expect(await sql(dst.url, `SELECT status, rows_missing::text, rows_deleted::text FROM tidemark.reconciliations ORDER BY id`)).toEqual([
      { status: 'refused', rows_missing: '408', rows_deleted: '0' },
      { status: 'refused', rows_missing: '408', rows_deleted: '0' },
      { status: 'completed', rows_missing: '408', rows_deleted: '408' },
    ]);
  });

  it('waits for no one: while a run holds the integration lock, --delete refuses and deletes nothing', async () => {
    await sql(src.url, 'DELETE FROM public.orders WHERE id = 42');
    const holder = new pg.Client({ connectionString: dst.url });
    await holder.connect();
    try {
      expect(await tryLockIntegration(holder, 'orders')).toBe(true);
      await expect(verifyIntegration(config().integrations[0]!, { delete: true, env: vars() })).rejects.toThrow(/integration "orders" is busy/);
      expect(await ids(dst.url, 'copy.orders')).toContain(42);
    } finally {
      await holder.end();
    }
    expect((await verifyIntegration(config().integrations[0]!, { delete: true, env: vars() })).deletes?.deleted).toBe(1);
  });
});

describe('verify --delete with a composite key; soft deletes', () => {
  beforeAll(async () => {
    await sql(
      src.url,
      `CREATE TABLE public.items (region text NOT NULL, id int NOT NULL, updated_at timestamptz NOT NULL, deleted_at timestamptz, name text, PRIMARY KEY (region, id));
       INSERT INTO public.items SELECT r, g, '2024-01-01'::timestamptz + g * interval '1 second', NULL, r || g FROM unnest(ARRAY['eu', 'us', 'ap']) r, generate_series(1, 200) g`,
    );
    await run('items', 'backfill', 'items/1');
  });

  it('deletes exactly the (region, id) pairs the source lost, never the same id of another region', async () => {
    await sql(src.url, `DELETE FROM public.items WHERE (region = 'ap' AND id BETWEEN 1 AND 25) OR (region = 'eu' AND id = 200) OR (region = 'us' AND id = 100)`);
    const r = await verifyIntegration(config().integrations[1]!, { ranges: 6, delete: true, pageSize: 4, env: vars() });
    expect(r.deletes).toMatchObject({ rows: 27, deleted: 27 });
    expect(r.consistent).toBe(true);
    const keys = (url: string, t: string) => sql(url, `SELECT region, id::text FROM ${t} ORDER BY region, id`);
    expect(await keys(dst.url, 'copy.items')).toEqual(await keys(src.url, 'public.items'));
    expect(await sql(dst.url, 'SELECT region FROM copy.items WHERE id = 200 ORDER BY region')).toEqual([{ region: 'ap' }, { region: 'us' }]);
  });

  it('a soft delete (deleted_at set) arrives as an ordinary update and is not removed', async () => {
    await sql(src.url, `UPDATE public.items SET deleted_at = '2025-01-01', updated_at = '2025-01-01' WHERE region = 'us' AND id = 7`);
    await run('items', 'sync', 'items/2');
    expect(await sql(dst.url, `SELECT (deleted_at = '2025-01-01T00:00:00Z')::text AS soft FROM copy.items WHERE region = 'us' AND id = 7`)).toEqual([{ soft: 'true' }]);
    const r = await verifyIntegration(config().integrations[1]!, { delete: true, env: vars() });
    expect(r).toMatchObject({ consistent: true, deletes: { rows: 0, deleted: 0 } });
  });
});
