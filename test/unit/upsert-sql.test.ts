import { describe, expect, it } from 'vitest';
import { addColumnSql, createTableSql, upsertFromStageSql } from '../../src/sinks/upsert-sql';

describe('upsert change detection by type', () => {
  it('compares columns without an exact = by their text, byte for byte, and the rest natively', () => {
    const s = upsertFromStageSql('t', 's', ['id', 'n', 'doc', 'shape'], ['id'], true, new Set(['doc', 'shape']));
    expect(s).toBe(
      'INSERT INTO t AS t ("id", "n", "doc", "shape") SELECT "id", "n", "doc", "shape" FROM s ' +
        'ON CONFLICT ("id") DO UPDATE SET "n" = EXCLUDED."n", "doc" = EXCLUDED."doc", "shape" = EXCLUDED."shape" ' +
        'WHERE (t."n", t."doc"::text COLLATE "C", t."shape"::text COLLATE "C") IS DISTINCT FROM (EXCLUDED."n", EXCLUDED."doc"::text COLLATE "C", EXCLUDED."shape"::text COLLATE "C")',
    );
  });

  it('a key column is never compared, whatever its type', () => {
    expect(upsertFromStageSql('t', 's', ['k', 'v'], ['k'], true, new Set(['k']))).toContain('WHERE (t."v") IS DISTINCT FROM (EXCLUDED."v")');
  });
});

describe('target DDL', () => {
  it('creates columns with the source types and adds new ones nullable', () => {
    expect(createTableSql('"copy"."t"', [{ name: 'id', type: 'bigint', notNull: false }, { name: 'm', type: 'mood[]', notNull: true }], ['id'])).toBe(
      'CREATE TABLE IF NOT EXISTS "copy"."t" ("id" bigint NOT NULL, "m" mood[] NOT NULL, PRIMARY KEY ("id"))',
    );
    expect(addColumnSql('"copy"."t"', { name: 'price', type: 'numeric(8,2)' })).toBe('ALTER TABLE "copy"."t" ADD COLUMN IF NOT EXISTS "price" numeric(8,2)');
  });
});
