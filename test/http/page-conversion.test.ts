import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { copyRowMaker, inSlices, rowMaker } from '../../src/sources/http/records';

/**
 * A page's records become rows a slice at a time, with the event loop running between slices (issue 13):
 * a 1,000-record page is milliseconds of CPU, and while one block of it runs, the previous page's COPY data
 * cannot leave its socket, so PostgreSQL would wait for the conversion instead of working beside it.
 */
const source = parseConfig({
  integrations: [
    {
      id: 'rows',
      source: { kind: 'http', url: 'http://127.0.0.1:1/v1/items', records: 'data', pagination: { style: 'starting_after', idField: 'id' }, columns: { id: 'bigint', name: 'text', doc: 'jsonb', at: 'timestamptz' } },
      sink: { url: 'postgres://unused/db', table: 'x', key: ['id'] },
    },
  ],
}).integrations[0]!.source as HttpSourceConfig;

const records = Array.from({ length: 1_000 }, (_, i) => ({ id: i, name: i % 7 ? `n\t${i}` : null, doc: { i, s: 'a\\b' }, at: '2024-01-01T00:00:00.123456Z' }));

describe('records → rows, a slice at a time', () => {
  it('gives the same rows as one pass, for both row makers, and lets the event loop run between slices', async () => {
    for (const make of [rowMaker(source.columns), copyRowMaker(source.columns)]) {
      let ticks = 0;
      let ticking = true;
      const tick = () => {
        ticks++;
        if (ticking) setImmediate(tick);
      };
      setImmediate(tick);
      const rows = await inSlices(make)(records);
      ticking = false;
      expect(rows).toEqual(make(records));
      expect(rows).toHaveLength(1_000);
      // 10 slices of 100: the ticker ran between them (at least once a slice boundary).
      expect(ticks).toBeGreaterThanOrEqual(9);
    }
  });

  it('a bad record is named by its index in the whole answer, not in its slice', async () => {
    const bad = [...records.slice(0, 250), ['not', 'an', 'object'], ...records.slice(251)];
    await expect(inSlices(copyRowMaker(source.columns))(bad)).rejects.toThrow(/element 250 of the records array is an array, not an object/);
    await expect(inSlices(rowMaker(source.columns))([...records.slice(0, 999), 42])).rejects.toThrow(/element 999 of the records array is 42/);
  });
});
