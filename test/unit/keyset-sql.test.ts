import { describe, expect, it } from 'vitest';
import { InvalidCursorError, keysetPageQuery, keysetRange, parseKeysetCursor, cursorGreaterQuery } from '../../src/cursor';
import { countCopyLines, decodeCopyValue, encodeCopyRows, lastCopyLine } from '../../src/pg/copy-text';
import { prefetch } from '../../src/sources/combinators/prefetch';
import { upsertFromStageSql } from '../../src/sinks/upsert-sql';

const cursor = [
  { name: 'updated_at', type: 'timestamp with time zone' },
  { name: 'id', type: 'bigint' },
];
const table = { schema: 'public', name: 'orders' };

describe('keyset SQL', () => {
  it('first page: no cursor predicate, ordered by the keyset, limited', () => {
    const q = keysetPageQuery({ table, select: ['id', 'updated_at'], cursor, after: null, upper: null, limit: 500 });
    expect(q.text).toBe('SELECT "id", "updated_at" FROM "public"."orders" ORDER BY "updated_at", "id" LIMIT $1');
    expect(q.values).toEqual([500]);
  });

  it('after a cursor: a row comparison with typed parameters, start-exclusive, and an exclusive upper bound', () => {
    const q = keysetPageQuery({ table, select: ['id'], cursor, after: ['2024-01-01 00:00:00.000123+00', '42'], upper: '2024-02-01 00:00:00+00', limit: 10 });
    expect(q.text).toBe(
      'SELECT "id" FROM "public"."orders" WHERE ("updated_at", "id") > ($1::timestamp with time zone, $2::bigint) ' +
        'AND "updated_at" < $3::timestamp with time zone ORDER BY "updated_at", "id" LIMIT $4',
    );
    expect(q.values).toEqual(['2024-01-01 00:00:00.000123+00', '42', '2024-02-01 00:00:00+00', 10]);
  });

  it("a shard's range: open below, closed above at its last key; a sample for planning", () => {
    const q = keysetPageQuery({ table, select: ['id'], cursor, after: ['2024-01-01 00:00:00+00', '5'], upper: null, until: ['2024-01-02 00:00:00+00', '9'], limit: 10 });
    expect(q.text).toBe(
      'SELECT "id" FROM "public"."orders" WHERE ("updated_at", "id") > ($1::timestamp with time zone, $2::bigint) ' +
        'AND ("updated_at", "id") <= ($3::timestamp with time zone, $4::bigint) ORDER BY "updated_at", "id" LIMIT $5',
    );
    const s = keysetPageQuery({ table, select: ['id'], cursor, after: null, upper: null, limit: 10, sample: 2.5 });
    expect(s.text).toBe('SELECT "id" FROM "public"."orders" TABLESAMPLE SYSTEM (2.500000) ORDER BY "updated_at", "id" LIMIT $1');
    expect(() => keysetPageQuery({ table, select: ['id'], cursor, after: null, upper: null, until: ['x'], limit: 1 })).toThrow(/upper cursor has 1 values for 2 columns/);
  });

  it('the range alone (for counts and estimates): the same condition and parameters as the page, `true` when unbounded', () => {
    const input = { table, cursor, after: ['2024-01-01 00:00:00+00', '5'], upper: '2024-02-01 00:00:00+00', until: ['2024-01-09 00:00:00+00', '9'] };
    const r = keysetRange(input);
    expect(r.text).toBe(
      '("updated_at", "id") > ($1::timestamp with time zone, $2::bigint) AND "updated_at" < $3::timestamp with time zone ' +
        'AND ("updated_at", "id") <= ($4::timestamp with time zone, $5::bigint)',
    );
    const page = keysetPageQuery({ ...input, select: ['id'], limit: 7 });
    expect(page.text).toContain(` WHERE ${r.text} ORDER BY`);
    expect(page.values).toEqual([...r.values, 7]);
    expect(keysetRange({ table, cursor, after: null, upper: null })).toEqual({ text: 'true', values: [] });
  });

  it('single-column keyset uses a plain comparison', () => {
    const q = keysetPageQuery({ table, select: ['id'], cursor: [cursor[1]!], after: ['7'], upper: null, limit: 5 });
    expect(q.text).toContain('WHERE "id" > $1::bigint');
  });

  it('rejects a cursor of the wrong arity', () => {
    expect(() => keysetPageQuery({ table, select: ['id'], cursor, after: ['42'], upper: null, limit: 5 })).toThrow(/1 values for 2 columns/);
  });

  it('cursor comparison in SQL types', () => {
    expect(cursorGreaterQuery(cursor, ['a', '1'], ['b', '2']).text).toBe(
      'SELECT (ROW($1::timestamp with time zone, $2::bigint) > ROW($3::timestamp with time zone, $4::bigint))::text AS greater',
    );
  });

  it('validates cursors: plain JSON, exact text, matching the columns', () => {
    expect(parseKeysetCursor(null, ['updated_at', 'id'])).toBeNull();
    expect(parseKeysetCursor(['2024-01-01 00:00:00.000001+00', '1'], ['updated_at', 'id'])).toEqual(['2024-01-01 00:00:00.000001+00', '1']);
    expect(() => parseKeysetCursor([1, 2], ['updated_at', 'id'])).toThrow(InvalidCursorError);
    expect(() => parseKeysetCursor(['x'], ['updated_at', 'id'])).toThrow(/array of 2 strings/);
    expect(() => parseKeysetCursor({ id: 1 }, ['id'])).toThrow(InvalidCursorError);
  });
});

describe('sink SQL', () => {
  it('upsert keeps the last row per key and skips unchanged rows', () => {
    const s = upsertFromStageSql('"public"."t"', 'pg_temp."s"', ['id', 'a', 'b'], ['id']);
    expect(s).toBe(
      'INSERT INTO "public"."t" AS t ("id", "a", "b") SELECT DISTINCT ON ("id") "id", "a", "b" FROM pg_temp."s" ORDER BY "id", tm_ord DESC ' +
        'ON CONFLICT ("id") DO UPDATE SET "a" = EXCLUDED."a", "b" = EXCLUDED."b" WHERE (t."a", t."b") IS DISTINCT FROM (EXCLUDED."a", EXCLUDED."b")',
    );
    expect(upsertFromStageSql('t', 's', ['id'], ['id'])).toContain('ON CONFLICT ("id") DO NOTHING');
  });

  it('COPY text encoding escapes specials and NULL', () => {
    expect(encodeCopyRows([['1', null, 'a\tb\nc\\d\re']])).toBe('1\t\\N\ta\\tb\\nc\\\\d\\re\n');
    expect(encodeCopyRows([])).toBe('');
  });
});

describe('COPY fast path pieces', () => {
  it('inlines cursor values as quoted, typed literals for COPY (which takes no parameters)', () => {
    const q = keysetPageQuery({ table, select: ['id'], cursor, after: ["2024-01-01 00:00:00+00", "4'2"], upper: null, limit: 10, inline: true });
    expect(q.text).toBe(
      `SELECT "id" FROM "public"."orders" WHERE ("updated_at", "id") > ('2024-01-01 00:00:00+00'::timestamp with time zone, '4''2'::bigint) ORDER BY "updated_at", "id" LIMIT 10`,
    );
    expect(q.values).toEqual([]);
  });

  it('decodes COPY text fields and finds the last line and the row count', () => {
    expect(decodeCopyValue('a\\tb\\nc\\\\d')).toBe('a\tb\nc\\d');
    expect(decodeCopyValue('\\N')).toBeNull();
    const data = Buffer.from('1\tx\n2\ty\\nz\n3\t\\N\n');
    expect(countCopyLines(data)).toBe(3);
    expect(lastCopyLine(data)).toEqual(['3', '\\N']);
    expect(lastCopyLine(Buffer.from('7\tq'))).toEqual(['7', 'q']);
  });

  it('prefetch yields every page once, in order, and stops the source when the caller stops', async () => {
    let reads = 0;
    let closed = false;
    async function* pages() {
      try {
        for (let i = 1; i <= 5; i++) {
          reads++;
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const seen: number[] = [];
    for await (const p of prefetch(pages())) seen.push(p);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(closed).toBe(true);
    reads = 0;
    closed = false;
    for await (const p of prefetch(pages())) if (p === 2) break;
    expect(reads).toBe(3); // one page ahead, no more
    expect(closed).toBe(true);
  });
});

describe('upsert without the in-page sort', () => {
  it('skips DISTINCT ON when the key is unique in the source', () => {
    expect(upsertFromStageSql('t', 's', ['id', 'a'], ['id'], true)).toBe(
      'INSERT INTO t AS t ("id", "a") SELECT "id", "a" FROM s ON CONFLICT ("id") DO UPDATE SET "a" = EXCLUDED."a" WHERE (t."a") IS DISTINCT FROM (EXCLUDED."a")',
    );
  });
});
