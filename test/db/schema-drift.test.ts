import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { sql } from '../helpers/fixtures';

let src: TestDatabase;
let dst: TestDatabase;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('drift_src'), createTestDatabase('drift_dst')]);
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

/** A fresh source table `public.<name>` (20 rows) read into `copy.<name>` by integration `<name>`. */
async function scenario(name: string, sink: Record<string, unknown> = {}) {
  await sql(
    src.url,
    `CREATE TABLE public.${name} (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, label text NOT NULL, qty integer);
     INSERT INTO public.${name} SELECT g, '2024-01-01'::timestamptz + g * interval '1 second', 'item ' || g, g FROM generate_series(1, 20) g`,
  );
  const config: Config = parseConfig({
    integrations: [
      {
        id: name,
        source: { kind: 'postgres', url: '${SRC_URL}', table: `public.${name}`, cursor: ['updated_at', 'id'] },
        sink: { kind: 'postgres', url: '${DST_URL}', table: `copy.${name}`, key: ['id'], create: true, ...sink },
        batchSize: 8,
      },
    ],
  });
  const run = (runKey: string, mode: RunInput['mode'], srcUrl = src.url): Promise<RunResult> => {
    const acts = createActivities({ config: () => config, env: { SRC_URL: srcUrl, DST_URL: dst.url } });
    return new MockActivityEnvironment().run(acts.runIntegration, { integration: name, mode, runKey }) as Promise<RunResult>;
  };
  /** Target rows and their row versions: equal snapshots mean nothing was written. */
  const snapshot = () => sql(dst.url, `SELECT t::text AS row, xmin::text AS x FROM copy.${name} t ORDER BY id`);
  const syncCursor = async () => (await sql(dst.url, `SELECT cursor::text AS c FROM tidemark.checkpoints WHERE integration = $1::text AND slot = 'sync'`, [name]))[0]?.c;
  const targetColumns = async () =>
    (await sql<{ c: string }>(dst.url, `SELECT attname || ' ' || format_type(atttypid, atttypmod) AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [`copy.${name}`])).map((r) => r.c);
  const runRow = async (runKey: string) => (await sql(dst.url, 'SELECT status, rows_written::text AS written, error FROM tidemark.runs WHERE run_id = $1::text', [runKey]))[0];
  expect(await run(`${name}/backfill`, 'backfill')).toMatchObject({ rows: 20, done: true });
  return { run, snapshot, syncCursor, targetColumns, runRow, config };
}

/** Run a sync that must fail on drift, and check it wrote nothing and left the checkpoint alone. */
async function expectDriftFailure(s: Awaited<ReturnType<typeof scenario>>, runKey: string, message: RegExp): Promise<void> {
  const [before, cursor] = [await s.snapshot(), await s.syncCursor()];
  await expect(s.run(runKey, 'sync')).rejects.toMatchObject({ nonRetryable: true, type: 'SchemaDriftError', message: expect.stringMatching(message) });
  expect(await s.snapshot()).toEqual(before);
  expect(await s.syncCursor()).toBe(cursor);
  expect(await s.runRow(runKey)).toMatchObject({ status: 'failed', written: '0', error: expect.stringMatching(message) });
}

describe('schema drift between runs', () => {
  it('add_columns (the default with create: true): a new source column is added to the target and filled from then on', async () => {
    const s = await scenario('added');
    await sql(src.url, `ALTER TABLE public.added ADD COLUMN color text, ADD COLUMN price numeric(8,2) DEFAULT 1.50;
      UPDATE public.added SET color = 'red', price = 2.25, updated_at = '2025-01-01' WHERE id IN (3, 4)`);
    expect(await s.run('added/sync', 'sync')).toMatchObject({ rows: 2, done: true });
    expect(await s.targetColumns()).toEqual(['id bigint', 'updated_at timestamp with time zone', 'label text', 'qty integer', 'color text', 'price numeric(8,2)']);
    // Changed rows carry the new columns; the others keep NULL until they change (or a backfill re-reads them).
    const rows = await sql(dst.url, `SELECT id::text, color, price::text FROM copy.added WHERE id IN (2, 3, 4) ORDER BY id`);
    expect(rows).toEqual([
      { id: '2', color: null, price: null },
      { id: '3', color: 'red', price: '2.25' },
      { id: '4', color: 'red', price: '2.25' },
    ]);
    expect(await s.runRow('added/sync')).toMatchObject({ status: 'completed', written: '2' });
    // The run says so, and how to fill the old rows (an acceptance run: nothing did).
    const [warned] = await sql<{ w: string[] }>(dst.url, `SELECT warnings AS w FROM tidemark.runs WHERE run_id = 'added/sync'`);
    expect(warned?.w).toContainEqual(
      'sink.schemaChanges add_columns: added "color" (text), "price" (numeric(8,2)) to the target; rows written before hold NULL there until they change: `tidemark verify added --repair` (or a backfill) fills them',
    );
    const [seen] = await sql<{ columns: unknown }>(dst.url, `SELECT columns FROM tidemark.source_columns WHERE integration = 'added'`);
    expect(seen?.columns).toEqual([
      { name: 'id', type: 'bigint' },
      { name: 'updated_at', type: 'timestamp with time zone' },
      { name: 'label', type: 'text' },
      { name: 'qty', type: 'integer' },
      { name: 'color', type: 'text' },
      { name: 'price', type: 'numeric(8,2)' },
    ]);
    // A backfill fills the old rows too.
    expect(await s.run('added/backfill2', 'backfill')).toMatchObject({ rows: 20, done: true });
    expect(await sql(dst.url, `SELECT count(*)::text AS n FROM copy.added WHERE price IS NULL`)).toEqual([{ n: '0' }]);
  });

  it('add_columns: an attempt that ends after adding the column still records the warning (the next finds nothing to add)', async () => {
    const s = await scenario('addfail');
    await sql(src.url, `ALTER TABLE public.addfail ADD COLUMN color text; UPDATE public.addfail SET color = 'red', updated_at = '2025-01-01' WHERE id = 3`);
    // An attempt that adds the column, then fails after its first page (a worker lost there), before the run's end.
    const failing = createActivities({ config: () => s.config, env: { SRC_URL: src.url, DST_URL: dst.url }, afterBatch: () => Promise.reject(new Error('the reader fails')) });
    const input: RunInput = { integration: 'addfail', mode: 'sync', runKey: 'addfail/sync' };
    await expect(new MockActivityEnvironment().run(failing.runIntegration, input)).rejects.toThrow(/the reader fails/);
    expect(await s.targetColumns()).toContain('color text');
    const [warned] = await sql<{ w: string[] }>(dst.url, `SELECT warnings AS w FROM tidemark.runs WHERE run_id = 'addfail/sync'`);
    expect(warned?.w).toContainEqual(expect.stringMatching(/^sink\.schemaChanges add_columns: added "color" \(text\) to the target/));
    // The retried attempt adds nothing, and the warning stays once.
    expect(await s.run('addfail/sync', 'sync')).toMatchObject({ rows: 1, done: true });
    const [after] = await sql<{ w: string[] }>(dst.url, `SELECT warnings AS w FROM tidemark.runs WHERE run_id = 'addfail/sync'`);
    expect(after?.w.filter((w) => w.includes('add_columns'))).toHaveLength(1);
  });

  it('add_columns: a new column of a type the sink database lacks fails, naming the type, until it is created there', async () => {
    const s = await scenario('newtype');
    const mood = `CREATE TYPE mood AS ENUM ('sad', 'ok')`;
    await sql(src.url, `${mood}; ALTER TABLE public.newtype ADD COLUMN m mood; UPDATE public.newtype SET m = 'ok', updated_at = '2025-01-01' WHERE id = 2`);
    const before = await s.snapshot();
    await expect(s.run('newtype/sync', 'sync')).rejects.toMatchObject({
      nonRetryable: true,
      type: 'SinkSetupError',
      message: expect.stringMatching(/sink\.schemaChanges: the sink database has no type for column\(s\) "m" \(mood\): a type named in source\.columns .* may be misspelt; a type of a PostgreSQL source must be created there/),
    });
    expect(await s.snapshot()).toEqual(before);
    await sql(dst.url, mood);
    expect(await s.run('newtype/sync2', 'sync')).toMatchObject({ rows: 1, done: true });
    expect(await sql(dst.url, 'SELECT m::text FROM copy.newtype WHERE id = 2')).toEqual([{ m: 'ok' }]);
  });

  it('schemaChanges: fail stops at a new column, naming it and the fixes, and writes nothing', async () => {
    const s = await scenario('strict', { schemaChanges: 'fail' });
    await sql(src.url, `ALTER TABLE public.strict ADD COLUMN color text; UPDATE public.strict SET color = 'red', updated_at = '2025-01-01' WHERE id = 3`);
    await expectDriftFailure(s, 'strict/sync', /source column "color" \(text\) is not in the target.*ADD COLUMN "color" text.*sink\.schemaChanges: add_columns.*source\.columns/);
    expect(await s.targetColumns()).not.toContain('color text');
    // The fix the message names: add the column, and the sync goes on.
    await sql(dst.url, 'ALTER TABLE copy.strict ADD COLUMN color text');
    expect(await s.run('strict/sync2', 'sync')).toMatchObject({ rows: 1, done: true });
    expect(await sql(dst.url, 'SELECT color FROM copy.strict WHERE id = 3')).toEqual([{ color: 'red' }]);
    // The rows written before hold NULL there, as when tidemark adds a column: the run says so (acceptance L: a
    // DBA's column, after the run could not alter a table it does not own, left 88,890 rows NULL without a word).
    expect(await sql(dst.url, 'SELECT count(*)::int AS n FROM copy.strict WHERE color IS NULL')).toEqual([{ n: 19 }]);
    const [warned] = await sql<{ w: string[] }>(dst.url, `SELECT warnings AS w FROM tidemark.runs WHERE run_id = 'strict/sync2'`);
    const adopted = (w: string[] | undefined) => (w ?? []).filter((x) => x.startsWith('new in the source'));
    expect(adopted(warned?.w)).toEqual([
      'new in the source since the last run: "color" (text), which the target already had (added by hand, or kept from before); rows written before hold what the target has there (NULL, its default or older values) until they change: `tidemark verify strict --repair` (or a backfill) fills them',
    ]);
    // Once: the next run has seen it.
    await sql(src.url, `UPDATE public.strict SET color = 'blue', updated_at = '2025-01-02' WHERE id = 4`);
    expect(await s.run('strict/sync3', 'sync')).toMatchObject({ rows: 1, done: true });
    const [next] = await sql<{ w: string[] }>(dst.url, `SELECT warnings AS w FROM tidemark.runs WHERE run_id = 'strict/sync3'`);
    expect(adopted(next?.w)).toEqual([]);
  });

  it('a dropped source column fails, naming it, until the drop is acknowledged', async () => {
    const s = await scenario('dropped');
    await sql(src.url, `ALTER TABLE public.dropped DROP COLUMN qty; UPDATE public.dropped SET label = 'changed', updated_at = '2025-01-01' WHERE id = 5`);
    await expectDriftFailure(s, 'dropped/sync', /source column "qty" \(integer\) was dropped.*DROP COLUMN "qty".*DELETE FROM tidemark\.source_columns WHERE integration = 'dropped'/);
    // Acknowledged by recording the new shape: the target keeps its old qty values.
    await sql(dst.url, `DELETE FROM tidemark.source_columns WHERE integration = 'dropped'`);
    expect(await s.run('dropped/sync2', 'sync')).toMatchObject({ rows: 1, done: true });
    expect(await sql(dst.url, 'SELECT label, qty::text FROM copy.dropped WHERE id = 5')).toEqual([{ label: 'changed', qty: '5' }]);
  });

  it('a retyped source column fails, naming it and both types, until the target follows', async () => {
    const s = await scenario('retyped');
    await sql(src.url, `ALTER TABLE public.retyped ALTER COLUMN qty TYPE bigint; UPDATE public.retyped SET qty = 10000000000, updated_at = '2025-01-01' WHERE id = 6`);
    await expectDriftFailure(s, 'retyped/sync', /source column "qty" changed type from integer to bigint.*ALTER TABLE copy\.retyped ALTER COLUMN "qty" TYPE bigint/);
    await sql(dst.url, 'ALTER TABLE copy.retyped ALTER COLUMN qty TYPE bigint');
    expect(await s.run('retyped/sync2', 'sync')).toMatchObject({ rows: 1, done: true });
    expect(await sql(dst.url, 'SELECT qty::text FROM copy.retyped WHERE id = 6')).toEqual([{ qty: '10000000000' }]);
  });
});
