import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockApi, type MockApi } from '../../src/mock-api';
import { OrdersDataset } from '../../src/mock-api/orders-dataset';
import type { HttpSource } from '../../src/sources/http';
import { httpSource, TOKEN } from './helpers';

// A group of records at one instant, larger than two pages: a time window grows its page to read it (100, 200,
// 400). When the same source reads from the group's start again (a shard whose end moved under its page in
// flight restarts from its last checkpoint), it asks the grown size at once.
const RECORDS = 3_000;
const SEED = 12;

let api: MockApi;
let group: { at: string; size: number };

beforeAll(async () => {
  api = await startMockApi({ records: RECORDS, seed: SEED, token: TOKEN });
  const times = new OrdersDataset(RECORDS, SEED).byTimeOrder().map((e) => e.t);
  const sizeAt = (t: number) => times.filter((x) => x === t).length;
  // A group of 201-399 records whose 400-record page ends on a small group: the page read ahead after it takes one request.
  const start = times.findIndex((t, i) => (i === 0 || times[i - 1] !== t) && sizeAt(t) > 200 && sizeAt(t) < 400 && sizeAt(times[i + 399] as number) < 50);
  group = { at: new Date(times[start] as number).toISOString(), size: sizeAt(times[start] as number) };
});
afterAll(async () => {
  await api?.close();
});

/** The first page read from the group's start, and the requests it took (counted once the read ahead has settled). */
async function firstPage(s: HttpSource): Promise<{ rows: number; requests: number; cursor: unknown }> {
  const before = api.stats().requests;
  let first: { rows: number; cursor: unknown } | undefined;
  for await (const page of s.pages({ from: group.at }, { limit: 100 })) {
    first = { rows: page.rows.length, cursor: page.cursor };
    break; // the pages' return waits for the page read ahead
  }
  if (!first) throw new Error('no page');
  return { ...first, requests: api.stats().requests - before };
}

describe('time window: a group read again starts at the page size it grew to', () => {
  it('the second read from the group asks the grown size in one request and yields the same page', async () => {
    const s = await httpSource(api, 'time_window', { pageSize: 100 });
    try {
      const first = await firstPage(s);
      expect(first.requests).toBe(4); // 100 and 200 hold only the group, 400 reaches past it; the next page is read ahead
      expect(first.rows).toBeGreaterThanOrEqual(group.size);
      const again = await firstPage(s);
      expect(again.requests).toBe(2);
      expect(again).toEqual({ ...first, requests: 2 });
      // A read from elsewhere starts at the configured size: as many requests as a fresh source's.
      const fresh = await httpSource(api, 'time_window', { pageSize: 100 });
      try {
        const count = async (src: HttpSource) => {
          const before = api.stats().requests;
          let rows = -1;
          for await (const page of src.pages(null, { limit: 100 })) {
            rows = page.rows.length;
            break;
          }
          return { rows, requests: api.stats().requests - before };
        };
        expect(await count(s)).toEqual(await count(fresh));
      } finally {
        await fresh.close();
      }
    } finally {
      await s.close();
    }
  });
});
