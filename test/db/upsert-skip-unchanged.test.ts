import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeCopyRows } from '../../src/pg/copy-text';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { underHashJoin, upsertFromStageSql } from '../../src/sinks/upsert-sql';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

// The re-sync path (issue #16): after a mostly unchanged page, the page's target rows come from one index
// scan over its keys, hash-joined to the stage; only rows that differ (exactly) reach ON CONFLICT.
let dst: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  dst = await createTestDatabase('upsert_skip');
  client = new pg.Client({ connectionString: dst.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await dst?.drop();
});
beforeEach(async () => {
  await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; CREATE SCHEMA copy');
});

const copy = (rows: (string | null)[][]) => Buffer.from(encodeCopyRows(rows));
const noState = async () => undefined;
const unlocked = async (table: string, where = 'true') =>
  (await sql<{ n: string }>(dst.url, `SELECT count(*) FILTER (WHERE xmax::text <> '0')::text AS n FROM ${table} WHERE ${where}`))[0]?.n;

describe('skipping unchanged rows, one-column key', () => {
  const COLUMNS = [
    { name: 'id', type: 'bigint', notNull: true },
    { name: 'price', type: 'numeric', notNull: false },
    { name: 'doc', type: 'jsonb', notNull: false },
    { name: 'note', type: 'text', notNull: false },
  ];
  const row = (i: number, over: Partial<{ price: string | null; doc: string | null; note: string | null }> = {}) => [
    String(i),
    over.price !== undefined ? over.price : `${i}.50`,
    over.doc !== undefined ? over.doc : `{"n": ${i}}`,
    over.note !== undefined ? over.note : i % 5 === 0 ? null : `note ${i}`,
  ];

  async function filled(keyUniqueInPage: boolean): Promise<PostgresSink> {
    await sql(dst.url, 'CREATE TABLE copy.t (id bigint PRIMARY KEY, price numeric, doc jsonb, note text)');
    const s = new PostgresSink(client, { kind: 'postgres', table: 'copy.t', key: ['id'], create: false } as never);
    await s.prepare(COLUMNS, { keyUniqueInPage });
    // An initial load, then a page equal to the target: the sink now filters unchanged rows first.
    expect(await s.writeCopy(copy(Array.from({ length: 300 }, (_, k) => row(k + 1))), 300, noState)).toEqual({ written: 300 });
    expect(await s.writeCopy(copy(Array.from({ length: 100 }, (_, k) => row(k + 1))), 100, noState)).toEqual({ written: 0 });
    return s;
  }

  it('writes exactly the rows that differ (numeric scale, jsonb text, NULL vs empty), inserts new keys, locks nothing else', async () => {
    const s = await filled(true);
    const page = [
      ...Array.from({ length: 100 }, (_, k) => row(k + 101)), // equal
      row(201, { price: '201.500' }), // same number, other text: a change
      row(202, { doc: '{"n":202, "x": 1}' }),
      row(205, { note: '' }), // NULL before, empty string now
      row(206, { note: null }), // text before, NULL now
      row(1001), // new key
    ];
    expect(await s.writeCopy(copy(page), page.length, noState)).toEqual({ written: 5 });
    expect(await unlocked('copy.t', 'id BETWEEN 101 AND 200')).toBe('0');
    const got = await sql(dst.url, `SELECT t.id::text, price::text, note FROM copy.t t WHERE t.id IN (201, 205, 206, 1001) ORDER BY t.id`);
    expect(got).toEqual([
      { id: '201', price: '201.500', note: 'note 201' },
      { id: '205', price: '205.50', note: '' },
      { id: '206', price: '206.50', note: null },
      { id: '1001', price: '1001.50', note: 'note 1001' },
    ]);
  });

  it('a key repeated within a page (no unique source key): the last row wins, through the same filter', async () => {
    const s = await filled(false);
    const page = [...Array.from({ length: 50 }, (_, k) => row(k + 1)), row(7, { note: 'first' }), row(7, { note: 'last' }), row(8, { note: 'x' }), row(8)];
    expect(await s.writeCopy(copy(page), page.length, noState)).toEqual({ written: 1 });
    expect(await sql(dst.url, `SELECT id::text, note FROM copy.t WHERE id IN (7, 8) ORDER BY id`)).toEqual([
      { id: '7', note: 'last' },
      { id: '8', note: 'note 8' },
    ]);
  });

  it("reads the page's rows by the key's index, never the whole target, and leaves the session's join settings as they were", async () => {
    await filled(true);
    await sql(dst.url, 'INSERT INTO copy.t SELECT g, g, NULL, NULL FROM generate_series(1000, 20999) g; ANALYZE copy.t');
    await client.query('CREATE TEMP TABLE s (id bigint, price numeric, doc jsonb, note text)');
    await client.query(`INSERT INTO s SELECT g, g, NULL, NULL FROM generate_series(1, 3000) g`);
    const statement = upsertFromStageSql('copy.t', 'pg_temp.s', ['id', 'price', 'doc', 'note'], ['id'], true, new Set(['price', 'doc']), true);
    await client.query('SET enable_mergejoin = off'); // a session value of the user's: restored to it, not to the default
    await client.query('BEGIN');
    const explained = (await client.query(underHashJoin(`EXPLAIN ${statement}`, { enable_nestloop: 'on', enable_mergejoin: 'off' }))) as unknown as pg.QueryResult[];
    const plan = explained.flatMap((r) => r.rows.map((x: Record<string, string>) => Object.values(x)[0])).join('\n');
    const after = await client.query<{ a: string; b: string }>(`SELECT current_setting('enable_nestloop') AS a, current_setting('enable_mergejoin') AS b`);
    await client.query('ROLLBACK');
    await client.query('RESET enable_mergejoin; DROP TABLE s');
    expect(plan).toMatch(/Hash (Right |Left )?Join/);
    expect(plan).toMatch(/Index Scan using t_pkey on t/);
    expect(plan).not.toMatch(/Seq Scan on t\b/);
    expect(after.rows[0]).toEqual({ a: 'on', b: 'off' });
  });
});

describe('skipping unchanged rows, composite key', () => {
  it('keeps the per-row probe and writes only what changed', async () => {
    await sql(dst.url, `CREATE TABLE copy.c (tenant int, id int, v text, PRIMARY KEY (tenant, id)); INSERT INTO copy.c SELECT 1, g, 'v' || g FROM generate_series(1, 200) g`);
    const s = new PostgresSink(client, { kind: 'postgres', table: 'copy.c', key: ['tenant', 'id'], create: false } as never);
    const cols = [
      { name: 'tenant', type: 'integer', notNull: true },
      { name: 'id', type: 'integer', notNull: true },
      { name: 'v', type: 'text', notNull: false },
    ];
    await s.prepare(cols, { keyUniqueInPage: true });
    const rows = (from: number, to: number, v = (i: number) => `v${i}`) => Array.from({ length: to - from + 1 }, (_, k) => ['1', String(from + k), v(from + k)]);
    expect(await s.writeCopy(copy(rows(1, 100)), 100, noState)).toEqual({ written: 0 });
    expect(await s.writeCopy(copy([...rows(101, 200, (i) => (i === 150 ? 'changed' : `v${i}`)), ['2', '1', 'new']]), 101, noState)).toEqual({ written: 2 });
    expect(await unlocked('copy.c', 'tenant = 1 AND id > 100 AND id <> 150')).toBe('0');
    expect(upsertFromStageSql('copy.c', 's', ['tenant', 'id', 'v'], ['tenant', 'id'], true, new Set(), true)).toContain('NOT EXISTS');
  });
});

describe('columns compared exactly, kept per worker', () => {
  it('a column made case-insensitive between runs is compared as text from the next run on', async () => {
    await sql(dst.url, `CREATE COLLATION IF NOT EXISTS copy_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`);
    await sql(dst.url, 'CREATE TABLE copy.k (id bigint PRIMARY KEY, v text)');
    const cols = [
      { name: 'id', type: 'bigint', notNull: true },
      { name: 'v', type: 'text', notNull: false },
    ];
    const rows = (v: (i: number) => string) => copy(Array.from({ length: 100 }, (_, k) => [String(k + 1), v(k + 1)]));
    const first = new PostgresSink(client, { kind: 'postgres', table: 'copy.k', key: ['id'], create: false } as never);
    await first.prepare(cols, { keyUniqueInPage: true });
    expect(await first.writeCopy(rows((i) => `v${i}`), 100, noState)).toEqual({ written: 100 });
    // The same table and columns, now case-insensitive: `=` calls 'v5' and 'V5' equal, so v must compare as text.
    await sql(dst.url, 'ALTER TABLE copy.k ALTER COLUMN v TYPE text COLLATE copy_ci');
    const next = new PostgresSink(client, { kind: 'postgres', table: 'copy.k', key: ['id'], create: false } as never);
    await next.prepare(cols, { keyUniqueInPage: true });
    expect(await next.writeCopy(rows((i) => (i === 5 ? 'V5' : `v${i}`)), 100, noState)).toEqual({ written: 1 });
    expect(await sql(dst.url, `SELECT v FROM copy.k WHERE id = 5`)).toEqual([{ v: 'V5' }]);
  });
});
