import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { createHttpSource } from '../../src/sources/http';
import { copyRowMaker, inSlices, rowMaker } from '../../src/sources/http/records';
import type { Source } from '../../src/sources/source';

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

/**
 * A page's next request needs its cursor, not its rows: the source asks for page k+1 as soon as page k's
 * answer is parsed, and makes page k's rows while that request is out (with 50 ms answers, the conversion no
 * longer adds to every request's turn; issue 13). A real local server, Stripe-like list: 3 pages of 2.
 */
describe('the next request goes out before a page is made into rows', () => {
  const items = Array.from({ length: 6 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}`, doc: { i }, at: '2024-01-01T00:00:00Z' }));
  const asked: string[] = [];
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const after = Number(q.get('starting_after') ?? 0);
      asked.push(`after ${after}`);
      const data = items.filter((x) => x.id > after).slice(0, Number(q.get('limit')));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data, has_more: data.length > 0 && (data.at(-1) as { id: number }).id < items.length }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/items`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  async function sourceAt(): Promise<Source> {
    const cfg = { ...source, url, pagination: { ...source.pagination, hasMore: 'has_more' } } as HttpSourceConfig;
    const s = await createHttpSource(cfg, (v) => v);
    await s.prepare({});
    return s;
  }

  /** Waits (up to 2 s) until the server has been asked `n` times. */
  async function askedTimes(n: number): Promise<void> {
    for (let i = 0; i < 200 && asked.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  }

  for (const kind of ['pages', 'copyPages'] as const) {
    it(`${kind}: page 2 is asked for while page 1 is still with the caller; every row comes once, in order`, async () => {
      asked.length = 0;
      const s = await sourceAt();
      const it = (kind === 'pages' ? s.pages(null, { limit: 2 }) : s.copyPages!(null, { limit: 2 }))[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.done).toBe(false);
      // The caller holds page 1 and has not asked for more: the request for page 2 is already out.
      await askedTimes(2);
      expect(asked).toEqual(['after 0', 'after 2']);
      const ids: string[] = [];
      const idsOf = (v: unknown) => (kind === 'pages' ? (v as { rows: (string | null)[][] }).rows.map((r) => r[0] as string) : (v as { data: Buffer }).data.toString().trim().split('\n').map((l) => l.split('\t')[0] as string));
      ids.push(...idsOf(first.value));
      for (let r = await it.next(); !r.done; r = await it.next()) ids.push(...idsOf(r.value));
      expect(ids).toEqual(['1', '2', '3', '4', '5', '6']);
      expect(asked).toEqual(['after 0', 'after 2', 'after 4']);
      await s.close();
    });
  }

  it('a caller that stops after page 1 ends the read cleanly: the request ahead settles, nothing more is asked', async () => {
    asked.length = 0;
    const s = await sourceAt();
    const it = s.pages(null, { limit: 2 })[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    await it.return?.(undefined);
    await new Promise((r) => setTimeout(r, 100));
    expect(asked).toEqual(['after 0', 'after 2']);
    await s.close();
  });
});
