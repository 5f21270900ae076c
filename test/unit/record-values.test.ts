import { describe, expect, it } from 'vitest';
import { RecordDecoder } from '../../src/sinks/http/record-values';

describe('RecordDecoder: numeric values for an API', () => {
  const decode = (type: string, text: string) => new RecordDecoder([{ name: 'v', type, notNull: false }]).decode([text]).v;

  it('sends a numeric as a JSON number when the number is the same value', () => {
    expect(decode('numeric(12,2)', '1.50')).toBe(1.5);
    expect(decode('numeric', '-12.3400')).toBe(-12.34);
    expect(decode('numeric', '100')).toBe(100);
    expect(decode('numeric', '0.0000001')).toBe(1e-7);
    expect(decode('decimal', '0.1')).toBe(0.1);
  });

  it('keeps the exact text where a double would lose digits (a key that must read back, an amount)', () => {
    expect(decode('numeric', '12345678901234567890')).toBe('12345678901234567890');
    expect(decode('numeric', '123456789012345678.5')).toBe('123456789012345678.5');
    expect(decode('numeric(30,20)', '0.30000000000000004441')).toBe('0.30000000000000004441');
    expect(decode('numeric', 'NaN')).toBe('NaN');
  });

  it('floats stay numbers (their text is already the shortest that reads back)', () => {
    expect(decode('double precision', '0.30000000000000004')).toBe(0.30000000000000004);
    expect(decode('real', '1.1234568')).toBe(1.1234568);
  });
});

describe('RecordDecoder: booleans as PostgreSQL reads them', () => {
  it('a CSV yes/on/1 is sent as true, no/off/0 as false (yes was sent as false)', () => {
    const decode = (text: string) => new RecordDecoder([{ name: 'v', type: 'boolean', notNull: false }]).decode([text]).v;
    expect(['t', 'yes', 'on', '1', 'TRUE'].map(decode)).toEqual([true, true, true, true, true]);
    expect(['f', 'no', 'off', '0', 'False'].map(decode)).toEqual([false, false, false, false, false]);
  });
});
