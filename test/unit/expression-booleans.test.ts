import { describe, expect, it } from 'vitest';
import { decoderFor } from '../../src/transform/record-values';

describe('booleans read into expressions as PostgreSQL reads them (an acceptance run: a CSV "no" was true in an expression)', () => {
  it('true, yes, on, 1 and false, no, off, 0, any case, prefixes and spaces; anything else stays text', () => {
    const b = decoderFor('boolean');
    for (const t of ['t', 'true', 'TRUE', 'y', 'yes', 'Yes', 'on', 'ON', '1', ' true ', 'tr']) expect(b(t), t).toBe(true);
    for (const f of ['f', 'false', 'FALSE', 'n', 'no', 'No', 'off', 'OFF', '0', ' f', 'fal', 'of']) expect(b(f), f).toBe(false);
    for (const other of ['o', 'maybe', '', '2']) expect(b(other), other).toBe(other);
  });
});
