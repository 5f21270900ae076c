import { MockActivityEnvironment } from '@temporalio/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type RunInput, type RunResult } from '../../src/activities';
import { parseConfig, type Config } from '../../src/config';
import { connect } from '../../src/pg/connect';
import { PostgresSink } from '../../src/sinks/postgres-sink';
import { describeTable, type TableInfo } from '../../src/sources/postgres/describe-table';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { sql } from '../helpers/fixtures';

/**
 * One column per built-in type family. `a` is every row's value after the seed, `b` the value a row
 * gets when that column changes. Several b's are chosen so that the type's own `=` (where it has one)
 * calls them equal to a although their text differs: the upsert must still write them.
 */
const TYPES: ReadonlyArray<{ col: string; type: string; a: string; b: string }> = [
  { col: 'c_int2', type: 'smallint', a: `1`, b: `-2` },
  { col: 'c_int4', type: 'integer', a: `1`, b: `2` },
  { col: 'c_int8', type: 'bigint', a: `1`, b: `9223372036854775807` },
  { col: 'c_numeric', type: 'numeric', a: `1.0`, b: `1.00` }, // 1.0 = 1.00
  { col: 'c_numeric_ps', type: 'numeric(12,2)', a: `1.25`, b: `1.26` },
  { col: 'c_real', type: 'real', a: `0`, b: `-0` }, // 0 = -0
  { col: 'c_double', type: 'double precision', a: `0.1`, b: `'NaN'` },
  { col: 'c_money', type: 'money', a: `12.34`, b: `12.35` },
  { col: 'c_bit', type: 'bit(4)', a: `B'1010'`, b: `B'1011'` },
  { col: 'c_varbit', type: 'bit varying(8)', a: `B'1'`, b: `B'10'` },
  { col: 'c_bool', type: 'boolean', a: `true`, b: `false` },
  { col: 'c_text', type: 'text', a: `E'tab\\there\\nnew line \\\\ back'`, b: `E'tab\\there\\nnew line \\\\ back!'` },
  { col: 'c_varchar', type: 'varchar(20)', a: `'abc'`, b: `'abd'` },
  { col: 'c_char', type: 'char(5)', a: `'ab'`, b: `'abc'` },
  { col: 'c_bytea', type: 'bytea', a: `'\\x00ff5c0a'`, b: `'\\x00ff5c0b'` },
  { col: 'c_date', type: 'date', a: `'2024-02-29'`, b: `'infinity'` },
  { col: 'c_time', type: 'time', a: `'12:34:56.123456'`, b: `'12:34:56.123457'` },
  { col: 'c_timetz', type: 'timetz', a: `'12:00:00+02'`, b: `'10:00:00+00'` }, // the same instant, other zone
  { col: 'c_timestamp', type: 'timestamp', a: `'2024-01-01 00:00:00.000001'`, b: `'2024-01-01 00:00:00.000002'` },
  { col: 'c_timestamptz', type: 'timestamptz', a: `'2024-01-01 00:00:00+00'`, b: `'2024-01-01 00:00:00.5+00'` },
  { col: 'c_interval', type: 'interval', a: `'1 day'`, b: `'24 hours'` }, // '1 day' = '24 hours'
  { col: 'c_uuid', type: 'uuid', a: `'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`, b: `'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'` },
  { col: 'c_json', type: 'json', a: `'{"a": 1, "b": [1, 2]}'`, b: `'{"b": [1, 2], "a": 1}'` }, // same as jsonb, other key order
  { col: 'c_json_dup', type: 'json', a: `'{"a": 1}'`, b: `'{"a": 0, "a": 1}'` }, // duplicate key: json keeps it
  { col: 'c_jsonb', type: 'jsonb', a: `'{"a": 1.0}'`, b: `'{"a": 1.00}'` }, // jsonb = compares numbers by value
  { col: 'c_xml', type: 'xml', a: `'<a x="1">t</a>'`, b: `'<a x="2">t</a>'` },
  { col: 'c_inet', type: 'inet', a: `'192.168.0.1/24'`, b: `'192.168.0.1/25'` },
  { col: 'c_cidr', type: 'cidr', a: `'10.0.0.0/8'`, b: `'2001:db8::/32'` },
  { col: 'c_macaddr', type: 'macaddr', a: `'08:00:2b:01:02:03'`, b: `'08:00:2b:01:02:04'` },
  { col: 'c_macaddr8', type: 'macaddr8', a: `'08:00:2b:01:02:03:04:05'`, b: `'08:00:2b:01:02:03:04:06'` },
  { col: 'c_point', type: 'point', a: `'(1,2)'`, b: `'(1,2.5)'` },
  { col: 'c_line', type: 'line', a: `'{1,-1,0}'`, b: `'{2,-2,0}'` }, // the same line, other coefficients
  { col: 'c_lseg', type: 'lseg', a: `'[(0,0),(1,1)]'`, b: `'[(1,1),(0,0)]'` },
  { col: 'c_box', type: 'box', a: `'(1,1),(0,0)'`, b: `'(2,0.5),(0,0)'` }, // box = compares areas
  { col: 'c_path', type: 'path', a: `'((0,0),(1,1))'`, b: `'((0,0),(2,2))'` }, // path = compares point counts
  { col: 'c_polygon', type: 'polygon', a: `'((0,0),(1,0),(1,1))'`, b: `'((0,0),(1,0),(1,2))'` },
  { col: 'c_circle', type: 'circle', a: `'<(0,0),1>'`, b: `'<(5,5),1>'` }, // circle = compares areas
  { col: 'c_int4range', type: 'int4range', a: `'[1,10)'`, b: `'[1,11)'` },
  { col: 'c_numrange', type: 'numrange', a: `'[1.0,2.0)'`, b: `'[1.00,2.0)'` },
  { col: 'c_tstzrange', type: 'tstzrange', a: `'[2024-01-01,2024-02-01)'`, b: `'[2024-01-01,)'` },
  { col: 'c_daterange', type: 'daterange', a: `'[2024-01-01,2024-02-01)'`, b: `'empty'` },
  { col: 'c_int4multirange', type: 'int4multirange', a: `'{[1,3),[5,7)}'`, b: `'{[1,3),[5,8)}'` },
  { col: 'c_nummultirange', type: 'nummultirange', a: `'{[1.0,2.0)}'`, b: `'{[1.0,2.00)}'` },
  { col: 'c_int_arr', type: 'integer[]', a: `'{1,NULL,3}'`, b: `'{1,NULL,NULL}'` },
  { col: 'c_text_2d', type: 'text[][]', a: `'{{a,"b c"},{NULL,"d\\"e"}}'`, b: `'{{a,"b c"},{NULL,"d\\"f"}}'` },
  { col: 'c_num_arr', type: 'numeric[]', a: `'{1.0}'`, b: `'{1.00}'` },
  { col: 'c_lbound_arr', type: 'integer[]', a: `'{1,2}'`, b: `'[0:1]={1,2}'` },
  { col: 'c_json_arr', type: 'json[]', a: `ARRAY['{"a":1}'::json]`, b: `ARRAY['{"a": 1}'::json]` },
  { col: 'c_enum', type: 'mood', a: `'ok'`, b: `'happy'` },
  { col: 'c_enum_arr', type: 'mood[]', a: `'{ok,sad}'`, b: `'{ok,happy}'` },
  { col: 'c_domain', type: 'posint', a: `1`, b: `2` },
  { col: 'c_json_domain', type: 'jdoc', a: `'{"a":1}'`, b: `'{"a": 1}'` },
  { col: 'c_composite', type: 'pair', a: `ROW(1, '{"k":1}')`, b: `ROW(1, '{"k": 1}')` }, // a json field: no record =
  { col: 'c_composite_arr', type: 'pair[]', a: `ARRAY[ROW(1, '[]')::pair]`, b: `ARRAY[ROW(2, '[]')::pair]` },
  { col: 'c_tsvector', type: 'tsvector', a: `'fat:2 rat:3'`, b: `'fat:2 rat:4'` },
  { col: 'c_tsquery', type: 'tsquery', a: `'fat & rat'`, b: `'fat | rat'` },
  { col: 'c_pg_lsn', type: 'pg_lsn', a: `'16/B374D848'`, b: `'16/B374D849'` },
];

const USER_TYPES = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
  CREATE DOMAIN jdoc AS json;
  CREATE TYPE pair AS (n integer, doc json);`;

const K = TYPES.length;
// Rows 1..K: row k changes only column k. K+1: all NULL → all set. K+2: all set → all NULL. K+3..K+5: untouched.
const NULL_TO_VALUE = K + 1;
const VALUE_TO_NULL = K + 2;
const UNTOUCHED = [K + 3, K + 4, K + 5];
const ROWS = K + 5;
const COLS = TYPES.map((t) => t.col);

let src: TestDatabase;
let dst: TestDatabase;

beforeAll(async () => {
  [src, dst] = await Promise.all([createTestDatabase('types_src'), createTestDatabase('types_dst')]);
  // Enums, domains and composites must exist in the sink database for create: true to use them.
  await sql(dst.url, USER_TYPES);
  await sql(
    src.url,
    `${USER_TYPES}
     CREATE TABLE public.everything (id bigint PRIMARY KEY, updated_at timestamptz NOT NULL, ${TYPES.map((t) => `${t.col} ${t.type}`).join(', ')});
     CREATE INDEX ON public.everything (updated_at, id);
     INSERT INTO public.everything (id, updated_at, ${COLS.join(', ')})
       SELECT g, '2024-01-01'::timestamptz + g * interval '1 second', ${TYPES.map((t) => `${t.a}::${t.type}`).join(', ')}
         FROM generate_series(1, ${ROWS}) g;
     UPDATE public.everything SET ${COLS.map((c) => `${c} = NULL`).join(', ')} WHERE id = ${NULL_TO_VALUE};`,
  );
});
afterAll(async () => {
  await Promise.all([src?.drop(), dst?.drop()]);
});

function config(table = 'copy.everything', batchSize = 7): Config {
  return parseConfig({
    integrations: [
      {
        id: 'everything',
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.everything', cursor: ['updated_at', 'id'] },
        // The upsert's promise, row by row: exactly the changed rows rewritten. A replaced page (replace-rows.ts) may
        // also rewrite the few unchanged rows it holds; replaced pages of every type are tested below.
        sink: { kind: 'postgres', url: '${DST_URL}', table, key: ['id'], create: true, replacePages: false },
        batchSize, // several pages, so page boundaries fall between types
      },
    ],
  });
}

/** `work` with a session on the target database, the source's, and public.everything's columns and rows (as text). */
async function withEverything(work: (db: pg.Client, source: pg.Client, info: TableInfo, rows: (string | null)[][]) => Promise<void>): Promise<void> {
  const db = await connect(dst.url);
  const source = await connect(src.url);
  try {
    const info = await describeTable(source, { schema: 'public', name: 'everything' }, 'source');
    const rows = (await source.query<(string | null)[]>({ text: 'SELECT * FROM public.everything ORDER BY id', rowMode: 'array' })).rows;
    await work(db, source, info!, rows);
  } finally {
    await Promise.all([db.end(), source.end()]);
  }
}

function run(input: Partial<RunInput> & { runKey: string }, cfg = config()): Promise<RunResult> {
  const acts = createActivities({ config: () => cfg, env: { SRC_URL: src.url, DST_URL: dst.url } });
  const full: RunInput = { integration: 'everything', mode: 'backfill', ...input };
  return new MockActivityEnvironment().run(acts.runIntegration, full) as Promise<RunResult>;
}

/** Every row, every column, as PostgreSQL text. */
async function asText(url: string, table: string): Promise<string[][]> {
  const rows = await sql<{ r: string[] }>(url, `SELECT ARRAY[id::text, updated_at::text, ${COLS.map((c) => `${c}::text`).join(', ')}] AS r FROM ${table} ORDER BY id`);
  return rows.map((r) => r.r);
}

async function expectSameRows(table = 'copy.everything'): Promise<void> {
  const [want, got] = await Promise.all([asText(src.url, 'public.everything'), asText(dst.url, table)]);
  expect(got.length).toBe(want.length);
  for (const [i, row] of want.entries()) {
    for (const [j, value] of row.entries()) expect(got[i]?.[j], `row ${row[0]}, column ${['id', 'updated_at', ...COLS][j]}`).toBe(value);
  }
}

async function xmins(table = 'copy.everything'): Promise<Map<string, string>> {
  const rows = await sql<{ id: string; x: string }>(dst.url, `SELECT id::text, xmin::text AS x FROM ${table}`);
  return new Map(rows.map((r) => [r.id, r.x]));
}

async function rowsWritten(runKey: string): Promise<number> {
  const [r] = await sql<{ n: string }>(dst.url, 'SELECT rows_written::text AS n FROM tidemark.runs WHERE run_id = $1::text', [runKey]);
  return Number(r?.n);
}

describe('every built-in type through backfill and incremental sync', () => {
  it('backfills (COPY into the empty target), syncs each changed type, and rewrites only changed rows', async () => {
    expect(await run({ runKey: 'types/backfill' })).toMatchObject({ rows: ROWS, done: true });
    await expectSameRows();
    // create: true made every column with the source's own type, enums, domains and composites included.
    const [srcInfo, dstInfo] = await Promise.all([tableTypes(src.url, 'public.everything'), tableTypes(dst.url, 'copy.everything')]);
    expect(dstInfo).toEqual(srcInfo);

    const before = await xmins();
    // Row k changes column k only (to a value its type's `=` may call equal), plus NULL ↔ value for every type.
    await sql(
      src.url,
      `${TYPES.map((t, k) => `UPDATE public.everything SET ${t.col} = ${t.b}::${t.type}, updated_at = '2025-01-01'::timestamptz + id * interval '1 second' WHERE id = ${k + 1};`).join('\n')}
       UPDATE public.everything SET ${TYPES.map((t) => `${t.col} = ${t.a}::${t.type}`).join(', ')}, updated_at = '2025-02-01' WHERE id = ${NULL_TO_VALUE};
       UPDATE public.everything SET ${COLS.map((c) => `${c} = NULL`).join(', ')}, updated_at = '2025-02-02' WHERE id = ${VALUE_TO_NULL};`,
    );
    expect(await run({ runKey: 'types/sync', mode: 'sync' })).toMatchObject({ rows: K + 2, done: true });
    await expectSameRows();
    expect(await rowsWritten('types/sync')).toBe(K + 2);
    const after = await xmins();
    for (const id of UNTOUCHED) expect(after.get(String(id)), `untouched row ${id}`).toBe(before.get(String(id)));
    for (let id = 1; id <= VALUE_TO_NULL; id++) expect(after.get(String(id)), `changed row ${id}`).not.toBe(before.get(String(id)));

    // A full re-read through the upsert (the target is not empty now) finds nothing to change in any type.
    expect(await run({ runKey: 'types/reread' })).toMatchObject({ rows: ROWS, done: true });
    expect(await rowsWritten('types/reread')).toBe(0);
    expect(await xmins()).toEqual(after);

    // Only column k back to its seed value, updated_at kept: nothing but that column tells the rows apart.
    await sql(src.url, TYPES.map((t, k) => `UPDATE public.everything SET ${t.col} = ${t.a}::${t.type} WHERE id = ${k + 1};`).join('\n'));
    expect(await run({ runKey: 'types/revert' })).toMatchObject({ rows: ROWS, done: true });
    expect(await rowsWritten('types/revert')).toBe(K);
    await expectSameRows();
  });

  it('the staged upsert path takes every type as row text too (inserts, no-op rewrites, changes)', async () => {
    await withEverything(async (db, source, info, rows) => {
      // replacePages: false keeps mostly changed pages on the upsert too (the next test replaces them).
      const sink = new PostgresSink(db, { kind: 'postgres', url: '', table: 'staged.everything', key: ['id'], create: true, replacePages: false });
      await sink.prepare(info.columns, { allowDirect: false });
      expect(sink.directLoad).toBe(false);
      const write = (batch: (string | null)[][]) => sink.writeBatch(batch, async () => undefined);
      expect(await write(rows)).toEqual({ written: ROWS });
      expect(await write(rows)).toEqual({ written: 0 });
      // Row k with column k set to its `b` value (as the source's text), so each row differs in one column.
      const b = (await source.query<string[]>({ text: `SELECT ${TYPES.map((t) => `(${t.b}::${t.type})::text`).join(', ')}`, rowMode: 'array' })).rows[0]!;
      const changed = rows.slice(0, K).map((r, k) => r.map((v, j) => (j === k + 2 ? (b[k] ?? null) : v)));
      expect(await write(changed)).toEqual({ written: K });
      expect(await write(changed)).toEqual({ written: 0 });
      expect(await write(rows)).toEqual({ written: K });
      const [want, got] = await Promise.all([asText(src.url, 'public.everything'), asText(dst.url, 'staged.everything')]);
      expect(got).toEqual(want);
    });
  });

  it('replaced pages (DELETE of their keys + COPY) take every type as row text too, the keys of every key type', async () => {
    await withEverything(async (db, source, info, rows) => {
      const sink = new PostgresSink(db, { kind: 'postgres', url: '', table: 'replaced.everything', key: ['id'], create: true });
      await sink.prepare(info.columns, { allowDirect: false });
      expect(sink.replaceBlocker).toBeUndefined();
      const sent: string[] = [];
      const write = (batch: (string | null)[][]) => sink.writeBatch(batch, async (tx) => void sent.push(String((await tx.query('SELECT 1 AS one')).rowCount)));
      expect(await write(rows)).toEqual({ written: ROWS }); // staged: every row new, so the next pages are replaced
      const b = (await source.query<string[]>({ text: `SELECT ${TYPES.map((t) => `(${t.b}::${t.type})::text`).join(', ')}`, rowMode: 'array' })).rows[0]!;
      const changed = rows.map((r, k) => (k < K ? r.map((v, j) => (j === k + 2 ? (b[k] ?? null) : v)) : r.map((v, j) => (j === 2 + (k % K) ? null : v))));
      expect(await write(changed)).toEqual({ written: ROWS });
      expect(await asText(dst.url, 'replaced.everything')).not.toEqual(await asText(src.url, 'public.everything'));
      expect(await write(rows)).toEqual({ written: ROWS });
      const [want, got] = await Promise.all([asText(src.url, 'public.everything'), asText(dst.url, 'replaced.everything')]);
      expect(got).toEqual(want);
      expect(sent).toHaveLength(3);
      // Every key column type deletes its own rows: text, composite keys of awkward types.
      for (const key of [['c_text'], ['c_timestamptz', 'id'], ['c_numeric', 'c_uuid', 'id']]) {
        const table = `replaced.by_${key.join('_')}`;
        const target = new PostgresSink(db, { kind: 'postgres', url: '', table, key, create: true });
        const cols = info.columns;
        await target.prepare(cols, { allowDirect: false });
        const unique = rows.filter((r, i) => rows.findIndex((o) => key.every((k) => o[cols.findIndex((c) => c.name === k)] === r[cols.findIndex((c) => c.name === k)])) === i);
        const keyed = unique.filter((r) => key.every((k) => r[cols.findIndex((c) => c.name === k)] !== null));
        await target.writeBatch(keyed, async () => undefined);
        const swapped = keyed.map((r) => r.map((v, j) => (cols[j]!.name === 'c_bool' ? (v === 't' ? 'f' : 't') : v)));
        expect(await target.writeBatch(swapped, async () => undefined)).toEqual({ written: keyed.length });
        expect(await sql(dst.url, `SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: keyed.length }]);
        expect(await target.writeBatch(keyed, async () => undefined)).toEqual({ written: keyed.length });
        expect(await sql(dst.url, `SELECT count(*)::int AS n FROM ${table}`)).toEqual([{ n: keyed.length }]);
      }
    });
  });

  it('create: true names a type missing in the sink database and says how to create it', async () => {
    const bare = await createTestDatabase('types_bare');
    const db = await connect(bare.url);
    const source = await connect(src.url);
    try {
      const info = await describeTable(source, { schema: 'public', name: 'everything' }, 'source');
      const sink = new PostgresSink(db, { kind: 'postgres', url: '', table: 'copy.everything', key: ['id'], create: true });
      await expect(sink.prepare(info!.columns)).rejects.toMatchObject({
        name: 'SinkSetupError',
        message: expect.stringMatching(/sink\.create: the sink database has no type for column\(s\) "c_enum" \(mood\), "c_enum_arr" \(mood\[\]\), "c_domain" \(posint\).*CREATE TYPE … AS ENUM/),
      });
      expect(await sql(bare.url, `SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = 'copy'`)).toEqual([{ n: '0' }]);
    } finally {
      await Promise.all([db.end(), source.end()]);
      await bare.drop();
    }
  });
});

async function tableTypes(url: string, table: string): Promise<string[]> {
  const rows = await sql<{ t: string }>(url, `SELECT attname || ' ' || format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [table]);
  return rows.map((r) => r.t);
}
