import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { ORDER_COLUMN_TYPES } from '../../src/mock-api';
import { OrdersDataset } from '../../src/mock-api/orders-dataset';
import { getPath } from '../../src/sources/http/json-path';
import { rawCopyMaker } from '../../src/sources/http/raw/raw-copy';
import { plainOf, rawRecords, spanOf } from '../../src/sources/http/raw/raw-records';
import { copyRowMaker, copyText } from '../../src/sources/http/records';

/**
 * Records read as bytes (issue 13, zero-latency API): the COPY text made from an answer's bytes must be
 * byte for byte what JSON.parse + the row maker write, for every answer the scanner accepts; and it must
 * accept nothing JSON.parse refuses.
 */
const columnsOf = (columns: Record<string, unknown>) =>
  (
    parseConfig({
      integrations: [{ id: 'x', source: { kind: 'http', url: 'http://api.test/v1', pagination: { style: 'cursor' }, columns }, sink: { url: 'postgres://h/db', table: 'a.b', key: ['id'] } }],
    }).integrations[0]!.source as HttpSourceConfig
  ).columns;

/** Both ways from the same answer text: [from bytes, from JSON.parse]. */
function both(text: string, columns: ReturnType<typeof columnsOf>, path = 'data'): [string, string] {
  const raw = rawRecords(Buffer.from(text), path);
  expect(raw, 'the scanner accepts the answer').toBeDefined();
  const fromBytes = rawCopyMaker(columns)(raw!.records)!.toString();
  const parsed = getPath(JSON.parse(text), path) as unknown[];
  // As the source sends them: UTF-8 (a lone surrogate becomes U+FFFD).
  return [fromBytes, Buffer.from(copyText(copyRowMaker(columns)(parsed))).toString()];
}

const unescapeCopy = (field: string) => field.replace(/\\([\\ntr])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);

const numbersIn = (json: string) => unescapeCopy(json).replace(/"(?:[^"\\]|\\.)*"/g, '""').match(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g) ?? [];

/**
 * The two COPY texts hold the same values: every field the same bytes, except a jsonb column's, which may
 * keep the API's spelling of its JSON (whitespace, \u escapes; numbers only when exact): the same JSON value.
 */
function expectSameValues(a: string, b: string, columns: ReturnType<typeof columnsOf>): void {
  const rowsA = a.split('\n');
  const rowsB = b.split('\n');
  expect(rowsA).toHaveLength(rowsB.length);
  rowsA.forEach((row, r) => {
    const fa = row.split('\t');
    const fb = (rowsB[r] as string).split('\t');
    expect(fa, `row ${r}`).toHaveLength(fb.length);
    fa.forEach((f, i) => {
      const jsonb = columns[i]?.type === 'jsonb' && f !== '\\N';
      if (jsonb) {
        expect(JSON.parse(unescapeCopy(f)), `row ${r} column ${columns[i]?.name}`).toEqual(JSON.parse(unescapeCopy(fb[i] as string)));
        // jsonb keeps a number as spelled (1.50 is not 1.5): the numbers' text must match too.
        expect(numbersIn(f), `row ${r} column ${columns[i]?.name}: numbers`).toEqual(numbersIn(fb[i] as string));
      }
      else expect(f, `row ${r} column ${columns[i]?.name}`).toBe(fb[i]);
    });
  });
}

const ODD = columnsOf({
  id: 'bigint',
  doc: 'jsonb',
  raw: 'json',
  text: 'text',
  n: 'numeric',
  flag: 'boolean',
  city: { type: 'text', from: 'a.b.c' },
  at: { type: 'timestamptz', from: 'ms', format: 'epoch_ms' },
  ctor: { type: 'text', from: 'constructor' },
});

describe('records from bytes → COPY text', () => {
  it('the mock orders (nested JSON, backslashes, unicode): byte for byte what JSON.parse and the row maker write', () => {
    const records = new OrdersDataset(3_000, 5).snapshot();
    const [a, b] = both(JSON.stringify({ object: 'list', data: records, has_more: false }), columnsOf(ORDER_COLUMN_TYPES));
    expect(a).toBe(b);
    expect(a.split('\n')).toHaveLength(3_001);
  });

  it('the same for escapes, surrogates, inexact numbers, pretty-printed JSON, duplicate and escaped keys, nested paths, formats', () => {
    const text = String.raw`{"data": [
      {"id": 1, "doc": "tab\there \"q\" back\\slash \u00e9 \ud83d\ude00", "raw": {"k": ["\n", "\r", "\\"]}, "text": {"nested": "x\ty"}, "n": 1.50, "flag": true, "a": {"b": {"c": "Zoë\\"}}, "ms": 1700000000123},
      {"id": 2, "doc": null, "raw": 3.5e0, "text": "line\r\nbreak \b\f \/ \u0041\u005c\u000a \ud800 lone", "n": 12345678901234567890, "flag": false, "a": {"b": null}, "ms": "1700000000001"},
      {"id": 3, "text": 42, "a": "not an object", "n": -0, "doc": {"big": 12345678901234567890, "f": 0.1, "e": 1E+2, "neg": -7}},
      {"id": 4, "doc": [], "raw": {}, "text": "", "flag": null, "a": {"b": {"c": "\\N"}}, "n": 0},
      {"id": 5, "doc": {"x":	[1, 2,
        3]}, "raw": "say \"hi\"", "text": [1, "two", null], "n": -12, "i\u0064": 6, "id": 7, "constructor": "c"},
      {"id": 8, "text": "first", "text": "last wins", "doc": "plain", "raw": "plain", "n": 1e21, "doc": {"ok": true}},
      {"id": 9, "i\u0064": 10, "te\u0078t": "a key spelled with escapes", "\u0064oc": {"k": 1}},
      {}
    ], "has_more": false}`;
    const [a, b] = both(text, ODD);
    expectSameValues(a, b, ODD);
    expect(a.split('\n')).toHaveLength(9); // no raw newline inside a row
    expect(a.split('\n')[6]).toMatch(/^10\t\{"k": 1\}\t\\N\ta key spelled with escapes\t/);
  });

  it('random records, random whitespace and \\u escapes: the same text both ways (500 records)', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const chars = ['a', 'Z', ' ', '\t', '\n', '\r', '\\', '"', '/', '\b', '\f', '\u0001', 'é', '✓', '😀', '\u2028', 'N', '\\N'];
    const str = () => Array.from({ length: Math.floor(rnd() * 8) }, () => pick(chars)).join('');
    const num = () => pick([0, -1, 7, 2 ** 53 + 2, 0.1, -2.5e-7, 1e21, 123456789012345, 1234567890123456]);
    const val = (depth: number): unknown => {
      const k = Math.floor(rnd() * (depth > 2 ? 4 : 6));
      return k === 0 ? str() : k === 1 ? num() : k === 2 ? pick([true, false, null]) : k === 3 ? undefined : k === 4 ? { [str()]: val(depth + 1), b: val(depth + 1) } : [val(depth + 1), val(depth + 1)];
    };
    const records = Array.from({ length: 500 }, (_, i) => ({ id: i, doc: val(0), raw: val(0), text: val(0), n: val(0), flag: val(0), a: { b: { c: val(2) } } }));
    // Spelled unlike JSON.stringify: indentation, and some characters as \u escapes.
    const spelled = JSON.stringify({ data: records }, null, '\t').replace(/[éZ✓]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const columns = columnsOf({ id: 'bigint', doc: 'jsonb', raw: 'json', text: 'text', n: 'text', flag: 'text', city: { type: 'text', from: 'a.b.c' } });
    const [a, b] = both(spelled, columns);
    expectSameValues(a, b, columns);
    // Spelled as JSON.stringify spells it, every field is the same bytes.
    const [c, d] = both(JSON.stringify({ data: records }), columns);
    expect(c).toBe(d);
  });

  it('accepts nothing JSON.parse refuses, nor records that are not objects (then the answer is parsed as before)', () => {
    const bad = [
      '{"data":[{"s":"raw\ttab"}]}',
      '{"data":[{"a":1,}]}',
      '{"data":[{"a":1}],}',
      '{"data":[{"a":01}]}',
      '{"data":[{"a":1.}]}',
      '{"data":[{"a":.5}]}',
      '{"data":[{"a":-}]}',
      '{"data":[{"a":"\\x"}]}',
      '{"data":[{"a":"\\u12G4"}]}',
      '{"data":[{"a":tru}]}',
      '{"data":[{"a":1}]',
      '{"data":[{"a":1}]} x',
      '{"data":[{"a":1} {"a":2}]}',
      '{"data":[{"a":1}], "more": [1 2]}',
    ];
    for (const text of bad) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(rawRecords(Buffer.from(text), 'data'), text).toBeUndefined();
    }
    // Valid JSON the bytes path leaves to JSON.parse: not UTF-8, a BOM, records that are not objects, no array there.
    expect(rawRecords(Buffer.from([0x7b, 0x22, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3a, 0x5b, 0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d, 0x5d, 0x7d]), 'data')).toBeUndefined();
    expect(rawRecords(Buffer.from('\ufeff{"data":[{"a":1}]}'), 'data')).toBeUndefined();
    expect(rawRecords(Buffer.from('{"data":[{"a":1}, 2]}'), 'data')).toBeUndefined();
    expect(rawRecords(Buffer.from('{"data":{"a":1}}'), 'data')).toBeUndefined();
    expect(rawRecords(Buffer.from('{"items":[]}'), 'data')).toBeUndefined();
  });

  it('reads the records at a nested path or the body itself, the last member of a name winning, the rest parsed', () => {
    const nested = rawRecords(Buffer.from('{"result":{"items":[{"id":1}],"next":"x"},"result":{"items":[{"id":2},{"id":3}],"next":"y"}}'), 'result.items')!;
    expect(nested.records.map((r) => getPath(r, 'id'))).toEqual([2, 3]);
    expect(getPath(nested.body, 'result.next')).toBe('y');
    expect(getPath(nested.body, 'result.items')).toBe(nested.records);
    // A key spelled with an escape is the same name: the last member wins, read one field at a time too.
    const escaped = rawRecords(Buffer.from(String.raw`{"data":[{"id":1,"i\u0064":2,"n":3},{"i\u0064":4,"id":5}]}`), 'data')!;
    expect(escaped.records.map((r) => [getPath(r, 'id'), getPath(r, 'n'), getPath(r, 'id')])).toEqual([
      [2, 3, 2],
      [5, undefined, 5],
    ]);
    const top = rawRecords(Buffer.from(' [ {"id": 1} , {"id": 2} ] '), '.')!;
    expect(top.body).toBe(top.records);
    expect(top.records).toHaveLength(2);
  });

  it('a record read as bytes behaves as the parsed object to everything that reads it', () => {
    const { records } = rawRecords(Buffer.from('{"data":[{"id":7,"c":{"x":[1,"é"]},"id":8}]}'), 'data')!;
    const r = records[0] as Record<string, unknown>;
    expect(spanOf(r)).toBeDefined();
    expect(r.id).toBe(8);
    expect(getPath(r, 'c.x.1')).toBe('é');
    expect(Object.keys(r)).toEqual(['id', 'c']);
    expect(JSON.stringify(r)).toBe('{"id":8,"c":{"x":[1,"é"]}}');
    expect('c' in r).toBe(true);
    expect(plainOf(r)).toEqual({ id: 8, c: { x: [1, 'é'] } });
    expect(spanOf({ id: 1 })).toBeUndefined();
    // A field read before anything else parses that field alone, with JSON.parse's answer for every case.
    const text = '{"data":[{"t":"2024-01-01T00:00:00Z","n":{"a":[1]},"t":"later","e":"\\u00e9"}]}';
    const lazy = rawRecords(Buffer.from(text), 'data')!.records[0] as Record<string, unknown>;
    const parsed = (JSON.parse(text) as { data: Record<string, unknown>[] }).data[0]!;
    for (const path of ['t', 'n.a.0', 'e', 'missing', 'constructor', 'toString', 'n.a.length']) expect(getPath(lazy, path), path).toEqual(getPath(parsed, path));
    expect(lazy.t).toBe('later');
    expect(JSON.stringify(lazy)).toBe(JSON.stringify(parsed));
    // An object read twice, another field between, is the same object (a change to it stays), as in the parsed one.
    const fresh = rawRecords(Buffer.from(text), 'data')!.records[0] as Record<string, unknown>;
    expect(fresh.t).toBe('later');
    const n = fresh.n as { a: number[] };
    expect(fresh.e).toBe('é');
    n.a.push(2);
    expect(fresh.n).toBe(n);
    expect(plainOf(fresh)).toEqual({ ...parsed, n: { a: [1, 2] } });
    expect(rawCopyMaker(columnsOf({ id: 'bigint' }))([{ id: 1 }])).toBeUndefined(); // parsed records: the row maker's job
  });
});
