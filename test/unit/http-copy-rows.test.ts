import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { ORDER_COLUMN_TYPES } from '../../src/mock-api';
import { OrdersDataset } from '../../src/mock-api/orders-dataset';
import { encodeCopyRows } from '../../src/pg/copy-text';
import { compilePath, getPath } from '../../src/sources/http/json-path';
import { copyRowMaker, copyText, rowMaker } from '../../src/sources/http/records';

const columnsOf = (columns: Record<string, unknown>) =>
  (
    parseConfig({
      integrations: [{ id: 'x', source: { kind: 'http', url: 'http://api.test/v1', pagination: { style: 'cursor' }, columns }, sink: { url: 'postgres://h/db', table: 'a.b', key: ['id'] } }],
    }).integrations[0]!.source as HttpSourceConfig
  ).columns;

describe('http records → COPY text (the source\'s fast path)', () => {
  it('is byte for byte the COPY text of the rows (mock orders: nested JSON, tabs, newlines, backslashes, unicode, nulls)', () => {
    const records = new OrdersDataset(2_000, 5).snapshot();
    const columns = columnsOf(ORDER_COLUMN_TYPES);
    expect(copyText(copyRowMaker(columns)(records))).toBe(encodeCopyRows(rowMaker(columns)(records)));
  });

  it('the same for odd values: strings into json, objects into text, numbers, booleans, times in a format, nested paths', () => {
    const columns = columnsOf({
      id: 'bigint',
      doc: 'jsonb',
      raw: 'json',
      text: 'text',
      flag: 'boolean',
      city: { type: 'text', from: 'a.b.c' },
      at: { type: 'timestamptz', from: 'ms', format: 'epoch_ms' },
    });
    const records = [
      { id: 1, doc: 'tab\there "quoted" back\\slash', raw: { k: ['\n', '\r', '\\'] }, text: { nested: 'x\ty' }, flag: true, a: { b: { c: 'Zoë\\' } }, ms: 1700000000123 },
      { id: 2, doc: null, raw: 3.5, text: 'line\r\nbreak', flag: false, a: { b: null }, ms: '1700000000001' },
      { id: 3, text: 42, a: 'not an object' },
      { id: 4, doc: [], raw: {}, text: '', flag: null, a: { b: { c: '\\N' } } },
    ];
    const copy = copyText(copyRowMaker(columns)(records));
    expect(copy).toBe(encodeCopyRows(rowMaker(columns)(records)));
    expect(copy.split('\n')).toHaveLength(records.length + 1); // no raw newline inside a row
  });

  it('compiled dot paths read what getPath reads', () => {
    const v = { a: { b: { c: 1, d: null } }, e: [10, 20], s: 'x' };
    for (const path of ['.', 'a', 'a.b', 'a.b.c', 'a.b.d.x', 'e.1', 's.length', 'missing.x', 'a.b.c.d.e']) expect(compilePath(path)(v)).toEqual(getPath(v, path));
    expect(getPath(v, 'a.b.c')).toBe(1);
    expect(getPath(v, 's.length')).toBeUndefined(); // not an object: a string's properties are not fields
  });
});
