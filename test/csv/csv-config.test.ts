import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config';
import type { CsvSourceConfig } from '../../src/config/csv-source-schema';
import { createSource } from '../../src/sources/create-source';
import { tempDir } from './csv-helpers';

function issuesOf(source: Record<string, unknown>): string[] {
  try {
    parseConfig({ integrations: [{ id: 'c', source: { kind: 'csv', path: 'a.csv', ...source }, sink: { table: 't', key: ['id'] } }] }, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

const P = 'integrations[0].source';

describe('csv source config', () => {
  it('fills in the defaults', () => {
    const cfg = parseConfig({ integrations: [{ id: 'c', source: { kind: 'csv', path: 'a.csv' }, sink: { table: 't', key: ['id'] } }] });
    expect(cfg.integrations[0]!.source).toEqual({ kind: 'csv', path: 'a.csv', delimiter: ',', quote: '"', header: true, encoding: 'utf8', nullValue: '' });
    const never = parseConfig({ integrations: [{ id: 'c', source: { kind: 'csv', path: 'a.csv', nullValue: false }, sink: { table: 't', key: ['id'] } }] });
    expect((never.integrations[0]!.source as CsvSourceConfig).nullValue).toBeNull();
  });

  it('names the field of every mistake', () => {
    expect(issuesOf({ path: '' })).toEqual([`${P}.path: must be the path of a CSV file`]);
    expect(issuesOf({ delimiter: '' })).toEqual([`${P}.delimiter: must not be empty`]);
    expect(issuesOf({ delimiter: 'a\nb' })).toEqual([`${P}.delimiter: must not contain a line break`]);
    expect(issuesOf({ quote: "''" })).toEqual([`${P}.quote: must be a single character (the quote around fields, default ") or false (no quoting)`]);
    expect(issuesOf({ quote: ',' })).toEqual([`${P}.quote: must differ from the delimiter (both contain ",")`]);
    expect(issuesOf({ quote: false, escape: '\\' })).toEqual([`${P}.escape: has no effect with quote: false; remove it`]);
    expect(issuesOf({ header: false })).toEqual([`${P}.header: must be true (the first line names the columns) or a list of column names (the file has no header line)`]);
    expect(issuesOf({ header: ['id', 'id'] })).toEqual([`${P}.header[1]: "id" is listed twice (also header[0])`]);
    expect(issuesOf({ header: ['id', 'Full Name'] })).toEqual([
      `${P}.header[1]: "Full Name" becomes a target column, so it must be a plain SQL identifier (letters, digits, "_"); or map it under columns`,
    ]);
    expect(issuesOf({ encoding: 'utf16le' })).toEqual([`${P}.encoding: must be utf8 (the default) or latin1`]);
    expect(issuesOf({ nullValue: 0 })).toEqual([`${P}.nullValue: must be a string (the text that means NULL, default "") or false (no NULLs)`]);
    expect(issuesOf({ delimeter: ';' })).toEqual([`${P}: Unrecognized key: "delimeter" (did you mean "delimiter" for "delimeter"?)`]);
  });

  it('checks column mappings: names, types, duplicates, and the header list', () => {
    expect(issuesOf({ columns: { 'Order ID': { type: 'bigint' } } })).toEqual([
      `${P}.columns.Order ID: "Order ID" is not a plain SQL identifier: give its target column a name, e.g. { name: order_id }`,
    ]);
    expect(issuesOf({ columns: { id: { type: 'big int;drop' } } })).toEqual([`${P}.columns.id.type: must be a PostgreSQL type name, e.g. bigint, "numeric(12,2)", timestamptz, text`]);
    expect(issuesOf({ columns: { id: 'Not Ident' } })).toEqual([
      `${P}.columns.id: must be a plain SQL identifier: letters, digits, "_" or "$", not starting with a digit, at most 63 characters`,
    ]);
    expect(issuesOf({ columns: { id: 5 } })).toEqual([`${P}.columns.id: must be a target column name, or { name: <column>, type: <PostgreSQL type> } (both optional)`]);
    expect(issuesOf({ columns: { id: { nme: 'x' } } })).toEqual([`${P}.columns.id: Unrecognized key: "nme"`]);
    expect(issuesOf({ columns: { a: 'x', b: { name: 'x' } } })).toEqual([`${P}.columns.b: target column "x" is already used by "a"`]);
    expect(issuesOf({ header: ['a', 'b'], columns: { c: 'c' } })).toEqual([`${P}.columns.c: "c" is not in header ("a", "b")`]);
    expect(issuesOf({ columns: {} })).toEqual([`${P}.columns: must list at least one column (or leave columns out to load every column as text)`]);
  });

  it('resolves a relative path against the config file, and ${NAME} references in the worker', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'a.csv'), 'id,name\n1,x\n');
    const yaml = (path: string) =>
      `integrations:\n  - id: c\n    source: { kind: csv, path: "${path}" }\n    sink: { table: t, key: [id] }\n`;
    writeFileSync(join(dir, 'rel.yaml'), yaml('data/a.csv'));
    writeFileSync(join(dir, 'abs.yaml'), yaml('/srv/x.csv'));
    writeFileSync(join(dir, 'env.yaml'), yaml('${CSV_DIR}/a.csv'));
    const pathOf = (file: string) => (loadConfig(file, dir).integrations[0]!.source as CsvSourceConfig).path;
    expect(pathOf('rel.yaml')).toBe(join(dir, 'data', 'a.csv'));
    expect(pathOf('abs.yaml')).toBe('/srv/x.csv');
    expect(pathOf('env.yaml')).toBe('${CSV_DIR}/a.csv');
    // The reference is resolved where the source is built (the worker), and the file is read from there.
    const cfg = loadConfig('env.yaml', dir).integrations[0]!;
    const source = await createSource(cfg.source, cfg.id, { CSV_DIR: join(dir, 'data') });
    try {
      expect((await source.prepare({})).columns.map((c) => c.name)).toEqual(['id', 'name']);
    } finally {
      await source.close();
    }
    await expect(createSource(cfg.source, cfg.id, {})).rejects.toThrow(/integrations\[c\]\.source\.path refers to \$\{CSV_DIR\}, but CSV_DIR is not set/);
  });
});
