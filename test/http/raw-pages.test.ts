import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import type { HttpSourceConfig } from '../../src/config/http-source-schema';
import { ORDER_COLUMN_TYPES } from '../../src/mock-api';
import { OrdersDataset } from '../../src/mock-api/orders-dataset';
import { closeQuietly, connect } from '../../src/pg/connect';
import { copyIn } from '../../src/pg/copy-in';
import { encodeCopyRows } from '../../src/pg/copy-text';
import { createHttpSource } from '../../src/sources/http';
import type { Source } from '../../src/sources/source';
import { sql } from '../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../setup/database';

/**
 * COPY pages made from the answers' bytes (issue 13; src/sources/http/raw): a real local API, pretty-printed
 * like many real ones (so a jsonb value keeps the API's spelling, which the bytes path copies as it is), read
 * by copyPages and by pages (parsed records, the path mapping takes), both loaded into PostgreSQL: the same
 * rows, field for field. A malformed answer fails copyPages exactly as it fails pages.
 */
const orders = new OrdersDataset(1_500, 11).snapshot().sort((a, b) => a.id - b.id);
const byTime = [...orders].sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at) || a.id - b.id);
let broken: 'tab' | 'element' | 'now' | ' yesterday' | '2024-01-02 10:00 tomorrow' | undefined;
let server: Server;
let base: string;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('raw_pages');
  server = createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const limit = Number(q.get('limit'));
    if (q.has('from')) {
      // time_window: from <= updated_at < to, ascending (updated_at, id)
      const [from, to] = [Date.parse(q.get('from')!), Date.parse(q.get('to')!)];
      const inWindow = byTime.filter((o) => Date.parse(o.updated_at) >= from && Date.parse(o.updated_at) < to);
      const data = inWindow.slice(0, limit);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data, has_more: inWindow.length > limit }, null, 2));
      return;
    }
    const start = q.has('offset') ? Number(q.get('offset')) : orders.findIndex((o) => o.id > Number(q.get('starting_after') ?? 0));
    const data: unknown[] = start < 0 ? [] : orders.slice(start, start + limit);
    let text = JSON.stringify({ object: 'list', data, has_more: start >= 0 && start + limit < orders.length }, null, 2);
    if (broken === 'tab') text = text.replace('"status": "', '"status": "\t'); // a raw tab inside a string: not JSON
    if (broken === 'element') text = text.replace('"data": [', '"data": [42, ');
    if (broken === 'now' || broken === ' yesterday' || broken === '2024-01-02 10:00 tomorrow') text = text.replace(/"created_at": "[^"]*"/, `"created_at": "${broken}"`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/orders`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await db?.drop();
});

async function sourceFor(pagination: Record<string, unknown>): Promise<Source> {
  const lag = pagination.style === 'time_window' ? { lag: 0 } : {};
  const cfg = parseConfig({
    integrations: [
      {
        id: 'raw',
        source: { kind: 'http', url: base, records: 'data', columns: ORDER_COLUMN_TYPES, pagination, pageSize: 400, retries: 1, backoff: { initial: 1, max: 1 }, ...lag },
        sink: { url: 'postgres://unused/db', table: 'x', key: ['id'] },
      },
    ],
  }).integrations[0]!.source as HttpSourceConfig;
  const s = await createHttpSource(cfg, (v) => v);
  await s.prepare({});
  return s;
}

async function load(table: string, data: Buffer): Promise<void> {
  const cols = Object.entries(ORDER_COLUMN_TYPES).map(([k, t]) => `${k} ${t}`).join(', ');
  const c = await connect(db.url);
  try {
    await c.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (${cols})`);
    await copyIn(c, `COPY ${table} FROM STDIN`, data);
  } finally {
    await closeQuietly(c);
  }
}

describe('COPY pages from the answers\' bytes', () => {
  // starting_after reads the last record's id; time_window every record's time (one field each, from the bytes).
  for (const pagination of [{ style: 'starting_after', idField: 'id', hasMore: 'has_more' }, { style: 'offset' }, { style: 'time_window', field: 'updated_at', hasMore: 'has_more' }]) {
    it(`${pagination.style}: the same rows in PostgreSQL as from the parsed records, the API's JSON spelling kept`, async () => {
      broken = undefined;
      const s = await sourceFor(pagination);
      const copy: Buffer[] = [];
      for await (const p of s.copyPages!(null, { limit: 400 })) copy.push(p.data);
      const rows: (string | null)[][] = [];
      for await (const p of s.pages(null, { limit: 400 })) rows.push(...p.rows);
      await s.close();
      const data = Buffer.concat(copy);
      // The bytes path ran: the jsonb values keep the API's line breaks (escaped), which the parsed records lose.
      expect(data.toString()).toContain('{\\n');
      expect(encodeCopyRows(rows)).not.toContain('{\\n');
      await load('from_bytes', data);
      await load('from_records', Buffer.from(encodeCopyRows(rows)));
      const [n] = await sql(db.url, 'SELECT (SELECT count(*) FROM from_bytes)::text AS a, (SELECT count(*) FROM from_records)::text AS b');
      expect(n).toEqual({ a: '1500', b: '1500' });
      const differ = await sql(db.url, '(SELECT * FROM from_bytes EXCEPT ALL SELECT * FROM from_records) UNION ALL (SELECT * FROM from_records EXCEPT ALL SELECT * FROM from_bytes)');
      expect(differ).toEqual([]);
      // And the jsonb values are the API's: one spot check against the dataset.
      const [first] = await sql(db.url, `SELECT customer::text AS c FROM from_bytes WHERE id = $1`, [orders[0]!.id]);
      expect(JSON.parse(first!.c!)).toEqual(orders[0]!.customer);
    });
  }

  it('a malformed answer or a record that is not an object fails copyPages as it fails pages', async () => {
    const failure = async (read: (s: Source) => AsyncIterable<unknown>) => {
      const s = await sourceFor({ style: 'starting_after', idField: 'id' });
      try {
        for await (const _ of read(s)) void _;
        return 'no error';
      } catch (err) {
        return (err as Error).message;
      } finally {
        await s.close();
      }
    };
    for (const kind of ['tab', 'element'] as const) {
      broken = kind;
      const fromBytes = await failure((s) => s.copyPages!(null, { limit: 400 }));
      const fromRecords = await failure((s) => s.pages(null, { limit: 400 }));
      expect(fromBytes).toBe(fromRecords);
      expect(fromBytes).toMatch(kind === 'tab' ? /invalid or truncated JSON body/ : /element 0 of the records array is 42, not an object/);
    }
    broken = undefined;
  });

  it('a time PostgreSQL reads relative to the write ("now", " yesterday") fails both paths naming the column (it was stored as the sync`s time)', async () => {
    for (const word of ['now', ' yesterday', '2024-01-02 10:00 tomorrow'] as const) {
      broken = word;
      const messages: string[] = [];
      for (const read of [(s: Source) => s.copyPages!(null, { limit: 400 }), (s: Source) => s.pages(null, { limit: 400 })]) {
        const s = await sourceFor({ style: 'starting_after', idField: 'id' });
        try {
          for await (const _ of read(s)) void _;
          messages.push('no error');
        } catch (err) {
          messages.push((err as Error).message);
        } finally {
          await s.close();
        }
      }
      expect(messages[0]).toBe(messages[1]);
      expect(messages[0]).toMatch(new RegExp(`^source\\.columns\\.created_at: the record's "created_at" is "${word}", which PostgreSQL would store as a time relative to the write`));
    }
    broken = undefined;
  });
});
