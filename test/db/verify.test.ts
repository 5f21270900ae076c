import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput } from '../../src/activities';
import { verifyIntegration } from '../../src/verify';
import { runCli } from '../helpers/cli';
import { digest, ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let src: TestDatabase;
let dst: TestDatabase;
let cwd: string;
const vars = () => ({ SRC_URL: src.url, DST_URL: dst.url });
const it0 = () => ordersConfig().integrations[0]!;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('verify_src'), createTestDatabase('verify_dst')]);
  await seedOrders(src.url, { rows: 10_000 });
  const input: RunInput = { integration: 'orders', mode: 'backfill', runKey: 'v/1' };
  await new MockActivityEnvironment().run(createActivities({ config: () => ordersConfig(), env: vars() }).runIntegration, input);
  cwd = mkdtempSync(join(tmpdir(), 'tm-verify-'));
  writeFileSync(join(cwd, 'tidemark.json'), JSON.stringify({ integrations: [{ ...it0(), source: { ...it0().source, lag: '0s' } }] }));
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

describe('tidemark verify', () => {
  it('finds deleted and corrupted target rows by key range; --repair re-syncs only those ranges', async () => {
    expect(await verifyIntegration(it0(), { env: vars() })).toMatchObject({ consistent: true, differing: [], sourceRows: 10_000, targetRows: 10_000 });
    await sql(dst.url, `DELETE FROM copy.orders WHERE id BETWEEN 100 AND 136; UPDATE copy.orders SET status = 'corrupt' WHERE id BETWEEN 5000 AND 5004`);
    const before = new Map((await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders')).map((r) => [r.id, r.x]));

    const found = await runCli(['verify', 'orders'], vars(), cwd);
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/orders: 33 key ranges, source 10000 rows, target 9963 rows, 2 range\(s\) differ/);
    expect(found.stdout).toMatch(/source \d+ rows, target \d+ rows \(checksums differ\)/);
    expect(found.stdout).toMatch(/NOT consistent \(run with --repair/);

    const repaired = await runCli(['verify', 'orders', '--repair'], vars(), cwd);
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stdout).toMatch(/repaired, 37 rows written/);
    expect(repaired.stdout).toMatch(/repaired, 5 rows written/);
    expect(repaired.stdout).toMatch(/orders: consistent/);
    expect(await digest(dst.url, 'copy.orders')).toEqual(await digest(src.url, 'public.orders'));
    const after = await sql<{ id: string; x: string }>(dst.url, 'SELECT id::text, xmin::text AS x FROM copy.orders');
    const rewritten = after.filter((r) => before.get(r.id) !== r.x).map((r) => Number(r.id));
    expect(rewritten.sort((a, b) => a - b)).toEqual([...Array.from({ length: 37 }, (_, i) => 100 + i), 5000, 5001, 5002, 5003, 5004]);
  });

  it('reports target rows the source no longer has, and does not delete them', async () => {
    await sql(dst.url, `INSERT INTO copy.orders SELECT id + 100000, updated_at, status, total, note FROM copy.orders WHERE id <= 2`);
    const r = await verifyIntegration(it0(), { env: vars(), repair: true });
    expect(r.consistent).toBe(false);
    expect(r.targetRows - r.sourceRows).toBe(2);
    expect(r.differing).toHaveLength(1);
    expect(r.differing[0]!.after!.target.rows - r.differing[0]!.after!.source.rows).toBe(2);
    expect(await sql(dst.url, 'SELECT count(*)::text AS n FROM copy.orders WHERE id > 100000')).toEqual([{ n: '2' }]);
  });
});
