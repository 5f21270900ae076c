import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { bindHelpers } from '../../src/transform/expression-field';
import { compileFast, FALLBACK } from '../../src/transform/fast-expression';

/**
 * The compiled JS form of mapping expressions must give JSONata's result for every record it does not
 * hand back to JSONata (FALLBACK): checked on a matrix of expressions × records with nulls, missing
 * fields, numbers, booleans, text, objects and arrays.
 */
const EXPRESSIONS = [
  "first_name & ' ' & last_name",
  "active ? 'active' : 'inactive'",
  '$lowercase(email)',
  '$lower(email)',
  '$upper(email)',
  '$lower(age)',
  '$uppercase(first_name)',
  '$trim(note)',
  "'crm'",
  '42',
  'true',
  'null',
  '{ "name": first_name, "age": age, "active": active, "city": profile.address.city }',
  'profile.address.city',
  'profile.tags',
  'age + 1',
  'age * price - 2',
  'age / 3',
  'age % 7',
  '-age',
  'age > 30',
  'age >= 30 and active',
  'age < 30 or $not(active)',
  "first_name = 'Ann'",
  'first_name != last_name',
  'age = price',
  "email ? email : 'none'",
  '$string(age)',
  '$string(price)',
  '$string(active)',
  '$number(code)',
  '$exists(missing)',
  '$exists(email)',
  '$boolean(note)',
  '$length(first_name)',
  "first_name & age & active & price",
  'missing & first_name',
  "note & '|'",
  'profile & first_name',
  "age > 'x'",
  'first_name + 1',
  "active ? age : 'n/a'",
  "missing ? 1 : 2",
  'profile ? 1 : 2',
  'tags ? 1 : 2',
  '{ "a": missing, "b": 1 }',
];

const RECORDS: Array<Record<string, unknown>> = [
  { first_name: 'Ann', last_name: 'Lee', active: true, email: 'Ann@Example.COM', note: '  a \t b\n ', age: 31, price: 2.5, code: '17', profile: { address: { city: 'Oslo' }, tags: ['x'] }, tags: ['a', 'b'] },
  { first_name: 'Bob', last_name: 'Bob', active: false, email: null, note: '', age: 0, price: 0.1 + 0.2, code: '-1.5e3', profile: {}, tags: [] },
  { first_name: null, last_name: null, active: null, email: '', note: null, age: null, price: null, code: 'x', profile: null, tags: null },
  { first_name: 'Émile', active: 'f', email: 'X', age: 1e21, price: -0, code: '0x1F', profile: { address: 'flat' }, tags: [1] },
  {},
];

const reader = (name: string) => (row: readonly (string | null)[]) => (JSON.parse(row[0] as string) as Record<string, unknown>)[name];

async function jsonataResult(text: string, record: Record<string, unknown>): Promise<{ value?: unknown; error?: string }> {
  const e = jsonata(text);
  bindHelpers(e); // the helpers a mapping expression has ($lower, $upper)
  try {
    return { value: JSON.parse(JSON.stringify((await e.evaluate(record)) ?? null)) as unknown };
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) };
  }
}

describe('mapping expressions compiled to JS', () => {
  it('give JSONata’s result, or hand the record to JSONata', async () => {
    let fast = 0;
    let fallbacks = 0;
    for (const text of EXPRESSIONS) {
      const f = compileFast(jsonata(text).ast(), reader);
      expect(f, text).toBeDefined();
      for (const record of RECORDS) {
        const expected = await jsonataResult(text, record);
        let got: unknown;
        try {
          got = f!([JSON.stringify(record)]);
        } catch (err) {
          expect(err, `${text} on ${JSON.stringify(record)}`).toBe(FALLBACK);
          fallbacks++;
          continue;
        }
        fast++;
        expect(expected.error, `${text} on ${JSON.stringify(record)}: JSONata fails, the compiled form must fall back`).toBeUndefined();
        expect(JSON.parse(JSON.stringify(got ?? null)), `${text} on ${JSON.stringify(record)}`).toEqual(expected.value);
      }
    }
    // Most pairs are answered in JS; the rest (arrays, objects as text, errors) by JSONata.
    expect(fast).toBeGreaterThan(fallbacks * 3);
  });

  it('leaves forms it does not mirror to JSONata entirely', () => {
    for (const text of ['$sum(items.price)', 'items[price > 1]', '$x := 1', '[a, b]', '$substring(a, 1)', "$now('[Y]')", '{ "a": 1, "a": 2 }', 'a.$b', '$.a', 'lower(a)']) {
      expect(compileFast(jsonata(text).ast(), reader), text).toBeUndefined();
    }
  });

  it('$now() is an ISO timestamp', () => {
    const f = compileFast(jsonata('$now()').ast(), reader);
    expect(String(f!(['{}']))).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});
