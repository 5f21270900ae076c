import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { valueCheck } from '../../src/sources/csv/csv-value-check';
import { createTestDatabase, type TestDatabase } from '../setup/database';

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('csv_values');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

/** Values per type: typical, edge, and broken ones. PostgreSQL (pg_input_is_valid) is the oracle. */
const CASES: Record<string, string[]> = {
  smallint: ['0', '-32768', '32767', '32768', ' 12 ', '+5', '1.0', 'abc', '1e3'],
  integer: ['2147483647', '-2147483648', '2147483648', '007', '- 1', '', '1_000', '0x1F'],
  bigint: ['9223372036854775807', '-9223372036854775808', '9223372036854775808', '42'],
  'numeric(5,2)': ['123.45', '999.99', '999.995', '0.995', '1000', '-999.994', '.5', '5.', '1e2', '1e3', '12.3e-1', 'NaN', 'Infinity', '1,5', ''],
  'numeric(2,0)': ['99', '99.4', '99.5', '-99.5'],
  numeric: ['1e1000', '1e1001', '-0.000001', 'inf', '1.2.3'],
  real: ['1.5', '3.4e38', '3.5e38', '1e-40', '1e-50', '0.0', 'NaN', '-Infinity', 'inf', 'x1'],
  'double precision': ['1e308', '1e309', '1e-320', '1e-330', '0e-999', ' 2.5 '],
  boolean: ['true', 'FALSE', 't', 'f', 'yes', 'no', 'on', 'off', '1', '0', ' y ', 'tr', 'o', 'maybe', '2'],
  uuid: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A0EEBC999C0B4EF8BB6D6BB9BD380A11', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', 'xyz'],
  jsonb: ['{"a": [1, 2]}', 'null', '"s"', '{a: 1}', '"\\u0000"', '[1,', '"\\ud800"', '"\\ud83d\\ude00"', '"\\ude00"'],
  json: ['{"a": 1}', '"\\ud800"', '"\\u0000"', '{'],
  date: ['2024-05-01', '2024-02-29', '2023-02-29', '2024-13-01', '0000-01-01', '2024-04-31', 'epoch', 'infinity', '2024/05/01'],
  'timestamp with time zone': [
    '2024-05-01 10:00:00',
    '2024-05-01T10:00:00Z',
    '2024-05-01 10:00:00.123456+02',
    '2024-05-01 10:00:00.1234567+05:30',
    '2024-05-01 10:00+0530',
    '2024-05-01',
    '2024-05-01 24:00:00',
    '2024-05-01 24:00:01',
    '2024-05-01 23:59:60',
    '2024-05-01 10:60:00',
    '2024-05-01 10:00:00 UTC',
    '2024-05-01 10:00:00+16',
    '2024-05-01 10:00:00+15:59',
    '-infinity',
    '1 May 2024',
  ],
  'timestamp(3)': ['2024-05-01 10:00:00.9999', '2024-02-30 00:00:00'],
  'varchar(3)': ['abc', 'abcd', 'äöü', ''],
  'char(2)': ['ab', 'ab  ', 'abc'],
};

describe('csv value checks against PostgreSQL', () => {
  it('never lets through a value PostgreSQL rejects, and rejects only what it must (or documents why)', async () => {
    // Where the check is stricter than PostgreSQL on purpose: non-ISO dates, integers other than plain
    // decimal (PostgreSQL 16+ reads 1_000 and 0x1F, older versions do not), huge exponents.
    const stricter = new Set(['date 2024/05/01', 'timestamp with time zone 1 May 2024', 'numeric 1e1001', 'integer 1_000', 'integer 0x1F']);
    const disagreements: string[] = [];
    for (const [type, values] of Object.entries(CASES)) {
      const check = valueCheck(type);
      expect(check, type).toBeDefined();
      for (const v of values) {
        const { rows } = await client.query<{ ok: boolean }>('SELECT pg_input_is_valid($1, $2) AS ok', [v, type]);
        const pgOk = rows[0]!.ok;
        const ours = check!(v);
        if (ours === undefined && !pgOk) disagreements.push(`${type} ${JSON.stringify(v)}: accepted here, rejected by PostgreSQL`);
        if (ours !== undefined && pgOk && !stricter.has(`${type} ${v}`)) disagreements.push(`${type} ${JSON.stringify(v)}: rejected here (${ours}), accepted by PostgreSQL`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('explains a rejection with the value and what was expected', () => {
    expect(valueCheck('bigint')!('12a')).toBe('"12a" is not an integer');
    expect(valueCheck('int2')!('40000')).toBe('"40000" is out of range for smallint');
    expect(valueCheck('numeric(5,2)')!('1000')).toBe('"1000" does not fit numeric(5,2) (at most 3 digits before the point)');
    expect(valueCheck('timestamptz')!('1 May 2024')).toBe('"1 May 2024" is not a valid ISO 8601 timestamp (YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]][Z|±HH[:MM]])');
    expect(valueCheck('varchar(3)')!('abcd')).toBe('"abcd" is longer than 3 characters');
    expect(valueCheck('text')).toBeUndefined();
    expect(valueCheck('inet')).toBeUndefined(); // unchecked: PostgreSQL has the last word
  });
});
