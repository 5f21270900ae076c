import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpSinkSchema } from '../../src/config/http-sink-schema';
import { isPermanent } from '../../src/errors';
import { BulkResultsError, DeliveryRetriesExhaustedError } from '../../src/sinks/http/http-sink-errors';
import { createTestDatabase, type TestDatabase } from '../setup/database';
import { startDeliveryFake, type DeliveryFake } from './fakes/delivery-fake';
import { ledger, openSink, rows, sinkConfig, stateClient, writePage } from './helpers';

let db: TestDatabase;
let state: pg.Client;
const fakes: DeliveryFake[] = [];

async function fake(opts: Parameters<typeof startDeliveryFake>[0]): Promise<DeliveryFake> {
  const f = await startDeliveryFake(opts);
  fakes.push(f);
  return f;
}

/** Bulk requests of 8 to the fake's /bulk, reading its per-item answer (Elasticsearch-like). */
const bulkConfig = (api: DeliveryFake, over: Record<string, unknown> = {}) =>
  sinkConfig(api.url, { url: `${api.url}/bulk`, bulk: { size: 8, results: 'results.{ "status": status, "message": error }' }, concurrency: 2, ...over });

const letters = async (integration: string) =>
  (await state.query<{ id: string; http_status: number; reason: string; detail: string | null }>(
    `SELECT record->>'id' AS id, http_status, reason, detail FROM tidemark.dead_letters WHERE integration = $1::text ORDER BY (record->>'id')::int`,
    [integration],
  )).rows;

beforeAll(async () => {
  db = await createTestDatabase('http_sink_bulk');
  state = await stateClient(db.url);
});
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});
afterAll(async () => {
  await state?.end();
  await db?.drop();
});

describe('HTTP sink bulk per-item results (sink.bulk.results)', () => {
  it('reads a 207 answer item by item: refused records become dead letters with their message, no request is split', async () => {
    const api = await fake({ itemResults: true, reject: (i) => i.id === 5 || i.id === 14 });
    const sink = await openSink(bulkConfig(api), 'items');
    const r = await writePage(state, sink, 'items', rows(1, 20));
    expect(r).toEqual({ written: 18, refused: 2, unchanged: 0 });
    // 3 requests (8, 8, 4) and no more: the answer said which records were refused.
    expect(api.log.map((l) => [l.status, l.items])).toEqual(expect.arrayContaining([[207, 8], [207, 8], [200, 4]]));
    expect(api.log).toHaveLength(3);
    expect(api.store.size).toBe(18);
    expect(api.store.has('5')).toBe(false);
    const l = await ledger(state, 'items');
    expect(l.size).toBe(18);
    expect(l.has('[5]')).toBe(false);
    expect(await letters('items')).toEqual([
      { id: '5', http_status: 422, reason: 'POST /bulk → item 4: 422: invalid record 5', detail: 'invalid record 5' },
      { id: '14', http_status: 422, reason: 'POST /bulk → item 5: 422: invalid record 14', detail: 'invalid record 14' },
    ]);
    await sink.close();
  });

  it('sends an item answered 503 again in a request of its own, with a new key, until it is applied', async () => {
    let busy = 2; // record 3 is refused with 503 twice, then applied
    const api = await fake({ itemResults: true, itemStatus: (i) => (i.id === 3 && busy-- > 0 ? 503 : undefined) });
    const sink = await openSink(bulkConfig(api), 'retry-items');
    const r = await writePage(state, sink, 'retry-items', rows(1, 8));
    expect(r).toEqual({ written: 8, refused: 0, unchanged: 0 });
    expect(api.log.map((l) => [l.status, l.ids])).toEqual([
      [207, ['1', '2', '3', '4', '5', '6', '7', '8']],
      [207, ['3']],
      [200, ['3']],
    ]);
    expect(new Set(api.log.map((l) => l.key)).size).toBe(3);
    expect([...api.writes.values()].every((n) => n === 1)).toBe(true);
    expect((await ledger(state, 'retry-items')).size).toBe(8);
    expect(sink.stats.retries).toBe(2);
    await sink.close();
  });

  it('an item that stays 503 fails the page (retryable) and nothing of it is committed; the retry applies each record once', async () => {
    let busy = 100;
    const api = await fake({ itemResults: true, itemStatus: (i) => (i.id === 2 && busy-- > 0 ? 503 : undefined) });
    const sink = await openSink(bulkConfig(api, { retries: 2 }), 'stuck-item');
    const err = await writePage(state, sink, 'stuck-item', rows(1, 4)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryRetriesExhaustedError);
    expect(isPermanent(err)).toBe(false);
    expect((err as Error).message).toMatch(/1 item\(s\) not applied, last item status 503: try again later/);
    expect((await ledger(state, 'stuck-item')).size).toBe(0);
    // The API recovers; the page is sent again with the same keys: the first request is replayed, not re-applied.
    busy = 0;
    const sent = api.log.length;
    const again = await writePage(state, sink, 'stuck-item', rows(1, 4));
    expect(again.written).toBe(4);
    expect(api.log[sent]?.key).toBe(api.log[0]?.key);
    expect(api.replayed).toBeGreaterThanOrEqual(1);
    expect([...api.writes.values()].every((n) => n === 1)).toBe(true);
    expect(api.store.size).toBe(4);
    await sink.close();
  });

  it('an answer the expression cannot read fails the page loudly (permanent), naming the expression', async () => {
    const api = await fake({ itemResults: true });
    const sink = await openSink(bulkConfig(api, { bulk: { size: 4, results: 'items' } }), 'unreadable');
    const err = await writePage(state, sink, 'unreadable', rows(1, 4)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BulkResultsError);
    expect(isPermanent(err)).toBe(true);
    expect((err as Error).message).toMatch(/POST \/bulk: sink.bulk.results gave 0 item\(s\) for the request's 4 records; .*fix the expression/);
    expect((await ledger(state, 'unreadable')).size).toBe(0);
    await sink.close();
  });

  it('without results, the same API is read by splitting (the answer is 200/207 either way: all accepted)', async () => {
    const api = await fake({ reject: (i) => i.id === 5 });
    const sink = await openSink(sinkConfig(api.url, { url: `${api.url}/bulk`, bulk: { size: 8 }, concurrency: 1 }), 'split');
    const r = await writePage(state, sink, 'split', rows(1, 8));
    expect(r).toEqual({ written: 7, refused: 1, unchanged: 0 });
    expect(api.log.filter((l) => l.status === 422).map((l) => l.items)).toEqual([8, 4, 2, 1]);
    await sink.close();
  });

  it('config: results reads only the answer, $status and $records', () => {
    const parse = (results: string) => httpSinkSchema.safeParse({ kind: 'http', url: 'http://x/bulk', key: ['id'], bulk: { size: 10, results } });
    expect(parse('items.{ "status": $status }').success).toBe(true);
    const bad = parse('items.{ "status": $record.id }');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]).toMatchObject({ path: ['bulk', 'results'], message: expect.stringMatching(/uses \$record, which is not defined: .*\$status .*\$records/) });
    const syntax = parse('items.{');
    expect(syntax.success).toBe(false);
    expect(syntax.error?.issues[0]?.message).toMatch(/is not a valid JSONata expression/);
  });
});
