import { describe, expect, it } from 'vitest';
import { InvalidCursorError, keysetPageQuery, parseKeysetCursor, cursorGreaterQuery } from '../../src/cursor';
import { encodeCopyRows } from '../../src/sinks/copy-text';
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
