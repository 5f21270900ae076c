import { describe, expect, it } from 'vitest';
import { recordSchemaSchema } from '../../src/config/transform-schema';
import { compileRecordChecks } from '../../src/transform/compile-rules';

/**
 * Validation rules (config `validate:`) compiled to plain checks over a target row: every rule, its
 * message, the order of several problems in one record, and rows that pass.
 */
const COLUMNS = ['id', 'email', 'age', 'total', 'active', 'at', 'meta', 'status', 'code'];
const rules = recordSchemaSchema.parse({
  id: { type: 'integer', required: true, min: 1 },
  email: { required: true, pattern: '@', maxLength: 20 },
  age: { type: 'integer', min: 0, max: 150 },
  total: { type: 'number', min: 0 },
  active: { type: 'boolean' },
  at: { type: 'timestamp' },
  meta: { type: 'json' },
  status: { enum: ['new', 'paid'] },
  code: { type: 'string', maxLength: 3 },
});
const check = compileRecordChecks(rules, COLUMNS);
const good = ['1', 'a@b.c', '30', '9.5', 't', '2024-01-01 12:00:00.123+00', '{"a":1}', 'paid', 'abc'];
const row = (changes: Record<string, string | null>) => COLUMNS.map((c, i) => (c in changes ? (changes[c] as string | null) : (good[i] as string)));

describe('validation rules compiled to checks', () => {
  it('passes a row that meets every rule, with optional fields empty or NULL', () => {
    expect(check(good)).toBeUndefined();
    expect(check(row({ age: null, total: '', active: null, at: null, meta: null, status: null, code: '' }))).toBeUndefined();
    expect(check(row({ at: '2024-01-01T12:00:00Z', active: 'no', total: '-0', meta: '[]' }))).toBeUndefined();
  });

  it('names each problem with its field and what the value was', () => {
    const cases: [Record<string, string | null>, string][] = [
      [{ id: null }, 'id: is required'],
      [{ id: '' }, 'id: is required'],
      [{ id: '1.5' }, 'id: must be an integer (got "1.5")'],
      [{ id: '0' }, 'id: must be ≥ 1 (got "0")'],
      [{ email: 'nobody' }, 'email: must match /@/ (got "nobody")'],
      [{ age: '151' }, 'age: must be ≤ 150 (got "151")'],
      [{ total: 'abc' }, 'total: must be a number (got "abc")'],
      [{ active: 'maybe' }, 'active: must be true or false (got "maybe")'],
      [{ at: '2024-13-45 99:00:00+00' }, 'at: must be a timestamp (got "2024-13-45 99:00:00+00")'],
      [{ meta: '{a:1}' }, 'meta: must be valid JSON (got "{a:1}")'],
      [{ status: 'lost' }, 'status: must be one of new, paid (got "lost")'],
      [{ code: 'abcd' }, 'code: must be at most 3 characters (got 4)'],
    ];
    for (const [changes, message] of cases) expect(check(row(changes)), JSON.stringify(changes)).toBe(message);
  });

  it('lists every problem of a record in the order of the rules; a wrong type stops that field', () => {
    expect(check(row({ email: 'far-too-long-and-no-at-sign', id: 'x', status: 'lost' }))).toBe(
      'id: must be an integer (got "x"); email: must be at most 20 characters (got 27); email: must match /@/ (got "far-too-long-and-no-at-sign"); status: must be one of new, paid (got "lost")',
    );
    const long = 'x'.repeat(70);
    expect(check(row({ status: long }))).toBe(`status: must be one of new, paid (got ${JSON.stringify(`${'x'.repeat(57)}...`)})`);
  });

  it('refuses a rule on a column the target does not have', () => {
    expect(() => compileRecordChecks(recordSchemaSchema.parse({ nope: { required: true } }), COLUMNS)).toThrow(/validate\.nope/);
  });
});
